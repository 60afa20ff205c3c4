"""Demo data: contacts that look like the list of a Wisconsin state progressive organization."""

from __future__ import annotations

import functools
import random
import re
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, cast

from faker import Faker
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from . import audit
from .contacts import AUDITED
from .demo_data import (
    DOMAINS,
    DONOR_JOBS,
    EVENTS,
    EXIT_NOTES,
    GIFTS,
    HMONG_GIVEN,
    HMONG_SURNAMES,
    PLACES,
    SOURCES,
    STAGES,
    STATUSES,
    STREETS,
    TAGS,
    TARGET_OFFICES,
    UNIONS,
    WI_PLACES,
    WI_SURNAMES,
    WORKING_GROUPS,
    Person,
)
from .models import AuditEntry, ConsentEvent, Contact, Tag, contact_tags, utcnow
from .validation import normalize_email, normalize_phone, normalize_tag, search_key

ACTOR = "demo data"
BATCH_SIZE = 1000
YEARS = 3
MAX_OFFICIALS = 15

_CONTACTS = cast(Table, Contact.__table__)
_TAGS = cast(Table, Tag.__table__)
_CONSENT = cast(Table, ConsentEvent.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)


_NOT_LOCAL = re.compile(r"[^a-z0-9]+")
# There are only a few thousand fictional numbers, so each one is validated once.
_fiction_phone = functools.cache(normalize_phone)


def load(session: Session, *, count: int = 5000, seed: int = 2026) -> int:
    """Insert ``count`` demo contacts with tags, consent history and audit entries."""
    if count < 0:
        raise ValueError("count must be zero or more.")
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    # Content depends only on the seed; dates are relative to now so the list looks current.
    now = utcnow()
    email_key = _CONTACTS.c.email_normalized
    # Only addresses on the example domains can clash with ours.
    taken = set(session.scalars(select(email_key).where(email_key.like("%@example.%"))))
    tag_ids = _ensure_tags(session)
    officials = set(rng.sample(range(count), min(MAX_OFFICIALS, count // 20)))
    people = (_person(i in officials, fake, rng, now, taken) for i in range(count))
    created = 0
    while batch := list(islice(people, BATCH_SIZE)):
        created += _insert(session, batch, tag_ids)
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


def _insert(session: Session, batch: list[Person], tag_ids: dict[str, int]) -> int:
    """Write one batch of people and everything that hangs off them."""
    session.execute(insert(_CONTACTS), [person.row for person in batch])
    # Ids are read back by email rather than chosen here: on PostgreSQL explicit ids
    # would leave the id sequence behind and break the next contact staff create.
    keys = [person.row["email_normalized"] for person in batch]
    stmt = select(_CONTACTS.c.email_normalized, _CONTACTS.c.id).where(
        _CONTACTS.c.email_normalized.in_(keys))
    ids = {k: i for k, i in session.execute(stmt)}
    links: list[dict[str, Any]] = []
    first: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for person in batch:
        contact_id = ids[person.row["email_normalized"]]
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
    return len(batch)


def _person(official: bool, fake: Faker, rng: random.Random, now: datetime,
            taken: set[str]) -> Person:
    """Make one contact row with its tags, consent events and creation audit."""
    first, last = _name(fake, rng)
    places = WI_PLACES if official else PLACES
    place = rng.choices(places, weights=[p.weight for p in places])[0]
    fill = {"city": place.city, "county": place.county}
    tags: list[str] = []
    custom: dict[str, Any] = {}
    employer: str | None = None
    occupation: str | None = None
    source = rng.choice(SOURCES)

    if rng.random() < 0.35:
        name = rng.choices(list(UNIONS), weights=[u.weight for u in UNIONS.values()])[0]
        union = UNIONS[name]
        employer = rng.choice(union.employers).format(**fill)
        occupation = rng.choice(union.occupations)
        custom.update(union=name, local=rng.choice(union.locals),
                      member_id=f"{name[:2]}-{rng.randint(100000, 999999)}",
                      worksite=rng.choice(union.worksites).format(**fill))
        tags.append("union-member")
        if rng.random() < 0.1:
            tags.append("steward")
        if rng.random() < 0.7:
            source = "union roster"
    if rng.random() < 0.30:
        # Cents as integers: money never goes through floats.
        if rng.random() < 0.15:
            gifts = rng.randint(3, 24)
            cents = rng.choice((500, 1000, 1500, 2500)) * gifts
            tags += ["donor", "monthly-donor"]
        else:
            gifts = 1 + min(int(rng.expovariate(0.8)), 11)
            cents = 100 * sum(rng.choices(list(GIFTS), weights=list(GIFTS.values()), k=gifts))
            tags.append("donor")
        custom.update(donation_total_cents=cents, gift_count=gifts)
        if employer is None:
            occupation, template = rng.choice(DONOR_JOBS)
            company = fake.company() if "{company}" in template else ""
            employer = template.format(company=company, **fill)
            if rng.random() < 0.6:
                source = "ActBlue"
    if not official and rng.random() < 0.08:
        tags.append("recruit")
        custom.update(pipeline_stage=_pick(rng, STAGES),
                      target_office=rng.choice(TARGET_OFFICES))
    if official:
        tags.append("elected-official")
        district = rng.randint(1, 20)
        custom["office"] = rng.choice((f"{place.county} County Board, District {district}",
                                       f"{place.city} Common Council, District {district}",
                                       f"{place.city} School Board",
                                       f"State Assembly, District {rng.randint(1, 99)}",
                                       f"State Senate, District {rng.randint(1, 33)}"))
    if rng.random() < 0.20:
        tags += rng.sample(WORKING_GROUPS, rng.choice((1, 1, 2)))
    if rng.random() < 0.25:
        tags += rng.sample(EVENTS, rng.choice((1, 1, 2)))
    if rng.random() < 0.12:
        tags.append("volunteer")

    status = _pick(rng, STATUSES)
    # Opt-outs and bounces were subscribed first; the import only ever saw that status.
    start = "subscribed" if status in EXIT_NOTES else status
    created = now - timedelta(days=rng.triangular(0, YEARS * 365, 0))
    events: list[dict[str, Any]] = [
        {"status": start, "previous_status": None, "method": "import", "actor": ACTOR,
         "note": None, "created_at": created}]
    updated = created
    if status != start:
        updated = min(now, created + timedelta(days=rng.uniform(2, 400)))
        events.append({"status": status, "previous_status": start, "method": "mailchimp",
                       "actor": ACTOR, "note": EXIT_NOTES[status], "created_at": updated})

    email, key = _email(first, last, rng, taken)
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
    return Person(row, tags, events, changes)


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    """Return one key of ``weights``, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _name(fake: Faker, rng: random.Random) -> tuple[str, str]:
    """Return a first and last name with some Hmong and old Wisconsin families mixed in."""
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(HMONG_GIVEN), rng.choice(HMONG_SURNAMES)
    last = rng.choice(WI_SURNAMES) if roll < 0.13 else fake.last_name()
    return fake.first_name(), last


def _email(first: str, last: str, rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """Return a (display, key) email unique among ``taken``, and take it."""
    given, family = _NOT_LOCAL.sub("", first.lower()), _NOT_LOCAL.sub("", last.lower())
    local = rng.choice((f"{given}.{family}", f"{given[:1]}{family}", f"{given}_{family}",
                        f"{given}{family}{rng.randint(1, 99)}",
                        f"{given.title()}.{family.title()}"))
    domain = rng.choice(DOMAINS)
    candidate, n = local, 1
    while f"{candidate}@{domain}".lower() in taken:
        n += 1
        candidate = f"{local}{n}"
    email, key = normalize_email(f"{candidate}@{domain}")
    taken.add(key)
    return email, key

