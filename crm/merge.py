"""Duplicate finding and merging: one survivor keeps everything, the other becomes a tombstone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from . import audit, consent, contacts
from .errors import ValidationFailed
from .formatting import phone as format_phone
from .models import (
    AuditEntry,
    ConsentEvent,
    Contact,
    Donation,
    Note,
    Recruit,
    StageChange,
    UnionMembership,
    contact_tags,
    group_members,
    utcnow,
)

# Fields staff choose between, side by side, on the merge screen.
CHOOSABLE = ("email", "first_name", "last_name", "phone", "street", "city", "state", "zip",
             "county", "employer", "occupation", "source")
# The strictest status wins a merge: an opt-out or a bounce is never undone by merging.
STRICTNESS = {"subscribed": 0, "pending": 1, "transactional": 2, "cleaned": 3, "unsubscribed": 4}
# Rows that simply move from the duplicate to the survivor.
_MOVED = (Donation, Note, ConsentEvent, StageChange, UnionMembership)


@dataclass(frozen=True)
class DuplicatePair:
    """Two live contacts that are probably one person, and why we think so."""

    first_id: int
    second_id: int
    reason: str


def find_duplicates(session: Session, limit: int = 200) -> list[DuplicatePair]:
    """List likely duplicate pairs: the same phone, or the same name and ZIP."""
    live = Contact.deleted_at.is_(None)
    pairs: dict[tuple[int, int], str] = {}
    same_phone = (
        select(func.min(Contact.id), func.max(Contact.id), Contact.phone)
        .where(live, Contact.phone.is_not(None))
        .group_by(Contact.phone)
        .having(func.count() > 1)
        .limit(limit)
    )
    for low, high, phone in session.execute(same_phone):
        pairs.setdefault((low, high), f"same phone {format_phone(phone)}")
    zip5 = func.substr(Contact.zip, 1, 5)
    same_name = (
        select(func.min(Contact.id), func.max(Contact.id))
        .where(live, Contact.zip.is_not(None), Contact.last_name_key != "",
               Contact.first_name_key != "")
        .group_by(Contact.first_name_key, Contact.last_name_key, zip5)
        .having(func.count() > 1)
        .limit(limit)
    )
    for low, high in session.execute(same_name):
        pairs.setdefault((low, high), "same name and ZIP")
    ordered = sorted(pairs.items())[:limit]
    return [DuplicatePair(low, high, reason) for (low, high), reason in ordered]


def what_moves(session: Session, duplicate_id: int) -> dict[str, int]:
    """Count what the duplicate brings along: gifts, notes, memberships, tags, groups."""
    counts = {
        "donations": select(func.count()).select_from(Donation)
        .where(Donation.contact_id == duplicate_id),
        "notes": select(func.count()).select_from(Note).where(Note.contact_id == duplicate_id),
        "memberships": select(func.count()).select_from(UnionMembership)
        .where(UnionMembership.contact_id == duplicate_id),
        "tags": select(func.count()).select_from(contact_tags)
        .where(contact_tags.c.contact_id == duplicate_id),
        "groups": select(func.count()).select_from(group_members)
        .where(group_members.c.contact_id == duplicate_id),
    }
    return {name: int(session.scalar(stmt) or 0) for name, stmt in counts.items()}


def merge(session: Session, survivor_id: int, duplicate_id: int, *,
          choices: Mapping[str, str], actor: str) -> Contact:
    """Fold the duplicate into the survivor; ``choices`` maps fields to survivor/duplicate."""
    if survivor_id == duplicate_id:
        raise ValidationFailed({"duplicate": "A contact cannot be merged with itself."})
    survivor = contacts.get(session, survivor_id)
    duplicate = contacts.get(session, duplicate_id)
    unknown = [name for name, side in choices.items()
               if name not in CHOOSABLE or side not in ("survivor", "duplicate")]
    if unknown:
        raise ValidationFailed({name: "Choose survivor or duplicate." for name in unknown})
    before = contacts.snapshot(survivor)
    taken = {name: getattr(duplicate, name) for name, side in choices.items()
             if side == "duplicate"}
    if "email" in taken:
        # Swap the addresses so the unique email stays unique; the tombstone keeps the other.
        survivor_email = (survivor.email, survivor.email_normalized)
        duplicate_email = (duplicate.email, duplicate.email_normalized)
        duplicate.email_normalized = f"merging-{duplicate.id}"
        session.flush()
        survivor.email, survivor.email_normalized = duplicate_email
        session.flush()
        duplicate.email, duplicate.email_normalized = survivor_email
        del taken["email"]
    fields = {name: value for name, value in taken.items() if value not in (None, "")}
    fields["custom_fields"] = {**(duplicate.custom_fields or {}), **(survivor.custom_fields or {})}
    contacts.apply_fields(session, survivor, fields)
    _move_everything(session, survivor.id, duplicate.id)
    strictest = max((survivor.email_status, duplicate.email_status), key=STRICTNESS.__getitem__)
    if strictest != survivor.email_status:
        consent.set_status(session, survivor, strictest, method="staff", actor=actor,
                           note=f"Kept from merged duplicate #{duplicate.id}")
    duplicate.deleted_at = utcnow()
    duplicate.merged_into_id = survivor.id
    session.flush()
    changes = audit.diff(before, contacts.snapshot(survivor))
    changes["merged_from"] = [None, duplicate.id]
    audit.record(session, actor=actor, action="merge", entity_type="contact",
                 entity_id=survivor.id, changes=changes)
    # Both: the survivor gains the gifts, the tombstone's summary must go with them.
    _refresh_giving(session, [survivor.id, duplicate.id])
    return survivor


def _move_everything(session: Session, survivor_id: int, duplicate_id: int) -> None:
    for model in _MOVED:
        session.execute(update(model).where(model.contact_id == duplicate_id)
                        .values(contact_id=survivor_id))
    # The duplicate's history shows on the survivor's timeline.
    session.execute(update(AuditEntry)
                    .where(AuditEntry.entity_type == "contact",
                           AuditEntry.entity_id == duplicate_id)
                    .values(entity_id=survivor_id))
    for table, key in ((contact_tags, contact_tags.c.tag_id),
                       (group_members, group_members.c.group_id)):
        have = select(key).where(table.c.contact_id == survivor_id)
        columns = [c for c in table.c if c.name != "contact_id"]
        session.execute(insert(table).from_select(
            ["contact_id", *(c.name for c in columns)],
            select(literal(survivor_id), *columns)
            .where(table.c.contact_id == duplicate_id, key.not_in(have))))
        session.execute(delete(table).where(table.c.contact_id == duplicate_id))
    survivor_recruit = session.get(Recruit, survivor_id)
    duplicate_recruit = session.get(Recruit, duplicate_id)
    if duplicate_recruit is not None:
        if survivor_recruit is None:
            session.execute(update(Recruit).where(Recruit.contact_id == duplicate_id)
                            .values(contact_id=survivor_id))
        else:
            session.delete(duplicate_recruit)
    session.execute(update(Recruit).where(Recruit.nominated_by_id == duplicate_id)
                    .values(nominated_by_id=survivor_id))
    session.flush()
    session.expire_all()


def _refresh_giving(session: Session, contact_ids: list[int]) -> None:
    # Imported lazily: the giving feature may be absent from a trimmed-down install.
    try:
        from .donations import refresh_summaries
    except ImportError:
        return
    refresh_summaries(session, contact_ids)
