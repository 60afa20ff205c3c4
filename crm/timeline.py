"""A contact's timeline, merged from sources that packages register (audit, notes, later more)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .models import Note


@dataclass(frozen=True)
class TimelineEntry:
    """One dated thing that happened to a contact."""

    at: datetime
    kind: str
    title: str
    actor: str = ""
    body: str = ""
    changes: dict[str, Any] = field(default_factory=dict)


TimelineSource = Callable[[Session, int], list[TimelineEntry]]


def audit_source(session: Session, contact_id: int) -> list[TimelineEntry]:
    """Return the contact's audit entries as timeline entries."""
    titles = {"create": "Contact created", "update": "Contact edited",
              "delete": "Contact deleted", "restore": "Contact restored"}
    return [
        TimelineEntry(at=entry.created_at, kind="audit",
                      title=titles.get(entry.action, entry.action.title()),
                      actor=entry.actor, changes=dict(entry.changes or {}))
        for entry in audit.entries_for(session, "contact", contact_id)
    ]


def note_source(session: Session, contact_id: int) -> list[TimelineEntry]:
    """Return the contact's notes as timeline entries."""
    notes = session.scalars(select(Note).where(Note.contact_id == contact_id))
    return [TimelineEntry(at=n.created_at, kind="note", title="Note", actor=n.author, body=n.body)
            for n in notes]


DEFAULT_SOURCES: tuple[TimelineSource, ...] = (audit_source, note_source)


def build(session: Session, contact_id: int, sources: list[TimelineSource],
          limit: int = 200) -> list[TimelineEntry]:
    """Merge every source's entries for a contact, newest first."""
    entries: list[TimelineEntry] = []
    for source in sources:
        entries.extend(source(session, contact_id))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
