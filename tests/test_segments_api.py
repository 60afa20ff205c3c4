"""The segment API: saved segments from JSON or text, the preview count, members by page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.test_api import BASE, Api, token_for
from tests.test_segments_web import add_people
from wsgi import db


@pytest.fixture
def api(app: Flask, staff_users: dict[str, str]) -> Api:
    return Api(app.test_client(), token_for(app, staff_users["organizer"]))


@pytest.fixture
def viewer(app: Flask, staff_users: dict[str, str]) -> Api:
    return Api(app.test_client(), token_for(app, staff_users["viewer"]))


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    return add_people(app)


def test_create_from_text_or_json_then_get_list_patch_and_delete(api: Api,
                                                                 people: dict[str, int]) -> None:
    by_text = api.post("/segments", json={"name": "WI members", "description": "May appeal",
                                          "text": "tag:union-member and state = wi"})
    assert by_text.status_code == 201, by_text.json
    body = by_text.json
    assert body["text"] == 'tag:"union-member" and state = WI'
    assert body["rules"] == {"all": [{"tag": "union-member"},
                                     {"field": "state", "op": "=", "value": "WI"}]}
    assert body["created_by"] == "organizer@example.org"
    by_json = api.post("/segments", json={"name": "Big donors", "rules": {
        "field": "donations.total", "op": ">=", "value": 50}})
    assert by_json.status_code == 201 and by_json.json["text"] == "donations.total >= 50"

    listed = api.get("/segments").json["items"]
    assert [s["name"] for s in listed] == ["Big donors", "WI members"]
    sid = body["id"]
    assert api.get(f"/segments/{sid}").json["description"] == "May appeal"

    renamed = api.patch(f"/segments/{sid}", json={"name": "Wisconsin members"})
    assert renamed.status_code == 200
    assert renamed.json["name"] == "Wisconsin members"
    assert renamed.json["text"] == 'tag:"union-member" and state = WI'  # rule kept
    retext = api.patch(f"/segments/{sid}", json={"rules": {"not": {"tag": "union-member"}}})
    assert retext.json["text"] == 'not tag:"union-member"'

    assert api.delete(f"/segments/{sid}").status_code == 204
    gone = api.get(f"/segments/{sid}")
    assert gone.status_code == 404 and "No segment" in gone.json["detail"]
    assert api.delete(f"/segments/{sid}").status_code == 404


def test_a_rule_that_does_not_parse_is_422_with_kind_message_and_position(api: Api) -> None:
    text = api.post("/segments", json={"name": "Typo", "text": "state = WI and stat = 1"})
    assert text.status_code == 422
    assert text.json["error"] == {
        "kind": "unknown_field", "position": 15,
        "message": 'Unknown field "stat" at column 16; did you mean "state"?'}
    assert text.json["errors"] == {"text": [text.json["error"]["message"]]}
    assert text.json["status"] == 422 and text.json["detail"] == text.json["error"]["message"]
    rules = api.post("/segments", json={"name": "Typo", "rules": {"any": [
        {"tag": "donor"}, {"field": "donations.total", "op": "starts_with", "value": 5}]}})
    assert rules.status_code == 422
    assert rules.json["error"]["kind"] == "bad_operator"
    assert rules.json["error"]["position"] == "any[1].op"
    assert set(rules.json["errors"]) == {"rules"}
    assert api.get("/segments").json["items"] == []  # nothing was saved
    saved = api.post("/segments", json={"name": "Fine", "text": "state = WI"}).json
    patched = api.patch(f"/segments/{saved['id']}", json={"text": "state in (WI"})
    assert patched.status_code == 422 and patched.json["error"]["kind"] == "unbalanced"
    assert api.get(f"/segments/{saved['id']}").json["text"] == "state = WI"


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("post", "/segments", {"text": "state = WI"}, "name"),
    ("post", "/segments", {"name": "No rule"}, "rules"),
    ("post", "/segments", {"name": "Both", "text": "state = WI", "rules": {"tag": "x"}},
     "rules"),
    ("post", "/segments", {"name": "List", "rules": ["state"]}, "rules"),
    ("post", "/segments", {"name": "Number", "text": 5}, "text"),
    ("post", "/segments", {"name": "x" * 201, "text": "state = WI"}, "name"),
    ("post", "/segments", {"name": "Extra", "text": "state = WI", "colour": "red"}, "colour"),
    ("post", "/segments/preview", {}, "rules"),
    ("post", "/segments/preview", {"text": "state = WI", "rules": {"tag": "x"}}, "rules"),
    ("patch", "/segments/1", {"rules": None}, "rules"),
])
def test_bad_bodies_are_422_naming_the_field(api: Api, method: str, path: str,
                                             body: dict[str, Any], field: str) -> None:
    api.post("/segments", json={"name": "First", "text": "state = WI"})
    response = getattr(api, method)(path, json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_duplicate_names_conflict_and_nothing_is_a_500(api: Api) -> None:
    assert api.post("/segments", json={"name": "Donors", "text": "tag:donor"}).status_code == 201
    clash = api.post("/segments", json={"name": "DONORS", "text": "tag:x"})
    assert clash.status_code == 409 and "already called Donors" in clash.json["detail"]
    assert api.get("/segments/2147483648").status_code == 404
    assert api.get("/segments/1/contacts?cursor=bad!").status_code == 400
    assert api.get("/segments/1/contacts?limit=0").status_code == 422
    assert api.get("/segments/1/contacts?colour=red").status_code == 422
    deep = api.post("/segments/preview", data="[" * 100_000,
                    content_type="application/json")
    assert deep.status_code == 400 and deep.is_json
    nested: dict[str, Any] = {"tag": "donor"}
    for _ in range(100):
        nested = {"not": nested}
    too_large = api.post("/segments/preview", json={"rules": nested})
    assert too_large.status_code == 422 and too_large.json["error"]["kind"] == "too_large"
    nul = api.post("/segments/preview", json={"text": "state = \u0000"})
    assert nul.status_code == 400


def test_preview_counts_without_saving_and_viewers_may_call_it(
        api: Api, viewer: Api, people: dict[str, int]) -> None:
    counted = viewer.post("/segments/preview", json={"text": "tag:union-member and state = WI"})
    assert counted.status_code == 200
    assert counted.json == {"count": 3, "text": 'tag:"union-member" and state = WI',
                            "rules": {"all": [{"tag": "union-member"},
                                              {"field": "state", "op": "=", "value": "WI"}]}}
    by_rules = viewer.post("/segments/preview", json={"rules": {
        "field": "donations.total_since(3650d)", "op": ">", "value": "20.5"}})
    assert by_rules.json["count"] == 1
    assert by_rules.json["text"] == "donations.total_since(3650d) > 20.50"
    error = viewer.post("/segments/preview", json={"text": "state = "})
    assert error.status_code == 422 and error.json["error"]["position"] == 7
    assert viewer.get("/segments").json["items"] == []
    # Viewers may count, not save.
    refused = viewer.post("/segments", json={"name": "Mine", "text": "state = WI"})
    assert refused.status_code == 403
    assert api.get("/segments").json["items"] == []


def test_members_page_by_name_with_a_cursor(api: Api, people: dict[str, int]) -> None:
    sid = api.post("/segments", json={"name": "Members", "text": "tag:union-member"}).json["id"]
    first = api.get(f"/segments/{sid}/contacts?limit=2")
    assert first.status_code == 200
    assert [c["first_name"] for c in first.json["items"]] == ["Ana", "Cara"]
    assert first.json["items"][0]["tags"] == ["union-member"]
    rest = api.get(f"/segments/{sid}/contacts?limit=2&cursor={first.json['next_cursor']}").json
    assert [c["first_name"] for c in rest["items"]] == ["Dev", "Eli"]
    assert rest["next_cursor"] is None  # the deleted member is never listed
    assert api.get("/segments/999/contacts").status_code == 404
    everyone = api.get(f"/segments/{sid}/contacts").json
    assert len(everyone["items"]) == 4 and everyone["next_cursor"] is None


def test_the_segment_api_is_in_the_openapi_document(app: Flask) -> None:
    spec = app.test_client().get(f"{BASE}/openapi.json").json
    paths = spec["paths"]
    assert set(paths[f"{BASE}/segments"]) >= {"get", "post"}
    assert set(paths[f"{BASE}/segments/{{segment_id}}"]) >= {"get", "patch", "delete"}
    assert "post" in paths[f"{BASE}/segments/preview"]
    assert "get" in paths[f"{BASE}/segments/{{segment_id}}/contacts"]
    schemas = spec["components"]["schemas"]
    assert {"SegmentCreate", "SegmentPreview", "SegmentPreviewResult", "RuleProblem"} <= set(
        schemas)
    preview = paths[f"{BASE}/segments/preview"]["post"]
    assert "422" in preview["responses"]
    assert "position" in str(schemas["RuleError"])


def test_an_organizer_in_a_browser_session_needs_csrf_for_the_api(csrf_app: Flask) -> None:
    from crm import staff
    from tests.conftest import PASSWORD, csrf_from

    with csrf_app.app_context():
        staff.create_user(db.session, "org@example.org", PASSWORD, role="organizer")
        db.session.commit()
    client = csrf_app.test_client()
    token = csrf_from(client.get("/crm/login").data)
    client.post("/crm/login", data={"email": "org@example.org", "password": PASSWORD,
                                    "csrf_token": token})
    refused = client.post(f"{BASE}/segments", json={"name": "A", "text": "state = WI"})
    assert refused.status_code == 400
    accepted = client.post(f"{BASE}/segments", json={"name": "A", "text": "state = WI"},
                           headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
