"""Generated CRM data for the segment benchmark, written by the fastest bulk path.

Contacts live mostly in Wisconsin and its neighbours. About 10% carry ``union-member`` and
smaller shares other tags; about a fifth have given (one gift or several, a few recurring);
about 12% hold union memberships (some two), 3% are recruits at a pipeline stage, and a few
groups hold from a couple of dozen to fifteen thousand contacts. A few contacts are deleted
or merged into others. SQLite is filled with ``executemany``, PostgreSQL with ``COPY``; the
giving summaries are left to the application's own refresh.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from crm.validation import search_key

FIRST = "Ana Ben Cara Dev Emma Femi Gus Hana Ivan Jada Kai Lena Marco Nia Omar Priya Rosa Sam"
LAST = ("Smith Johnson Garcia Lopez Nowak Olson Schmidt Kowalski Nguyen Patel Hernandez Berg"
        " Larson Brown Wilson Moore Jackson Martin Lee Thompson White Harris Clark Lewis")
# state, weight of the state, its counties
STATES = [("WI", 55, "Dane Milwaukee Brown Waukesha Racine Kenosha Rock Outagamie Eau_Claire"),
          ("MN", 12, "Hennepin Ramsey Dakota St._Louis Olmsted"),
          ("IL", 10, "Cook Lake Winnebago"), ("IA", 5, "Polk Linn Dubuque"),
          ("MI", 5, "Wayne Kent Marquette"), ("OH", 4, "Franklin Cuyahoga"),
          ("CA", 3, "Alameda Los_Angeles"), ("NY", 3, "Kings Albany"), ("", 3, "")]
STATUSES = ["subscribed"] * 78 + ["unsubscribed"] * 11 + ["cleaned"] * 5 + ["pending"] * 4 + [
    "transactional"] * 2
# name, share of contacts (a count when 1 or more)
TAGS = [("union-member", 0.10), ("donor", 0.08), ("volunteer", 0.05), ("phone-bank", 0.02),
        ("2024-rally", 0.03), ("declined", 0.01), ("steering-committee", 30)]
GROUPS = [("Tax Fairness Working Group", 400), ("Phone Bank Captains", 2_000),
          ("Steering Committee", 25), ("Member Organizers", 15_000)]
UNIONS = ["SEIU"] * 30 + ["AFSCME"] * 25 + ["AFT"] * 15 + ["NEA"] * 15 + ["Teamsters"] * 10 + [
    "UAW"] * 5
MEMBER_STATUSES = ["active"] * 75 + ["retired"] * 15 + ["lapsed"] * 10
STAGES = ["prospect"] * 40 + ["contacted"] * 25 + ["interested"] * 12 + ["in_training"] * 6 + [
    "candidate"] * 4 + ["elected"] * 3 + ["declined"] * 10
OFFICES = ["school_board", "city_council", "county_board", "state_house", "state_senate", "other"]
GIFTS = [500, 1000, 1500, 2500, 2700, 5000, 10000, 25000, 50000, 100000]
GIFT_WEIGHTS = [14, 18, 8, 22, 10, 14, 8, 4, 1, 1]
CONTACT_COLUMNS = ("id", "email", "email_normalized", "first_name", "last_name",
                   "first_name_key", "last_name_key", "state", "county",
                   "email_status", "custom_fields", "created_at", "updated_at", "deleted_at",
                   "merged_into_id")
Stamp = Callable[[datetime], object]


def _places() -> tuple[list[tuple[str | None, str | None]], list[int]]:
    places, weights = [], []
    for state, weight, counties in STATES:
        names = [c.replace("_", " ") for c in counties.split()] or [None]
        for county in names:
            places.append((state or None, county))
            weights.append(weight * 100 // len(names))
    return places, weights


def contacts(count: int, now: datetime, stamp: Stamp) -> Iterator[tuple[Any, ...]]:
    """Yield the contacts in CONTACT_COLUMNS order; about 0.7% are deleted or merged."""
    rng = random.Random(2026)
    firsts, lasts = FIRST.split(), LAST.split()
    places, weights = _places()
    picks = rng.choices(places, weights, k=count)
    for ident in range(1, count + 1):
        first, last = rng.choice(firsts), rng.choice(lasts)
        state, county = picks[ident - 1]
        email = f"{first}.{last}{ident}@example.org"
        when = stamp(now - timedelta(days=1800) + timedelta(seconds=ident * 150))
        gone = rng.random()
        deleted = when if gone < 0.005 else None
        merged = rng.randrange(1, ident) if 0.005 <= gone < 0.007 and ident > 1 else None
        yield (ident, email, email.lower(), first, last, search_key(first), search_key(last),
               state, county, rng.choice(STATUSES), "{}",
               when, when, deleted, merged)


def _sample(rng: random.Random, count: int, share: float) -> list[int]:
    size = int(share) if share >= 1 else int(count * share)
    return sorted(rng.sample(range(1, count + 1), size))


def tags(count: int) -> Iterator[tuple[int, int]]:
    """Yield (contact_id, tag_id) links; tag ids follow TAGS."""
    rng = random.Random(7)
    for tag_id, (_name, share) in enumerate(TAGS, start=1):
        for contact_id in _sample(rng, count, share):
            yield contact_id, tag_id


def gifts(count: int, now: datetime, stamp: Stamp) -> Iterator[tuple[Any, ...]]:
    """Yield donations: a fifth of contacts give one to a dozen gifts over four years."""
    rng = random.Random(11)
    ident = 0
    for contact_id in range(1, count + 1):
        if rng.random() >= 0.21:
            continue
        recurring = rng.random() < 0.08
        size = 12 if recurring else min(1 + int(rng.expovariate(0.7)), 10)
        base = rng.choices(GIFTS, GIFT_WEIGHTS)[0]
        start = rng.uniform(30, 1460)
        for n in range(size):
            ident += 1
            days = start - n * 30 if recurring else rng.uniform(0, 1460)
            amount = base if recurring else rng.choices(GIFTS, GIFT_WEIGHTS)[0]
            when = stamp(now - timedelta(days=max(days, 0.5)))
            yield (ident, contact_id, amount, when, recurring, f"ref{ident % 40}", "actblue",
                   when, "import")


def memberships(count: int, stamp: Stamp) -> Iterator[tuple[Any, ...]]:
    """Yield union memberships for about 12% of contacts, a tenth of them holding two."""
    rng = random.Random(13)
    when = stamp(datetime(2024, 1, 1, tzinfo=UTC))
    ident = 0
    for contact_id in range(1, count + 1):
        if rng.random() >= 0.12:
            continue
        for _ in range(2 if rng.random() < 0.1 else 1):
            ident += 1
            union = rng.choice(UNIONS)
            yield (ident, contact_id, union, str(rng.randrange(1, 400)), f"M{ident}",
                   rng.choice(MEMBER_STATUSES), f"Site {rng.randrange(1, 900)}", when, when)


def recruits(count: int, stamp: Stamp) -> Iterator[tuple[Any, ...]]:
    """Yield a pipeline stage, office and jurisdiction for 3% of contacts."""
    rng = random.Random(17)
    when = stamp(datetime(2025, 1, 1, tzinfo=UTC))
    for contact_id in _sample(rng, count, 0.03):
        yield (contact_id, rng.choice(STAGES), rng.choice(OFFICES),
               rng.choice(["Dane County", "City of Madison", "Milwaukee County"]), when, when)


def group_members(count: int, stamp: Stamp) -> Iterator[tuple[Any, ...]]:
    """Yield (group_id, contact_id, added_at, added_by); group ids follow GROUPS."""
    rng = random.Random(19)
    when = stamp(datetime(2025, 6, 1, tzinfo=UTC))
    for group_id, (_name, size) in enumerate(GROUPS, start=1):
        for contact_id in _sample(rng, count, size):
            yield group_id, contact_id, when, "benchmark"


def _load(cur: Any, sqlite: bool, table: str, columns: Iterable[str],
          rows: Iterable[tuple[Any, ...]]) -> None:
    names = ", ".join(columns)
    if sqlite:
        marks = ", ".join("?" * len(names.split(", ")))
        cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        return
    with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def fill(engine: Engine, count: int) -> str:
    """Load every table but the giving summaries; return how many rows of what."""
    now = datetime.now(UTC)
    sqlite = engine.dialect.name == "sqlite"
    stamp: Stamp = ((lambda when: when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
                    if sqlite else (lambda when: when))
    loaded: dict[str, int] = {}

    def counted(name: str, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for row in rows:
            loaded[name] = loaded.get(name, 0) + 1
            yield row

    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        if sqlite:  # bulk-load settings for this connection only (it is closed afterwards)
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("PRAGMA cache_size=-262144")
        _load(cur, sqlite, "crm_tags", ("id", "name", "name_key"),
              [(i, name, name) for i, (name, _share) in enumerate(TAGS, start=1)])
        _load(cur, sqlite, "crm_groups", ("id", "name", "name_key", "created_at"),
              [(i, name, search_key(name), stamp(now))
               for i, (name, _size) in enumerate(GROUPS, start=1)])
        _load(cur, sqlite, "crm_contacts", CONTACT_COLUMNS,
              counted("contacts", contacts(count, now, stamp)))
        _load(cur, sqlite, "crm_contact_tags", ("contact_id", "tag_id"),
              counted("tag links", tags(count)))
        _load(cur, sqlite, "crm_donations",
              ("id", "contact_id", "amount_cents", "received_at", "recurring", "refcode",
               "source", "created_at", "created_by"), counted("gifts", gifts(count, now, stamp)))
        _load(cur, sqlite, "crm_union_memberships",
              ("id", "contact_id", "union_name", "local", "member_id", "status", "worksite",
               "created_at", "updated_at"), counted("memberships", memberships(count, stamp)))
        _load(cur, sqlite, "crm_recruits",
              ("contact_id", "stage", "target_office", "jurisdiction", "created_at",
               "updated_at"), counted("recruits", recruits(count, stamp)))
        _load(cur, sqlite, "crm_group_members", ("group_id", "contact_id", "added_at",
                                                 "added_by"),
              counted("group members", group_members(count, stamp)))
        raw.commit()
    finally:
        raw.detach()  # close it rather than pass the bulk-load settings on to the app
        raw.close()
    return ", ".join(f"{number:,} {name}" for name, number in loaded.items())
