"""A contact's gifts on their timeline, with the edits and deletions of gifts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .donations import for_contact
from .models import AuditEntry
from .money import format_cents
from .timeline import TimelineEntry


def describe(amount_cents: int, refcode: str | None, recurring: bool) -> str:
    """Say what a gift was: "$25.00 (refcode X), recurring"."""
    text = format_cents(amount_cents)
    if refcode:
        text += f" (refcode {refcode})"
    return text + (", recurring" if recurring else "")


def _readable(changes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (old, new) in changes.items():
        if key == "contact_id":
            continue
        if key == "amount_cents":
            key, old, new = "amount", *(None if v is None else format_cents(v) for v in (old, new))
        out[key] = [old, new]
    return out


def timeline_entries(session: Session, contact_id: int) -> list[TimelineEntry]:
    """Return a contact's gifts, and edits and deletions of gifts, as timeline entries."""
    gifts = for_contact(session, contact_id)
    entries = [TimelineEntry(at=d.received_at, kind="donation", actor=d.created_by,
                             title="Gave " + describe(d.amount_cents, d.refcode, d.recurring))
               for d in gifts]
    # A gift's creation is the "Gave" entry itself; edits are found by the gifts' ids and
    # deletions by the contact id their audit entry keeps.
    edited = select(AuditEntry).where(AuditEntry.entity_type == "donation",
                                      AuditEntry.action == "update",
                                      AuditEntry.entity_id.in_([d.id for d in gifts]))
    deleted = select(AuditEntry).where(
        AuditEntry.entity_type == "donation", AuditEntry.action == "delete",
        AuditEntry.changes[("contact_id", 0)].as_integer() == contact_id)
    for entry in [*session.scalars(edited), *session.scalars(deleted)]:
        changes = dict(entry.changes or {})
        if entry.action == "update":
            entries.append(TimelineEntry(at=entry.created_at, kind="audit", title="Gift edited",
                                         actor=entry.actor, changes=_readable(changes)))
        else:
            old = {key: pair[0] for key, pair in changes.items()}
            title = "Gift deleted: " + describe(int(old.get("amount_cents") or 0),
                                                old.get("refcode"), bool(old.get("recurring")))
            entries.append(TimelineEntry(at=entry.created_at, kind="audit", title=title,
                                         actor=entry.actor))
    return entries
