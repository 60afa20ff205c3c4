"""The Mailchimp sync API against the sandbox: start, read, push, review, reconcile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from campaigns import review
from crm import staff
from tests import test_mailchimp_web as web
from tests.test_api import BASE, Api, token_for
from tests.test_mailchimp_web import Recorder, audience, run_last
from wsgi import db

MC = "/mailchimp"
# The web tests' contacts and segment, and a runner that only records jobs.
world = web.world


@pytest.fixture
def api(app: Flask, staff_users: dict[str, str]) -> Api:
    return Api(app.test_client(), token_for(app, staff_users["organizer"]))


@pytest.fixture
def viewer(app: Flask, staff_users: dict[str, str]) -> Api:
    return Api(app.test_client(), token_for(app, staff_users["viewer"]))


def test_start_read_push_and_review_a_sync(app: Flask, world: dict[str, Any], api: Api) -> None:
    started = api.post(f"{MC}/syncs", json={"segment_id": world["segment"]})
    assert started.status_code == 202, started.json
    body = started.json
    assert body["status"] == "planning" and body["scope"] == "segment"
    assert body["segment_name"] == "Members" and body["created_by"] == "organizer@example.org"
    assert body["job"]["kind"] == "mailchimp_sync" and body["job"]["status"] == "queued"
    assert body["job_id"] == body["job"]["id"] == app.extensions["crm"].job_runner.ids[-1]
    sync_url = f"{MC}/syncs/{body['id']}"
    run_last(app)

    planned = api.get(sync_url).json
    assert planned["status"] == "planned" and planned["job"]["status"] == "succeeded"
    assert planned["plan"]["counts"] == {"add": 3, "update": 0, "unchanged": 0, "skip": 1}
    assert planned["plan"]["reasons"] == {"unsubscribed": 1} and planned["plan"]["to_push"] == 3
    assert planned["cursor"] == 0 and planned["counts"] == {}

    pushed = api.post(f"{sync_url}/push")
    assert pushed.status_code == 202 and pushed.json["job"]["status"] == "queued"
    assert pushed.json["job"]["id"] != planned["job"]["id"]
    busy = api.post(f"{sync_url}/push")
    assert busy.status_code == 409 and "running already" in busy.json["detail"]
    run_last(app)
    done = api.get(sync_url).json
    assert done["status"] == "synced" and done["finished_at"]
    assert done["counts"]["added"] == 2 and done["counts"]["errors"] == 1
    assert done["cursor"] >= world["Bo"]
    assert set(audience(app)) == {"ann.lee@example.org", "bo.diaz@example.org"}
    again = api.post(f"{sync_url}/push")
    assert again.status_code == 409 and "pushed everything already" in again.json["detail"]

    review = api.get(f"{MC}/review").json
    assert review["total"] == 1 and review["next_page"] is None
    (item,) = review["items"]
    assert item["email"] == "test@example.com" and item["contact_id"] == world["Tess"]
    assert item["sync_id"] == body["id"] and "looks fake or invalid" in item["message"]
    assert api.get(f"{MC}/review?sync_id={body['id']}").json["total"] == 1
    assert api.get(f"{MC}/review?sync_id={body['id'] + 1}").json["items"] == []


def test_review_pages(app: Flask, world: dict[str, Any], api: Api) -> None:
    with app.app_context():
        for n in range(3):
            review.add(db.session, None, world["Zed"], f"zed{n}@example.org", "X", "", f"No {n}")
        db.session.commit()
    first = api.get(f"{MC}/review?per_page=2").json
    assert [i["email"] for i in first["items"]] == ["zed2@example.org", "zed1@example.org"]
    assert first["next_page"] == 2 and first["total"] == 3 and first["per_page"] == 2
    last = api.get(f"{MC}/review?per_page=2&page=2").json
    assert [i["email"] for i in last["items"]] == ["zed0@example.org"]
    assert last["next_page"] is None
    for bad in ("per_page=0", "page=0", "per_page=201", "colour=red", "page=x"):
        response = api.get(f"{MC}/review?{bad}")
        assert response.status_code == 422, bad
        assert response.json["status"] == 422


def test_bad_requests_are_4xx_json(app: Flask, world: dict[str, Any], api: Api,
                                   viewer: Api) -> None:
    unknown = api.post(f"{MC}/syncs", json={"segment_id": 999})
    assert unknown.status_code == 422
    assert unknown.json["errors"] == {"segment_id": ["There is no saved segment #999."]}
    for body in ({"dry_run": "maybe"}, {"segment_id": "x"}, {"colour": "red"},
                 {"segment_id": 0}):
        response = api.post(f"{MC}/syncs", json=body)
        assert response.status_code == 422, body
    assert api.post(f"{MC}/syncs", data="[", content_type="application/json").status_code < 500
    missing = api.get(f"{MC}/syncs/999")
    assert missing.status_code == 404 and missing.json["detail"] == "No sync #999."
    assert api.post(f"{MC}/syncs/999/push").status_code == 404
    assert viewer.post(f"{MC}/syncs", json={}).status_code == 403
    assert viewer.post(f"{MC}/reconcile").status_code == 403
    assert viewer.get(f"{MC}/review").status_code == 200
    assert app.extensions["crm"].job_runner.ids == []
    anonymous = app.test_client().get(f"{BASE}{MC}/review")
    assert anonymous.status_code == 401 and anonymous.json["status"] == 401
    assert "Bearer" in anonymous.headers["WWW-Authenticate"]
    # The API gets the CRM's security headers too.
    assert "frame-ancestors 'none'" in anonymous.headers["Content-Security-Policy"]


def test_push_straight_away_and_reconcile(app: Flask, world: dict[str, Any], api: Api) -> None:
    started = api.post(f"{MC}/syncs", json={"dry_run": False})
    assert started.status_code == 202 and started.json["scope"] == "emailable"
    run_last(app)
    done = api.get(f"{MC}/syncs/{started.json['id']}").json
    assert done["status"] == "synced" and done["plan"].get("counts") is None
    assert done["counts"]["added"] == 3

    first = api.post(f"{MC}/reconcile")
    assert first.status_code == 202 and first.json["kind"] == "mailchimp_reconcile"
    second = api.post(f"{MC}/reconcile")
    assert second.status_code == 202 and second.json["id"] == first.json["id"]
    job = run_last(app)
    assert job.result["examined"] == 3


def test_openapi_documents_the_mailchimp_api(app: Flask) -> None:
    doc = app.test_client().get(f"{BASE}/openapi.json").json
    assert f"{BASE}{MC}/syncs" in doc["paths"]
    create = doc["paths"][f"{BASE}{MC}/syncs"]["post"]
    assert "202" in create["responses"] and "409" in create["responses"]
    assert "422" in create["responses"]
    schemas = doc["components"]["schemas"]
    assert "job" in schemas["MailchimpSync"]["properties"]
    assert schemas["MailchimpSyncCreate"]["properties"]["dry_run"]["default"] is True


def test_an_api_key_without_an_audience_is_a_409(shared_app: Callable[..., Flask]) -> None:
    app = shared_app(CRM_MAILCHIMP_API_KEY="0123456789abcdef-us6")
    app.extensions["crm"].job_runner = Recorder()
    with app.app_context():
        staff.create_user(db.session, "o@example.org", "correct horse battery", role="organizer")
        db.session.commit()
    api = Api(app.test_client(), token_for(app, "o@example.org"))
    response = api.post(f"{MC}/syncs", json={})
    assert response.status_code == 409
    assert "CRM_MAILCHIMP_AUDIENCE_ID" in response.json["detail"]
    assert app.extensions["crm"].job_runner.ids == []
