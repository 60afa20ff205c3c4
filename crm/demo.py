"""Demo data: contacts that look like the list of a Wisconsin state progressive organization."""

from __future__ import annotations

import functools
import random
import re
import zlib
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, cast

from faker import Faker
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from . import audit, demo_related
from .contacts import AUDITED
from .demo_data import (
    ACTOR,
    DOMAINS,
    DONOR_JOBS,
    EVENTS,
    EXIT_NOTES,
    HMONG_GIVEN,
    HMONG_SURNAMES,
    LANGUAGES,
    PLACEHOLDERS,
    PLACES,
    SHIRT_SIZES,
    SOURCES,
    STATUSES,
    STREETS,
    TAGS,
    UNIONS,
    WI_PLACES,
    WI_SURNAMES,
    Person,
)
from .demo_related import YEARS, Taken, pick
from .models import AuditEntry, ConsentEvent, Contact, Tag, contact_tags, utcnow
from .validation import normalize_email, normalize_phone, normalize_tag, search_key

BATCH_SIZE = 1000
MAX_OFFICIALS = 15
STEERING_SEATS = 12
# Of the Wisconsin contacts; about 8% of the whole list.
RECRUITS = 0.085

_CONTACTS = cast(Table, Contact.__table__)
_TAGS = cast(Table, Tag.__table__)
_CONSENT = cast(Table, ConsentEvent.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)


_NOT_LOCAL = re.compile(r"[^a-z0-9]+")
# There are only a few thousand fictional numbers, so each one is validated once.
_fiction_phone = functools.cache(normalize_phone)


def load(session: Session, *, count: int = 5000, seed: int = 2026) -> int:
    """Insert ``count`` demo contacts with their tags, consent history, audit entries,
    gifts, union memberships, pipeline records and groups."""
    if count < 0:
        raise ValueError("count must be zero or more.")
    if count == 0:
        return 0
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    # Content depends only on the seed; dates are relative to now so the list looks current.
    now = utcnow()
    taken = Taken(session)
    tag_ids = _ensure_tags(session)
    group_ids = demo_related.ensure_groups(session, now - timedelta(days=YEARS * 365))
    officials = set(rng.sample(range(count), min(MAX_OFFICIALS, count // 20)))
    steering = set(rng.sample(range(count), min(STEERING_SEATS, count // 25)))
    people = (_person(i in officials, i in steering, fake, rng, now, taken)
              for i in range(count))
    created = 0
    while batch := list(islice(people, BATCH_SIZE)):
        created += _insert(session, batch, tag_ids, group_ids)
    return created


def _ensure_tags(session: Session) -> dict[str, int]:
    """Return the id of every demo tag, creating the ones the database lacks."""
    wanted = {key: name for name, key in map(normalize_tag, TAGS)}
    name_key = _TAGS.c.name_key

    def existing() -> dict[str, int]:
        stmt = select(name_key, _TAGS.c.id).where(name_key.in_(list(wanted)))
        return {k: i for k, i in session.execute(stmt)}

    found = existing()
    missing = [{"name": name, "name_key": k} for k, name in wanted.items() if k not in found]
    if missing:
        session.execute(insert(_TAGS), missing)
        found = existing()
    return {name: found[k] for k, name in wanted.items()}


def _insert(session: Session, batch: list[Person], tag_ids: dict[str, int],
            group_ids: dict[str, int]) -> int:
    """Write one batch of people and everything that hangs off them."""
    session.execute(insert(_CONTACTS), [person.row for person in batch])
    # Ids are read back by email rather than chosen here: on PostgreSQL explicit ids
    # would leave the id sequence behind and break the next contact staff create.
    keys = [person.row["email_normalized"] for person in batch]
    stmt = select(_CONTACTS.c.email_normalized, _CONTACTS.c.id).where(
        _CONTACTS.c.email_normalized.in_(keys))
    by_key = {k: i for k, i in session.execute(stmt)}
    ids = [by_key[key] for key in keys]
    links: list[dict[str, Any]] = []
    first: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for person, contact_id in zip(batch, ids, strict=True):
        links += [{"contact_id": contact_id, "tag_id": tag_ids[name]} for name in person.tags]
        for n, event in enumerate(person.events):
            (first if n == 0 else later).append({**event, "contact_id": contact_id})
        entries.append({"actor": ACTOR, "action": "create", "entity_type": "contact",
                        "entity_id": contact_id, "changes": person.changes,
                        "created_at": person.row["created_at"]})
    # Status changes go in after every first event so each history's newest event has
    # the highest id, which is how the consent history orders itself.
    for table, rows in ((contact_tags, links), (_CONSENT, first), (_CONSENT, later),
                        (_AUDIT, entries)):
        if rows:
            session.execute(insert(table), rows)
    demo_related.write(session, batch, ids, group_ids)
    return len(batch)


def _person(official: bool, steering: bool, fake: Faker, rng: random.Random, now: datetime,
            taken: Taken) -> Person:
    """Make one contact row with its tags, consent events, creation audit and related rows."""
    first, last, hmong = _name(fake, rng)
    places = WI_PLACES if official else PLACES
    place = rng.choices(places, weights=[p.weight for p in places])[0]
    fill = {"city": place.city, "county": place.county}
    tags: list[str] = []
    employer: str | None = None
    occupation: str | None = None
    source = rng.choice(SOURCES)
    # Officials came onto the list long enough ago to have walked the whole pipeline.
    age = rng.uniform(400, YEARS * 365 - 1) if official else rng.triangular(0, YEARS * 365, 0)
    created = now - timedelta(days=age)

    gifts: list[dict[str, Any]] = []
    if rng.random() < 0.30:
        gifts, monthly = demo_related.gifts(rng, now, taken)
        tags += ["donor", "monthly-donor"] if monthly else ["donor"]
        # A donor is on the list from their first gift at the latest.
        created = min(created, gifts[0]["received_at"])
    membership = None
    if rng.random() < 0.35:
        name = rng.choices(list(UNIONS), weights=[u.weight for u in UNIONS.values()])[0]
        union = UNIONS[name]
        employer = rng.choice(union.employers).format(**fill)
        occupation = rng.choice(union.occupations)
        membership = demo_related.membership(rng, name, union, fill, created, taken)
        tags.append("union-member")
        if rng.random() < 0.1:
            tags.append("steward")
        if rng.random() < 0.7:
            source = "union roster"
    if gifts and employer is None:
        occupation, template = rng.choice(DONOR_JOBS)
        company = fake.company() if "{company}" in template else ""
        employer = template.format(company=company, **fill)
        if rng.random() < 0.6:
            source = "ActBlue"
    recruit, moves = None, []
    if official or (place.state == "WI" and rng.random() < RECRUITS):
        recruit, moves = demo_related.recruit(rng, place, created, now, official)
        tags.append("elected-official" if official else "recruit")
    groups = demo_related.groups_for(rng, steering)
    if rng.random() < 0.25:
        tags += rng.sample(EVENTS, rng.choice((1, 1, 2)))
    if rng.random() < 0.12:
        tags.append("volunteer")
    # Custom fields only for what has no table of its own.
    custom: dict[str, Any] = {}
    if hmong and rng.random() < 0.6:
        custom["preferred_language"] = "Hmong"
    elif rng.random() < 0.05:
        custom["preferred_language"] = pick(rng, LANGUAGES)
    if "volunteer" in tags or rng.random() < 0.08:
        custom["shirt_size"] = rng.choice(SHIRT_SIZES)

    status = pick(rng, STATUSES)
    # Opt-outs and bounces were subscribed first; the import only ever saw that status.
    start = "subscribed" if status in EXIT_NOTES else status
    events: list[dict[str, Any]] = [
        {"status": start, "previous_status": None, "method": "import", "actor": ACTOR,
         "note": None, "created_at": created}]
    updated = created
    if status != start:
        updated = min(now, created + timedelta(days=rng.uniform(2, 400)))
        events.append({"status": status, "previous_status": start, "method": "mailchimp",
                       "actor": ACTOR, "note": EXIT_NOTES[status], "created_at": updated})

    email, key = _email(first, last, rng, taken.emails)
    phone = None
    if rng.random() < 0.75:
        # 555-0100 to 555-0199 are the numbers set aside for fiction in every area code.
        phone = _fiction_phone(f"+1{rng.choice(place.area_codes)}55501{rng.randrange(100):02d}")
    street = None
    if rng.random() < 0.7:
        street = f"{rng.randint(100, 9899)} {rng.choice(STREETS)}"
        if rng.random() < 0.15:
            street += f" Apt {rng.randint(1, 12)}"
    row: dict[str, Any] = {
        "email": email, "email_normalized": key, "first_name": first, "last_name": last,
        "first_name_key": search_key(first), "last_name_key": search_key(last), "phone": phone,
        "street": street, "city": place.city, "city_key": search_key(place.city),
        "state": place.state, "zip": rng.choice(place.zips), "county": place.county,
        "employer": employer, "occupation": occupation, "source": source,
        "custom_fields": custom, "email_status": status, "created_at": created,
        "updated_at": updated, "deleted_at": None}
    # The audit entry shows what the create service would have recorded at import time.
    values = {field: row.get(field) for field in AUDITED}
    values.update(email_status=start, tags=sorted(tags))
    changes = audit.diff({}, {k: v for k, v in values.items() if v not in (None, "", [], {})})
    return Person(row, tags, events, changes, gifts, membership, recruit, moves, groups)


def _name(fake: Faker, rng: random.Random) -> tuple[str, str, bool]:
    """Return a first and last name, with some Hmong and old Wisconsin families mixed in,
    and whether the name is Hmong."""
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(HMONG_GIVEN), rng.choice(HMONG_SURNAMES), True
    last = rng.choice(WI_SURNAMES) if roll < 0.13 else fake.last_name()
    return fake.first_name(), last, False


def _email(first: str, last: str, rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """Return a (display, key) email unique among ``taken``, and take it."""
    given, family = _NOT_LOCAL.sub("", first.lower()), _NOT_LOCAL.sub("", last.lower())
    local = rng.choice((f"{given}.{family}", f"{given[:1]}{family}", f"{given}_{family}",
                        f"{given}{family}{rng.randint(1, 99)}",
                        f"{given.title()}.{family.title()}"))
    domain = rng.choice(DOMAINS)
    # A few sign-ups typed a placeholder, as real lists have; Mailchimp refuses those.
    # Chosen by the name, not the random stream, so every other contact stays the same.
    if zlib.crc32(f"{first} {last}".encode()) % 800 == 0:
        local = PLACEHOLDERS[zlib.crc32(last.encode()) % len(PLACEHOLDERS)]
    candidate, n = local, 1
    while f"{candidate}@{domain}".lower() in taken:
        n += 1
        candidate = f"{local}{n}"
    email, key = normalize_email(f"{candidate}@{domain}")
    taken.add(key)
    return email, key

