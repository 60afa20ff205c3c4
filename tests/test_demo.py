"""Demo data: valid by the services' rules, repeatable, shaped like the organization."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import consent, contacts, demo
from crm.models import AuditEntry, ConsentEvent, Contact, Tag, utcnow
from crm.validation import (
    normalize_phone,
    normalize_state,
    normalize_tag,
    normalize_zip,
    search_key,
)
from wsgi import db

# Every stored field the services validate, except tags (checked on their own).
CHECKED = ("email", "phone", "state", "zip", "custom_fields", "email_status", *contacts.TEXT_FIELDS)


def _contacts(session: Session) -> list[Contact]:
    return list(session.scalars(select(Contact).order_by(Contact.email_normalized)))


def _tag_names(contact: Contact) -> set[str]:
    return {tag.name for tag in contact.tags}


def test_load_creates_contacts_that_pass_the_services_validation(session: Session) -> None:
    started = utcnow()
    assert demo.load(session, count=300) == 300
    session.commit()

    people = _contacts(session)
    assert len(people) == 300
    assert len({c.email_normalized for c in people}) == 300
    for c in people:
        cleaned = contacts.clean({field: getattr(c, field) for field in CHECKED})
        assert {field: getattr(c, field) for field in cleaned} == cleaned, c.email
        assert normalize_phone(c.phone) == c.phone
        assert normalize_state(c.state) == c.state
        assert normalize_zip(c.zip) == c.zip
        assert c.email_normalized == c.email.lower()
        assert c.email_normalized.rsplit("@", 1)[1] in demo.DOMAINS
        assert c.first_name_key == search_key(c.first_name)
        assert c.last_name_key == search_key(c.last_name)
        assert c.city_key == search_key(c.city)
        assert c.zip is not None and len(c.zip) == 5
        assert c.deleted_at is None
        assert started - timedelta(days=3 * 365 + 1) <= c.created_at <= utcnow()
        assert c.created_at <= c.updated_at
    # Display emails keep the case people typed; keys are lowercased.
    assert any(c.email != c.email_normalized for c in people)
    states = Counter(c.state for c in people)
    assert states["WI"] > 0.85 * len(people)
    assert set(states) - {"WI"} <= {"MN", "IL", "MI"}
    assert set(states) - {"WI"}
    assert sum(c.phone is not None for c in people) > 0.6 * len(people)


def _snapshot(app: Flask, seed: int) -> list[tuple[Any, ...]]:
    with app.app_context():
        demo.load(db.session, count=200, seed=seed)
        db.session.commit()
        return [(c.email, c.first_name, c.last_name, c.phone, c.city, c.zip, c.email_status,
                 c.custom_fields, sorted(_tag_names(c))) for c in _contacts(db.session)]


def test_the_same_seed_gives_the_same_contacts(make_app: Callable[..., Flask]) -> None:
    # Each app starts from freshly created tables in the same test database.
    first = _snapshot(make_app(), seed=7)
    again = _snapshot(make_app(), seed=7)
    other = _snapshot(make_app(), seed=8)
    assert first == again
    assert [row[0] for row in first] != [row[0] for row in other]


def test_the_mix_looks_like_the_organization(session: Session) -> None:
    demo.load(session, count=300)
    session.commit()
    people = _contacts(session)
    total = len(people)

    statuses = Counter(c.email_status for c in people)
    assert statuses["subscribed"] > 0.75 * total
    assert statuses["unsubscribed"] and statuses["cleaned"]
    assert statuses["pending"] + statuses["transactional"]
    events: dict[int, list[ConsentEvent]] = defaultdict(list)
    for event in session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())):
        events[event.contact_id].append(event)
    for c in people:
        history = events[c.id]
        assert history[0].status == c.email_status
        oldest = history[-1]
        assert (oldest.previous_status, oldest.method) == (None, "import")
        assert oldest.actor == "demo data"
        if c.email_status in ("unsubscribed", "cleaned"):
            newest, first = consent.history(session, c.id)
            assert first.status == "subscribed"
            assert (newest.previous_status, newest.status, newest.method) == (
                "subscribed", c.email_status, "mailchimp")
            assert newest.created_at >= first.created_at
        else:
            assert len(history) == 1

    members = [c for c in people if "union-member" in _tag_names(c)]
    assert 0.25 * total < len(members) < 0.45 * total
    for c in members:
        assert c.custom_fields["union"] in {"AFSCME", "SEIU", "WEAC", "AFT", "UFCW", "IBEW"}
        assert c.custom_fields["local"] and c.custom_fields["member_id"]
        assert c.custom_fields["worksite"]
        assert c.employer and c.occupation
    donors = [c for c in people if "donor" in _tag_names(c)]
    assert 0.2 * total < len(donors) < 0.4 * total
    for c in donors:
        cents, gifts = c.custom_fields["donation_total_cents"], c.custom_fields["gift_count"]
        assert type(cents) is int and cents >= 500
        assert type(gifts) is int and gifts >= 1
        assert c.employer and c.occupation
    small = sorted(c.custom_fields["donation_total_cents"] for c in donors)
    assert 500 <= small[len(small) // 2] <= 25_000
    recruits = [c for c in people if "recruit" in _tag_names(c)]
    assert recruits
    for c in recruits:
        assert c.custom_fields["pipeline_stage"] in demo.STAGES
        assert c.custom_fields["target_office"] in demo.TARGET_OFFICES
    officials = [c for c in people if "elected-official" in _tag_names(c)]
    assert len(officials) == 15
    assert all(c.custom_fields["office"] and c.state == "WI" for c in officials)
    grouped = [c for c in people if any(name.startswith("wg:") for name in _tag_names(c))]
    assert 0.1 * total < len(grouped) < 0.3 * total
    assert any(name.startswith("event:") for c in people for name in _tag_names(c))

    for tag in session.scalars(select(Tag)):
        assert (tag.name, tag.name_key) == normalize_tag(tag.name)
    entries = list(session.scalars(select(AuditEntry)))
    assert len(entries) == total
    assert {(e.action, e.entity_type, e.actor) for e in entries} == {
        ("create", "contact", "demo data")}
    assert {e.entity_id for e in entries} == {c.id for c in people}
    sample = next(e for e in entries if e.entity_id == members[0].id)
    assert sample.changes["email"] == [None, members[0].email]
    assert sample.changes["custom_fields"] == [None, members[0].custom_fields]


def test_loading_twice_and_creating_afterwards_keeps_keys_unique(session: Session) -> None:
    demo.load(session, count=100)
    assert demo.load(session, count=100) == 100
    session.commit()
    assert len({c.email_normalized for c in _contacts(session)}) == 200
    # The ids came from the database, so the next contact staff create gets a fresh one.
    contact = contacts.create(session, {"email": "after.demo@example.org"}, actor="staff")
    session.commit()
    assert contact.id > max(c.id for c in _contacts(session) if c.id != contact.id)


def test_load_of_nothing_does_nothing(session: Session) -> None:
    assert demo.load(session, count=0) == 0
    assert session.scalar(select(func.count()).select_from(Contact)) == 0
    with pytest.raises(ValueError):
        demo.load(session, count=-1)


def test_cli_loads_once_with_if_empty(app: Flask) -> None:
    runner = app.test_cli_runner()
    args = ["crm", "demo", "--if-empty", "--contacts", "200"]

    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Loaded 200 demo contacts." in result.output

    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert "Contacts exist already; demo data not loaded." in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 200


def test_a_loaded_contact_page_renders(app: Flask,
                                       as_role: Callable[[str], FlaskClient]) -> None:
    with app.app_context():
        demo.load(db.session, count=100)
        db.session.commit()
        contact = db.session.scalar(
            select(Contact).where(Contact.email_status == "unsubscribed").limit(1))
        assert contact is not None
        contact_id, name = contact.id, contact.full_name
        tags = [tag.name for tag in contact.tags]

    response = as_role("viewer").get(f"/crm/contacts/{contact_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert str(escape(name)) in html
    assert "Contact created" in html
    assert "mailchimp (demo data)" in html
    for tag in tags:
        assert str(escape(tag)) in html
