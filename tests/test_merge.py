"""Duplicates and merging: the survivor keeps everything, the duplicate points at it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from crm import audit, consent, contacts, merge
from crm.errors import NotFound, ValidationFailed
from crm.models import (
    Contact,
    Donation,
    Group,
    Note,
    Recruit,
    StageChange,
    UnionMembership,
    group_members,
)
from wsgi import db


def person(session: Any, email: str, **fields: Any) -> Contact:
    return contacts.create(session, {"email": email, **fields}, actor="seed")


@pytest.fixture
def pair(session: Any) -> tuple[Contact, Contact]:
    ana = person(session, "ana@example.org", first_name="Ana", last_name="Lopez",
                 zip="53703", tags=["union-member"])
    twin = person(session, "ana.lopez@work.example", first_name="Ana", last_name="Lopez",
                  zip="53703", phone="608-555-0134", city="Madison", tags=["donor"],
                  email_status="unsubscribed", custom_fields={"shirt": "L"})
    session.add_all([
        Donation(contact_id=twin.id, amount_cents=2500, external_id="AB1",
                 received_at=datetime(2026, 1, 5, tzinfo=UTC)),
        UnionMembership(contact_id=twin.id, union_name="AFSCME", local="Local 60",
                        member_id="M-1"),
        Note(contact_id=twin.id, body="Met at the rally", author="org"),
        Recruit(contact_id=twin.id, stage="interested"),
        StageChange(contact_id=twin.id, from_stage=None, to_stage="interested", actor="org"),
    ])
    group = Group(name="Tax Fairness", name_key="tax fairness")
    session.add(group)
    session.flush()
    session.execute(group_members.insert().values(group_id=group.id, contact_id=twin.id,
                                                  added_by="seed"))
    session.commit()
    return ana, twin


def count(session: Any, model: Any, contact_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(model)
                              .where(model.contact_id == contact_id)) or 0)


def test_finder_pairs_same_phone_and_same_name_zip(session: Any,
                                                   pair: tuple[Contact, Contact]) -> None:
    ana, twin = pair
    person(session, "other@example.org", first_name="Bo", phone="(608) 555-0134")
    session.commit()
    found = {(p.first_id, p.second_id): p.reason for p in merge.find_duplicates(session)}
    assert found[(ana.id, twin.id)] == "same name and ZIP"
    assert any(reason.startswith("same phone") for reason in found.values())


def test_merge_keeps_everything_and_the_strictest_consent(session: Any,
                                                          pair: tuple[Contact, Contact]) -> None:
    ana, twin = pair
    survivor = merge.merge(session, ana.id, twin.id, choices={"phone": "duplicate",
                                                              "city": "duplicate"},
                           actor="organizer@example.org")
    session.commit()
    assert survivor.phone == "+16085550134" and survivor.city == "Madison"
    assert survivor.email == "ana@example.org"
    assert sorted(t.name for t in survivor.tags) == ["donor", "union-member"]
    assert survivor.custom_fields == {"shirt": "L"}
    for model in (Donation, UnionMembership, Note, StageChange, Recruit):
        assert count(session, model, ana.id) == 1, model
        assert count(session, model, twin.id) == 0, model
    assert session.scalar(select(func.count()).select_from(group_members)
                          .where(group_members.c.contact_id == ana.id)) == 1
    # The duplicate had opted out: the merged record stays opted out.
    assert survivor.email_status == "unsubscribed"
    assert consent.history(session, ana.id)[0].note == f"Kept from merged duplicate #{twin.id}"
    tomb = session.get(Contact, twin.id)
    assert tomb is not None and tomb.deleted_at is not None and tomb.merged_into_id == ana.id
    assert contacts.merged_into(session, twin.id) == ana.id
    entries = audit.entries_for(session, "contact", ana.id)
    assert entries[0].action == "merge" and entries[0].changes["merged_from"] == [None, twin.id]
    assert {e.action for e in entries} >= {"create", "merge"}
    assert len([e for e in entries if e.action == "create"]) == 2  # both histories kept


def test_taking_the_duplicates_email_swaps_addresses(session: Any,
                                                     pair: tuple[Contact, Contact]) -> None:
    ana, twin = pair
    survivor = merge.merge(session, ana.id, twin.id, choices={"email": "duplicate"}, actor="x")
    session.commit()
    assert survivor.email_normalized == "ana.lopez@work.example"
    assert session.get(Contact, twin.id).email_normalized == "ana@example.org"  # type: ignore[union-attr]


def test_merge_refuses_nonsense(session: Any, pair: tuple[Contact, Contact]) -> None:
    ana, twin = pair
    with pytest.raises(ValidationFailed):
        merge.merge(session, ana.id, ana.id, choices={}, actor="x")
    with pytest.raises(ValidationFailed):
        merge.merge(session, ana.id, twin.id, choices={"password": "duplicate"}, actor="x")
    with pytest.raises(NotFound):
        merge.merge(session, ana.id, 999999, choices={}, actor="x")


def test_merge_screen_and_tombstone_redirect(app: Flask, as_role: Callable[[str], FlaskClient],
                                             pair: tuple[Contact, Contact]) -> None:
    ana, twin = pair
    client = as_role("organizer")
    listing = client.get("/crm/duplicates").get_data(as_text=True)
    assert f"/crm/contacts/{ana.id}/merge/{twin.id}" in listing
    screen = client.get(f"/crm/contacts/{ana.id}/merge/{twin.id}").get_data(as_text=True)
    assert "donations 1" in screen and "ana.lopez@work.example" in screen
    done = client.post(f"/crm/contacts/{ana.id}/merge/{twin.id}",
                       data={name: "survivor" for name in merge.CHOOSABLE})
    assert done.status_code == 302
    followed = client.get(f"/crm/contacts/{twin.id}")
    assert followed.status_code == 302
    assert followed.headers["Location"].endswith(f"/crm/contacts/{ana.id}")
    assert client.get(f"/crm/contacts/{ana.id}/merge/{twin.id}").status_code == 404


def test_merge_api(app: Flask, as_role: Callable[[str], FlaskClient],
                   pair: tuple[Contact, Contact]) -> None:
    ana, twin = pair
    client = as_role("organizer")
    response = client.post(f"/crm/api/v1/contacts/{ana.id}/merge",
                           json={"duplicate_id": twin.id, "choices": {"city": "duplicate"}})
    assert response.status_code == 200, response.json
    assert response.json["city"] == "Madison"
    assert response.json["phone"] == "+16085550134"  # empty on the survivor: taken by default
    moved = client.get(f"/crm/api/v1/contacts/{twin.id}")
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith(f"/crm/api/v1/contacts/{ana.id}")
    bad = client.post(f"/crm/api/v1/contacts/{ana.id}/merge", json={"duplicate_id": ana.id})
    assert bad.status_code == 422
    with app.app_context():
        assert db.session.get(Contact, twin.id).merged_into_id == ana.id  # type: ignore[union-attr]


def test_import_of_a_merged_address_updates_the_survivor(session: Any, tmp_path: Any,
                                                         pair: tuple[Contact, Contact]) -> None:
    from crm.imports import run_file

    ana, twin = pair
    merge.merge(session, ana.id, twin.id, choices={}, actor="x")
    session.commit()
    path = tmp_path / "sheet.csv"
    path.write_text("Email,Occupation\nana.lopez@work.example,Teacher\n")
    counts = run_file(session, path, {"actor": "tester"}, on_rejects=lambda rows: None)
    session.commit()
    assert counts.as_dict()["updated"] == 1 and counts.as_dict()["created"] == 0
    session.expire_all()
    assert contacts.get(session, ana.id).occupation == "Teacher"
    tomb = session.get(Contact, twin.id)
    assert tomb is not None and tomb.deleted_at is not None and tomb.occupation is None
