"""Donations in integer cents: add, edit and delete them (audited) and keep giving summaries."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, or_, select, true
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from . import audit, contacts
from .errors import CRMError, InvalidCursor, NotFound, ValidationFailed
from .models import DONATION_SOURCES, Donation, DonationSummary, utcnow
from .money import check_cents

FIELDS = ("amount_cents", "received_at", "recurring", "refcode", "external_id", "source")
TEXT_LIMIT = 100
# Contacts per statement: PostgreSQL still reads them through the contact index (at a few
# thousand it switches to scanning every donation).
CHUNK = 1000
# A gift dated a little ahead is a time-zone slip; further ahead is a typo.
FUTURE_SLACK = timedelta(days=1)


class DuplicateDonation(CRMError):
    """Another donation already has this external id (a re-import or a double entry)."""

    status_code = 409

    def __init__(self, external_id: str, existing_id: int) -> None:
        super().__init__(f"Donation #{existing_id} already has the external id {external_id}.")
        self.external_id = external_id
        self.existing_id = existing_id


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    if len(text) > TEXT_LIMIT:
        raise ValueError(f"Must be at most {TEXT_LIMIT} characters.")
    return text or None


def _when(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError("Give a date and time.")
    if value.year < 1900:
        raise ValueError("Must be after 1900.")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value > utcnow() + FUTURE_SLACK:
        raise ValueError("A gift cannot be in the future.")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("Must be true or false.")
    return value


def _source(value: Any) -> str:
    if value not in DONATION_SOURCES:
        raise ValueError(f"Must be one of {', '.join(DONATION_SOURCES)}.")
    return str(value)


def _amount(value: Any) -> int:
    return check_cents(value)


CHECKS = {"amount_cents": _amount, "received_at": _when, "recurring": _flag,
          "refcode": _text, "external_id": _text, "source": _source}


def clean(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate raw donation fields, collecting every error at once."""
    errors = {key: "Unknown field." for key in data if key not in FIELDS}
    if not partial and data.get("amount_cents") is None:
        errors["amount_cents"] = "The amount is required."
    out: dict[str, Any] = {}
    for key, check in CHECKS.items():
        if key in data and key not in errors:
            try:
                out[key] = check(data[key])
            except ValueError as exc:
                errors[key] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    return out


def snapshot(donation: Donation) -> dict[str, Any]:
    """Return a donation's fields as JSON-ready values for the audit log."""
    return {"contact_id": donation.contact_id, "amount_cents": donation.amount_cents,
            "received_at": donation.received_at.isoformat(), "recurring": donation.recurring,
            "refcode": donation.refcode, "external_id": donation.external_id,
            "source": donation.source}


def get(session: Session, donation_id: int) -> Donation:
    """Return a donation or raise NotFound."""
    donation = session.get(Donation, donation_id)
    if donation is None:
        raise NotFound(f"No donation #{donation_id}.")
    return donation


def find_by_external_id(session: Session, external_id: str) -> Donation | None:
    """Return the donation with this external id, if any."""
    return session.scalar(select(Donation).where(Donation.external_id == external_id))


def for_contact(session: Session, contact_id: int, limit: int | None = None) -> list[Donation]:
    """Return a contact's donations, newest first."""
    stmt = (select(Donation).where(Donation.contact_id == contact_id)
            .order_by(Donation.received_at.desc(), Donation.id.desc()).limit(limit))
    return list(session.scalars(stmt))


@dataclass
class DonationPage:
    """One page of a contact's gifts, newest first, and the cursor of the next (or None)."""

    items: list[Donation]
    next_cursor: str | None


def _encode(gift: Donation) -> str:
    raw = json.dumps([gift.received_at.isoformat(), gift.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not (isinstance(when, str) and isinstance(ident, int) and 0 <= ident < 2**31):
            raise ValueError
        at = datetime.fromisoformat(when)
        return (at if at.tzinfo else at.replace(tzinfo=UTC)), ident
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise InvalidCursor("That page link is not valid; start again from the first page.") \
            from None


def page_for_contact(session: Session, contact_id: int, *, cursor: str | None = None,
                     limit: int = 100) -> DonationPage:
    """Return one page of a contact's gifts, newest first, with keyset pagination."""
    stmt = (select(Donation).where(Donation.contact_id == contact_id)
            .order_by(Donation.received_at.desc(), Donation.id.desc()).limit(limit + 1))
    if cursor:
        at, ident = _decode(cursor)
        stmt = stmt.where(or_(Donation.received_at < at,
                              and_(Donation.received_at == at, Donation.id < ident)))
    rows = list(session.scalars(stmt))
    items = rows[:limit]
    return DonationPage(items, _encode(items[-1]) if len(rows) > limit else None)


def summary(session: Session, contact_id: int) -> DonationSummary | None:
    """Return a contact's giving summary, or None if they never gave."""
    return session.get(DonationSummary, contact_id)


def _check_external_id(session: Session, external_id: str | None, own_id: int | None) -> None:
    if external_id is None:
        return
    other = find_by_external_id(session, external_id)
    if other is not None and other.id != own_id:
        raise DuplicateDonation(external_id, other.id)


def create(session: Session, contact_id: int, data: Mapping[str, Any], *, actor: str,
           source: str = "manual", refresh: bool = True) -> Donation:
    """Record a gift for a live contact; ``refresh=False`` leaves the summary to the caller."""
    contact = contacts.get(session, contact_id)
    fields = clean({"source": source, **data})
    _check_external_id(session, fields.get("external_id"), None)
    fields.setdefault("received_at", utcnow())
    donation = Donation(contact_id=contact.id, created_by=actor, **fields)
    session.add(donation)
    session.flush()
    audit.record(session, actor=actor, action="create", entity_type="donation",
                 entity_id=donation.id, changes=audit.diff({}, snapshot(donation)))
    if refresh:
        refresh_summaries(session, [contact.id])
    return donation


def import_one(session: Session, contact_id: int, data: Mapping[str, Any], *,
               actor: str) -> tuple[Donation, bool]:
    """Add an imported gift unless its external id is known; the caller refreshes summaries."""
    external_id = _text(data.get("external_id")) if data.get("external_id") else None
    existing = find_by_external_id(session, external_id) if external_id else None
    if existing is not None:
        return existing, False
    return create(session, contact_id, data, actor=actor, source="import", refresh=False), True


def update(session: Session, donation_id: int, data: Mapping[str, Any], *,
           actor: str) -> Donation:
    """Change some fields of a donation and its contact's summary."""
    donation = get(session, donation_id)
    fields = clean(data, partial=True)
    _check_external_id(session, fields.get("external_id"), donation.id)
    before = snapshot(donation)
    for key, value in fields.items():
        setattr(donation, key, value)
    session.flush()
    changes = audit.diff(before, snapshot(donation))
    if changes:
        audit.record(session, actor=actor, action="update", entity_type="donation",
                     entity_id=donation.id, changes=changes)
        refresh_summaries(session, [donation.contact_id])
    return donation


def delete(session: Session, donation_id: int, *, actor: str) -> int:
    """Delete a donation; return its contact's id."""
    donation = get(session, donation_id)
    contact_id = donation.contact_id
    # The entry keeps contact_id in its changes so the timeline still finds it.
    audit.record(session, actor=actor, action="delete", entity_type="donation",
                 entity_id=donation.id, changes=audit.diff(snapshot(donation), {}))
    session.delete(donation)
    session.flush()
    refresh_summaries(session, [contact_id])
    return contact_id


def _literal(ids: list[int]) -> Any:
    """Return ids as an IN list written into the SQL: no bound-parameter limit applies."""
    return bindparam("ids", [int(i) for i in ids], expanding=True, literal_execute=True)


def _summary_rows(contact_ids: list[int] | None) -> Any:
    """Return the aggregate SELECT of summary rows, one per contact with donations."""
    latest = aliased(Donation)
    last_cents = (select(latest.amount_cents)
                  .where(latest.contact_id == Donation.contact_id)
                  .order_by(latest.received_at.desc(), latest.id.desc())
                  .limit(1).scalar_subquery())
    stmt = select(
        Donation.contact_id,
        func.sum(Donation.amount_cents),
        func.count(Donation.id),
        func.max(Donation.amount_cents),
        func.min(Donation.received_at),
        func.max(Donation.received_at),
        last_cents,
        func.max(case((Donation.recurring, 1), else_=0)) == 1,
    ).group_by(Donation.contact_id)
    if contact_ids is not None:
        stmt = stmt.where(Donation.contact_id.in_(_literal(contact_ids)))
    return stmt


_COLUMNS = ("contact_id", "total_cents", "gift_count", "hpc_cents", "first_at", "last_at",
            "last_cents", "recurring")


def _upsert(session: Session, chunk: list[int] | None) -> Any:
    """Return INSERT .. SELECT .. ON CONFLICT DO UPDATE that writes only changed summaries."""
    # SQLite and PostgreSQL spell the upsert the same way; only the construct differs.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # WHERE true: SQLite needs it to parse INSERT .. SELECT .. ON CONFLICT unambiguously.
    stmt = dialect.insert(DonationSummary).from_select(
        _COLUMNS, _summary_rows(chunk).where(true()))
    new, old = stmt.excluded, DonationSummary.__table__.c
    return stmt.on_conflict_do_update(
        index_elements=["contact_id"], set_={name: new[name] for name in _COLUMNS[1:]},
        # Unchanged rows are not rewritten, so refreshing after a re-import costs reads only.
        where=or_(*(old[name].is_distinct_from(new[name]) for name in _COLUMNS[1:])))


def refresh_summaries(session: Session, contact_ids: Collection[int] | None = None) -> None:
    """Recompute giving summaries from donations in SQL; None means every contact.

    An upsert from one aggregate SELECT writes the rows that changed, then contacts with
    no donations left lose their row. ``recurring`` means the contact has ever given by
    a recurring gift: it depends on the rows only, never on today's date, so a summary
    cannot go stale between refreshes.
    """
    session.flush()
    targets = None if contact_ids is None else sorted(set(contact_ids))
    chunks = [None] if targets is None else [targets[i:i + CHUNK]
                                              for i in range(0, len(targets), CHUNK)]
    options = {"synchronize_session": False}
    for chunk in chunks:
        session.execute(_upsert(session, chunk), execution_options=options)
        gone = sql_delete(DonationSummary).where(
            ~exists().where(Donation.contact_id == DonationSummary.contact_id))
        if chunk is not None:
            gone = gone.where(DonationSummary.contact_id.in_(_literal(chunk)))
        session.execute(gone, execution_options=options)
    # Summary objects already loaded hold old values; drop them so the next read is fresh.
    wanted = None if targets is None else set(targets)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, DonationSummary) and (wanted is None or obj.contact_id in wanted):
            session.expunge(obj)
