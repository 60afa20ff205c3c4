"""Contact export to CSV: chosen fields, any list filter, streamed in keyset batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from . import listing
from .errors import ValidationFailed
from .formatting import phone
from .models import Contact, UnionMembership
from .segments import Clock

# Name -> column header, in the order columns appear in the file.
EXPORT_FIELDS: dict[str, str] = {
    "id": "ID", "email": "Email", "first_name": "First name", "last_name": "Last name",
    "phone": "Phone", "street": "Street", "city": "City", "state": "State", "zip": "ZIP",
    "county": "County", "employer": "Employer", "occupation": "Occupation", "source": "Source",
    "email_status": "Email status", "tags": "Tags", "union_memberships": "Union memberships",
    "created_at": "Added", "updated_at": "Last changed",
}
DEFAULT_FIELDS = ("email", "first_name", "last_name", "phone", "city", "state", "zip",
                  "email_status", "tags")
# listing.page caps a page at its MAX_LIMIT; each batch is one such keyset page.
BATCH = listing.MAX_LIMIT
BOM = "\ufeff"
# A spreadsheet runs a cell starting with one of these as a formula (or, after a tab or
# carriage return, may strip it and then run it).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Memberships = dict[int, str]
_Getter = Callable[[Contact, Memberships], str]


def neutralise(cell: str) -> str:
    """Prefix a single quote to a cell a spreadsheet would read as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _time(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def _text(name: str) -> _Getter:
    def get(contact: Contact, _memberships: Memberships) -> str:
        value = getattr(contact, name)
        return "" if value is None else str(value)

    return get


_GETTERS: dict[str, _Getter] = {name: _text(name) for name in EXPORT_FIELDS}
_GETTERS.update({
    # Staff read and dial the national form; E.164's leading "+" would need neutralising.
    "phone": lambda c, _m: phone(c.phone),
    "tags": lambda c, _m: "; ".join(tag.name for tag in c.tags),
    "union_memberships": lambda c, m: m.get(c.id, ""),
    "created_at": lambda c, _m: _time(c.created_at),
    "updated_at": lambda c, _m: _time(c.updated_at),
})


def available_fields(session: Session) -> list[str]:
    """Return the fields worth offering: union memberships only once there are any."""
    has_members = session.scalar(select(exists().where(UnionMembership.id.is_not(None))))
    return [name for name in EXPORT_FIELDS if name != "union_memberships" or has_members]


def check_fields(fields: Sequence[str]) -> list[str]:
    """Return the chosen fields without repeats, or raise ValidationFailed naming bad ones."""
    if not fields:
        raise ValidationFailed({"fields": "Pick at least one field to export."})
    unknown = [name for name in fields if name not in EXPORT_FIELDS]
    if unknown:
        raise ValidationFailed({"fields": f"Unknown field: {', '.join(unknown[:10])[:300]}. "
                                          f"Known fields: {', '.join(EXPORT_FIELDS)}."})
    return list(dict.fromkeys(fields))


def header(fields: Sequence[str]) -> list[str]:
    """Return the header row of the chosen fields."""
    return [EXPORT_FIELDS[name] for name in check_fields(fields)]


def _memberships(session: Session, contact_ids: list[int]) -> Memberships:
    stmt = (select(UnionMembership).where(UnionMembership.contact_id.in_(contact_ids))
            .order_by(UnionMembership.contact_id, UnionMembership.union_name,
                      UnionMembership.id))
    summary: dict[int, list[str]] = {}
    for m in session.scalars(stmt):
        local = f" Local {m.local}" if m.local else ""
        summary.setdefault(m.contact_id, []).append(f"{m.union_name}{local} ({m.status})")
    return {contact_id: "; ".join(parts) for contact_id, parts in summary.items()}


def _batches(session: Session, flt: listing.ContactFilter,
             where: list[ColumnElement[bool]]) -> Iterator[list[Contact]]:
    cursor: str | None = None
    while True:
        result = listing.page(session, flt, cursor=cursor, limit=BATCH, prepared=where)
        if result.items:
            yield result.items
        if result.next_cursor is None:
            return
        cursor = result.next_cursor


def rows(session: Session, flt: listing.ContactFilter, fields: Sequence[str], *,
         clock: Clock | None = None) -> Iterator[list[str]]:
    """Return the neutralised rows of every contact the filter matches, batch by batch.

    A segment in the filter is read against one ``clock`` for the whole file, so its
    relative dates cannot shift between the first batch and the last.
    """
    chosen = check_fields(fields)
    clock = clock or Clock.current()
    # Reject a bad search, tag, status or segment now, before the download has begun.
    listing.search_terms(flt.query)
    # Worked out once for the whole file (a segment is planned and compiled here).
    where = listing.conditions(session, flt, clock=clock)
    getters = [_GETTERS[name] for name in chosen]
    with_members = "union_memberships" in chosen

    def generate() -> Iterator[list[str]]:
        # Only one batch is referenced at a time; the session's identity map holds
        # unmodified rows weakly, so memory stays flat however long the list.
        if where is None:
            return  # nothing can match: the file is the header alone
        for batch in _batches(session, flt, where):
            members = _memberships(session, [c.id for c in batch]) if with_members else {}
            for contact in batch:
                yield [neutralise(get(contact, members)) for get in getters]

    return generate()


def _chunk(lines: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(lines)
    return buffer.getvalue()


def csv_chunks(session: Session, flt: listing.ContactFilter, fields: Sequence[str], *,
               clock: Clock | None = None) -> Iterator[str]:
    """Return the CSV text in pieces: a BOM and the header first, then one piece per batch."""
    head = header(fields)
    data = rows(session, flt, fields, clock=clock)

    def generate() -> Iterator[str]:
        yield BOM + _chunk([head])
        pending: list[list[str]] = []
        for row in data:
            pending.append(row)
            if len(pending) >= BATCH:
                yield _chunk(pending)
                pending = []
        if pending:
            yield _chunk(pending)

    return generate()
