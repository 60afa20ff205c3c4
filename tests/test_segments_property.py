"""Property: for random contacts and random nested rules, the SQL picks what the reference
evaluator picks, on whichever database the suite runs on (SQLite, or PostgreSQL with
CRM_TEST_DATABASE_URL). One database serves every example; its tables are emptied between.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from crm.donations import refresh_summaries
from crm.models import (
    EMAIL_STATUSES,
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
    contact_tags,
    group_members,
)
from crm.segments import (
    REGISTRY,
    All,
    Clock,
    HasTag,
    InGroup,
    Node,
    Not,
    count,
    select_ids,
    to_text,
)
from crm.segments import Any as AnyOf
from crm.segments.ast import LIST_OPERATORS, NO_VALUE_OPERATORS, PAIR_OPERATORS
from crm.segments.dates import parse_window
from crm.segments.evaluate import load_records, matching_ids
from crm.segments.values import build_condition
from crm.validation import search_key
from tests.conftest import TestConfig, database_url
from wsgi import create_app, db

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
TABLES = (contact_tags, group_members, Donation.__table__, DonationSummary.__table__,
          UnionMembership.__table__, StageChange.__table__, Recruit.__table__,
          ConsentEvent.__table__, AuditEntry.__table__, Tag.__table__, Group.__table__,
          Contact.__table__)


@pytest.fixture(scope="module")
def segment_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app and database for every example of this module."""
    from crm.models import Base

    url = database_url(tmp_path_factory.mktemp("segments"))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
    yield app
    with app.app_context():
        db.session.remove()
        Base.metadata.drop_all(db.engine)
        db.engine.dispose()


def _maybe(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, *values])


CHICAGO = ZoneInfo("America/Chicago")
# Rule values drawn near the data, in other cases and as parts, so rules really select.
TEXTS = {
    "email": ["p1@example.org", "P1@EXAMPLE.ORG", "example", "p", "org"],
    "first_name": ["ana", "ÅSA", "åsa", "Ben", "a"],
    "last_name": ["lópez", "LOPEZ", "LÓPEZ", "o'neil", "gar"],
    "city": ["madison", "eau claire", "eau   CLAIRE", "ärhus", "ÄRHUS", "a"],
    "zip": ["53703", "537", "53704-1234", "-"],
    "county": ["dane", "DANE", "été", "ÉTÉ", "Été", "mil"],
    "employer": ["acme_co", "acme%co", "acme co", "_", "%", "co", "acmexco"],
    "occupation": ["teacher", "TEACHER", "nurse", "e"],
    "source": ["rally", "Rally_2024", "_", "import"],
    "custom": ["l", "L", "m", "true", "5", "50%", "%", "3"],
    "union.name": ["seiu", "SEIU", "afscme", "se"],
    "union.local": ["150", "40", "1"],
    "union.worksite": ["east high", "EAST", "depot", "h"],
    "recruitment.jurisdiction": ["dane county", "dane", "DANE COUNTY", "county"],
}
MONEY = [Decimal(v) for v in ("0", "5", "25", "50", "84.99", "85", "100", "150")]
DATES = [(NOW - timedelta(days=d)).date() for d in (0, 1, 10, 100, 400, 799)]
WINDOWS = ["1d", "3w", "30d", "6m", "12m", "2y"]
# Stored moments: any hour, or exactly on a day's first moment or a window's edge, where an
# off-by-one in a bound would show.
MOMENTS = st.one_of(
    st.tuples(st.integers(0, 800), st.integers(0, 23)).map(
        lambda t: NOW - timedelta(days=t[0], hours=t[1])),
    st.tuples(st.sampled_from(DATES), st.sampled_from([UTC, CHICAGO])).map(
        lambda t: datetime.combine(t[0], time(0), tzinfo=t[1]).astimezone(UTC)),
    st.tuples(st.sampled_from(WINDOWS), st.sampled_from([UTC, CHICAGO])).map(
        lambda t: Clock(NOW, t[1]).ago(parse_window(t[0]))),
)


PERSON = st.fixed_dictionaries({
    "first_name": st.sampled_from(["Ana", "ana", "Åsa", "ÅSA", "Ben", ""]),
    "last_name": st.sampled_from(["López", "LÓPEZ", "Garcia", "", "O'Neil"]),
    "city": _maybe("Madison", "MADISON", "Eau  Claire", "Ärhus"),
    "state": _maybe("WI", "MN", "IL"),
    "zip": _maybe("53703", "53704-1234", "55802"),
    "county": _maybe("Dane", "DANE", "Milwaukee", "Été", "ÉTÉ"),
    "employer": _maybe("Acme_Co", "Acme%Co", "acme co", "AcmeXCo"),
    "occupation": _maybe("Teacher", "teacher", "Nurse"),
    "source": _maybe("rally", "Rally_2024", "import"),
    "email_status": st.sampled_from(EMAIL_STATUSES),
    "custom_fields": st.dictionaries(
        st.sampled_from(["shirt", "vip", "visits"]),
        st.one_of(st.none(), st.sampled_from(["L", "l", "M", "", "true", "50%"]), st.booleans(),
                  st.integers(0, 5)), max_size=3),
    "created_at": MOMENTS,
    "gone": st.sampled_from(["live"] * 6 + ["deleted", "merged"]),
    "tags": st.sets(st.sampled_from(["union-member", "Donor", "volunteer"])),
    "groups": st.sets(st.sampled_from(["Tax Fairness", "Steering"])),
    "gifts": st.lists(st.tuples(st.sampled_from([500, 2500, 5000, 8500, 10000]), MOMENTS,
                                st.booleans()), max_size=3),
    "memberships": st.lists(st.tuples(st.sampled_from(["SEIU", "seiu", "AFSCME"]),
                                      _maybe("150", "40"), st.sampled_from(MEMBERSHIP_STATUSES),
                                      _maybe("East High", "depot")), max_size=2),
    "recruit": st.one_of(st.none(), st.tuples(st.sampled_from(STAGES), _maybe(*OFFICES[:2]),
                                              _maybe("Dane County", "dane"))),
})

def _raw(field: Any, op: str) -> st.SearchStrategy[Any]:
    if field.type == "text":
        return st.sampled_from(TEXTS[field.name])
    if field.type == "enum":
        allowed = [v for v in field.allowed if v in ("WI", "MN", "IL", "CA")] or field.allowed
        return st.sampled_from(allowed)
    if field.type == "number":
        return st.integers(0, 3)
    if field.type == "money":
        return st.sampled_from(MONEY)
    if field.type == "boolean":
        return st.booleans()
    if op == "within":
        return st.sampled_from(WINDOWS)
    if op in ("before", "after"):
        return st.sampled_from([*WINDOWS, *(d.isoformat() for d in DATES)])
    return st.sampled_from([d.isoformat() for d in DATES])


# Fields read from side tables: rules made of these are the ones the planner drives from a
# list and probes, so they are drawn more often than their share of the registry.
SIDE_FIELDS = [f for f in REGISTRY.fields() if f.name.split(".")[0] in
               ("donations", "union", "recruitment")]


@st.composite
def conditions(draw: st.DrawFn, fields: list[Any] | None = None) -> Node:
    field = draw(st.sampled_from(fields or REGISTRY.fields()))
    op = draw(st.sampled_from(field.operators))
    name = field.name
    if field.param == "key":
        name = f"{field.name}.{draw(st.sampled_from(['shirt', 'vip', 'visits', 'nope']))}"
    elif field.param == "window":
        name = f"{field.name}({draw(st.sampled_from(['30d', '365d', '2y']))})"
    raw: Any = None
    if op in LIST_OPERATORS:
        raw = draw(st.lists(_raw(field, op), min_size=1, max_size=3))
    elif op in PAIR_OPERATORS:
        raw = sorted(draw(st.lists(_raw(field, op), min_size=2, max_size=2)))
    elif op not in NO_VALUE_OPERATORS:
        raw = draw(_raw(field, op))
    return build_condition(REGISTRY, name, op, raw)


LEAVES = st.one_of(
    conditions(), conditions(), conditions(SIDE_FIELDS),
    st.sampled_from(["Union-Member", "donor", "nope"]).map(HasTag),
    st.sampled_from(["tax fairness", "Steering"]).map(InGroup),
)
RULES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3).map(lambda c: All(tuple(c))),
    st.lists(inner, min_size=1, max_size=3).map(lambda c: AnyOf(tuple(c))),
    inner.map(Not),
), max_leaves=6)


def _fill(session: Any, people: list[dict[str, Any]]) -> None:
    tags = {name: Tag(name=name, name_key=name.casefold()) for name in
            ("union-member", "Donor", "volunteer")}
    groups = {name: Group(name=name, name_key=name.casefold()) for name in
              ("Tax Fairness", "Steering")}
    session.add_all([*tags.values(), *groups.values()])
    made = []
    for i, person in enumerate(people):
        contact = Contact(
            email=f"P{i}@Example.org", email_normalized=f"p{i}@example.org",
            first_name=person["first_name"], last_name=person["last_name"],
            first_name_key=search_key(person["first_name"]),
            last_name_key=search_key(person["last_name"]),
            city=person["city"], city_key=search_key(person["city"]) or None,
            **{k: person[k] for k in ("state", "zip", "county", "employer", "occupation",
                                      "source", "email_status", "custom_fields")},
            created_at=person["created_at"],
            tags=[tags[name] for name in sorted(person["tags"])])
        session.add(contact)
        made.append(contact)
    session.flush()
    for person, contact in zip(people, made, strict=True):
        if person["gone"] == "deleted":
            contact.deleted_at = NOW
        elif person["gone"] == "merged":
            contact.merged_into_id = made[0].id
        for name in sorted(person["groups"]):
            session.execute(insert(group_members).values(group_id=groups[name].id,
                                                         contact_id=contact.id))
        for cents, moment, recurring in person["gifts"]:
            session.add(Donation(contact_id=contact.id, amount_cents=cents, recurring=recurring,
                                 received_at=moment))
        for union, local, status, worksite in person["memberships"]:
            session.add(UnionMembership(contact_id=contact.id, union_name=union, local=local,
                                        status=status, worksite=worksite))
        if person["recruit"] is not None:
            stage, office, jurisdiction = person["recruit"]
            session.add(Recruit(contact_id=contact.id, stage=stage, target_office=office,
                                jurisdiction=jurisdiction))
    session.flush()
    refresh_summaries(session)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(people=st.lists(PERSON, min_size=3, max_size=10),
       rules=st.lists(RULES, min_size=3, max_size=8),
       zone=st.sampled_from([UTC, CHICAGO]))
def test_compiled_sql_selects_what_the_reference_evaluator_selects(
        segment_app: Flask, people: list[dict[str, Any]], rules: list[Node], zone: Any) -> None:
    with segment_app.app_context():
        session = db.session
        try:
            for table in TABLES:
                session.execute(delete(table))
            _fill(session, people)
            session.commit()
            records = load_records(session)
            live = {r.contact["id"] for r in records
                    if r.contact["deleted_at"] is None and r.contact["merged_into_id"] is None}
            clock = Clock(NOW, zone)
            for rule in rules:
                expected = matching_ids(records, rule, clock=clock)
                event("selects none" if not expected else "selects all live" if expected == live
                      else "selects some")
                # Without a session the planner knows only the rule; with one it measures
                # lists and looks up tag and group ids: both forms must select the same.
                assert set(session.scalars(select_ids(rule, clock=clock))) == expected, (
                    to_text(rule))
                assert set(session.scalars(select_ids(rule, clock=clock, session=session))) == (
                    expected), to_text(rule)
                assert count(session, rule, clock=clock) == len(expected), to_text(rule)
                assert count(session, Not(rule), clock=clock) == len(live - expected), (
                    to_text(rule))
        finally:
            session.rollback()
            db.session.remove()
