"""An approval binds what the approver saw: the segment's rule, the email, the segment's size.

Changing the rule or the email, or the segment growing or shrinking by more than
CRM_APPROVAL_DRIFT (10% here), lets the approval lapse: Send is refused with why, and a
second organizer approves again. Opt-outs since approval never make it lapse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import crm.staff
from campaigns import sending
from campaigns.campaign_models import Campaign
from crm import consent, contacts
from crm.segments import service as segments
from tests import campaign_support
from tests.campaign_support import APPROVER, make_ready, new_campaign, seed
from tests.conftest import PASSWORD
from tests.test_campaign_web import Recorder
from wsgi import db


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    app.extensions["crm"].job_runner = Recorder()
    with app.app_context():
        yield db.session


@pytest.fixture
def approved(app: Flask, session: Any) -> tuple[Campaign, campaign_support.World]:
    """A chip-in appeal to everyone (7 people, 4 emailable), approved by a second organizer."""
    world = seed(session)
    campaign = new_campaign(session, app, world)
    assert campaign.require_approval
    make_ready(session, app, campaign)
    sending.approve(campaign, actor=APPROVER, role="organizer")
    session.commit()
    assert (campaign.approved_rule, campaign.approved_count) == ('email contains "@"', 7)
    assert campaign.approved_hash == sending.content_hash(campaign)
    return campaign, world


def send(campaign: Campaign) -> None:
    sending.request_send(campaign, actor=APPROVER)


def test_an_untouched_approval_holds_and_sends(approved: tuple[Campaign, Any],
                                               session: Any) -> None:
    campaign, _ = approved
    assert sending.approval_lapse(campaign) == ""
    send(campaign)
    assert campaign.status == "sending"


def test_a_changed_rule_drops_the_approval_until_approved_again(
        approved: tuple[Campaign, campaign_support.World], session: Any) -> None:
    campaign, world = approved
    # Same size (7), another rule: the approver never saw this one.
    segments.update(session, world.segment_id, {"text": 'email contains "union.org"'},
                    actor="someone")
    session.commit()
    with pytest.raises(sending.IllegalMove, match="rule changed since it was approved"):
        send(campaign)
    session.rollback()
    assert campaign.status == "approved"
    with pytest.raises(sending.ApprovalRefused):  # still a second organizer's call
        sending.approve(campaign, actor=campaign_support.AUTHOR, role="organizer")
    sending.approve(campaign, actor="third@testorg.org", role="organizer")
    assert campaign.approved_rule == 'email contains "union.org"'
    assert sending.approval_lapse(campaign) == ""
    send(campaign)
    assert campaign.status == "sending"


def test_a_changed_email_drops_the_approval(approved: tuple[Campaign, Any],
                                            session: Any) -> None:
    campaign, _ = approved
    campaign.subject = "Something else entirely"
    with pytest.raises(sending.IllegalMove, match="The email changed since it was approved"):
        send(campaign)


def test_a_segment_that_grew_past_the_drift_asks_again_and_opt_outs_never_do(
        approved: tuple[Campaign, campaign_support.World], session: Any) -> None:
    campaign, world = approved
    for name in ("ana", "ben", "cy", "dee"):  # everyone emailable opts out: no drift
        consent.set_status(session, contacts.get(session, world.ids[name]), "unsubscribed",
                           method="staff", actor="test")
    session.commit()
    assert sending.approval_lapse(campaign) == ""
    contacts.create(session, {"email": "new@union.org"}, actor="test")  # 8 of 7
    session.commit()
    assert sending.approval_lapse(campaign, drift=0.2) == ""  # within 20%
    assert sending.approval_lapse(campaign) == (  # past 10%
        "The segment holds 8 people now, not the 7 it held when it was approved (more than "
        "10% apart).")
    with pytest.raises(sending.IllegalMove, match="approve it again"):
        send(campaign)
    session.rollback()
    # A wider drift allowed (as CRM_APPROVAL_DRIFT would set it) lets it go.
    sending.request_send(campaign, actor=APPROVER, drift=0.5)
    assert campaign.status == "sending"


def test_going_back_to_draft_forgets_what_was_approved(approved: tuple[Campaign, Any],
                                                       session: Any) -> None:
    campaign, _ = approved
    sending.back_to_draft(campaign)
    assert (campaign.approved_by, campaign.approved_rule, campaign.approved_hash,
            campaign.approved_count) == (None, None, None, None)


@pytest.fixture
def organizers(app: Flask, staff_users: dict[str, str]) -> dict[str, FlaskClient]:
    with app.app_context():
        crm.staff.create_user(db.session, "second@example.org", PASSWORD, role="organizer")
        db.session.commit()
    clients = {}
    for key, email in (("author", staff_users["organizer"]), ("second", "second@example.org")):
        client = app.test_client()
        assert client.post("/crm/login", data={"email": email,
                                               "password": PASSWORD}).status_code == 302
        clients[key] = client
    return clients


def test_on_the_page_and_in_the_api_a_lapsed_approval_says_why(
        app: Flask, organizers: dict[str, FlaskClient],
        tokens_for: Callable[[str], str]) -> None:
    runner = Recorder()  # the send job is recorded, not run
    app.extensions["crm"].job_runner = runner
    with app.app_context():
        world = seed(db.session)
        segment_id = world.segment_id
    author, second = organizers["author"], organizers["second"]
    api = "/crm/api/v1/campaigns"
    headers = {"Authorization": f"Bearer {tokens_for('author')}"}
    made = author.post(api, json={"kind": "chip_in", "name": "Year-end",
                                  "segment_id": segment_id}, headers=headers).json
    cid = made["id"]
    assert author.post(f"{api}/{cid}/ready", headers=headers).status_code == 200
    second_headers = {"Authorization": f"Bearer {tokens_for('second')}"}
    assert second.post(f"{api}/{cid}/approve", headers=second_headers).status_code == 200
    with app.app_context():
        segments.update(db.session, segment_id, {"text": 'first_name = Ana'}, actor="x")
        db.session.commit()
    refused = author.post(f"{api}/{cid}/send", headers=headers)
    assert refused.status_code == 409
    assert "rule changed since it was approved" in refused.json["detail"]
    page = author.get(f"/crm/campaigns/{cid}").get_data(as_text=True)
    assert "no longer holds" in page and "first_name = Ana" in page
    assert "Sending opens once it is approved again." in page
    assert f'action="/crm/campaigns/{cid}/send"' not in page
    assert f'action="/crm/campaigns/{cid}/approve"' in second.get(
        f"/crm/campaigns/{cid}").get_data(as_text=True)
    assert second.post(f"{api}/{cid}/approve", headers=second_headers).status_code == 200
    sent = author.post(f"{api}/{cid}/send", headers=headers)
    assert sent.status_code == 202 and sent.json["status"] == "sending"
    assert runner.ids == [sent.json["job_id"]]


@pytest.fixture
def tokens_for(app: Flask, organizers: dict[str, FlaskClient],
               staff_users: dict[str, str]) -> Callable[[str], str]:
    emails = {"author": staff_users["organizer"], "second": "second@example.org"}
    made: dict[str, str] = {}

    def token(who: str) -> str:
        if who not in made:
            with app.app_context():
                user = crm.staff.find_user(db.session, emails[who])
                assert user is not None
                made[who] = crm.staff.issue_token(db.session, user.get_id())[1]
                db.session.commit()
        return made[who]

    return token
