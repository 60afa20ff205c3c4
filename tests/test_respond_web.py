"""Run-for-office responses on the web: the public landing page and the staff's responses page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from campaigns import tokens
from campaigns.campaign_models import Campaign, Recipient, Response
from crm import contacts, pipeline
from crm.models import Contact
from crm.security import CSP
from tests import test_authorization
from tests.conftest import csrf_from
from wsgi import db

JANE = {"choice": "nominated", "name": "Jane Doe", "email": "jane@example.org",
        "phone": "608-555-0134", "office": "city_council", "why": "She organised the strike."}


def seed(app: Flask, stage: str | None = None, *, status: str = "sent") -> dict[str, Any]:
    """Make Ana, a sent run-for-office ask to her, and her link; optionally put her at a stage."""
    with app.app_context():
        session = db.session
        ana = contacts.create(session, {"email": "ana@example.org", "first_name": "Ana",
                                        "last_name": "Ruiz"}, actor="t")
        if stage:
            pipeline.add_to_pipeline(session, ana.id, stage=stage, actor="t")
        campaign = Campaign(kind="run_for_office", name="Run with us", status=status,
                            created_by="t", reply_to="office@testorg.org")
        session.add(campaign)
        session.flush()
        recipient = Recipient(campaign_id=campaign.id, contact_id=ana.id, email=ana.email,
                              nonce=tokens.new_nonce())
        session.add(recipient)
        session.commit()
        token = tokens.sign(app.config["SECRET_KEY"], recipient.id, recipient.nonce)
        return {"ana": ana.id, "campaign": campaign.id, "recipient": recipient.id,
                "nonce": recipient.nonce, "token": token, "url": f"/crm/respond/{token}"}


def state(app: Flask, ids: dict[str, Any]) -> dict[str, Any]:
    """Return what the answers may have changed: responses, the answer, stages, contacts."""
    with app.app_context():
        session = db.session
        recipient = session.get_one(Recipient, ids["recipient"])
        recruit = pipeline.find(session, ids["ana"])
        jane = contacts.find_by_email(session, "jane@example.org")
        jane_recruit = pipeline.find(session, jane.id) if jane else None
        return {
            "kinds": list(session.scalars(select(Response.kind).order_by(Response.id))),
            "answer": recipient.answer, "clicked": recipient.clicked_at is not None,
            "stage": recruit.stage if recruit else None,
            "contacts": len(session.scalars(select(Contact)).all()),
            "jane": None if jane is None else {
                "status": jane.email_status, "name": jane.full_name,
                "stage": jane_recruit.stage if jane_recruit else None,
                "nominated_by": jane_recruit.nominated_by_id if jane_recruit else None},
        }


def assert_public(response: Any) -> str:
    """Check a public page: the CSP, no script or inline style, no staff navigation."""
    html = response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in html
    assert not re.search(r"\sstyle=", html) and "<style" not in html
    assert "/crm/contacts" not in html and "Log out" not in html and "navbar" not in html
    assert "Test Org" in html  # the organization's name, from CRM_ORG_NAME
    assert "Traceback" not in html
    return html


# --- opening the link --------------------------------------------------------------------------


def test_scanners_opening_the_link_change_nothing_but_one_click(app: Flask) -> None:
    ids = seed(app, "contacted")
    client = app.test_client()
    for _ in range(3):
        response = client.get(ids["url"] + "?answer=yes")
        assert response.status_code == 200
    assert client.head(ids["url"] + "?answer=not-now").status_code == 200
    html = assert_public(response)
    # The email's button only highlights its answer here; nothing is recorded by a GET.
    assert re.search(r'id="answer-yes"\s+class="btn btn-lg btn-primary"', html)
    assert re.search(r'id="answer-not-now"\s+class="btn btn-lg btn-outline-secondary"', html)
    assert "I know someone who should run" in html and "<details" in html
    assert state(app, ids) == {"kinds": ["clicked"], "answer": None, "clicked": True,
                               "stage": "contacted", "contacts": 1, "jane": None}


def test_a_head_alone_records_nothing(app: Flask) -> None:
    ids = seed(app)
    assert app.test_client().head(ids["url"]).status_code == 200
    assert state(app, ids)["kinds"] == [] and not state(app, ids)["clicked"]


def test_the_nominate_button_opens_the_nomination_form(app: Flask) -> None:
    ids = seed(app)
    html = app.test_client().get(ids["url"] + "?answer=nominate").get_data(as_text=True)
    assert re.search(r'<details class="card border-primary" id="nominate" open>', html)
    assert 'name="office"' in html and "City council" in html


# --- answering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "after"), [(None, "interested"), ("contacted", "interested"),
                                               ("candidate", "candidate")])
def test_yes_moves_the_stage_forward_only(app: Flask, before: str | None, after: str) -> None:
    ids = seed(app, before)
    response = app.test_client().post(ids["url"], data={"choice": "interested"})
    assert response.status_code == 200
    html = assert_public(response)
    assert "Thank you!" in html and 'data-recorded="yes"' in html
    now = state(app, ids)
    assert (now["answer"], now["stage"], now["kinds"]) == ("interested", after,
                                                           ["clicked", "interested"])


@pytest.mark.parametrize(("before", "after"), [(None, None), ("interested", "declined"),
                                               ("candidate", "candidate")])
def test_not_now_closes_open_recruitment_only(app: Flask, before: str | None,
                                              after: str | None) -> None:
    ids = seed(app, before)
    response = app.test_client().post(ids["url"], data={"choice": "declined"})
    assert response.status_code == 200
    assert "Thanks for letting us know" in assert_public(response)
    now = state(app, ids)
    assert (now["answer"], now["stage"], now["contacts"]) == ("declined", after, 1)


def test_a_replayed_answer_changes_nothing(app: Flask) -> None:
    ids = seed(app, "contacted")
    client = app.test_client()
    assert client.post(ids["url"], data={"choice": "interested"}).status_code == 200
    again = client.post(ids["url"], data={"choice": "declined"})
    assert again.status_code == 200
    html = assert_public(again)
    assert "You already answered" in html and 'data-recorded="no"' in html
    assert "interested in running" in html and "office@testorg.org" in html
    now = state(app, ids)
    assert (now["answer"], now["stage"], now["kinds"]) == ("interested", "interested",
                                                           ["clicked", "interested"])
    # The page itself says so, and no longer offers the two buttons.
    page = client.get(ids["url"]).get_data(as_text=True)
    assert 'id="already-answered"' in page and 'id="answer-form"' not in page


def test_a_nomination_creates_a_never_subscribed_prospect(app: Flask) -> None:
    ids = seed(app)
    client = app.test_client()
    response = client.post(ids["url"], data=JANE)
    assert response.status_code == 200
    assert "We will reach out to Jane Doe" in assert_public(response)
    assert client.post(ids["url"], data={**JANE, "name": "Bo Lee",
                                         "email": "bo@example.org"}).status_code == 200
    now = state(app, ids)
    assert now["jane"] == {"status": "transactional", "name": "Jane Doe", "stage": "prospect",
                           "nominated_by": ids["ana"]}
    assert now["kinds"] == ["clicked", "nominated", "nominated"] and now["contacts"] == 3
    # Nominating left Ana free to answer for herself.
    assert client.post(ids["url"], data={"choice": "interested"}).status_code == 200
    assert state(app, ids)["stage"] == "interested"


def test_a_bad_nomination_shows_field_errors_and_changes_nothing(app: Flask) -> None:
    ids = seed(app)
    response = app.test_client().post(ids["url"], data={**JANE, "email": "jane@",
                                                         "phone": "12"})
    assert response.status_code == 422
    html = assert_public(response)
    assert re.search(r'id="email-error" class="invalid-feedback d-block">Not a valid email', html)
    assert 'id="phone-error"' in html
    assert 'value="Jane Doe"' in html  # what they typed is kept
    assert re.search(r'<details class="card[^"]*" id="nominate" open>', html)
    assert state(app, ids) == {"kinds": [], "answer": None, "clicked": False, "stage": None,
                               "contacts": 1, "jane": None}


@pytest.mark.parametrize("data", [{}, {"choice": "maybe"}, {**JANE, "why": "x" * 1001},
                                  {**JANE, "office": "mayor"}])
def test_other_bad_posts_are_422_never_500(app: Flask, data: dict[str, str]) -> None:
    ids = seed(app)
    response = app.test_client().post(ids["url"], data=data)
    assert response.status_code == 422
    assert_public(response)
    assert state(app, ids)["kinds"] == []


# --- bad links ---------------------------------------------------------------------------------


def _earlier_token(app: Flask, ids: dict[str, Any], days: int) -> str:
    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 86400

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=tokens.SALT,
                                        signer=Earlier)
    return str(serializer.dumps([ids["recipient"], ids["nonce"]]))


@pytest.mark.parametrize(("case", "status", "says"), [
    ("tampered", 404, "This link does not work"),
    ("expired", 410, "This link has expired"),
    ("other nonce", 404, "does not work any more"),
    ("draft", 404, "does not work any more"),
])
def test_bad_links_get_a_friendly_page_and_change_nothing(app: Flask, case: str, status: int,
                                                          says: str) -> None:
    ids = seed(app, "contacted", status="draft" if case == "draft" else "sent")
    token = {
        "tampered": ("A" if ids["token"][0] != "A" else "B") + ids["token"][1:],
        "expired": _earlier_token(app, ids, 61),
        "other nonce": tokens.sign(app.config["SECRET_KEY"], ids["recipient"], "x" * 16),
        "draft": ids["token"],
    }[case]
    client = app.test_client()
    for method in ("get", "post"):
        response = getattr(client, method)(f"/crm/respond/{token}",
                                           data={"choice": "interested"})
        assert response.status_code == status
        assert says in assert_public(response)
    assert state(app, ids) == {"kinds": [], "answer": None, "clicked": False,
                               "stage": "contacted", "contacts": 1, "jane": None}


def test_a_link_within_its_days_still_works(app: Flask) -> None:
    ids = seed(app)
    assert app.test_client().get(f"/crm/respond/{_earlier_token(app, ids, 59)}").status_code == 200


# --- CSRF and rate limits ----------------------------------------------------------------------


def test_a_post_without_the_csrf_token_changes_nothing(csrf_app: Flask) -> None:
    ids = seed(csrf_app, "contacted")
    client = csrf_app.test_client()
    response = client.post(ids["url"], data={"choice": "interested"})
    assert response.status_code == 400
    assert "This form has expired" in assert_public(response)
    assert state(csrf_app, ids)["kinds"] == [] and state(csrf_app, ids)["stage"] == "contacted"
    # With the token from the page, the same answer goes through.
    token = csrf_from(client.get(ids["url"]).data)
    response = client.post(ids["url"], data={"choice": "interested", "csrf_token": token})
    assert response.status_code == 200
    assert state(csrf_app, ids)["stage"] == "interested"


def test_too_many_requests_get_the_friendly_429(make_app: Callable[..., Flask]) -> None:
    app = make_app(CRM_RESPONSE_RATE_LIMIT="3 per minute")
    ids = seed(app)
    client = app.test_client()
    assert [client.get(ids["url"]).status_code for _ in range(3)] == [200] * 3
    response = client.post(ids["url"], data={"choice": "interested"})
    assert response.status_code == 429
    assert "Too many tries" in assert_public(response)
    assert response.headers["Retry-After"] == "60"
    assert state(app, ids)["answer"] is None
    # Another app in this process counts on its own.
    other = make_app(CRM_RESPONSE_RATE_LIMIT="3 per minute")
    assert other.test_client().get("/crm/respond/x").status_code == 404
    # Limits follow the config: lowered after start, or turned off.
    other.config["CRM_RESPONSE_RATE_LIMIT"] = "1 per minute"
    assert [other.test_client().get("/crm/respond/x").status_code for _ in range(2)] == [404, 429]
    other.config["CRM_RESPONSE_RATE_LIMIT"] = ""
    assert {other.test_client().get("/crm/respond/x").status_code for _ in range(40)} == {404}


def test_the_limit_leaves_staff_pages_alone(make_app: Callable[..., Flask]) -> None:
    app = make_app(CRM_RESPONSE_RATE_LIMIT="1 per minute")
    client = app.test_client()
    assert {client.get("/crm/login").status_code for _ in range(5)} == {200}


# --- staff -------------------------------------------------------------------------------------


def test_logged_in_staff_see_no_staff_navigation_on_the_public_page(
        app: Flask, as_role: Callable[[str], FlaskClient]) -> None:
    ids = seed(app)
    assert_public(as_role("admin").get(ids["url"]))


def test_the_responses_page_lists_answers_and_counts(
        app: Flask, as_role: Callable[[str], FlaskClient]) -> None:
    ids = seed(app)
    public = app.test_client()
    public.post(ids["url"], data=JANE)
    public.post(ids["url"], data={"choice": "interested"})
    staff = as_role("viewer")
    response = staff.get("/crm/campaigns/responses")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Run-for-office responses" in html and "Run with us" in html
    assert f'href="/crm/contacts/{ids["ana"]}"' in html and "Ana Ruiz" in html
    assert "Jane Doe" in html and "She organised the strike." in html
    assert "City council" in html and "new contact" in html
    assert re.search(r'id="new-count">2<', html)  # the yes and the nomination; not the click
    assert re.search(r'id="count-clicked">1<', html)
    rows = re.findall(r'<tr class="response-(\w+)">', html)
    assert rows == ["interested", "nominated", "clicked"]
    only = staff.get("/crm/campaigns/responses?kind=nominated").get_data(as_text=True)
    assert re.findall(r'<tr class="response-(\w+)">', only) == ["nominated"]
    bogus = staff.get("/crm/campaigns/responses?kind=bogus&campaign=abc&before=x")
    assert bogus.status_code == 200 and "There is no answer" in bogus.get_data(as_text=True)
    assert app.test_client().get("/crm/campaigns/responses").status_code == 302


def test_responses_show_on_both_timelines(app: Flask,
                                          as_role: Callable[[str], FlaskClient]) -> None:
    ids = seed(app)
    public = app.test_client()
    public.post(ids["url"], data=JANE)
    public.post(ids["url"], data={"choice": "interested"})
    staff = as_role("viewer")
    ana = staff.get(f"/crm/contacts/{ids['ana']}").get_data(as_text=True)
    for title in ("Said yes to running (Run with us)", "Nominated Jane Doe (Run with us)",
                  "Opened the run-for-office link (Run with us)"):
        assert title in ana
    with app.app_context():
        jane = contacts.find_by_email(db.session, "jane@example.org")
        assert jane is not None
        jane_id = jane.id
    page = staff.get(f"/crm/contacts/{jane_id}").get_data(as_text=True)
    assert "Was nominated by Ana Ruiz (Run with us)" in page


def test_both_blueprints_are_in_the_authorization_matrix() -> None:
    assert {"campaign_public", "campaign_responses"} <= test_authorization.BLUEPRINTS
    assert test_authorization.ROUTES[("campaign_responses.response_list", "GET")][0] == "view"
    assert test_authorization.ROUTES[("campaign_public.respond", "POST")][0] == "public"
