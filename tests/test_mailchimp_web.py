"""The Mailchimp pages against the sandbox Mailchimp: dry run, push, review, ledger, webhooks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns import connection
from campaigns.models import ReviewItem, SyncRun
from crm import contacts, jobs, staff
from crm.job_runner import run_now
from crm.segments import service as segments
from tests.conftest import csrf_from, login
from wsgi import db

PEOPLE = [
    {"email": "ann.lee@example.org", "first_name": "Ann", "last_name": "Lee", "tags": ["member"]},
    {"email": "test@example.com", "first_name": "Tess", "tags": ["member"]},
    {"email": "bo.diaz@example.org", "first_name": "Bo", "tags": ["member", "steward"]},
    {"email": "una@example.org", "first_name": "Una", "email_status": "unsubscribed",
     "tags": ["member"]},
    {"email": "zed@example.org", "first_name": "Zed"},
]


class Recorder:
    """A job runner that only remembers; the test runs each job with ``run_now``."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def dispatch(self, app: Flask, job_id: int) -> None:
        self.ids.append(job_id)


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    """Contacts (one with an address the sandbox refuses), a segment and a recording runner."""
    app.extensions["crm"].job_runner = Recorder()
    with app.app_context():
        ids = {p["first_name"]: contacts.create(db.session, p, actor="seed").id for p in PEOPLE}
        ids["segment"] = segments.create(db.session, {"name": "Members", "text": "tag:member"},
                                         actor="seed").id
        db.session.commit()
    return ids


def run_last(app: Flask) -> Any:
    """Run the job a page just started and return it."""
    job = run_now(app, app.extensions["crm"].job_runner.ids[-1])
    assert job.status == "succeeded", (job.message, job.error)
    return job


def number(page: str, element_id: str) -> int:
    """Read a number the page shows in the element with this id."""
    match = re.search(rf'id="{element_id}">([\d,]+)<', page)
    assert match, f"no #{element_id}"
    return int(match.group(1).replace(",", ""))


def audience(app: Flask) -> dict[str, str]:
    """Return the sandbox audience's members as email → status."""
    state = app.extensions["campaigns"].sandbox.server.state
    return {m["email_address"]: m["status"]
            for m in state.all_members(connection.audience_id(app))}


def dry_run_and_push(app: Flask, client: FlaskClient, segment: int | str) -> str:
    """Start a sync from the page, run its dry run and its push; return the sync's URL."""
    response = client.post("/crm/mailchimp/syncs/new", data={"segment": str(segment)})
    assert response.status_code == 302
    url = response.headers["Location"]
    run_last(app)
    assert client.post(f"{url}/push").status_code == 302
    run_last(app)
    return url


def test_dry_run_shows_counts_then_the_push_lands_members(
        app: Flask, world: dict[str, Any], as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    form = client.get("/crm/mailchimp/syncs/new").get_data(as_text=True)
    assert '<option value="">everyone</option>' in form and ">Members</option>" in form
    response = client.post("/crm/mailchimp/syncs/new", data={"segment": str(world["segment"])})
    assert response.status_code == 302
    url = response.headers["Location"]
    assert re.fullmatch(r"/crm/mailchimp/syncs/\d+", url)
    waiting = client.get(url).get_data(as_text=True)
    # While its job waits or runs the page follows it live, and offers to stop it.
    assert 'id="job"' in waiting and "jobs.js" in waiting and ">Stop</button>" in waiting
    run_last(app)

    page = client.get(url).get_data(as_text=True)
    assert number(page, "plan-add") == 3 and number(page, "plan-skip") == 1
    assert number(page, "plan-update") == 0 and number(page, "plan-unchanged") == 0
    assert re.search(r"<td>unsubscribed</td><td[^>]*>1</td>", page)
    assert "Sandbox Mailchimp: nothing leaves this machine" in page
    assert "<code>ASK1</code>" in page  # merge fields the push will create
    assert ">steward</span>" in page  # a tag the push sets
    assert "Push 3 members to Mailchimp" in page
    assert audience(app) == {}  # a dry run changes nothing in Mailchimp

    assert client.post(f"{url}/push").status_code == 302
    pushing = client.get(url).get_data(as_text=True)
    assert "Push to Mailchimp" in pushing and 'id="job"' in pushing
    run_last(app)
    page = client.get(url).get_data(as_text=True)
    assert number(page, "push-added") == 2 and number(page, "push-errors") == 1
    assert number(page, "push-calls") > 0
    assert ">pushed</span>" in page and ">Stop</button>" not in page
    assert audience(app) == {"ann.lee@example.org": "subscribed",
                             "bo.diaz@example.org": "subscribed"}
    # The refused member waits for review on the sync's page, linked to the contact.
    review = page[page.index('id="sync-review"'):]
    assert f'href="/crm/contacts/{world["Tess"]}">Tess</a>' in review
    assert "test@example.com looks fake or invalid" in review

    # A change to a pushed contact shows field by field in the next dry run.
    with app.app_context():
        contacts.update(db.session, world["Ann"], {"first_name": "Annie"}, actor="seed")
        db.session.commit()
    response = client.post("/crm/mailchimp/syncs/new", data={"segment": str(world["segment"])})
    run_last(app)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert number(page, "plan-update") == 1 and number(page, "plan-unchanged") == 1
    changes = page[page.index('id="sample-updates"'):]
    assert re.search(r"<td>First name</td>\s*<td[^>]*>Ann</td>\s*<td[^>]*>Annie</td>", changes)


def test_everyone_subscribed_and_the_lists_of_syncs(
        app: Flask, world: dict[str, Any], as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("admin")
    url = dry_run_and_push(app, client, "")
    page = client.get(url).get_data(as_text=True)
    assert "Everyone subscribed" in page and number(page, "push-added") == 3
    assert set(audience(app)) == {"ann.lee@example.org", "bo.diaz@example.org",
                                  "zed@example.org"}
    listing = client.get("/crm/mailchimp/syncs").get_data(as_text=True)
    assert f'href="{url}"' in listing and "3 added" in listing
    home = client.get("/crm/mailchimp").get_data(as_text=True)
    assert "Sandbox Mailchimp: nothing leaves this machine" in home
    assert 'id="audience-name">' in home and "3 contacts pushed in all" in home
    assert 'href="/crm/mailchimp/ledger?status=subscribed">subscribed</a>' in home
    assert f'href="{url}"' in home and "1 to review" in home


def test_review_queue_links_the_contact_and_dismisses(
        app: Flask, world: dict[str, Any], as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    dry_run_and_push(app, client, world["segment"])
    page = client.get("/crm/mailchimp/review").get_data(as_text=True)
    assert "1 open item" in page
    assert f'href="/crm/contacts/{world["Tess"]}">Tess</a>' in page
    assert "looks fake or invalid" in page and "Sync #" in page
    contact = client.get(f"/crm/contacts/{world['Tess']}").get_data(as_text=True)
    assert 'id="mailchimp-panel"' in contact and "Mailchimp refused test@example.com" in contact
    with app.app_context():
        item_id = db.session.query(ReviewItem.id).scalar()
    response = client.post(f"/crm/mailchimp/review/{item_id}/dismiss",
                           data={"note": "Asked for a real address"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/review?page=1")
    page = client.get("/crm/mailchimp/review").get_data(as_text=True)
    assert "Dismissed the item about test@example.com." in page and 'id="review-empty"' in page
    with app.app_context():
        item = db.session.get(ReviewItem, item_id)
        assert item is not None and item.resolved_by == "organizer@example.org"
        assert item.resolution == "Asked for a real address"
    assert "Mailchimp refused" not in client.get(f"/crm/contacts/{world['Tess']}").get_data(
        as_text=True)
    assert as_role("viewer").post(f"/crm/mailchimp/review/{item_id}/dismiss").status_code == 403


def test_ledger_lists_rows_filters_them_and_the_contact_panel(
        app: Flask, world: dict[str, Any], as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    assert "Nothing pushed yet" in client.get("/crm/mailchimp/ledger").get_data(as_text=True)
    assert 'id="mailchimp-panel"' not in client.get(f"/crm/contacts/{world['Ann']}").get_data(
        as_text=True)
    dry_run_and_push(app, client, world["segment"])
    page = client.get("/crm/mailchimp/ledger").get_data(as_text=True)
    assert "ann.lee@example.org" in page and "bo.diaz@example.org" in page
    assert "test@example.com" not in page  # refused, so Mailchimp holds nothing for them
    assert re.search(r">member</span>\s*<span[^>]*>steward</span>", page)
    found = client.get("/crm/mailchimp/ledger?q=BO.D").get_data(as_text=True)
    assert "bo.diaz@example.org" in found and "ann.lee@example.org" not in found
    none = client.get("/crm/mailchimp/ledger?status=cleaned").get_data(as_text=True)
    assert "No contact in the ledger matches." in none
    panel = client.get(f"/crm/contacts/{world['Bo']}").get_data(as_text=True)
    start = panel.index('id="mailchimp-panel"')
    panel = panel[start:panel.index('class="card mb-4"', start)]
    assert re.search(r'id="mailchimp-status">\s*<span class="badge status-subscribed">', panel)
    assert ">steward</span>" in panel and "Last synced" in panel


def test_webhook_log_lists_a_delivery(app: Flask, world: dict[str, Any],
                                      as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("viewer")
    assert "No deliveries yet." in client.get("/crm/mailchimp/webhooks").get_data(as_text=True)
    with app.app_context():
        secret = connection.webhook_secret(app)
    response = app.test_client().post(f"/crm/hooks/mailchimp/{secret}", data={
        "type": "unsubscribe", "fired_at": "2026-03-01 12:00:00",
        "data[email]": "ann.lee@example.org", "data[list_id]": connection.audience_id(app),
        "data[reason]": "manual"})
    assert response.status_code == 200 and response.json["outcome"] == "applied"
    page = client.get("/crm/mailchimp/webhooks").get_data(as_text=True)
    row = page[page.index('id="webhook-events"'):]
    assert "<td>unsubscribe</td>" in row and "ann.lee@example.org" in row
    assert f'href="/crm/contacts/{world["Ann"]}">Ann Lee</a>' in row and ">applied</span>" in row
    assert "fired 2026-03-01 12:00:00 UTC" in row
    assert "<td>unsubscribe</td>" in client.get(
        "/crm/mailchimp/webhooks?outcome=applied").get_data(as_text=True)
    assert "No delivery with this outcome." in client.get(
        "/crm/mailchimp/webhooks?outcome=rejected").get_data(as_text=True)


def test_viewers_read_but_cannot_start_anything(
        app: Flask, world: dict[str, Any], as_role: Callable[[str], FlaskClient]) -> None:
    viewer = as_role("viewer")
    home = viewer.get("/crm/mailchimp").get_data(as_text=True)
    with app.app_context():
        secret = connection.webhook_secret(app)
    assert "New sync" not in home and "Reconcile now" not in home
    assert secret not in home and "/crm/hooks/mailchimp/••••" in home  # the secret is hidden
    assert viewer.get("/crm/mailchimp/syncs/new").status_code == 403
    assert viewer.post("/crm/mailchimp/syncs/new", data={"segment": ""}).status_code == 403
    assert viewer.post("/crm/mailchimp/reconcile").status_code == 403
    with app.app_context():
        assert db.session.query(SyncRun).count() == 0
    assert app.extensions["crm"].job_runner.ids == []
    admin_home = as_role("admin").get("/crm/mailchimp").get_data(as_text=True)
    assert f"/crm/hooks/mailchimp/{secret}" in admin_home and "Install webhook" in admin_home
    organizer = as_role("organizer")
    assert "Install webhook" not in organizer.get("/crm/mailchimp").get_data(as_text=True)
    assert organizer.post("/crm/mailchimp/webhook",
                          data={"base_url": "https://crm.example.org"}).status_code == 404
    missing = viewer.get("/crm/mailchimp/syncs/999")
    assert missing.status_code == 404 and "There is nothing here." in missing.get_data(
        as_text=True)


def test_stop_resume_and_reconcile(app: Flask, world: dict[str, Any],
                                   as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    url = client.post("/crm/mailchimp/syncs/new", data={"segment": ""}).headers["Location"]
    run_last(app)
    client.post(f"{url}/push")
    response = client.post(f"{url}/stop", follow_redirects=True)
    assert "Stopped before it started." in response.get_data(as_text=True)
    busy = client.post(f"{url}/push", follow_redirects=True).get_data(as_text=True)
    assert "Pushing to Mailchimp" in busy  # a stopped job is no obstacle to pushing again
    again = client.post(f"{url}/push", follow_redirects=True).get_data(as_text=True)
    assert "is running already" in again
    with app.app_context():  # as if the push had stopped half way
        record = db.session.get(SyncRun, int(url.rsplit("/", 1)[1]))
        assert record is not None
        jobs.request_stop(db.session, app.extensions["crm"].job_runner.ids[-1])
        record.status, record.counts = "stopped", {"added": 1, "examined": 1}
        db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert ">Resume</button>" in page and "Stopped on request" in page
    assert "Dry run again" not in page
    replan = client.post(f"{url}/plan", follow_redirects=True).get_data(as_text=True)
    assert "has started pushing: resume it" in replan
    assert "Resumed the push" in client.post(f"{url}/push", follow_redirects=True).get_data(
        as_text=True)
    run_last(app)
    assert number(client.get(url).get_data(as_text=True), "push-added") == 4  # 1 before, 3 now

    response = client.post("/crm/mailchimp/reconcile")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert re.fullmatch(r"/crm/jobs/\d+", job_url)
    twice = client.post("/crm/mailchimp/reconcile")
    assert twice.headers["Location"] == job_url  # one reconcile at a time
    run_last(app)
    home = client.get("/crm/mailchimp").get_data(as_text=True)
    assert "Last run" in home and "Never run yet." not in home


def test_webhook_install_and_mailchimp_errors(app: Flask, world: dict[str, Any],
                                              as_role: Callable[[str], FlaskClient],
                                              shared_app: Callable[..., Flask]) -> None:
    admin = as_role("admin")
    # The sandbox checks the URL answers, as Mailchimp does; this one cannot.
    refused = admin.post("/crm/mailchimp/webhook", data={"base_url": "http://127.0.0.1:9"})
    assert refused.status_code == 422
    assert "Mailchimp refused the webhook" in refused.get_data(as_text=True)
    invalid = admin.post("/crm/mailchimp/webhook", data={"base_url": "crm.example.org"})
    assert invalid.status_code == 422
    assert "An address starting with https://" in invalid.get_data(as_text=True)
    app.extensions["campaigns"].sandbox.server.state.validate_webhooks = False
    done = admin.post("/crm/mailchimp/webhook", data={"base_url": "https://crm.example.org"},
                      follow_redirects=True).get_data(as_text=True)
    assert "Registered the webhook https://crm.example.org/crm/hooks/mailchimp/" in done
    assert "✓ Registered in Mailchimp." in done
    state = app.extensions["campaigns"].sandbox.server.state
    hooks = state.list_webhooks(connection.audience_id(app))["webhooks"]
    assert len(hooks) == 1 and all(hooks[0]["events"].values())
    assert hooks[0]["sources"] == {"user": True, "admin": True, "api": True}

    # Mailchimp out of reach: a clear message, never a 500.
    down = shared_app(CRM_MAILCHIMP_SANDBOX_URL="http://127.0.0.1:9/3.0",
                    CRM_MAILCHIMP_RETRIES=0)
    with down.app_context():
        staff.create_user(db.session, "a@example.org", "correct horse battery", role="admin")
        db.session.commit()
    client = down.test_client()
    login(client, "a@example.org")
    home = client.get("/crm/mailchimp")
    text = home.get_data(as_text=True)
    assert home.status_code == 200 and "Could not reach the audience" in text
    assert "Mailchimp unreachable: Connection failed" in text
    failed = client.post("/crm/mailchimp/webhook", data={"base_url": "https://crm.example.org"})
    assert failed.status_code == 422
    assert "Mailchimp refused the webhook: Mailchimp unreachable" in failed.get_data(as_text=True)
    down.extensions["crm"].job_runner = Recorder()
    url = client.post("/crm/mailchimp/syncs/new", data={"segment": ""}).headers["Location"]
    assert run_now(down, down.extensions["crm"].job_runner.ids[-1]).status == "failed"
    page = client.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "The dry run failed." in text
    assert "Mailchimp unreachable: Connection failed" in text
    assert "campaigns.mailchimp_errors" not in text  # the error's text, not its class
    assert ">failed</span>" in text and "Run the dry run</button>" in text


def test_forms_need_the_csrf_token(csrf_app: Flask) -> None:
    csrf_app.extensions["crm"].job_runner = Recorder()
    with csrf_app.app_context():
        staff.create_user(db.session, "o@example.org", "correct horse battery", role="organizer")
        db.session.commit()
    client = csrf_app.test_client()
    page = client.get("/crm/login")
    client.post("/crm/login", data={"email": "o@example.org", "password": "correct horse battery",
                                    "csrf_token": csrf_from(page.data)})
    assert client.post("/crm/mailchimp/syncs/new", data={"segment": ""}).status_code == 400
    assert client.post("/crm/mailchimp/reconcile").status_code == 400
    assert csrf_app.extensions["crm"].job_runner.ids == []
    token = csrf_from(client.get("/crm/mailchimp/syncs/new").data)
    started = client.post("/crm/mailchimp/syncs/new", data={"segment": "", "csrf_token": token})
    assert started.status_code == 302
    assert len(csrf_app.extensions["crm"].job_runner.ids) == 1
    url = started.headers["Location"]
    assert client.post(f"{url}/push").status_code == 400
    token = csrf_from(client.get(url).data)
    assert client.post(f"{url}/stop", data={"csrf_token": token}).status_code == 302
