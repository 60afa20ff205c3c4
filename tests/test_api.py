"""The JSON API: contacts and tags with Bearer tokens, errors as JSON, OpenAPI from the schemas."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm import staff
from tests.conftest import csrf_from, login
from wsgi import db

BASE = "/crm/api/v1"


class Api:
    """A tiny JSON client with a token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str) -> Any:
        def call(path: str, **kwargs: Any) -> Any:
            return self.client.open(BASE + path, method=method.upper(), headers=self.headers,
                                    **kwargs)

        return call


def token_for(app: Flask, email: str) -> str:
    with app.app_context():
        user = staff.find_user(db.session, email)
        assert user is not None
        _row, token = staff.issue_token(db.session, user.get_id())
        db.session.commit()
    return token


@pytest.fixture
def api(app: Flask, staff_users: dict[str, str]) -> Api:
    return Api(app.test_client(), token_for(app, staff_users["organizer"]))


def test_create_get_update_delete(api: Api) -> None:
    created = api.post("/contacts", json={"email": "Ana@Example.org", "first_name": "Ana",
                                          "phone": "608-555-0134", "state": "wi",
                                          "tags": ["union-member"]})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["email"] == "Ana@example.org"
    assert body["phone"] == "+16085550134"
    assert body["state"] == "WI"
    assert body["tags"] == ["union-member"]
    assert body["email_status"] == "subscribed"
    cid = body["id"]
    assert api.get(f"/contacts/{cid}").json["first_name"] == "Ana"
    patched = api.patch(f"/contacts/{cid}", json={"city": "Madison"})
    assert patched.status_code == 200
    assert patched.json["city"] == "Madison"
    assert patched.json["first_name"] == "Ana"  # partial: other fields kept
    assert api.delete(f"/contacts/{cid}").status_code == 204
    gone = api.get(f"/contacts/{cid}")
    assert gone.status_code == 404
    assert "No contact" in gone.json["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@example.org", "phone": "12"}, "phone"),
    ({"email": "a@example.org", "state": "ZZ"}, "state"),
    ({"email": "a@example.org", "zip": "123"}, "zip"),
    ({"email": "a@example.org", "city": "x" * 101}, "city"),
    ({"email": "a@example.org", "favourite": "red"}, "favourite"),
    ({"email": "a@example.org", "email_status": "happy"}, "email_status"),
    ({"email": "a@example.org", "tags": "not-a-list"}, "tags"),
    ({"email": "a@example.org", "custom_fields": {"n": {"deep": 1}}}, "custom_fields"),
    ({"first_name": "No email"}, "email"),
])
def test_bad_bodies_get_422_with_field_errors(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/contacts", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert response.json["errors"][field][0]


def test_non_json_bodies_are_refused_not_crashed(api: Api) -> None:
    response = api.post("/contacts", data="email=x", content_type="text/plain")
    assert response.status_code in (415, 422)
    response = api.post("/contacts", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.is_json


def test_duplicate_is_409_and_upsert_updates(api: Api) -> None:
    first = api.post("/contacts", json={"email": "ana@example.org", "city": "Madison"})
    again = api.post("/contacts", json={"email": "ANA@example.org"})
    assert again.status_code == 409
    assert str(first.json["id"]) in again.json["detail"]
    upserted = api.post("/contacts?upsert=1", json={"email": "ANA@example.org",
                                                    "employer": "UW"})
    assert upserted.status_code == 200
    assert upserted.json["id"] == first.json["id"]
    assert upserted.json["city"] == "Madison"
    assert upserted.json["employer"] == "UW"
    new = api.post("/contacts?upsert=1", json={"email": "ben@example.org"})
    assert new.status_code == 201


def test_resubscribing_an_opt_out_is_409(api: Api) -> None:
    cid = api.post("/contacts", json={"email": "a@example.org",
                                      "email_status": "unsubscribed"}).json["id"]
    response = api.patch(f"/contacts/{cid}", json={"email_status": "subscribed"})
    assert response.status_code == 409
    assert "opt-in" in response.json["detail"]
    assert api.get(f"/contacts/{cid}").json["email_status"] == "unsubscribed"


def test_tags_add_and_remove(api: Api) -> None:
    cid = api.post("/contacts", json={"email": "a@example.org"}).json["id"]
    added = api.post(f"/contacts/{cid}/tags", json={"tags": ["Donor", "wg:tax-fairness"]})
    assert sorted(added.json["tags"]) == ["Donor", "wg:tax-fairness"]
    removed = api.delete(f"/contacts/{cid}/tags/donor")
    assert removed.json["tags"] == ["wg:tax-fairness"]
    assert api.post(f"/contacts/{cid}/tags", json={"tags": []}).status_code == 422
    assert api.post("/contacts/99999/tags", json={"tags": ["x"]}).status_code == 404


def test_list_filters_and_cursor_pagination(api: Api) -> None:
    for i in range(7):
        api.post("/contacts", json={"email": f"p{i}@example.org", "last_name": f"Name{i}",
                                    "state": "WI" if i % 2 else "MN",
                                    "tags": ["donor"] if i < 3 else []})
    seen = []
    cursor = None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/contacts", query_string=query).json
        seen += [c["last_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"Name{i}" for i in range(7)]
    donors = api.get("/contacts", query_string={"tag": "DONOR"}).json["items"]
    assert len(donors) == 3
    assert len(api.get("/contacts", query_string={"state": "MN"}).json["items"]) == 4
    assert api.get("/contacts", query_string={"q": "name6"}).json["items"][0]["last_name"] == (
        "Name6")


@pytest.mark.parametrize("query", [{"cursor": "forged"}, {"limit": 1000}, {"limit": "many"},
                                   {"email_status": "x"}, {"bogus": 1}])
def test_bad_list_queries_are_4xx(api: Api, query: dict[str, Any]) -> None:
    response = api.get("/contacts", query_string=query)
    assert response.status_code in (400, 422)
    assert response.json["detail"]


@pytest.mark.parametrize("header", ["", "Bearer ", "Bearer crm_forged", "Basic abc",
                                    "Bearer " + "x" * 500])
def test_missing_or_forged_tokens_are_401(app: Flask, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get(f"{BASE}/contacts", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["detail"]


def test_viewer_token_reads_but_cannot_write(app: Flask, staff_users: dict[str, str]) -> None:
    viewer = Api(app.test_client(), token_for(app, staff_users["viewer"]))
    assert viewer.get("/contacts").status_code == 200
    response = viewer.post("/contacts", json={"email": "a@example.org"})
    assert response.status_code == 403


def test_disabled_account_token_stops_working(app: Flask, staff_users: dict[str, str]) -> None:
    token = token_for(app, staff_users["viewer"])
    with app.app_context():
        user = staff.find_user(db.session, staff_users["viewer"])
        assert user is not None
        staff.set_role(db.session, user, "viewer", active=False)
        db.session.commit()
    assert Api(app.test_client(), token).get("/me").status_code == 401


def test_cookie_session_needs_csrf_for_writes(csrf_app: Flask) -> None:
    with csrf_app.app_context():
        staff.create_user(db.session, "org@example.org", "correct horse battery", role="organizer")
        db.session.commit()
    client = csrf_app.test_client()
    page = client.get("/crm/login")
    client.post("/crm/login", data={"email": "org@example.org",
                                    "password": "correct horse battery",
                                    "csrf_token": csrf_from(page.data)})
    assert client.get(f"{BASE}/contacts").status_code == 200
    refused = client.post(f"{BASE}/contacts", json={"email": "a@example.org"})
    assert refused.status_code == 400
    token = csrf_from(client.get("/crm/contacts/new").data)
    accepted = client.post(f"{BASE}/contacts", json={"email": "a@example.org"},
                           headers={"X-CSRFToken": token})
    assert accepted.status_code == 201


def test_openapi_is_generated_from_the_validating_schemas(app: Flask) -> None:
    doc = app.test_client().get(f"{BASE}/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert f"{BASE}/contacts" in doc["paths"]
    create = doc["paths"][f"{BASE}/contacts"]["post"]
    assert "422" in create["responses"]
    schemas = doc["components"]["schemas"]
    assert schemas["ContactCreate"]["required"] == ["email"]
    assert schemas["ContactPatch"]["properties"]["city"]["maxLength"] == 100
    assert schemas["ContactPatch"]["properties"]["email_status"]["enum"][0] == "subscribed"
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_login_session_reaches_the_api(app: Flask, staff_users: dict[str, str]) -> None:
    client = app.test_client()
    login(client, staff_users["viewer"])
    assert client.get(f"{BASE}/me").json == {"actor": "viewer@example.org", "role": "viewer"}
