"""The campaign API: write, ready, approve, send or schedule, cancel, preview and audience."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import crm.staff
from campaigns import connection, sandbox_inbox
from crm.job_runner import run_now
from crm.models import utcnow
from tests import campaign_support
from tests.conftest import PASSWORD
from tests.test_campaign_web import Recorder
from wsgi import db

API = "/crm/api/v1/campaigns"


@pytest.fixture
def tokens(app: Flask, staff_users: dict[str, str]) -> dict[str, str]:
    """Bearer tokens for an organizer, a second organizer and a viewer."""
    made = {}
    with app.app_context():
        crm.staff.create_user(db.session, "second@example.org", PASSWORD, role="organizer")
        for key, email in (("author", staff_users["organizer"]), ("second", "second@example.org"),
                           ("viewer", staff_users["viewer"])):
            user = crm.staff.find_user(db.session, email)
            assert user is not None
            made[key] = crm.staff.issue_token(db.session, user.get_id())[1]
        db.session.commit()
    return made


@pytest.fixture
def world(app: Flask, tokens: dict[str, str]) -> campaign_support.World:
    app.extensions["crm"].job_runner = Recorder()
    with app.app_context():
        found = campaign_support.seed(db.session)
        db.session.remove()
    return found


@pytest.fixture
def call(app: Flask, tokens: dict[str, str]) -> Callable[..., Any]:
    """Call the API as someone: call("author", "post", path, json=...)."""
    client: FlaskClient = app.test_client()

    def do(who: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        return client.open(f"{API}{path}", method=method.upper(), headers=headers, **kwargs)

    return do


def draft(call: Callable[..., Any], world: campaign_support.World, **body: Any) -> dict[str, Any]:
    response = call("author", "post", "", json={"kind": "chip_in", "name": "API appeal",
                                                 "segment_id": world.segment_id, **body})
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def test_create_reads_and_patches_a_draft(call: Callable[..., Any],
                                          world: campaign_support.World) -> None:
    made = draft(call, world)
    assert made["status"] == "draft" and made["subject"].startswith("Can you chip in")
    assert made["ask_config"]["never_given"] == [10, 25, 50]
    assert made["refcode"] == f"crm-c{made['id']}-chip_in"
    patched = call("author", "patch", f"/{made['id']}",
                   json={"subject": "New subject", "ask_config": {"floor": 10}})
    assert patched.status_code == 200 and patched.json["subject"] == "New subject"
    assert patched.json["ask_config"]["floor"] == 10
    assert call("viewer", "get", f"/{made['id']}").json["subject"] == "New subject"
    page = call("viewer", "get", "?kind=chip_in&limit=1").json
    assert [c["id"] for c in page["items"]] == [made["id"]] and page["next_before_id"] is None
    assert call("viewer", "get", "?status=sent").json["items"] == []


def test_bad_input_is_a_422_with_field_errors(call: Callable[..., Any],
                                              world: campaign_support.World) -> None:
    made = draft(call, world)
    unknown = call("author", "patch", f"/{made['id']}", json={"colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json["errors"]
    bad = call("author", "patch", f"/{made['id']}",
               json={"reply_to": "nope", "ask_config": {"floor": 100, "cap": 50}})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"reply_to", "ask_config.cap"}
    assert call("author", "post", "", json={"kind": "poster", "name": "x"}).status_code == 422
    assert call("author", "get", "/999999").status_code == 404
    assert call("viewer", "patch", f"/{made['id']}", json={"name": "x"}).status_code == 403


def test_ready_refusal_lists_problems_then_ready_approve_and_send(
        app: Flask, call: Callable[..., Any], world: campaign_support.World) -> None:
    made = draft(call, world, body="Hello {{ first_name }}", subject="")
    refused = call("author", "post", f"/{made['id']}/ready")
    assert refused.status_code == 422
    assert "Add a subject line." in refused.json["errors"]["subject"][0]
    assert "unsubscribe link" in refused.json["errors"]["body"][0]
    starter = draft(call, world)
    cid = starter["id"]
    audience = call("viewer", "get", f"/{cid}/audience").json
    assert audience["segment_total"] == 7 and audience["included"] is None
    ready = call("author", "post", f"/{cid}/ready")
    assert ready.status_code == 200 and ready.json["status"] == "ready"
    audience = call("viewer", "get", f"/{cid}/audience").json
    assert audience["included"] == 4 and sum(audience["excluded"].values()) == 3

    assert call("author", "post", f"/{cid}/send").status_code == 409  # needs approval
    assert call("author", "post", f"/{cid}/approve").status_code == 403  # the author
    assert call("viewer", "post", f"/{cid}/approve").status_code == 403
    approved = call("second", "post", f"/{cid}/approve")
    assert approved.status_code == 200 and approved.json["approved_by"] == "second@example.org"
    assert call("author", "patch", f"/{cid}", json={"name": "x"}).status_code == 409

    sending = call("author", "post", f"/{cid}/send")
    assert sending.status_code == 202 and sending.json["status"] == "sending"
    assert sending.json["job"]["kind"] == "campaign_send"
    job = run_now(app, sending.json["job_id"])
    assert job.status == "succeeded", job.error
    sent = call("viewer", "get", f"/{cid}").json
    assert sent["status"] == "sent" and sent["mc_campaign_id"]
    base = connection.inbox_url(app)
    assert base is not None
    assert len(sandbox_inbox.messages(base, sent["mc_campaign_id"])) == 4
    assert call("author", "post", f"/{cid}/cancel").status_code == 409


def test_schedule_checks_the_time_and_cancel_unschedules(
        app: Flask, call: Callable[..., Any], world: campaign_support.World) -> None:
    cid = draft(call, world, require_approval=False)["id"]
    assert call("author", "post", f"/{cid}/ready").status_code == 200
    later = (utcnow() + timedelta(days=1)).replace(minute=10, second=0, microsecond=0)
    off = call("author", "post", f"/{cid}/schedule", json={"send_at": later.isoformat()})
    assert off.status_code == 422 and "quarter hour" in off.json["errors"]["send_at"][0]
    naive = call("author", "post", f"/{cid}/schedule",
                 json={"send_at": later.replace(minute=15, tzinfo=None).isoformat()})
    assert naive.status_code == 422 and "time zone" in naive.json["errors"]["send_at"][0]
    assert call("author", "post", f"/{cid}/schedule", json={}).status_code == 422
    slot = later.replace(minute=45)
    scheduled = call("author", "post", f"/{cid}/schedule",
                     json={"send_at": slot.isoformat().replace("+00:00", "Z")})
    assert scheduled.status_code == 202
    assert run_now(app, scheduled.json["job_id"]).status == "succeeded"
    body = call("viewer", "get", f"/{cid}").json
    assert body["status"] == "scheduled" and body["send_at"].startswith(f"{slot:%Y-%m-%dT%H:%M}")
    state = app.extensions["campaigns"].sandbox.server.state
    assert state.campaign_record(body["mc_campaign_id"])["status"] == "schedule"
    cancelled = call("author", "post", f"/{cid}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert state.campaign_record(body["mc_campaign_id"])["status"] == "save"


def test_preview_as_a_contact(call: Callable[..., Any], world: campaign_support.World) -> None:
    cid = draft(call, world)["id"]
    ben = call("viewer", "get", f"/{cid}/preview?contact_id={world.ids['ben']}").json
    assert ben["email"] == "ben@union.org" and ben["values"]["FNAME"] == "Ben"
    assert ben["values"]["ASK1"] == "100" and "Hi Ben" in ben["text"]
    assert ben["in_snapshot"] is False and ben["problems"] == {}
    default = call("viewer", "get", f"/{cid}/preview").json
    assert default["email"] == "ana@union.org"
    assert call("viewer", "get", f"/{cid}/preview?contact_id=999999").status_code == 404
    assert call("viewer", "get", f"/{cid}/preview?who=1").status_code == 422
    call("author", "post", f"/{cid}/ready")
    after = call("viewer", "get", f"/{cid}/preview?contact_id={world.ids['ben']}").json
    assert after["in_snapshot"] is True
    gone = call("viewer", "get", f"/{cid}/preview?contact_id={world.ids['gone']}").json
    assert gone["in_snapshot"] is False and gone["excluded_reason"] == "unsubscribed"
