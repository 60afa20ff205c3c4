"""Demo data: valid by the services' rules, repeatable, shaped like the organization."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import consent, contacts, demo, pipeline
from crm.models import (
    MEMBERSHIP_STATUSES,
    OFFICES,
    STAGES,
    AuditEntry,
    ConsentEvent,
    Contact,
    Donation,
    DonationSummary,
    Group,
    Recruit,
    StageChange,
    Tag,
    UnionMembership,
    group_members,
    utcnow,
)
from crm.money import format_cents
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
UNIONS = {"AFSCME", "SEIU", "WEAC", "AFT", "UFCW", "IBEW"}
WORKING_GROUPS = {"Economic Security Working Group", "Immigration Working Group",
                  "Tax Fairness Working Group", "Public Education Working Group",
                  "Health Reform Working Group", "Election Reform Working Group"}


def _contacts(session: Session) -> list[Contact]:
    return list(session.scalars(select(Contact).order_by(Contact.email_normalized)))


def _tag_names(contact: Contact) -> set[str]:
    return {tag.name for tag in contact.tags}


def _by_contact(session: Session, model: Any) -> dict[int, list[Any]]:
    """Return a table's rows grouped by contact id, each group in id order."""
    out: dict[int, list[Any]] = defaultdict(list)
    for row in session.scalars(select(model).order_by(model.id)):
        out[row.contact_id].append(row)
    return out


def _groups_of(session: Session) -> dict[int, set[str]]:
    stmt = select(group_members.c.contact_id, Group.name).join(
        Group, Group.id == group_members.c.group_id)
    out: dict[int, set[str]] = defaultdict(set)
    for contact_id, name in session.execute(stmt):
        out[contact_id].add(name)
    return out


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
        # Custom fields only hold what has no table of its own.
        assert set(c.custom_fields) <= {"preferred_language", "shirt_size"}
    # Display emails keep the case people typed; keys are lowercased.
    assert any(c.email != c.email_normalized for c in people)
    states = Counter(c.state for c in people)
    assert states["WI"] > 0.85 * len(people)
    assert set(states) - {"WI"} <= {"MN", "IL", "MI"}
    assert set(states) - {"WI"}
    assert sum(c.phone is not None for c in people) > 0.6 * len(people)
    assert any(c.custom_fields for c in people)


def _snapshot(app: Flask, seed: int) -> list[tuple[Any, ...]]:
    with app.app_context():
        session = db.session
        demo.load(session, count=200, seed=seed)
        session.commit()
        # Dates (and the refcodes named after them) follow the clock; the rest the seed.
        gifts = {cid: [(d.amount_cents, d.recurring, d.external_id) for d in rows]
                 for cid, rows in _by_contact(session, Donation).items()}
        unions = {m.contact_id: (m.union_name, m.local, m.member_id, m.status, m.worksite)
                  for m in session.scalars(select(UnionMembership))}
        recruits = {r.contact_id: (r.stage, r.target_office, r.jurisdiction, r.owner)
                    for r in session.scalars(select(Recruit))}
        groups = _groups_of(session)
        return [(c.email, c.first_name, c.last_name, c.phone, c.city, c.zip, c.email_status,
                 c.custom_fields, sorted(_tag_names(c)), gifts.get(c.id), unions.get(c.id),
                 recruits.get(c.id), sorted(groups.get(c.id, ())))
                for c in _contacts(session)]


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

    memberships = {m.contact_id: m for m in session.scalars(select(UnionMembership))}
    members = [c for c in people if "union-member" in _tag_names(c)]
    assert {c.id for c in members} == set(memberships)
    assert 0.25 * total < len(members) < 0.45 * total
    for c in members:
        m = memberships[c.id]
        assert m.union_name in UNIONS and m.status in MEMBERSHIP_STATUSES
        assert m.local and m.member_id and m.worksite
        assert m.since is not None and m.since < c.created_at.date()
        assert c.employer and c.occupation
    standing = Counter(m.status for m in memberships.values())
    assert standing["active"] > 0.7 * len(members)
    assert standing["retired"] + standing["lapsed"]
    assert all("union-member" in _tag_names(c) for c in people if "steward" in _tag_names(c))

    gifts = _by_contact(session, Donation)
    donors = [c for c in people if "donor" in _tag_names(c)]
    assert {c.id for c in donors} == set(gifts)
    assert 0.2 * total < len(donors) < 0.4 * total
    for c in donors:
        assert 1 <= len(gifts[c.id]) <= 12
        assert c.employer and c.occupation
        # A donor is on the list from their first gift at the latest.
        assert c.created_at <= min(d.received_at for d in gifts[c.id])
    totals = sorted(sum(d.amount_cents for d in gifts[c.id]) for c in donors)
    assert 500 <= totals[len(totals) // 2] <= 25_000
    monthly = [c for c in donors if "monthly-donor" in _tag_names(c)]
    assert monthly
    for c in monthly:
        assert all(d.recurring for d in gifts[c.id]) and len(gifts[c.id]) >= 3
        assert len({d.amount_cents for d in gifts[c.id]}) == 1
        assert len({d.received_at.day for d in gifts[c.id]}) == 1

    recruits = {r.contact_id: r for r in session.scalars(select(Recruit))}
    tagged = [c for c in people if "recruit" in _tag_names(c)]
    officials = [c for c in people if "elected-official" in _tag_names(c)]
    assert {c.id for c in tagged + officials} == set(recruits)
    assert 0.03 * total < len(tagged) < 0.15 * total
    for r in recruits.values():
        assert r.stage in STAGES and r.target_office in OFFICES
        assert r.jurisdiction and (r.owner is None or r.owner.endswith("@example.org"))
    stages = Counter(r.stage for r in recruits.values())
    assert stages["prospect"] > stages["in_training"] > 0
    assert stages["declined"]
    assert len(officials) == 15
    for c in officials:
        assert c.state == "WI"
        assert recruits[c.id].stage == "elected" and recruits[c.id].target_office != "other"
    assert stages["elected"] == 15

    groups = _groups_of(session)
    grouped = [c for c in people if groups.get(c.id, set()) & WORKING_GROUPS]
    assert 0.1 * total < len(grouped) < 0.3 * total
    assert set().union(*groups.values()) == WORKING_GROUPS | {"Steering Committee"}
    assert not any(name.startswith("wg:") for c in people for name in _tag_names(c))
    assert any(name.startswith("event:") for c in people for name in _tag_names(c))

    for tag in session.scalars(select(Tag)):
        assert (tag.name, tag.name_key) == normalize_tag(tag.name)
    entries = list(session.scalars(select(AuditEntry)))
    assert len(entries) == total
    assert {(e.action, e.entity_type, e.actor) for e in entries} == {
        ("create", "contact", "demo data")}
    assert {e.entity_id for e in entries} == {c.id for c in people}
    shirt = next(c for c in members if c.custom_fields)
    sample = next(e for e in entries if e.entity_id == shirt.id)
    assert sample.changes["email"] == [None, shirt.email]
    assert sample.changes["custom_fields"] == [None, shirt.custom_fields]
    assert sample.changes["tags"] == [None, sorted(_tag_names(shirt))]


def test_giving_summaries_match_the_gifts(session: Session) -> None:
    started = utcnow()
    demo.load(session, count=300)
    session.commit()
    donations = list(session.scalars(select(Donation)))
    assert donations
    for d in donations:
        assert type(d.amount_cents) is int and 500 <= d.amount_cents <= 100_000
        assert d.source == "actblue" and d.created_by == "demo data"
        assert re.fullmatch(r"AB\d{9}", d.external_id or "")
        assert started - timedelta(days=3 * 365) <= d.received_at <= utcnow()
        assert d.refcode is None or re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", d.refcode)
    assert len({d.external_id for d in donations}) == len(donations)
    amounts = Counter(d.amount_cents for d in donations)
    assert amounts[2500] and amounts[500]
    assert any(d.recurring for d in donations) and not all(d.recurring for d in donations)

    gifts = _by_contact(session, Donation)
    summaries = {s.contact_id: s for s in session.scalars(select(DonationSummary))}
    assert set(summaries) == set(gifts)
    for contact_id in sorted(gifts)[::7]:
        rows = gifts[contact_id]
        newest = max(rows, key=lambda d: (d.received_at, d.id))
        expected = (sum(d.amount_cents for d in rows), len(rows),
                    max(d.amount_cents for d in rows), min(d.received_at for d in rows),
                    max(d.received_at for d in rows), newest.amount_cents,
                    any(d.recurring for d in rows))
        s = summaries[contact_id]
        assert (s.total_cents, s.gift_count, s.hpc_cents, s.first_at, s.last_at, s.last_cents,
                s.recurring) == expected


def test_every_recruit_walked_the_pipeline_to_their_stage(session: Session) -> None:
    started = utcnow()
    demo.load(session, count=300)
    session.commit()
    recruits = {r.contact_id: r for r in session.scalars(select(Recruit))}
    moves = _by_contact(session, StageChange)
    assert recruits and set(moves) == set(recruits)
    funnel = [stage for stage in STAGES if stage != "declined"]
    for contact_id, recruit in recruits.items():
        path = moves[contact_id]
        assert [m.id for m in path] == [m.id for m in reversed(
            pipeline.history(session, contact_id))]
        assert (path[0].from_stage, path[0].to_stage) == (None, "prospect")
        assert path[-1].to_stage == recruit.stage
        assert pipeline.history(session, contact_id)[0].to_stage == recruit.stage
        for before, after in pairwise(path):
            assert after.from_stage == before.to_stage
            assert after.created_at >= before.created_at
        stages = [m.to_stage for m in path]
        if recruit.stage == "declined":
            # From some stage of the funnel straight to declined.
            assert stages[:-1] == funnel[:len(stages) - 1] and stages[-1] == "declined"
            assert path[-1].note
        else:
            assert stages == funnel[:funnel.index(recruit.stage) + 1]
        assert started - timedelta(days=3 * 365 + 1) <= path[0].created_at
        assert path[-1].created_at <= utcnow()
        assert (recruit.created_at, recruit.updated_at) == (path[0].created_at,
                                                            path[-1].created_at)
    funnel_counts = pipeline.funnel(session)
    assert funnel_counts.steps[0].count == len(recruits)
    assert funnel_counts.steps[-1].count == 15


def test_loading_twice_and_creating_afterwards_keeps_keys_unique(session: Session) -> None:
    demo.load(session, count=100)
    assert demo.load(session, count=100) == 100
    session.commit()
    assert len({c.email_normalized for c in _contacts(session)}) == 200
    receipts = list(session.scalars(select(Donation.external_id)))
    assert receipts and len(set(receipts)) == len(receipts)
    members = list(session.execute(select(UnionMembership.union_name, UnionMembership.member_id)))
    assert members and len(set(members)) == len(members)
    names = list(session.scalars(select(Group.name_key)))
    assert len(names) == len(set(names)) == 7
    assert session.scalar(select(func.count()).select_from(Recruit)) == sum(
        "recruit" in _tag_names(c) or "elected-official" in _tag_names(c)
        for c in _contacts(session))
    # The ids came from the database, so the next contact staff create gets a fresh one.
    contact = contacts.create(session, {"email": "after.demo@example.org"}, actor="staff")
    session.commit()
    assert contact.id > max(c.id for c in _contacts(session) if c.id != contact.id)


def test_load_of_nothing_does_nothing(session: Session) -> None:
    assert demo.load(session, count=0) == 0
    for model in (Contact, Donation, UnionMembership, Recruit, Group, Tag):
        assert session.scalar(select(func.count()).select_from(model)) == 0
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


def test_a_donor_page_shows_the_giving_and_the_board_counts(
        app: Flask, as_role: Callable[[str], FlaskClient]) -> None:
    with app.app_context():
        demo.load(db.session, count=300)
        db.session.commit()
        summary = db.session.scalars(select(DonationSummary).order_by(
            DonationSummary.gift_count.desc(), DonationSummary.contact_id)).first()
        assert summary is not None
        donor_id, gift_count = summary.contact_id, summary.gift_count
        total = format_cents(summary.total_cents)
        member = db.session.scalars(select(UnionMembership).order_by(UnionMembership.id)).first()
        assert member is not None
        member_id, union, number = member.contact_id, member.union_name, member.member_id
        seat = db.session.execute(select(group_members.c.contact_id, Group.name).join(
            Group, Group.id == group_members.c.group_id).limit(1)).one()
        counts = pipeline.stage_counts(db.session)
    viewer = as_role("viewer")

    html = viewer.get(f"/crm/contacts/{donor_id}").get_data(as_text=True)
    assert '<div class="card-header">Giving</div>' in html
    assert f"{total} in {gift_count} gift" in html
    assert "Gave $" in html
    html = viewer.get(f"/crm/contacts/{member_id}").get_data(as_text=True)
    assert union in html and f"Member id {number}" in html
    html = viewer.get(f"/crm/contacts/{seat.contact_id}").get_data(as_text=True)
    assert str(escape(seat.name)) in html

    response = viewer.get("/crm/pipeline")
    assert response.status_code == 200
    shown = dict(re.findall(r'id="stage-(\w+)">\s*<span>[^<]*</span>'
                            r'<span class="badge[^"]*">(\d+)</span>',
                            response.get_data(as_text=True)))
    assert {stage: int(n) for stage, n in shown.items()} == counts
    assert counts["prospect"] and counts["declined"] and counts["elected"] == 15
    assert sum(counts.values()) > 0.05 * 300
