"""Staff previews are inert: their response links open a page that says so and record nothing.

A viewer or an organizer previewing a run-for-office ask as one of its recipients sees that
recipient's email byte for byte, except that the three response links are preview links.
A test send writes the same preview links into the content Mailchimp mails. Only the links
in the delivered email (the recipient's own signed token) record an answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from campaigns import audience, campaign_config, composing, preview, tokens
from campaigns.campaign_models import Response
from campaigns.sandbox import SandboxServer
from crm import pipeline
from tests import campaign_support
from tests.conftest import login, make_staff
from tests.test_campaign_web import Recorder
from wsgi import db

ANSWER_TAGS = tuple(tokens.ANSWER_PARAMS)


def ready_ask(app: Flask) -> tuple[int, int]:
    """A run-for-office ask marked ready (its snapshot holds live links); return it and Ana."""
    app.extensions["crm"].job_runner = Recorder()
    with app.app_context():
        world = campaign_support.seed(db.session)
        campaign = campaign_support.new_campaign(db.session, app, world, kind="run_for_office")
        campaign_support.make_ready(db.session, app, campaign)
        return campaign.id, world.ids["ana"]


def recorded(app: Flask, ana: int) -> tuple[int, str | None]:
    """Return the responses recorded and Ana's recruitment stage."""
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Response))
        recruit = pipeline.find(db.session, ana)
        return int(count or 0), recruit.stage if recruit else None


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def follow_and_answer(client: FlaskClient, url: str) -> list[Any]:
    """Open a response link, then post the yes answer to it, as the landing page would."""
    opened = client.get(path_of(url))
    answered = client.post(path_of(url).split("?")[0], data={"choice": "interested"})
    return [opened, answered]


@pytest.mark.parametrize("role", ["viewer", "organizer"])
def test_a_preview_as_a_recipient_carries_links_that_record_nothing(
        app: Flask, staff_users: dict[str, str], role: str) -> None:
    cid, ana = ready_ask(app)
    client = app.test_client()
    assert login(client, staff_users[role]).status_code == 302
    shown = client.get(f"/crm/api/v1/campaigns/{cid}/preview?contact_id={ana}")
    assert shown.status_code == 200, shown.json
    assert shown.json["in_snapshot"] is True
    values = shown.json["values"]
    with app.app_context():
        live = audience.recipient(db.session, cid, ana).merge_values  # type: ignore[union-attr]
    for tag in ANSWER_TAGS:
        assert "/respond/preview/" in values[tag] and values[tag] != live[tag]
        assert values[tag] in shown.json["html"].replace("&amp;", "&")
        assert live[tag] not in shown.json["html"].replace("&amp;", "&")
    for answer in follow_and_answer(client, values["YESURL"]):
        assert answer.status_code == 200
        assert "This is a preview" in answer.get_data(as_text=True)
    assert recorded(app, ana) == (0, None)
    # The recipient's own link, as delivered, still answers.
    follow_and_answer(app.test_client(), live["YESURL"])
    assert recorded(app, ana) == (2, "interested")  # the click and the answer


def test_the_preview_is_the_email_byte_for_byte_but_for_the_response_links(app: Flask) -> None:
    cid, ana = ready_ask(app)
    with app.app_context():
        campaign = composing.get(db.session, cid)
        settings = campaign_config.settings(app, campaign)
        org = campaign_config.org(app)
        delivered = preview.for_contact(db.session, campaign, ana, settings, org)
        staff_view = preview.for_contact(db.session, campaign, ana, settings, org, inert=True)
    swap = {delivered.values[tag]: staff_view.values[tag] for tag in ANSWER_TAGS}
    html, text = delivered.html, delivered.text
    for live_link, preview_link in swap.items():
        html = html.replace(live_link.replace("&", "&amp;"), preview_link.replace("&", "&amp;"))
        text = text.replace(live_link, preview_link)
    assert (staff_view.html, staff_view.text, staff_view.subject) == (html, text,
                                                                      delivered.subject)


def test_a_forged_preview_link_gets_the_friendly_refusal(app: Flask) -> None:
    cid, ana = ready_ask(app)
    other_secret = tokens.sign_preview("not-the-secret", cid)
    answer = app.test_client().get(f"/crm/respond/preview/{other_secret}")
    assert answer.status_code == 400
    assert "This link does not work" in answer.get_data(as_text=True)
    # A recipient token is not a preview token, nor the other way round.
    live = tokens.sign(app.config["SECRET_KEY"], 1, "nonce")
    assert app.test_client().get(f"/crm/respond/preview/{live}").status_code == 400
    fake = tokens.sign_preview(app.config["SECRET_KEY"], cid)
    refused = app.test_client().get(f"/crm/respond/{fake}")
    assert refused.status_code in (400, 404)
    assert "This link does not work" in refused.get_data(as_text=True)
    assert recorded(app, ana) == (0, None)


def test_a_test_send_mails_preview_links(shared_app: Callable[..., Flask],
                                         sandbox: SandboxServer) -> None:
    app = shared_app(CRM_MAILCHIMP_SANDBOX_URL=sandbox.url)
    cid, _ana = ready_ask(app)
    with app.app_context():
        staff = make_staff(db.session)
        db.session.commit()
    client = app.test_client()
    assert login(client, staff["organizer"]).status_code == 302
    sent = client.post(f"/crm/campaigns/{cid}/test", data={"emails": "me@testorg.org"})
    assert sent.status_code == 302, sent.get_data(as_text=True)[:500]
    [mailed] = [c for c in sandbox.state.campaigns.values()
                if c["settings"]["title"].startswith("TEST")]
    html = mailed["html"]
    assert "/respond/preview/" in html
    assert not any(f"*|{tag}|*" in html for tag in ANSWER_TAGS)
    assert "*|FNAME|*" in html or "*|UNSUB|*" in html  # other merge tags stay for Mailchimp
    with app.app_context():
        token = re.search(r"/respond/preview/([^?\"]+)", html)
        assert token is not None
        assert tokens.read_preview(app.config["SECRET_KEY"], token.group(1)) == cid
