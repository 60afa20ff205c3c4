"""Union memberships: the service, the contact-page panel and forms, and the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm import audit, contacts, memberships, staff
from crm.errors import NotFound, ValidationFailed
from wsgi import db

BASE = "/crm/api/v1"


def person(session: Any, email: str = "ana@example.org") -> int:
    return contacts.create(session, {"email": email, "first_name": "Ana"}, actor="t").id


def test_add_update_remove_are_audited(session: Any) -> None:
    cid = person(session)
    made = memberships.add(session, cid, {"union_name": "  SEIU ", "local": "150",
                                          "member_id": "A-1", "worksite": "Mercy Hospital",
                                          "since": "2019-06-01"}, actor="org")
    assert (made.union_name, made.status, made.since) == ("SEIU", "active", date(2019, 6, 1))
    memberships.update(session, made.id, {"status": "retired", "worksite": None}, actor="org")
    assert (made.status, made.worksite, made.local) == ("retired", None, "150")
    assert [m.id for m in memberships.for_contact(session, cid)] == [made.id]
    assert memberships.remove(session, made.id, actor="org") == cid
    assert memberships.for_contact(session, cid) == []
    entries = audit.entries_for(session, "membership", made.id)
    assert [e.action for e in entries] == ["delete", "update", "create"]
    assert entries[1].changes == {"status": ["active", "retired"],
                                  "worksite": ["Mercy Hospital", None]}
    with pytest.raises(NotFound):
        memberships.get(session, made.id)


@pytest.mark.parametrize(("data", "fields"), [
    ({}, {"union_name"}),
    ({"union_name": "   "}, {"union_name"}),
    ({"union_name": "x" * 101}, {"union_name"}),
    ({"union_name": "SEIU", "status": "expelled"}, {"status"}),
    ({"union_name": "SEIU", "since": "June 2019"}, {"since"}),
    ({"union_name": "SEIU", "since": "2999-01-01"}, {"since"}),
    ({"union_name": "SEIU", "local": "9" * 51, "shoe": 9}, {"local", "shoe"}),
])
def test_bad_memberships_list_every_field(session: Any, data: dict[str, Any],
                                          fields: set[str]) -> None:
    cid = person(session)
    with pytest.raises(ValidationFailed) as caught:
        memberships.add(session, cid, data, actor="org")
    assert set(caught.value.errors) == fields


def test_member_ids_are_unique_within_a_union(session: Any) -> None:
    ana, ben = person(session), person(session, "ben@example.org")
    first = memberships.add(session, ana, {"union_name": "SEIU", "member_id": "A-1"},
                            actor="org")
    with pytest.raises(memberships.DuplicateMemberId) as caught:
        memberships.add(session, ben, {"union_name": "seiu", "member_id": "A-1"}, actor="org")
    assert caught.value.status_code == 409 and f"#{ana}" in caught.value.message
    other = memberships.add(session, ben, {"union_name": "NEA", "member_id": "A-1"}, actor="org")
    with pytest.raises(memberships.DuplicateMemberId):
        memberships.update(session, other.id, {"union_name": "SEIU"}, actor="org")
    assert other.union_name == "NEA"
    memberships.update(session, first.id, {"member_id": "A-1", "local": "1"}, actor="org")
    memberships.add(session, ben, {"union_name": "SEIU"}, actor="org")  # no id: no clash
    with pytest.raises(NotFound):
        memberships.add(session, 99999, {"union_name": "SEIU"}, actor="org")


def test_panel_add_edit_and_remove(as_role: Callable[[str], FlaskClient], app: Flask) -> None:
    with app.app_context():
        cid = person(db.session)
        db.session.commit()
    client = as_role("organizer")
    response = client.post(f"/crm/contacts/{cid}/memberships", data={
        "membership-union_name": "AFSCME", "membership-local": "60",
        "membership-member_id": "x-9", "membership-status": "active",
        "membership-since": "2020-02-03"})
    assert response.status_code == 302
    page = client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    panel = page.split('id="memberships"')[1].split('id="giving"')[0]
    for text in ("AFSCME", "Local 60", "Member id x-9", "since 2020-02-03", "Add a membership"):
        assert text in panel, text
    with app.app_context():
        mid = memberships.for_contact(db.session, cid)[0].id
    form = client.get(f"/crm/memberships/{mid}/edit").get_data(as_text=True)
    assert 'value="x-9"' in form and 'value="2020-02-03"' in form
    saved = client.post(f"/crm/memberships/{mid}/edit", data={
        "membership-union_name": "AFSCME", "membership-status": "lapsed"})
    assert saved.status_code == 302
    with app.app_context():
        row = memberships.get(db.session, mid)
        assert (row.status, row.local, row.member_id) == ("lapsed", None, None)
    dup = client.post(f"/crm/contacts/{cid}/memberships", data={
        "membership-union_name": "AFSCME", "membership-member_id": "z",
        "membership-status": "active"})
    again = client.post(f"/crm/contacts/{cid}/memberships", data={
        "membership-union_name": "afscme", "membership-member_id": "z",
        "membership-status": "active"}, follow_redirects=True)
    assert dup.status_code == 302 and "already belongs to contact" in again.get_data(as_text=True)
    client.post(f"/crm/memberships/{mid}/delete")
    with app.app_context():
        assert len(memberships.for_contact(db.session, cid)) == 1
    viewer = as_role("viewer").get(f"/crm/contacts/{cid}").get_data(as_text=True)
    assert "AFSCME" in viewer and "Add a membership" not in viewer
    assert client.get("/crm/memberships/99999/edit").status_code == 404


@pytest.fixture
def api(app: Flask, staff_users: dict[str, str]) -> tuple[FlaskClient, dict[str, str], int]:
    with app.app_context():
        user = staff.find_user(db.session, staff_users["organizer"])
        _row, token = staff.issue_token(db.session, user.get_id())  # type: ignore[union-attr]
        cid = person(db.session)
        db.session.commit()
    return app.test_client(), {"Authorization": f"Bearer {token}"}, cid


def test_api_create_list_update_delete(api: tuple[FlaskClient, dict[str, str], int]) -> None:
    client, headers, cid = api
    made = client.post(f"{BASE}/contacts/{cid}/memberships", headers=headers, json={
        "union_name": "NEA", "local": "WEAC", "member_id": "n-1", "since": "2015-09-01"})
    assert made.status_code == 201, made.json
    assert (made.json["status"], made.json["since"]) == ("active", "2015-09-01")
    listed = client.get(f"{BASE}/contacts/{cid}/memberships", headers=headers).json["items"]
    assert [m["member_id"] for m in listed] == ["n-1"]
    mid = made.json["id"]
    patched = client.patch(f"{BASE}/memberships/{mid}", headers=headers,
                           json={"status": "retired"})
    assert patched.json["status"] == "retired" and patched.json["local"] == "WEAC"
    dup = client.post(f"{BASE}/contacts/{cid}/memberships", headers=headers,
                      json={"union_name": "NEA", "member_id": "n-1"})
    assert dup.status_code == 409 and "n-1" in dup.json["detail"]
    assert client.delete(f"{BASE}/memberships/{mid}", headers=headers).status_code == 204
    assert client.get(f"{BASE}/memberships/{mid}", headers=headers).status_code == 404
    assert client.get(f"{BASE}/contacts/99999/memberships", headers=headers).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({}, "union_name"),
    ({"union_name": ""}, "union_name"),
    ({"union_name": "NEA", "status": "suspended"}, "status"),
    ({"union_name": "NEA", "since": "2020-13-01"}, "since"),
    ({"union_name": "NEA", "since": "2999-01-01"}, "since"),
    ({"union_name": "NEA", "worksite": "w" * 201}, "worksite"),
    ({"union_name": "NEA", "dues": 5}, "dues"),
])
def test_api_bad_bodies_are_422(api: tuple[FlaskClient, dict[str, str], int],
                                body: dict[str, Any], field: str) -> None:
    client, headers, cid = api
    response = client.post(f"{BASE}/contacts/{cid}/memberships", headers=headers, json=body)
    assert response.status_code == 422, response.json
    assert response.json["errors"][field][0]
