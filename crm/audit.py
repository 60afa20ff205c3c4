"""The audit log: who changed what, when, with before and after values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEntry


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Return {field: [before, after]} for every field whose value changed."""
    changed: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changed[key] = [old, new]
    return changed


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: int,
    changes: Mapping[str, Any],
) -> AuditEntry:
    """Add one audit entry to the session and flush it."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes=dict(changes),
    )
    session.add(entry)
    session.flush()
    return entry


def entries_for(session: Session, entity_type: str, entity_id: int) -> list[AuditEntry]:
    """Return an entity's audit entries, newest first."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.id.desc())
    )
    return list(session.scalars(stmt))
