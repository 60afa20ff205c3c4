"""Demo rows beside the contacts: gifts, union memberships, recruits and group seats."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from .demo_data import (
    ACTOR,
    DECLINE_NOTES,
    DECLINED_AFTER,
    EMAIL_ASKS,
    GIFTS,
    GROUPS,
    MEMBER_STATUSES,
    MONTHLY_GIFTS,
    OFFICIAL_OFFICES,
    OWNERS,
    SCHOOL_DISTRICTS,
    STAGES,
    STEERING,
    TARGET_OFFICES,
    UNIONS,
    WORKING_GROUPS,
    Person,
    Place,
    UnionShape,
)
from .donations import refresh_summaries
from .groups import clean_name
from .models import STAGES as PIPELINE
from .models import Contact, Donation, Group, Recruit, StageChange, UnionMembership, group_members

YEARS = 3
MAX_GIFTS = 12
# ActBlue receipt ids: "AB" and nine digits.
RECEIPT = "AB"
FUNNEL = tuple(stage for stage in PIPELINE if stage != "declined")

_DONATIONS = cast(Table, Donation.__table__)
_MEMBERSHIPS = cast(Table, UnionMembership.__table__)
_RECRUITS = cast(Table, Recruit.__table__)
_MOVES = cast(Table, StageChange.__table__)
_GROUPS = cast(Table, Group.__table__)

K = TypeVar("K")


def pick(rng: random.Random, weights: Mapping[K, int]) -> K:
    """Return one key of ``weights``, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class Taken:
    """Keys a load must not reuse: emails, gift receipt ids and member ids within a union.

    It starts from what the database holds, so a second load steps around the first. A
    taken key moves on to the next free one without drawing again, so the random stream,
    and with it everything else a seed makes, stays the same.
    """

    def __init__(self, session: Session) -> None:
        # Only addresses on the example domains and "AB" receipts can clash with ours.
        email = Contact.email_normalized
        self.emails: set[str] = set(
            session.scalars(select(email).where(email.like("%@example.%"))))
        receipt = Donation.external_id
        self.receipts: set[str | None] = set(
            session.scalars(select(receipt).where(receipt.like(f"{RECEIPT}%"))))
        # The membership service compares union names case-insensitively.
        union = func.lower(UnionMembership.union_name)
        stmt = select(union, UnionMembership.member_id).where(
            union.in_([name.lower() for name in UNIONS]), UnionMembership.member_id.is_not(None))
        self.members: set[tuple[str, str]] = {(u, m) for u, m in session.execute(stmt)}

    def receipt(self, number: int) -> str:
        """Return the first free receipt id from ``number`` on, and take it."""
        while f"{RECEIPT}{number}" in self.receipts:
            number += 1
        self.receipts.add(key := f"{RECEIPT}{number}")
        return key

    def member_id(self, union: str, number: int) -> str:
        """Return the first free member id of ``union`` from ``number`` on, and take it."""
        while (union.lower(), str(number)) in self.members:
            number += 1
        self.members.add((union.lower(), str(number)))
        return str(number)


def gifts(rng: random.Random, now: datetime, taken: Taken) -> tuple[list[dict[str, Any]], bool]:
    """Draw one donor's gifts, oldest first, and tell whether they give monthly."""
    if rng.random() < 0.15:
        count = rng.randint(3, MAX_GIFTS)
        cents = 100 * pick(rng, MONTHLY_GIFTS)
        # Most monthly donors still give; the others stopped some months ago.
        back = 0 if rng.random() < 0.7 else rng.randint(1, YEARS * 12 - 2 - count)
        anchor = now.replace(day=rng.randint(1, 28), hour=rng.randint(0, 23),
                             minute=rng.randrange(60), second=0, microsecond=0)
        if anchor > now:
            back += 1
        first = _months_before(anchor, back + count - 1)
        refcode = f"em-{first.year}-monthly-{rng.randint(1, 4):02d}"
        return [_gift(rng, taken, cents, _months_before(anchor, back + n), True, refcode)
                for n in reversed(range(count))], True
    count = 1 + min(int(rng.expovariate(0.8)), MAX_GIFTS - 1)
    out = []
    for days in sorted((rng.uniform(0, YEARS * 365 - 1) for _ in range(count)), reverse=True):
        when = (now - timedelta(days=days)).replace(microsecond=0)
        out.append(_gift(rng, taken, 100 * pick(rng, GIFTS), when, False, _refcode(rng, when)))
    return out, False


def _months_before(when: datetime, months: int) -> datetime:
    """Return the same day and time ``months`` calendar months earlier (days up to 28)."""
    year, month = divmod(when.year * 12 + when.month - 1 - months, 12)
    return when.replace(year=year, month=month + 1)


def _refcode(rng: random.Random, when: datetime) -> str | None:
    """Return the refcode of the ask a one-off gift answered, or None for the bare page."""
    roll = rng.random()
    if roll < 0.4:
        return f"em-{when.year}-{rng.choice(EMAIL_ASKS)}-{rng.randint(1, 6):02d}"
    if roll < 0.6:
        return f"fb-ad-{when:%m%d}"
    if roll < 0.7:
        return f"rally-{when.year}"
    if roll < 0.78:
        return f"sms-{when:%Y-%m}"
    return None


def _gift(rng: random.Random, taken: Taken, cents: int, when: datetime, recurring: bool,
          refcode: str | None) -> dict[str, Any]:
    return {"amount_cents": cents, "received_at": when, "recurring": recurring,
            "refcode": refcode, "external_id": taken.receipt(rng.randrange(10**8, 10**9)),
            "source": "actblue", "created_at": when, "created_by": ACTOR}


def membership(rng: random.Random, name: str, union: UnionShape, fill: dict[str, str],
               created: datetime, taken: Taken) -> dict[str, Any]:
    """Return a union membership row for a member who came onto the list at ``created``."""
    return {"union_name": name, "local": rng.choice(union.locals),
            "member_id": taken.member_id(name, rng.randint(1_000_000, 9_999_999)),
            "status": pick(rng, MEMBER_STATUSES),
            "worksite": rng.choice(union.worksites).format(**fill),
            "since": (created - timedelta(days=rng.uniform(30, 25 * 365))).date(),
            "created_at": created, "updated_at": created}


def recruit(rng: random.Random, place: Place, created: datetime, now: datetime,
            official: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return a recruit row and its stage moves, from prospect to its stage, oldest first."""
    stage = "elected" if official else pick(rng, STAGES)
    office = pick(rng, OFFICIAL_OFFICES if official else TARGET_OFFICES)
    owner = rng.choice(OWNERS) if rng.random() < 0.9 else None
    if stage == "declined":
        path = [*FUNNEL[:FUNNEL.index(pick(rng, DECLINED_AFTER)) + 1], "declined"]
    else:
        path = list(FUNNEL[:FUNNEL.index(stage) + 1])
    note = rng.choice(DECLINE_NOTES) if stage == "declined" else None
    # Into the pipeline a while after coming onto the list, then onward at rising dates.
    start = created + (now - created) * rng.uniform(0, 0.3)
    marks = sorted(rng.random() for _ in path[1:])
    times = [start, *(start + (now - start) * mark for mark in marks)]
    moves = [{"from_stage": before, "to_stage": to, "actor": owner or ACTOR,
              "note": note if to == "declined" else None, "created_at": when}
             for before, to, when in zip([None, *path], path, times, strict=False)]
    row = {"stage": stage, "target_office": office,
           "jurisdiction": _jurisdiction(rng, office, place), "owner": owner,
           "created_at": times[0], "updated_at": times[-1]}
    return row, moves


def _jurisdiction(rng: random.Random, office: str, place: Place) -> str:
    """Return the district or body a recruit runs for, in their own town and county."""
    if office == "school_board":
        return SCHOOL_DISTRICTS.get(place.city, f"{place.city} School District")
    if office == "city_council":
        return f"{place.city} Common Council"
    if office == "county_board":
        return f"{place.county} County Board District {rng.randint(1, 25)}"
    if office == "state_house":
        return f"Assembly District {rng.randint(1, 99)}"
    if office == "state_senate":
        return f"Senate District {rng.randint(1, 33)}"
    return rng.choice((f"{place.county} County Clerk", f"Mayor of {place.city}"))


def groups_for(rng: random.Random, steering: bool) -> list[str]:
    """Return the names of the groups one contact sits in (often none)."""
    names = rng.sample(list(WORKING_GROUPS), rng.choice((1, 1, 2))) if rng.random() < 0.2 else []
    return [*names, STEERING] if steering else names


def ensure_groups(session: Session, since: datetime) -> dict[str, int]:
    """Return the id of every demo group, creating the ones the database lacks."""
    wanted = {clean_name(name)[1]: name for name in GROUPS}

    def existing() -> dict[str, int]:
        stmt = select(Group.name_key, Group.id).where(Group.name_key.in_(list(wanted)))
        return {key: group_id for key, group_id in session.execute(stmt)}

    found = existing()
    missing = [{"name": name, "name_key": key, "description": GROUPS[name], "created_at": since}
               for key, name in wanted.items() if key not in found]
    if missing:
        session.execute(insert(_GROUPS), missing)
        found = existing()
    return {name: found[key] for key, name in wanted.items()}


def write(session: Session, batch: Sequence[Person], ids: Sequence[int],
          group_ids: Mapping[str, int]) -> None:
    """Insert a batch's gifts, memberships, recruits, stage moves and group seats."""
    gift_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    recruit_rows: list[dict[str, Any]] = []
    seats: list[dict[str, Any]] = []
    rounds: list[list[dict[str, Any]]] = []
    for person, contact_id in zip(batch, ids, strict=True):
        gift_rows += [{**gift, "contact_id": contact_id} for gift in person.gifts]
        if person.membership is not None:
            member_rows.append({**person.membership, "contact_id": contact_id})
        if person.recruit is not None:
            recruit_rows.append({**person.recruit, "contact_id": contact_id})
        for n, move in enumerate(person.moves):
            if n == len(rounds):
                rounds.append([])
            rounds[n].append({**move, "contact_id": contact_id})
        seats += [{"group_id": group_ids[name], "contact_id": contact_id,
                   "added_at": person.row["created_at"], "added_by": ACTOR}
                  for name in person.groups]
    # Everyone's n-th move goes in after all the (n-1)-th ones, so each recruit's newest
    # move has the highest id, which is how the stage history orders itself.
    writes = [(_DONATIONS, gift_rows), (_MEMBERSHIPS, member_rows), (_RECRUITS, recruit_rows),
              *((_MOVES, moves) for moves in rounds), (group_members, seats)]
    for table, rows in writes:
        if rows:
            session.execute(insert(table), rows)
    donors = [contact_id for person, contact_id in zip(batch, ids, strict=True) if person.gifts]
    if donors:
        refresh_summaries(session, donors)
