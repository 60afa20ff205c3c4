"""Donations: the service and its summaries, the contact-page panel and forms, and the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from crm import audit, contacts, donations, giving_timeline, merge, money, staff, timeline
from crm.errors import NotFound, ValidationFailed
from crm.imports import run_file
from crm.models import Donation, DonationSummary
from tests.conftest import PASSWORD, csrf_from, login
from wsgi import db

DAY = datetime(2024, 3, 1, 17, tzinfo=UTC)
BASE = "/crm/api/v1"


def person(session: Any, email: str = "ana@example.org") -> int:
    found = contacts.find_by_email(session, email)
    return found.id if found else contacts.create(session, {"email": email}, actor="t").id


def gift(session: Any, cid: int, cents: int, days: int = 0, **extra: Any) -> Donation:
    return donations.create(session, cid, {"amount_cents": cents,
                                           "received_at": DAY + timedelta(days=days), **extra},
                            actor="org@example.org")


def summary_tuple(session: Any, cid: int) -> tuple[Any, ...] | None:
    row = session.get(DonationSummary, cid)
    if row is None:
        return None
    return (row.total_cents, row.gift_count, row.hpc_cents, row.first_at, row.last_at,
            row.last_cents, row.recurring)


def test_money_parses_dollars_and_shows_cents() -> None:
    assert [money.parse_dollars(v) for v in ("25", "25.5", "$1,250.00", ".75", 19.99)] == [
        2500, 2550, 125000, 75, 1999]
    for bad in ("", "0", "-5", "25.001", "abc", "1e5", "NaN", ".", "99999999999"):
        with pytest.raises(ValueError):
            money.parse_dollars(bad)
    assert money.format_cents(123456) == "$1,234.56"
    assert money.format_cents(5) == "$0.05"
    assert money.format_cents(None) == "—"


def test_create_edit_delete_keep_the_summary_and_audit(session: Any) -> None:
    cid = person(session)
    first = gift(session, cid, 2500, refcode="em-may", recurring=True)
    second = gift(session, cid, 10000, days=5)
    assert summary_tuple(session, cid) == (12500, 2, 10000, DAY, DAY + timedelta(days=5), 10000,
                                           True)
    donations.update(session, second.id, {"amount_cents": 500}, actor="org")
    assert summary_tuple(session, cid) == (3000, 2, 2500, DAY, DAY + timedelta(days=5), 500, True)
    donations.delete(session, first.id, actor="org")
    assert summary_tuple(session, cid) == (500, 1, 500, DAY + timedelta(days=5),
                                           DAY + timedelta(days=5), 500, False)
    donations.delete(session, second.id, actor="org")
    assert summary_tuple(session, cid) is None
    actions = [e.action for e in audit.entries_for(session, "donation", second.id)]
    assert actions == ["delete", "update", "create"]
    with pytest.raises(NotFound):
        donations.get(session, second.id)


@pytest.mark.parametrize(("data", "field"), [
    ({"amount_cents": 0}, "amount_cents"),
    ({"amount_cents": -100}, "amount_cents"),
    ({"amount_cents": 12.5}, "amount_cents"),
    ({"amount_cents": True}, "amount_cents"),
    ({}, "amount_cents"),
    ({"amount_cents": 100, "received_at": DAY + timedelta(days=3650)}, "received_at"),
    ({"amount_cents": 100, "received_at": "2024-01-01"}, "received_at"),
    ({"amount_cents": 100, "refcode": "x" * 101}, "refcode"),
    ({"amount_cents": 100, "recurring": "yes"}, "recurring"),
    ({"amount_cents": 100, "colour": "red"}, "colour"),
])
def test_bad_donations_are_refused_with_field_errors(session: Any, data: dict[str, Any],
                                                     field: str) -> None:
    cid = person(session)
    with pytest.raises(ValidationFailed) as caught:
        donations.create(session, cid, data, actor="org")
    assert field in caught.value.errors
    assert session.scalar(select(func.count()).select_from(Donation)) == 0


def test_external_ids_are_unique_and_reimports_change_nothing(session: Any) -> None:
    cid = person(session)
    first, created = donations.import_one(session, cid, {"amount_cents": 2500,
                                                         "received_at": DAY,
                                                         "external_id": "AB-1"}, actor="import")
    assert created and first.source == "import"
    donations.refresh_summaries(session, [cid])
    before = summary_tuple(session, cid)
    again, created = donations.import_one(session, cid, {"amount_cents": 9999,
                                                         "received_at": DAY,
                                                         "external_id": "AB-1"}, actor="import")
    assert (again.id, again.amount_cents, created) == (first.id, 2500, False)
    assert summary_tuple(session, cid) == before
    with pytest.raises(donations.DuplicateDonation) as caught:
        gift(session, cid, 100, external_id="AB-1")
    assert caught.value.status_code == 409 and f"#{first.id}" in caught.value.message
    other = gift(session, cid, 100, external_id="AB-2")
    with pytest.raises(donations.DuplicateDonation):
        donations.update(session, other.id, {"external_id": "AB-1"}, actor="org")


def test_refresh_summaries_handles_batches_all_contacts_and_ties(
        session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(donations, "CHUNK", 2)  # several chunks from a handful of contacts
    ids = [person(session, f"p{i}@example.org") for i in range(5)]
    for i, cid in enumerate(ids):
        session.add_all([Donation(contact_id=cid, amount_cents=100 * (i + 1), received_at=DAY),
                         Donation(contact_id=cid, amount_cents=7, received_at=DAY)])
    session.flush()
    donations.refresh_summaries(session, ids[:3])
    # Same date: the later entry counts as the most recent gift.
    assert [summary_tuple(session, cid) for cid in ids[:3]] == [
        (100 * (i + 1) + 7, 2, 100 * (i + 1), DAY, DAY, 7, False) for i in range(3)]
    assert summary_tuple(session, ids[3]) is None
    donations.refresh_summaries(session)
    assert summary_tuple(session, ids[4]) == (507, 2, 500, DAY, DAY, 7, False)
    session.execute(delete(Donation).where(Donation.contact_id == ids[4]))
    donations.refresh_summaries(session, [ids[4], 999_999])
    assert summary_tuple(session, ids[4]) is None
    assert summary_tuple(session, ids[0]) is not None


def test_timeline_shows_gifts_edits_and_deletions(session: Any) -> None:
    cid = person(session)
    kept = gift(session, cid, 2500, refcode="em-may")
    gone = gift(session, cid, 4000, days=1, recurring=True)
    donations.update(session, kept.id, {"amount_cents": 3000}, actor="fixer")
    donations.delete(session, gone.id, actor="fixer")
    other = person(session, "ben@example.org")
    gift(session, other, 999)
    entries = timeline.build(session, cid, [giving_timeline.timeline_entries])
    titles = [e.title for e in entries]
    assert "Gave $30.00 (refcode em-may)" in titles
    assert "Gift deleted: $40.00, recurring" in titles
    assert "Gift edited" in titles
    assert not any("9.99" in t for t in titles)
    edited = next(e for e in entries if e.title == "Gift edited")
    assert edited.changes == {"amount": ["$25.00", "$30.00"]} and edited.actor == "fixer"


STEPS = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 2), st.integers(1, 100_000), st.integers(0, 3),
              st.booleans()),
    st.tuples(st.just("import"), st.integers(0, 2), st.integers(1, 100_000), st.integers(0, 3),
              st.booleans()),
    st.tuples(st.just("edit"), st.integers(0, 99), st.none() | st.integers(1, 100_000),
              st.none() | st.integers(0, 3), st.none() | st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(st.just("merge"), st.integers(0, 2), st.integers(0, 2)),
)
EXAMPLES = count()


def expected(rows: dict[int, list[Any]], cid: int) -> tuple[Any, ...] | None:
    mine = [(ident, *row[1:]) for ident, row in rows.items() if row[0] == cid]
    if not mine:
        return None
    latest = max(mine, key=lambda r: (r[2], r[0]))
    return (sum(r[1] for r in mine), len(mine), max(r[1] for r in mine),
            min(r[2] for r in mine), max(r[2] for r in mine), latest[1], any(r[3] for r in mine))


def import_gift(session: Any, folder: Path, email: str, cents: int, day: int,
                recurring: bool) -> Donation:
    """Bring one gift in through the ActBlue import, as staff would."""
    receipt = f"R{next(EXAMPLES)}"
    when = (DAY + timedelta(days=day)).strftime("%Y-%m-%d %H:%M:%S")
    path = folder / f"{receipt}.csv"
    path.write_text("Receipt ID,Date,Amount,Donor Email,Recurring Total Months\n"
                    f"{receipt},{when},{cents / 100:.2f},{email},{12 if recurring else ''}\n")
    counts = run_file(session, path, {"actor": "h"})
    assert counts.donations_created == 1, counts
    return session.scalars(select(Donation).where(Donation.external_id == receipt)).one()


# The app and session are made once per test; each example starts with new people.
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=1, max_size=12))
def test_summaries_always_equal_a_plain_computation(session: Any, tmp_path: Path,
                                                    steps: list[tuple[Any, ...]]) -> None:
    run = next(EXAMPLES)
    emails = [f"h{run}.{i}@example.org" for i in range(3)]
    people = [person(session, email) for email in emails]
    alive = list(people)  # where each person's record lives now (after merges)
    rows: dict[int, list[Any]] = {}  # donation id -> [contact, cents, when, recurring]
    for step in steps:
        if step[0] in ("add", "import"):
            kind, who, cents, day, recurring = step
            if kind == "add":
                made = gift(session, alive[who], cents, day, recurring=recurring)
            else:
                made = import_gift(session, tmp_path, emails[who], cents, day, recurring)
            assert made.contact_id == alive[who]
            rows[made.id] = [alive[who], cents, DAY + timedelta(days=day), recurring]
        elif step[0] == "edit" and rows:
            _, pick, cents, day, recurring = step
            ident = sorted(rows)[pick % len(rows)]
            change = {k: v for k, v in (("amount_cents", cents), ("recurring", recurring),
                                        ("received_at", None if day is None
                                         else DAY + timedelta(days=day))) if v is not None}
            donations.update(session, ident, change, actor="h")
            rows[ident] = [rows[ident][0], change.get("amount_cents", rows[ident][1]),
                           change.get("received_at", rows[ident][2]),
                           change.get("recurring", rows[ident][3])]
        elif step[0] == "delete" and rows:
            ident = sorted(rows)[step[1] % len(rows)]
            donations.delete(session, ident, actor="h")
            del rows[ident]
        elif step[0] == "merge" and alive[step[1]] != alive[step[2]]:
            survivor, duplicate = alive[step[1]], alive[step[2]]
            merge.merge(session, survivor, duplicate, choices={}, actor="h")
            alive = [survivor if cid == duplicate else cid for cid in alive]
            for row in rows.values():
                row[0] = survivor if row[0] == duplicate else row[0]
        assert [summary_tuple(session, c) for c in people] == [expected(rows, c) for c in people]
    donations.refresh_summaries(session)
    assert [summary_tuple(session, c) for c in people] == [expected(rows, c) for c in people]


def test_the_panel_form_records_a_gift(as_role: Callable[[str], FlaskClient],
                                       app: Flask) -> None:
    with app.app_context():
        cid = person(db.session)
        db.session.commit()
    client = as_role("organizer")
    response = client.post(f"/crm/contacts/{cid}/donations", data={
        "donation-amount": "$1,025.50", "donation-received_on": "2024-05-01",
        "donation-refcode": "em-may", "donation-recurring": "y"})
    assert response.status_code == 302
    page = client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    panel = page.split('id="giving"')[1].split('id="contact-groups"')[0]
    for text in ("$1,025.50 in 1 gift", "2024-05-01", "em-may", "recurring", "Add donation"):
        assert text in panel, text
    assert "Gave $1,025.50 (refcode em-may), recurring" in page.split('id="timeline"')[1]
    bad = client.post(f"/crm/contacts/{cid}/donations", data={
        "donation-amount": "12.345", "donation-received_on": "2024-05-01"},
        follow_redirects=True)
    assert "at most 2 decimals" in bad.get_data(as_text=True)
    viewer = as_role("viewer").get(f"/crm/contacts/{cid}").get_data(as_text=True)
    assert "$1,025.50" in viewer and "Add donation" not in viewer


def test_edit_and_delete_a_gift_on_its_pages(as_role: Callable[[str], FlaskClient],
                                             app: Flask) -> None:
    with app.app_context():
        cid = person(db.session)
        gid = gift(db.session, cid, 2500).id
        db.session.commit()
    client = as_role("organizer")
    form = client.get(f"/crm/donations/{gid}/edit").get_data(as_text=True)
    assert 'value="25.00"' in form and 'value="2024-03-01"' in form
    refused = client.post(f"/crm/donations/{gid}/edit",
                          data={"donation-amount": "0", "donation-received_on": "2024-03-01"})
    assert refused.status_code == 422 and "more than zero" in refused.get_data(as_text=True)
    saved = client.post(f"/crm/donations/{gid}/edit", data={"donation-amount": "40",
                                                             "donation-received_on": "2024-03-01"})
    assert saved.status_code == 302
    with app.app_context():
        row = donations.get(db.session, gid)
        assert (row.amount_cents, row.received_at) == (4000, DAY)  # same day: time kept
    client.post(f"/crm/donations/{gid}/delete")
    page = client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    assert "No gifts yet." in page and "Gift deleted: $40.00" in page
    assert client.get(f"/crm/donations/{gid}/edit").status_code == 404
    assert client.post("/crm/contacts/99999/donations", data={}).status_code == 404


def test_prefixed_panel_forms_carry_their_csrf_token(csrf_app: Flask) -> None:
    with csrf_app.app_context():
        staff.create_user(db.session, "org@example.org", PASSWORD, role="organizer")
        cid = person(db.session)
        db.session.commit()
    client = csrf_app.test_client()
    login_page = client.get("/crm/login")
    client.post("/crm/login", data={"email": "org@example.org", "password": PASSWORD,
                                    "csrf_token": csrf_from(login_page.data)})
    data = {"donation-amount": "5", "donation-received_on": "2024-05-01"}
    assert client.post(f"/crm/contacts/{cid}/donations", data=data).status_code == 400
    token = csrf_from(client.get(f"/crm/contacts/{cid}").data)
    ok = client.post(f"/crm/contacts/{cid}/donations", data={**data, "donation-csrf_token": token})
    assert ok.status_code == 302
    with csrf_app.app_context():
        assert summary_tuple(db.session, cid)[:2] == (500, 1)  # type: ignore[index]


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
    made = client.post(f"{BASE}/contacts/{cid}/donations", headers=headers, json={
        "amount_cents": 2500, "received_at": "2024-03-01T17:00:00Z", "refcode": "em",
        "external_id": "ab-1", "recurring": True})
    assert made.status_code == 201, made.json
    assert (made.json["amount_cents"], made.json["amount"], made.json["source"]) == (
        2500, "25.00", "api")
    dollars = client.post(f"{BASE}/contacts/{cid}/donations", headers=headers,
                          json={"amount": "10.50", "received_at": "2024-04-01T12:00:00"})
    assert dollars.status_code == 201 and dollars.json["amount_cents"] == 1050
    listed = client.get(f"{BASE}/contacts/{cid}/donations", headers=headers).json
    assert [d["amount_cents"] for d in listed["items"]] == [1050, 2500]
    assert listed["summary"]["total_cents"] == 3550 and listed["summary"]["hpc_cents"] == 2500
    assert listed["summary"]["last_cents"] == 1050 and listed["summary"]["recurring"] is True
    gid = made.json["id"]
    patched = client.patch(f"{BASE}/donations/{gid}", headers=headers, json={"amount": 30})
    assert patched.status_code == 200 and patched.json["amount_cents"] == 3000
    again = client.post(f"{BASE}/contacts/{cid}/donations", headers=headers,
                        json={"amount_cents": 1, "external_id": "ab-1"})
    assert again.status_code == 409 and str(gid) in again.json["detail"]
    assert client.delete(f"{BASE}/donations/{gid}", headers=headers).status_code == 204
    assert client.get(f"{BASE}/donations/{gid}", headers=headers).status_code == 404
    assert client.patch(f"{BASE}/donations/{gid}", headers=headers,
                        json={"amount_cents": 5}).status_code == 404
    assert client.get(f"{BASE}/contacts/99999/donations", headers=headers).status_code == 404
    assert client.post(f"{BASE}/contacts/99999/donations", headers=headers,
                       json={"amount_cents": 5}).status_code == 404
    summary = client.get(f"{BASE}/contacts/{cid}/donations", headers=headers).json["summary"]
    assert summary["total_cents"] == 1050


def test_api_pages_through_a_long_giving_history(
        api: tuple[FlaskClient, dict[str, str], int], app: Flask) -> None:
    client, headers, cid = api
    with app.app_context():
        # Two gifts on each day, so the cursor must break ties by id.
        made = [gift(db.session, cid, 100 + n, days=n // 2).id for n in range(7)]
        db.session.commit()
    newest_first = sorted(made, key=lambda i: ((made.index(i) // 2), i), reverse=True)
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = client.get(f"{BASE}/contacts/{cid}/donations", headers=headers,
                          query_string=query).json
        seen += [d["id"] for d in body["items"]]
        pages += 1
        assert body["summary"]["gift_count"] == 7
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (newest_first, 3)
    bad = client.get(f"{BASE}/contacts/{cid}/donations", headers=headers,
                     query_string={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and "not valid" in bad.json["detail"]
    too_many = client.get(f"{BASE}/contacts/{cid}/donations", headers=headers,
                          query_string={"limit": 501})
    assert too_many.status_code == 422 and "limit" in too_many.json["errors"]


@pytest.mark.parametrize(("body", "field"), [
    ({"amount_cents": 0}, "amount_cents"),
    ({"amount_cents": -500}, "amount_cents"),
    ({"amount_cents": 25.5}, "amount_cents"),
    ({"amount_cents": "2500"}, "amount_cents"),
    ({"amount": "25.001"}, "amount"),
    ({"amount": "-3"}, "amount"),
    ({"amount": "lots"}, "amount"),
    ({"amount": [1]}, "amount"),
    ({"amount": "5", "amount_cents": 500}, "amount"),
    ({}, "amount_cents"),
    ({"amount_cents": 5, "received_at": "last tuesday"}, "received_at"),
    ({"amount_cents": 5, "received_at": "2999-01-01T00:00:00Z"}, "received_at"),
    ({"amount_cents": 5, "recurring": "yes"}, "recurring"),
    ({"amount_cents": 5, "source": "manual"}, "source"),
])
def test_api_bad_bodies_are_422_with_field_errors(
        api: tuple[FlaskClient, dict[str, str], int], body: dict[str, Any], field: str) -> None:
    client, headers, cid = api
    response = client.post(f"{BASE}/contacts/{cid}/donations", headers=headers, json=body)
    assert response.status_code == 422, response.json
    assert response.json["errors"][field][0]


def test_viewer_token_cannot_write(app: Flask, staff_users: dict[str, str]) -> None:
    client = app.test_client()
    login(client, staff_users["viewer"])
    with app.app_context():
        cid = person(db.session)
        db.session.commit()
    assert client.post(f"{BASE}/contacts/{cid}/donations",
                       json={"amount_cents": 5}).status_code == 403
    assert client.get(f"{BASE}/contacts/{cid}/donations").status_code == 200
