"""The sync ledger: what Mailchimp last accepted per contact, written only after it accepted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm.imports.bulk import BulkInsert, among
from crm.models import utcnow

from . import members
from .models import LedgerEntry


@dataclass(frozen=True)
class Accepted:
    """One member Mailchimp accepted: the payload it now holds and the tags we set."""

    contact_id: int
    email: str
    status: str
    payload_text: str
    hash: str
    tags: list[str]


_COLUMNS = ("audience_id", "contact_id", "email", "status", "payload_text", "payload_hash",
            "tags", "synced_at")


def record(session: Session, audience_id: str, accepted: Iterable[Accepted],
           now: datetime | None = None) -> int:
    """Insert or replace the ledger rows of accepted members; return how many."""
    items = list(accepted)
    if not items:
        return 0
    table = LedgerEntry.__table__
    bulk = BulkInsert(session, table, _COLUMNS)
    sqlite = session.get_bind().dialect.name == "sqlite"
    if not sqlite:
        # Replace = delete, then COPY (COPY cannot update); the ids go as one array.
        session.execute(delete(table).where(table.c.audience_id == audience_id,
                                            among(session, table.c.contact_id,
                                                  [a.contact_id for a in items])))
    moment = bulk.convert("synced_at", now or utcnow())
    tag_texts: dict[tuple[str, ...], Any] = {}
    rows = []
    for a in items:
        key = tuple(a.tags)
        tags = tag_texts.get(key)
        if tags is None:
            tags = tag_texts[key] = bulk.convert("tags", list(key))
        rows.append((audience_id, a.contact_id, a.email, a.status, a.payload_text, a.hash,
                     tags, moment))
    if sqlite:
        # The driver's executemany, not a Core upsert: that spent more time turning rows
        # into parameters than SQLite spent writing them.
        bulk.sql = bulk.sql.replace("INSERT INTO", "INSERT OR REPLACE INTO", 1)
    bulk.insert(rows, ready=True)
    return len(rows)


def entry(session: Session, audience_id: str, contact_id: int) -> LedgerEntry | None:
    """Return a contact's ledger row for an audience, if any."""
    return session.get(LedgerEntry, (audience_id, contact_id))


def note_status(session: Session, audience_id: str, contact_id: int, status: str,
                email: str | None = None) -> None:
    """Record a status Mailchimp reported (webhook, reconcile) so no sync argues with it."""
    row = entry(session, audience_id, contact_id)
    if row is None:
        return
    row.status = status
    body = row.payload
    if body:
        # Mailchimp now holds this status: the payload we would send for it is already true.
        body["status"] = status
        if email:
            body["email_address"] = email
        row.payload_text = members.flatten(body)
        row.payload_hash = members.text_hash(row.payload_text)
    if email:
        row.email = email
    row.synced_at = utcnow()
    session.flush()


def summary(session: Session, audience_id: str) -> dict[str, int]:
    """Count ledger rows by the status Mailchimp holds."""
    rows = session.execute(
        select(LedgerEntry.status, func.count())
        .where(LedgerEntry.audience_id == audience_id)
        .group_by(LedgerEntry.status)
    )
    return {status: int(n) for status, n in rows}
