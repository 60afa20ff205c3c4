"""The campaign pages against the sandbox Mailchimp: compose, mark ready, approve, send, inbox."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import crm.staff
from campaigns import composing, connection, sandbox_inbox
from campaigns.campaign_models import Campaign
from crm.job_runner import run_now
from crm.models import utcnow
from tests import campaign_support
from tests.conftest import PASSWORD, login
from wsgi import db

SECOND = "organizer2@example.org"


class Recorder:
    """A job runner that only remembers; the test runs each job with ``run_now``."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def dispatch(self, app: Flask, job_id: int) -> None:
        self.ids.append(job_id)


@pytest.fixture
def world(app: Flask, staff_users: dict[str, str]) -> campaign_support.World:
    """The small organization of the campaign tests, a second organizer, jobs held back."""
    app.extensions["crm"].job_runner = Recorder()
    with app.app_context():
        crm.staff.create_user(db.session, SECOND, PASSWORD, role="organizer")
        found = campaign_support.seed(db.session)
        db.session.remove()
    return found


def client_as(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def run_last(app: Flask) -> Any:
    job = run_now(app, app.extensions["crm"].job_runner.ids[-1])
    assert job.status == "succeeded", (job.message, job.error)
    return job


def campaign(app: Flask, campaign_id: int) -> Campaign:
    with app.app_context():
        found = composing.get(db.session, campaign_id)
        db.session.expunge(found)
        return found


def start(client: FlaskClient, kind: str = "chip_in", name: str = "Fall appeal") -> int:
    response = client.post("/crm/campaigns/new", data={"kind": kind, "name": name})
    assert response.status_code == 302, response.data[:400]
    match = re.fullmatch(r"/crm/campaigns/(\d+)", response.headers["Location"])
    assert match
    return int(match.group(1))


def fields(app: Flask, campaign_id: int, **changes: Any) -> dict[str, Any]:
    """Return the composer's form as saved, with some fields changed."""
    c = campaign(app, campaign_id)
    ask = c.ask_config
    data = {"name": c.name, "subject": c.subject, "preview_text": c.preview_text,
            "from_name": c.from_name, "reply_to": c.reply_to,
            "segment_id": str(c.segment_id or ""), "body_format": c.body_format, "body": c.body,
            "donate_url": c.donate_url, "skip_recent_days": "", "require_approval": "y",
            "ask_multipliers": ", ".join(str(m) for m in ask["multipliers"]),
            "ask_floor": str(ask["floor"]), "ask_cap": str(ask["cap"]),
            "ask_never_given": ", ".join(str(n) for n in ask["never_given"]),
            "ask_basis": ask["basis"]}
    data.update(changes)
    if not data.get("require_approval"):
        data.pop("require_approval")
    return data


def ready(app: Flask, client: FlaskClient, world: campaign_support.World, **changes: Any) -> int:
    campaign_id = start(client)
    data = fields(app, campaign_id, segment_id=str(world.segment_id), **changes)
    response = client.post(f"/crm/campaigns/{campaign_id}/ready", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return campaign_id


def inbox_of(app: Flask, mc_campaign_id: str | None = None) -> list[dict[str, Any]]:
    base = connection.inbox_url(app)
    assert base is not None
    return sandbox_inbox.messages(base, mc_campaign_id)


def test_a_chip_in_draft_starts_from_its_starter(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    listing = client.get("/crm/campaigns").get_data(as_text=True)
    for label in ("New chip-in appeal", "New run-for-office ask", "New email"):
        assert label in listing
    assert 'id="no-campaigns"' in listing
    campaign_id = start(client)
    page = client.get(f"/crm/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'id="composer"' in page and ">draft</span>" in page
    assert "Can you chip in before Friday&#39;s deadline?" in page  # the starter's subject
    assert "{{ ask_1 }}" in page and "{{ donate_url_1 }}" in page  # its body, and variables
    assert "{{ interested_url }}" not in page  # a run-for-office variable is not offered
    assert 'value="https://secure.actblue.com/donate/test-org"' in page  # the org's default
    assert 'id="chip-in-settings"' in page and 'sandbox="allow-popups' in page
    # A viewer reads the draft: the same page, read only, without the live preview.
    seen = as_role("viewer").get(f"/crm/campaigns/{campaign_id}").get_data(as_text=True)
    assert "<fieldset disabled>" in seen and "data-preview-url" not in seen
    assert ">Save draft</button>" not in seen and 'id="preview-frame"' in seen
    assert 'data-preview-url="/crm/campaigns/' in page and ">Save draft</button>" in page
    ask_page = client.get(f"/crm/campaigns/{start(client, 'run_for_office', 'Run')}")
    assert "{{ interested_url }}" in ask_page.get_data(as_text=True)
    assert 'id="chip-in-settings"' not in ask_page.get_data(as_text=True)

    listing = client.get("/crm/campaigns?kind=chip_in").get_data(as_text=True)
    assert "Fall appeal" in listing and ">Run</a>" not in listing
    assert "Fall appeal" not in client.get("/crm/campaigns?status=sent").get_data(as_text=True)


def test_the_composer_puts_errors_on_their_fields(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    campaign_id = start(client)
    data = fields(app, campaign_id, reply_to="not an address", donate_url="actblue.com/x",
                  ask_floor="100", ask_cap="50", subject="Edited")
    response = client.post(f"/crm/campaigns/{campaign_id}", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="reply_to-error"[^>]*>Not a valid email address', page)
    assert re.search(r'id="donate_url-error"[^>]*>Give the donation page', page)
    assert re.search(r'id="ask_cap-error"[^>]*>The highest ask must be more', page)
    assert campaign(app, campaign_id).subject != "Edited"  # nothing was saved

    saved = client.post(f"/crm/campaigns/{campaign_id}", data=fields(app, campaign_id,
                                                                       subject="Edited"))
    assert saved.status_code == 302
    assert campaign(app, campaign_id).subject == "Edited"


def test_mark_ready_says_exactly_what_is_missing(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    app.config["CRM_ORG_POSTAL_ADDRESS"] = ""
    client = as_role("organizer")
    campaign_id = start(client)
    data = fields(app, campaign_id, subject="", body="Hi {{ first_name }}, {{ nickname }}!",
                  segment_id=str(world.segment_id))
    response = client.post(f"/crm/campaigns/{campaign_id}/ready", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    refusal = page[page.index('id="ready-problems"'):page.index('id="composer"')]
    assert "Add a subject line." in refusal
    assert "The footer needs an unsubscribe link" in refusal
    assert "postal address isn&#39;t set" in refusal and "CRM_ORG_POSTAL_ADDRESS" in refusal
    assert "{{ nickname }}" in refusal
    assert re.search(r'id="subject-error"[^>]*>Add a subject line', page)
    stored = campaign(app, campaign_id)
    assert stored.status == "draft"
    assert stored.body == "Hi {{ first_name }}, {{ nickname }}!"  # the edit was kept


def test_ready_freezes_the_audience_and_the_content(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    campaign_id = ready(app, client, world)
    page = client.get(f"/crm/campaigns/{campaign_id}").get_data(as_text=True)
    assert ">ready</span>" in page and 'id="composer"' not in page
    assert re.search(r'id="audience-included">4<', page)
    for reason in ("unsubscribed", "cleaned (the address bounced)",
                   "in the suppression group Do not email"):
        assert f"<td>{reason}</td>" in page
    assert ">Back to draft</button>" in page
    # Read-only past draft: a save is refused and changes nothing.
    response = client.post(f"/crm/campaigns/{campaign_id}",
                           data=fields(app, campaign_id, subject="Changed"))
    assert response.status_code == 409
    assert "move it back to draft" in response.get_data(as_text=True)
    assert campaign(app, campaign_id).subject != "Changed"
    frozen = client.post(f"/crm/campaigns/{campaign_id}/preview", data={"body": "x"})
    assert frozen.status_code == 409 and "frozen" in frozen.get_json()["error"]
    assert client.post(f"/crm/campaigns/{campaign_id}/draft").status_code == 302
    assert campaign(app, campaign_id).status == "draft"


def test_approval_needs_a_second_organizer(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    author = as_role("organizer")
    campaign_id = ready(app, author, world)
    page = author.get(f"/crm/campaigns/{campaign_id}").get_data(as_text=True)
    assert "you cannot approve it" in page and ">Approve</button>" not in page
    assert 'id="send-waiting"' in page
    refused = author.post(f"/crm/campaigns/{campaign_id}/approve")
    assert refused.status_code == 403
    assert "A second organizer must approve" in refused.get_data(as_text=True)
    assert author.post(f"/crm/campaigns/{campaign_id}/send").status_code == 409

    viewer = as_role("viewer")
    seen = viewer.get(f"/crm/campaigns/{campaign_id}").get_data(as_text=True)
    assert "your role (viewer) cannot approve" in seen
    assert viewer.post(f"/crm/campaigns/{campaign_id}/approve").status_code == 403
    assert campaign(app, campaign_id).status == "ready"

    second = client_as(app, SECOND)
    assert ">Approve</button>" in second.get(f"/crm/campaigns/{campaign_id}").get_data(
        as_text=True)
    assert second.post(f"/crm/campaigns/{campaign_id}/approve").status_code == 302
    approved = campaign(app, campaign_id)
    assert (approved.status, approved.approved_by) == ("approved", SECOND)


def test_send_now_runs_the_job_and_each_recipient_gets_one_message(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    campaign_id = ready(app, client, world, require_approval="")
    assert client.post(f"/crm/campaigns/{campaign_id}/send").status_code == 302
    sending = client.get(f"/crm/campaigns/{campaign_id}").get_data(as_text=True)
    assert ">sending</span>" in sending and 'id="job"' in sending and "jobs.js" in sending
    run_last(app)

    sent = campaign(app, campaign_id)
    assert sent.status == "sent" and sent.mc_campaign_id
    page = client.get(f"/crm/campaigns/{campaign_id}").get_data(as_text=True)
    assert ">sent</span>" in page and sent.mc_campaign_id in page
    assert 'id="inbox-link"' in page and 'id="job"' not in page
    messages = inbox_of(app, sent.mc_campaign_id)
    assert sorted(m["to"] for m in messages) == ["ana@union.org", "ben@union.org",
                                                  "cy@union.org", "dee@union.org"]
    assert not any(m["test"] for m in messages)

    inbox = client.get(f"/crm/campaigns/sandbox-inbox?campaign={sent.mc_campaign_id}")
    assert inbox.status_code == 200
    listed = inbox.get_data(as_text=True)
    assert listed.count("/crm/campaigns/sandbox-inbox/") == 4
    ana = next(m for m in messages if m["to"] == "ana@union.org")
    shown = client.get(f"/crm/campaigns/sandbox-inbox/{ana['message_id']}").get_data(
        as_text=True)
    assert "ana@union.org" in shown and 'id="message-frame"' in shown
    # Ana's asks come from her own giving ($20 highest gift): links with her amounts.
    assert "refcode=crm-c" in shown and "amount=20" in shown
    frame = client.get(f"/crm/campaigns/sandbox-inbox/{ana['message_id']}/frame")
    assert "sandbox allow-popups" in frame.headers["Content-Security-Policy"]
    assert '<base target="_blank">' in frame.get_data(as_text=True)
    assert "Hi Ana" in frame.get_data(as_text=True)
    assert client.get("/crm/campaigns/sandbox-inbox/nope").status_code == 404


def test_a_schedule_off_the_quarter_hour_is_refused_and_cancel_unschedules(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    campaign_id = ready(app, client, world, require_approval="")
    later = (utcnow() + timedelta(days=2)).replace(minute=7, second=0, microsecond=0)
    response = client.post(f"/crm/campaigns/{campaign_id}/schedule",
                           data={"send_at": later.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 422
    assert re.search(r'id="send-at-error"[^>]*>Mailchimp schedules on the quarter hour',
                     response.get_data(as_text=True))
    assert campaign(app, campaign_id).status == "ready"

    slot = later.replace(minute=30)
    response = client.post(f"/crm/campaigns/{campaign_id}/schedule",
                           data={"send_at": slot.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    run_last(app)
    scheduled = campaign(app, campaign_id)
    assert scheduled.status == "scheduled" and scheduled.send_at == slot
    state = app.extensions["campaigns"].sandbox.server.state
    assert state.campaign_record(scheduled.mc_campaign_id)["status"] == "schedule"
    page = client.get(f"/crm/campaigns/{campaign_id}").get_data(as_text=True)
    assert f"{slot:%Y-%m-%d %H:%M} UTC" in page and "Unschedule and cancel" in page

    assert client.post(f"/crm/campaigns/{campaign_id}/cancel").status_code == 302
    assert campaign(app, campaign_id).status == "cancelled"
    assert state.campaign_record(scheduled.mc_campaign_id)["status"] == "save"
    assert inbox_of(app, scheduled.mc_campaign_id) == []


def test_a_failed_send_is_retried_from_its_page(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    campaign_id = ready(app, client, world, require_approval="")
    with app.app_context():
        stored = composing.get(db.session, campaign_id)
        stored.status, stored.failure = "failed", "Mailchimp 503: Service Unavailable"
        db.session.commit()
    page = client.get(f"/crm/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Mailchimp 503: Service Unavailable" in page and ">Retry</button>" in page
    assert client.post(f"/crm/campaigns/{campaign_id}/retry").status_code == 302
    run_last(app)
    assert campaign(app, campaign_id).status == "sent"


def test_the_preview_renders_unsaved_changes_as_a_contact(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    campaign_id = start(client)
    data = fields(app, campaign_id, segment_id=str(world.segment_id),
                  subject="For {{ first_name }}", contact_id=str(world.ids["ben"]),
                  body="Hi {{ first_name }}, give ${{ ask_1 }}: {{ donate_url_1 }}")
    body = client.post(f"/crm/campaigns/{campaign_id}/preview", data=data).get_json()
    assert body["contact"]["email"] == "ben@union.org"
    assert body["audience"] == {"total": 7, "subscribed": 5, "excluded": {
        "unsubscribed": 1, "cleaned (the address bounced)": 1}}
    assert "Hi Ben, give $100" in body["text"]  # Ben's $100 gift sets his first ask
    assert "amount=100" in body["html"]
    assert "The footer needs an unsubscribe link" in body["problems"]["body"]
    assert "only work in the body" in body["problems"]["subject"]
    assert campaign(app, campaign_id).body != data["body"]  # a preview saves nothing

    broken = client.post(f"/crm/campaigns/{campaign_id}/preview",
                         data={**data, "body": "{% for x in y %}{% endfor %}"}).get_json()
    assert broken["html"] == "" and "loops" in broken["problems"]["body"]

    frame = client.post(f"/crm/campaigns/{campaign_id}/preview/frame", data=data)
    assert "Hi Ben" in frame.get_data(as_text=True)
    assert "style-src 'unsafe-inline'" in frame.headers["Content-Security-Policy"]
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    people = client.get(f"/crm/campaigns/{campaign_id}/people?q=dee").get_json()["people"]
    assert [p["email"] for p in people] == ["dee@union.org"]


def test_a_test_send_goes_to_a_few_staff_addresses(
        app: Flask, world: campaign_support.World, as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    campaign_id = ready(app, client, world)
    too_many = ", ".join(f"s{n}@example.org" for n in range(6))
    response = client.post(f"/crm/campaigns/{campaign_id}/test", data={"emails": too_many})
    assert response.status_code == 422
    assert "at most 5 addresses" in response.get_data(as_text=True)
    bad = client.post(f"/crm/campaigns/{campaign_id}/test", data={"emails": "me@, x"})
    assert bad.status_code == 422 and "Not a valid email address" in bad.get_data(as_text=True)
    assert inbox_of(app) == []

    sent = client.post(f"/crm/campaigns/{campaign_id}/test",
                       data={"emails": "me@example.org, boss@example.org"})
    assert sent.status_code == 302
    assert sent.headers["Location"] == f"/crm/campaigns/{campaign_id}"
    tests = inbox_of(app)
    assert sorted(m["to"] for m in tests) == ["boss@example.org", "me@example.org"]
    assert all(m["test"] and m["subject"].startswith("[Test]") for m in tests)
    listed = client.get("/crm/campaigns/sandbox-inbox").get_data(as_text=True)
    assert listed.count(">test</span>") == 2 and "a test campaign" in listed
    # A second test reuses the same test campaign; the real campaign is untouched.
    client.post(f"/crm/campaigns/{campaign_id}/test", data={"emails": "me@example.org"})
    assert len({m["campaign_id"] for m in inbox_of(app)}) == 1
    assert campaign(app, campaign_id).mc_campaign_id is None


def test_the_sandbox_inbox_is_only_there_with_the_sandbox(
        shared_app: Callable[..., Flask]) -> None:
    real = shared_app(CRM_MAILCHIMP_API_KEY="abc123-us6", CRM_MAILCHIMP_AUDIENCE_ID="list1")
    with real.app_context():
        crm.staff.create_user(db.session, "o@example.org", PASSWORD, role="organizer")
        db.session.commit()
    client = client_as(real, "o@example.org")
    assert client.get("/crm/campaigns/sandbox-inbox").status_code == 404
    assert "Sandbox inbox" not in client.get("/crm/campaigns").get_data(as_text=True)
