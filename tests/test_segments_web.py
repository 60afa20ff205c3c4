"""Segment pages: the list, the editor and its live preview, saving, deleting, list and export."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm import contacts, donations
from crm.models import AuditEntry, Segment
from crm.security import CSP
from crm.segments import service
from tests.conftest import PASSWORD, csrf_from, login
from wsgi import db

PREVIEW = "/crm/segments/preview"
# name -> (state, tags, gift in cents or None, email status)
PEOPLE = {
    "Ana": ("WI", ["union-member"], 7500, "subscribed"),
    "Ben": ("WI", ["donor"], 2000, "subscribed"),
    "Cara": ("MN", ["union-member"], None, "subscribed"),
    "Dev": ("WI", ["union-member"], None, "unsubscribed"),
    "Eli": ("WI", ["union-member"], None, "subscribed"),
}


def add_people(app: Flask) -> dict[str, int]:
    """Store the people above (last name Person-<name>) and one deleted union member."""
    ids = {}
    with app.app_context():
        for name, (state, tags, cents, status) in PEOPLE.items():
            contact = contacts.create(db.session, {
                "email": f"{name.lower()}@example.org", "first_name": name,
                "last_name": f"Person-{name}", "state": state, "tags": tags,
                "email_status": status}, actor="seed")
            if cents:
                donations.create(db.session, contact.id, {
                    "amount_cents": cents, "received_at": datetime(2025, 3, 1, 12, tzinfo=UTC)},
                    actor="seed")
            ids[name] = contact.id
        gone = contacts.create(db.session, {"email": "gone@example.org", "state": "WI",
                                            "tags": ["union-member"]}, actor="seed")
        contacts.delete(db.session, gone.id, actor="seed")
        db.session.commit()
    return ids


def save(app: Flask, name: str, text: str) -> int:
    with app.app_context():
        segment_id = service.create(db.session, {"name": name, "text": text}, actor="seed").id
        db.session.commit()
    return segment_id


def shown_names(html: str) -> list[str]:
    return re.findall(r">Person-(\w+), \w+</a>", html)


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    return add_people(app)


def test_the_list_shows_segments_with_links_and_a_lazy_count(
        app: Flask, as_role: Callable[[str], FlaskClient], people: dict[str, int]) -> None:
    members = save(app, "WI members", "tag:union-member and state = WI")
    organizer = as_role("organizer").get("/crm/segments")
    assert organizer.status_code == 200
    page = organizer.get_data(as_text=True)
    assert ">Segments</a>" in page and "WI members" in page
    assert 'tag:&#34;union-member&#34; and state = WI' in page
    assert f'data-segment-count="{members}"' in page
    assert f'href="/crm/contacts?segment={members}"' in page
    assert f'href="/crm/contacts/export?segment={members}"' in page
    assert f'action="/crm/segments/{members}/delete"' in page
    assert "/crm/static/segments.js" in page and "style=" not in page
    viewer = as_role("viewer").get("/crm/segments").get_data(as_text=True)
    assert "WI members" in viewer and "/delete" not in viewer and "Try a query" in viewer
    editor = as_role("viewer").get("/crm/segments/new").get_data(as_text=True)
    assert "<h1 class=\"h3 mb-0\">Try a query</h1>" in editor
    assert "<form" not in editor.split("<main", 1)[1]  # a viewer may count, not save


def test_the_editor_carries_the_field_registry_and_obeys_the_csp(
        app: Flask, as_role: Callable[[str], FlaskClient], people: dict[str, int]) -> None:
    segment_id = save(app, "Donors", "donations.total >= 50")
    response = as_role("organizer").get(f"/crm/segments/{segment_id}")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP
    page = response.get_data(as_text=True)
    assert "style=" not in page
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert 'value="Donors"' in page and "donations.total &gt;= 50</textarea>" in page
    assert f'href="/crm/contacts?segment={segment_id}"' in page
    raw = re.search(r"data-fields='([^']*)'", page)
    assert raw is not None
    fields = {f["name"]: f for f in json.loads(raw.group(1).replace("&#34;", '"'))}
    assert fields["state"]["type"] == "enum" and "WI" in fields["state"]["allowed"]
    assert "within" in fields["created_at"]["operators"]
    assert fields["custom"]["param"] == "key"
    assert fields["donations.total_since"]["param"] == "window"
    assert fields["union.name"]["group"] == "Union"
    assert as_role("viewer").get("/crm/segments/999").status_code == 404


def test_preview_counts_text_and_rules_and_shows_a_sample(
        as_role: Callable[[str], FlaskClient], people: dict[str, int]) -> None:
    client = as_role("viewer")  # viewers may preview
    typed = client.post(PREVIEW, json={"text": "TAG:Union-Member and State = wi"})
    assert typed.status_code == 200
    body = typed.json
    assert body["count"] == 3
    assert body["text"] == 'tag:"Union-Member" and state = WI'
    assert body["rules"] == {"all": [{"tag": "Union-Member"},
                                     {"field": "state", "op": "=", "value": "WI"}]}
    assert [c["name"] for c in body["sample"]] == ["Person-Eli, Eli", "Person-Dev, Dev",
                                                   "Person-Ana, Ana"]
    assert body["sample"][0]["url"] == f"/crm/contacts/{people['Eli']}"
    built = client.post(PREVIEW, json={"rules": {"any": [
        {"field": "donations.total", "op": ">=", "value": "50"},
        {"not": {"field": "email_status", "op": "in", "value": ["subscribed"]}}]}})
    assert built.status_code == 200
    assert built.json["text"] == "donations.total >= 50 or not email_status in (subscribed)"
    assert built.json["count"] == 2
    assert {c["id"] for c in built.json["sample"]} == {people["Ana"], people["Dev"]}


@pytest.mark.parametrize(("payload", "kind", "position", "message"), [
    ({"text": "stat = WI"}, "unknown_field", 0, 'did you mean "state"?'),
    ({"text": "state = WI and (tag:donor"}, "unbalanced", 15, 'Unbalanced "("'),
    ({"text": "donations.total contains 5"}, "bad_operator", 16, "contains"),
    ({"text": "   "}, "empty", 0, "The query is empty"),
    ({"rules": {"all": [{"tag": "donor"}, {"field": "state", "op": "=", "value": "XX"}]}},
     "bad_value", "all[1].value", '"XX" is not a value of state'),
    ({"rules": ["not", "an", "object"]}, "syntax", "", "Expected a rule object"),
])
def test_preview_explains_what_is_wrong_and_where(
        as_role: Callable[[str], FlaskClient], people: dict[str, int], payload: dict[str, Any],
        kind: str, position: int | str, message: str) -> None:
    response = as_role("organizer").post(PREVIEW, json=payload)
    # The page asks on every pause in typing: a mistake is an answer, not a failed request.
    assert response.status_code == 200
    error = response.json["error"]
    assert (error["kind"], error["position"]) == (kind, position)
    assert message in error["message"]
    assert "count" not in response.json
    if isinstance(position, int):
        assert error["line"] == payload["text"]
        assert error["caret"] == " " * position + "^"
    else:
        assert "caret" not in error


def test_preview_of_a_saved_segment_and_malformed_requests(
        app: Flask, as_role: Callable[[str], FlaskClient], people: dict[str, int]) -> None:
    segment_id = save(app, "Minnesota", "state = MN")
    client = as_role("viewer")
    counted = client.post(PREVIEW, json={"segment": segment_id, "sample": False})
    assert counted.status_code == 200
    assert counted.json == {"count": 1, "text": "state = MN", "sample": [],
                            "rules": {"field": "state", "op": "=", "value": "MN"}}
    from_form = client.post(PREVIEW, data={"text": "state = MN"})
    assert from_form.status_code == 200 and from_form.json["count"] == 1
    cases = [
        (client.post(PREVIEW, json={"segment": 999}), 404),
        (client.post(PREVIEW, json={"segment": "1; drop table"}), 400),
        (client.post(PREVIEW, json={"segment": 99999999999}), 400),
        (client.post(PREVIEW, json={"text": "state = MN", "rules": {"tag": "x"}}), 400),
        (client.post(PREVIEW, json={"text": 5}), 400),
        (client.post(PREVIEW, json={}), 400),
        (client.post(PREVIEW, json=["state = MN"]), 400),
        (client.post(PREVIEW, data="{not json", content_type="application/json"), 400),
        (client.post(PREVIEW, data="[" * 100_000, content_type="application/json"), 400),
        (client.post(PREVIEW, data={"rules": "{nope"}), 400),
    ]
    for response, status in cases:
        assert response.status_code == status, response.data
        assert response.json["error"]["message"]
    deep: dict[str, Any] = {"tag": "donor"}
    for _ in range(200):
        deep = {"not": deep}
    too_deep = client.post(PREVIEW, json={"rules": deep})
    assert too_deep.status_code == 200 and too_deep.json["error"]["kind"] == "too_large"


def test_save_edit_and_delete_a_segment(
        app: Flask, as_role: Callable[[str], FlaskClient], people: dict[str, int]) -> None:
    client = as_role("organizer")
    created = client.post("/crm/segments", data={
        "name": "  WI   members ", "description": "For the May appeal",
        "text": "tag:union-member and state = wi"})
    assert created.status_code == 302
    with app.app_context():
        segment = db.session.query(Segment).one()
        assert (segment.name, segment.text) == ("WI members",
                                                'tag:"union-member" and state = WI')
        assert segment.created_by == "organizer@example.org"
        segment_id = segment.id
    assert created.headers["Location"] == f"/crm/segments/{segment_id}"
    shown = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Saved the segment WI members." in shown and "For the May appeal" in shown

    changed = client.post(f"/crm/segments/{segment_id}", data={
        "name": "Minnesota", "description": "", "text": "state = MN"})
    assert changed.status_code == 302
    with app.app_context():
        segment = db.session.get(Segment, segment_id)
        assert (segment.name, segment.text, segment.description) == ("Minnesota", "state = MN",
                                                                     None)
        actions = [e.action for e in db.session.query(AuditEntry).filter_by(
            entity_type="segment", entity_id=segment_id)]
        assert actions == ["create", "update"]

    assert as_role("viewer").post(f"/crm/segments/{segment_id}/delete").status_code == 403
    deleted = client.post(f"/crm/segments/{segment_id}/delete")
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/crm/segments"
    assert "Deleted the segment Minnesota." in client.get("/crm/segments").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Segment, segment_id) is None
        assert contacts.get(db.session, people["Cara"]).state == "MN"  # contacts stay


def test_saving_a_bad_query_shows_the_error_under_the_box_with_a_caret(
        app: Flask, as_role: Callable[[str], FlaskClient], people: dict[str, int]) -> None:
    client = as_role("organizer")
    bad = client.post("/crm/segments", data={"name": "Oops", "text": "state = WI and stat = 1"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'Unknown field &#34;stat&#34; at column 16; did you mean &#34;state&#34;?' in page
    assert "<code>state = WI and stat = 1\n" + " " * 15 + "^</code>" in page
    assert "form-control font-monospace segment-query is-invalid" in page
    assert 'value="Oops"' in page  # what was typed stays
    save(app, "Taken", "state = WI")
    taken = client.post("/crm/segments", data={"name": "TAKEN", "text": "state = MN"})
    assert taken.status_code == 422 and "is already called Taken" in taken.get_data(as_text=True)
    nameless = client.post("/crm/segments", data={"name": "", "text": "state = MN"})
    assert nameless.status_code == 422
    with app.app_context():
        assert [s.name for s in service.all_segments(db.session)] == ["Taken"]
    other = save(app, "Other", "state = MN")
    clash = client.post(f"/crm/segments/{other}", data={"name": "taken", "text": "state = MN"})
    assert clash.status_code == 422
    with app.app_context():
        assert db.session.get(Segment, other).name == "Other"
    assert as_role("viewer").post("/crm/segments", data={
        "name": "Nope", "text": "state = WI"}).status_code == 403


def test_the_contact_list_filters_by_a_segment_with_the_other_filters(
        shared_app: Callable[..., Flask]) -> None:
    app = shared_app(CRM_PAGE_SIZE=2)
    with app.app_context():
        from crm import staff

        staff.create_user(db.session, "viewer@example.org", PASSWORD, role="viewer")
        db.session.commit()
    people = add_people(app)
    members = save(app, "Members", "tag:union-member")
    save(app, "Nobody", "state = AK")
    client = app.test_client()
    assert login(client, "viewer@example.org").status_code == 302

    first = client.get(f"/crm/contacts?segment={members}").get_data(as_text=True)
    assert shown_names(first) == ["Ana", "Cara"]  # by last name, 2 a page
    assert f'<option value="{members}" selected>Members</option>' in first
    assert 'id="applied-segment"' in first and "Clear segment" in first
    after = re.search(r'rel="next" href="([^"]+)"', first)
    assert after is not None and f"segment={members}" in after.group(1)
    second = client.get(after.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert shown_names(second) == ["Dev", "Eli"]
    assert f'href="/crm/contacts/export?segment={members}"' in second

    both = client.get(f"/crm/contacts?segment={members}&state=WI&status=subscribed")
    assert shown_names(both.get_data(as_text=True)) == ["Ana", "Eli"]
    searched = client.get(f"/crm/contacts?segment={members}&q=person-c").get_data(as_text=True)
    assert shown_names(searched) == ["Cara"]
    tagged = client.get(f"/crm/contacts?segment={members}&tag=donor").get_data(as_text=True)
    assert shown_names(tagged) == []
    clear = re.search(r'href="([^"]+)">Clear segment', both.get_data(as_text=True))
    assert clear is not None
    assert clear.group(1).replace("&amp;", "&") == "/crm/contacts?state=WI&status=subscribed"

    for bad, message in ((999, "No segment #999."), ("abc", "Choose a saved segment.")):
        response = client.get(f"/crm/contacts?segment={bad}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert message in page and shown_names(page) == []
    assert people


def test_a_saved_rule_that_no_longer_reads_is_reported_not_a_500(
        app: Flask, as_role: Callable[[str], FlaskClient], people: dict[str, int]) -> None:
    with app.app_context():
        broken = Segment(name="Old", name_key="old", rules={"field": "gone.field", "op": "=",
                                                            "value": "x"},
                         text="gone.field = x", created_by="seed")
        db.session.add(broken)
        db.session.commit()
        broken_id = broken.id
    client = as_role("viewer")
    listed = client.get(f"/crm/contacts?segment={broken_id}")
    assert listed.status_code == 200
    assert 'Unknown field &#34;gone.field&#34;' in listed.get_data(as_text=True)
    counted = client.post(PREVIEW, json={"segment": broken_id, "sample": False})
    assert counted.json["error"]["kind"] == "unknown_field"
    exported = client.get(f"/crm/contacts/export?segment={broken_id}&fields=email")
    assert exported.status_code == 400
    assert client.get(f"/crm/segments/{broken_id}").status_code == 200


def test_export_takes_a_segment(app: Flask, as_role: Callable[[str], FlaskClient],
                                people: dict[str, int]) -> None:
    members = save(app, "Members", "tag:union-member and not email_status = unsubscribed")
    client = as_role("viewer")
    form = client.get(f"/crm/contacts/export?segment={members}").get_data(as_text=True)
    assert f'<option value="{members}" selected>Members</option>' in form
    response = client.get(f"/crm/contacts/export?segment={members}&fields=email&fields=state")
    assert response.status_code == 200 and response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [["Email", "State"], ["ana@example.org", "WI"], ["cara@example.org", "MN"],
                    ["eli@example.org", "WI"]]
    narrowed = client.get(f"/crm/contacts/export?segment={members}&state=MN&fields=email")
    assert narrowed.get_data(as_text=True).lstrip("\ufeff").split() == ["Email",
                                                                        "cara@example.org"]
    missing = client.get("/crm/contacts/export?segment=999&fields=email")
    assert missing.status_code == 400 and "No segment #999." in missing.get_data(as_text=True)


def test_the_preview_endpoint_needs_the_csrf_token_when_csrf_is_on(csrf_app: Flask) -> None:
    with csrf_app.app_context():
        from crm import staff

        staff.create_user(db.session, "viewer@example.org", PASSWORD, role="viewer")
        contacts.create(db.session, {"email": "ana@example.org", "state": "WI"}, actor="seed")
        db.session.commit()
    client = csrf_app.test_client()
    token = csrf_from(client.get("/crm/login").data)
    assert client.post("/crm/login", data={"email": "viewer@example.org", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
    refused = client.post(PREVIEW, json={"text": "state = WI"})
    assert refused.status_code == 400
    page = client.get("/crm/segments/new").get_data(as_text=True)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert meta is not None
    accepted = client.post(PREVIEW, json={"text": "state = WI"},
                           headers={"X-CSRFToken": meta.group(1)})
    assert accepted.status_code == 200 and accepted.json["count"] == 1
    wrong = client.post(PREVIEW, json={"text": "state = WI"}, headers={"X-CSRFToken": "x"})
    assert wrong.status_code == 400


def test_dates_in_a_segment_are_days_in_the_organizations_time_zone(
        shared_app: Callable[..., Flask]) -> None:
    app = shared_app(CRM_TIMEZONE="America/Chicago")
    with app.app_context():
        from crm import staff

        staff.create_user(db.session, "viewer@example.org", PASSWORD, role="viewer")
        late = contacts.create(db.session, {"email": "late@example.org"}, actor="seed")
        # 03:30 UTC on March 2 is still March 1 in Chicago.
        late.created_at = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)
        db.session.commit()
    client = app.test_client()
    assert login(client, "viewer@example.org").status_code == 302
    on_first = client.post(PREVIEW, json={"text": "created_at = 2026-03-01"})
    on_second = client.post(PREVIEW, json={"text": "created_at = 2026-03-02"})
    assert (on_first.json["count"], on_second.json["count"]) == (1, 0)
