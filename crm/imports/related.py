"""What an import adds around contacts: tags, donations and union memberships."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..models import Donation, Tag, UnionMembership, contact_tags

if TYPE_CHECKING:
    from .engine import Counts, Options, Person

CONTACT_TAGS = contact_tags
TAGS = cast(Table, Tag.__table__)
DONATIONS = cast(Table, Donation.__table__)
MEMBERSHIPS = cast(Table, UnionMembership.__table__)
MEMBER_FIELDS = ("local", "status", "worksite", "since")


def ensure_tags(session: Session, wanted: dict[str, str]) -> dict[str, int]:
    """Return {key: tag id} for these tags, creating the missing ones."""
    def existing() -> dict[str, int]:
        stmt = select(TAGS.c.name_key, TAGS.c.id).where(TAGS.c.name_key.in_(list(wanted)))
        return {key: tag_id for key, tag_id in session.execute(stmt)}

    found = existing()
    missing = [{"name": d, "name_key": k} for k, d in wanted.items() if k not in found]
    if missing:
        session.execute(insert(TAGS), missing)
        found = existing()
    return found


def tags_of(session: Session, contact_ids: list[int]) -> dict[int, dict[str, str]]:
    """Return each contact's tags as {key: name}."""
    stmt = (select(contact_tags.c.contact_id, TAGS.c.name_key, TAGS.c.name)
            .join(TAGS, TAGS.c.id == contact_tags.c.tag_id)
            .where(contact_tags.c.contact_id.in_(contact_ids)))
    out: dict[int, dict[str, str]] = {}
    for cid, key, name in session.execute(stmt):
        out.setdefault(cid, {})[key] = name
    return out


def find_members(session: Session, people: list[Person]) -> dict[tuple[str, str], int]:
    """Return {(union, member id): contact id} for the members this batch names."""
    member_ids = {m["member_id"] for p in people for m in p.memberships if m["member_id"]}
    if not member_ids:
        return {}
    stmt = select(MEMBERSHIPS.c.union_name, MEMBERSHIPS.c.member_id,
                  MEMBERSHIPS.c.contact_id).where(MEMBERSHIPS.c.member_id.in_(member_ids))
    return {(u, m): cid for u, m, cid in session.execute(stmt)}


def write_donations(session: Session, people: list[Person], ids: dict[int, int],
                    options: Options, counts: Counts) -> None:
    """Insert the gifts whose receipt id is new; a gift seen before is left alone."""
    gifts: dict[str, dict[str, Any]] = {}
    for person in people:
        cid = ids.get(id(person))
        if cid is None:
            continue
        for gift in person.donations:
            if gift["external_id"] in gifts:
                counts.donations_existing += 1
            else:
                gifts[gift["external_id"]] = {**gift, "contact_id": cid}
    if not gifts:
        return
    stmt = select(DONATIONS.c.external_id).where(DONATIONS.c.external_id.in_(list(gifts)))
    existing = set(session.scalars(stmt))
    counts.donations_existing += len(existing)
    rows = [{**gift, "source": options.donation_source, "created_by": options.actor}
            for key, gift in gifts.items() if key not in existing]
    if rows:
        session.execute(insert(DONATIONS), rows)
        counts.donations_created += len(rows)
        refresh_summaries(session, {row["contact_id"] for row in rows})


def refresh_summaries(session: Session, contact_ids: set[int]) -> bool:
    """Bring the giving summaries up to date; False while that service is not installed."""
    if find_spec("crm.donations") is None:
        return False
    module = import_module("crm.donations")
    module.refresh_summaries(session, contact_ids)
    return True


def write_memberships(session: Session, people: list[Person], ids: dict[int, int],
                      counts: Counts) -> None:
    """Create or update each person's union membership, matched on member id or union."""
    wanted: dict[tuple[Any, ...], dict[str, Any]] = {}
    for person in people:
        cid = ids.get(id(person))
        if cid is None:
            continue
        for m in person.memberships:
            key = (m["union_name"], m["member_id"] or f"\x00{cid}")
            wanted[key] = {**wanted.get(key, {}), **{k: v for k, v in m.items() if v},
                           "contact_id": cid}
    if not wanted:
        return
    cids = {m["contact_id"] for m in wanted.values()}
    member_ids = [m["member_id"] for m in wanted.values() if m.get("member_id")]
    cols = (MEMBERSHIPS.c.id, MEMBERSHIPS.c.contact_id, MEMBERSHIPS.c.union_name,
            MEMBERSHIPS.c.member_id, *(MEMBERSHIPS.c[f] for f in MEMBER_FIELDS))
    found = session.execute(select(*cols).where(
        MEMBERSHIPS.c.contact_id.in_(cids) | MEMBERSHIPS.c.member_id.in_(member_ids)
    )).mappings().all()
    by_member = {(r["union_name"], r["member_id"]): r for r in found if r["member_id"]}
    by_contact = {(r["union_name"], r["contact_id"]): r for r in found}
    inserts, updates = [], []
    for m in wanted.values():
        row = by_member.get((m["union_name"], m.get("member_id")))
        if row is None:
            # A member without an id matches their membership of the same union.
            row = by_contact.get((m["union_name"], m["contact_id"]))
            if row is not None and row["member_id"] and m.get("member_id"):
                row = None
        if row is None:
            inserts.append({"contact_id": m["contact_id"], "union_name": m["union_name"],
                            "member_id": m.get("member_id"),
                            **{f: m.get(f) for f in MEMBER_FIELDS}})
            inserts[-1]["status"] = m.get("status") or "active"
            continue
        after = {f: m.get(f) or row[f] for f in MEMBER_FIELDS}
        after["member_id"] = m.get("member_id") or row["member_id"]
        if any(after[f] != row[f] for f in (*MEMBER_FIELDS, "member_id")):
            updates.append({"b_id": row["id"], **after})
    if inserts:
        session.execute(insert(MEMBERSHIPS), inserts)
        counts.memberships_created += len(inserts)
    if updates:
        stmt = update(MEMBERSHIPS).where(MEMBERSHIPS.c.id == bindparam("b_id"))
        session.execute(stmt, updates)
        counts.memberships_updated += len(updates)
