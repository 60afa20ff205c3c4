"""Groups: the service, the group pages and contact-page panel, and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm import audit, contacts, groups, staff
from crm.errors import InvalidCursor, NotFound, ValidationFailed
from wsgi import db

BASE = "/crm/api/v1"
NAMES = [("Ana", "Garcia"), ("Ben", "Okafor"), ("Cy", "Adams"), ("Di", "Garcia"),
         ("Ed", "Zhou")]


def people(session: Any) -> list[int]:
    return [contacts.create(session, {"email": f"{first.lower()}@example.org",
                                      "first_name": first, "last_name": last}, actor="t").id
            for first, last in NAMES]


def test_create_rename_delete_and_names_are_unique(session: Any) -> None:
    group = groups.create(session, "  Steering   committee ", "Runs the chapter", actor="org")
    assert (group.name, group.description) == ("Steering committee", "Runs the chapter")
    with pytest.raises(groups.DuplicateGroup) as caught:
        groups.create(session, "STEERING COMMITTEE", actor="org")
    assert caught.value.status_code == 409
    with pytest.raises(ValidationFailed):
        groups.create(session, "   ", actor="org")
    with pytest.raises(ValidationFailed):
        groups.create(session, "x" * 201, actor="org")
    other = groups.create(session, "Canvass team", actor="org")
    with pytest.raises(groups.DuplicateGroup):
        groups.rename(session, other.id, "steering committee", actor="org")
    groups.rename(session, group.id, "Steering Committee", actor="org")  # own name, new case
    assert group.name == "Steering Committee"
    assert [g.name for g in groups.all_groups(session)] == ["Canvass team", "Steering Committee"]
    assert groups.delete(session, other.id, actor="org") == "Canvass team"
    with pytest.raises(NotFound):
        groups.get(session, other.id)
    assert [e.action for e in audit.entries_for(session, "group", group.id)] == [
        "update", "create"]


def test_members_counts_and_keyset_pages(session: Any) -> None:
    ids = people(session)
    group = groups.create(session, "Tax fairness", actor="org")
    for cid in ids:
        assert groups.add_member(session, group.id, cid, actor="org")
    assert not groups.add_member(session, group.id, ids[0], actor="org")
    contacts.delete(session, ids[4], actor="org")  # deleted contacts are not counted or listed
    assert groups.member_count(session, group.id) == 4
    assert groups.all_with_counts(session) == [(group, 4)]
    seen: list[str] = []
    cursor = None
    while True:
        page = groups.members(session, group.id, cursor=cursor, limit=3)
        seen += [c.first_name for c in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == ["Cy", "Ana", "Di", "Ben"]
    with pytest.raises(InvalidCursor):
        groups.members(session, group.id, cursor="forged")
    assert [g.name for g in groups.for_contact(session, ids[1])] == ["Tax fairness"]
    assert groups.remove_member(session, group.id, ids[1], actor="org")
    assert not groups.remove_member(session, group.id, ids[1], actor="org")
    contact, added = groups.add_member_by_email(session, group.id, " BEN@example.org",
                                                actor="org")
    assert (contact.id, added) == (ids[1], True)
    with pytest.raises(NotFound):
        groups.add_member_by_email(session, group.id, "nobody@example.org", actor="org")
    with pytest.raises(ValidationFailed):
        groups.add_member_by_email(session, group.id, "not an email", actor="org")
    with pytest.raises(NotFound):
        groups.add_member(session, group.id, ids[4], actor="org")  # deleted contact
    groups.delete(session, group.id, actor="org")
    assert groups.for_contact(session, ids[0]) == []
    assert contacts.get(session, ids[0]).first_name == "Ana"


def test_group_pages(as_role: Callable[[str], FlaskClient], app: Flask) -> None:
    app.config["CRM_PAGE_SIZE"] = 2
    with app.app_context():
        ids = people(db.session)
        db.session.commit()
    client = as_role("organizer")
    created = client.post("/crm/groups", data={"name": "Steering", "description": "Leads"})
    assert created.status_code == 302
    gid = int(created.headers["Location"].rstrip("/").split("/")[-1])
    dup = client.post("/crm/groups", data={"name": "steering"})
    assert dup.status_code == 422 and "already called" in dup.get_data(as_text=True)
    for first, _last in NAMES[:3]:
        client.post(f"/crm/groups/{gid}/members", data={"email": f"{first}@example.org"})
    missing = client.post(f"/crm/groups/{gid}/members", data={"email": "who@example.org"},
                          follow_redirects=True)
    assert "No contact has the email" in missing.get_data(as_text=True)
    listing = as_role("viewer").get("/crm/groups").get_data(as_text=True)
    assert "Steering" in listing and "Leads" in listing and "New group" not in listing
    assert 'href="/crm/groups"' in listing  # the nav link
    first = client.get(f"/crm/groups/{gid}").get_data(as_text=True)
    assert "3 members" in first and "Cy" in first and "Ana" in first and "Ben" not in first
    next_url = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "Ben" in client.get(next_url).get_data(as_text=True)
    client.post(f"/crm/groups/{gid}/members/{ids[0]}/remove")
    client.post(f"/crm/groups/{gid}/rename", data={"name": "Steering committee"})
    page = client.get(f"/crm/groups/{gid}").get_data(as_text=True)
    assert "Steering committee" in page and "2 members" in page
    assert client.get("/crm/groups/99999").status_code == 404
    assert client.get(f"/crm/groups/{gid}?after=forged").status_code == 200
    client.post(f"/crm/groups/{gid}/delete")
    assert client.get(f"/crm/groups/{gid}").status_code == 404


def test_contact_panel_adds_and_removes(as_role: Callable[[str], FlaskClient],
                                        app: Flask) -> None:
    with app.app_context():
        cid = people(db.session)[0]
        gid = groups.create(db.session, "Phone bank", actor="t").id
        db.session.commit()
    client = as_role("organizer")
    panel = client.get(f"/crm/contacts/{cid}").get_data(as_text=True).split(
        'id="contact-groups"')[1]
    assert "In no group." in panel and f'<option value="{gid}">Phone bank</option>' in panel
    client.post(f"/crm/contacts/{cid}/groups", data={"group-group_id": str(gid)})
    panel = client.get(f"/crm/contacts/{cid}").get_data(as_text=True).split(
        'id="contact-groups"')[1].split("Tags")[0]
    assert f'href="/crm/groups/{gid}"' in panel and "Add to group" not in panel
    back = client.post(f"/crm/groups/{gid}/members/{cid}/remove", data={"return_to": "contact"})
    assert back.headers["Location"].endswith(f"/crm/contacts/{cid}")
    bad = client.post(f"/crm/contacts/{cid}/groups", data={"group-group_id": "nope"},
                      follow_redirects=True)
    assert "Choose a group" in bad.get_data(as_text=True)
    assert client.post("/crm/contacts/99999/groups",
                       data={"group-group_id": str(gid)}).status_code == 404


@pytest.fixture
def api(app: Flask, staff_users: dict[str, str]) -> tuple[FlaskClient, dict[str, str], list[int]]:
    with app.app_context():
        user = staff.find_user(db.session, staff_users["organizer"])
        _row, token = staff.issue_token(db.session, user.get_id())  # type: ignore[union-attr]
        ids = people(db.session)
        db.session.commit()
    return app.test_client(), {"Authorization": f"Bearer {token}"}, ids


def test_api_groups_and_members(api: tuple[FlaskClient, dict[str, str], list[int]]) -> None:
    client, headers, ids = api
    made = client.post(f"{BASE}/groups", headers=headers, json={"name": "Steering"})
    assert made.status_code == 201 and made.json["member_count"] == 0
    gid = made.json["id"]
    assert client.post(f"{BASE}/groups", headers=headers,
                       json={"name": "STEERING"}).status_code == 409
    for cid in ids:
        added = client.post(f"{BASE}/groups/{gid}/members", headers=headers,
                            json={"contact_id": cid})
        assert added.status_code == 200 and added.json["added"] is True
    by_email = client.post(f"{BASE}/groups/{gid}/members", headers=headers,
                           json={"email": "ana@example.org"})
    assert by_email.json == {"group_id": gid, "contact_id": ids[0], "added": False}
    listed = client.get(f"{BASE}/groups", headers=headers).json["items"]
    assert [(g["name"], g["member_count"]) for g in listed] == [("Steering", 5)]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{BASE}/groups/{gid}/members", headers=headers,
                          query_string=query).json
        seen += [c["first_name"] for c in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ["Cy", "Ana", "Di", "Ben", "Ed"]
    assert client.delete(f"{BASE}/groups/{gid}/members/{ids[0]}",
                         headers=headers).status_code == 204
    page = client.get(f"{BASE}/groups/{gid}/members", headers=headers).json
    assert "Ana" not in [c["first_name"] for c in page["items"]]
    assert client.get(f"{BASE}/groups/{gid}/members?cursor=forged",
                      headers=headers).status_code == 400
    assert client.get(f"{BASE}/groups/99999/members", headers=headers).status_code == 404
    assert client.post(f"{BASE}/groups/99999/members", headers=headers,
                       json={"contact_id": ids[0]}).status_code == 404
    assert client.post(f"{BASE}/groups/{gid}/members", headers=headers,
                       json={"contact_id": 99999}).status_code == 404
    for body in ({}, {"contact_id": ids[0], "email": "ana@example.org"},
                 {"contact_id": "one"}):
        bad = client.post(f"{BASE}/groups/{gid}/members", headers=headers, json=body)
        assert bad.status_code == 422 and bad.json["errors"]
    for body in ({}, {"name": ""}, {"name": "x" * 201}, {"name": "A", "colour": "red"}):
        assert client.post(f"{BASE}/groups", headers=headers, json=body).status_code == 422
