"""The contact list: search and keyset pagination by name, with no COUNT(*) per page."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, tuple_, union
from sqlalchemy.orm import Session

from .errors import InvalidCursor, ValidationFailed
from .models import EMAIL_STATUSES, Contact, Tag, contact_tags
from .validation import normalize_tag, search_key

if TYPE_CHECKING:
    from .segments import Clock

MAX_LIMIT = 200
ORDER = (Contact.last_name_key, Contact.first_name_key, Contact.id)
_RARE_TAG = 2000
_DIGITS = re.compile(r"\D+")
_PHONE_LIKE = re.compile(r"[\d().+-]+")
_SEGMENT_ID = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True)
class ContactFilter:
    """What staff asked the list for: free text, a tag, a state, an email status, a segment.

    ``segment`` is a saved segment's id as text, as it arrives in a query string.
    """

    query: str = ""
    tag: str = ""
    state: str = ""
    email_status: str = ""
    segment: str = ""

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> ContactFilter:
        """Read the list's filters from a query string (q, tag, state, status, segment)."""
        return cls(query=args.get("q", "")[:200], tag=args.get("tag", "")[:100],
                   state=args.get("state", "")[:2], email_status=args.get("status", ""),
                   segment=args.get("segment", "").strip()[:12])

    def url_args(self) -> dict[str, str]:
        """Return the filters as query-string arguments, leaving out the empty ones."""
        args = {"q": self.query, "tag": self.tag, "state": self.state,
                "status": self.email_status, "segment": self.segment}
        return {name: value for name, value in args.items() if value}


@dataclass(frozen=True)
class ContactPage:
    """One page of contacts and the cursor of the next page (None on the last)."""

    items: list[Contact]
    next_cursor: str | None


def encode_cursor(contact: Contact) -> str:
    """Return an opaque cursor that resumes the list just after this contact."""
    raw = json.dumps([contact.last_name_key, contact.first_name_key, contact.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, int]:
    """Return the (last, first, id) key in a cursor, or raise InvalidCursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        last, first, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not (isinstance(last, str) and isinstance(first, str) and isinstance(ident, int)
                and 0 <= ident < 2**31 and len(last) <= 100 and len(first) <= 100):
            raise ValueError
        return last, first, ident
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise InvalidCursor(
            "That page link is not valid; start again from the first page."
        ) from None


def _prefix(column: ColumnElement[str] | object, text: str) -> ColumnElement[bool]:
    # A range on the byte-ordered key column is an exact prefix match and uses the
    # index on both SQLite and PostgreSQL (LIKE would not on either by default).
    upper = text[:-1] + chr(ord(text[-1]) + 1)
    return and_(column >= text, column < upper)  # type: ignore[operator]


def _term_ranges(term: str) -> list[ColumnElement[bool]]:
    """Return the prefix ranges one search word may match: email, names, city, phone."""
    key = search_key(term)
    options = [
        _prefix(Contact.email_normalized, term.strip().lower()),
        _prefix(Contact.first_name_key, key),
        _prefix(Contact.last_name_key, key),
        _prefix(Contact.city_key, key),
    ]
    digits = _DIGITS.sub("", term)
    if len(digits) >= 3 and _PHONE_LIKE.fullmatch(term):
        national = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
        options.append(_prefix(Contact.phone, "+1" + national))
        options.append(_prefix(Contact.phone, "+" + digits))
    return options


def search_terms(query: str) -> list[str]:
    """Split search text into words; "(608) 555 0134" is one phone number, not three words."""
    query = query.strip()
    if len(query) > 200:
        raise ValidationFailed({"q": "Search text is at most 200 characters."})
    compact = query.replace(" ", "")
    return [compact] if _PHONE_LIKE.fullmatch(compact) else query.split()


def _tag_condition(session: Session, name: str) -> ColumnElement[bool] | None:
    """Return the condition for "has this tag", or None when no such tag exists."""
    try:
        _display, key = normalize_tag(name)
    except ValueError as exc:
        raise ValidationFailed({"tag": str(exc)}) from None
    tag_id = session.scalar(select(Tag.id).where(Tag.name_key == key))
    if tag_id is None:
        return None
    tagged = select(contact_tags.c.contact_id).where(contact_tags.c.tag_id == tag_id)
    # A rare tag is fastest as "id IN (its few contacts)"; a common one as a walk in
    # name order that probes the tag index. Neither database picks this by itself
    # (measured at 1M contacts), so a capped, index-only count decides.
    few = session.scalar(select(func.count()).select_from(tagged.limit(_RARE_TAG).subquery()))
    if few is not None and few < _RARE_TAG:
        return Contact.id.in_(tagged)
    return exists(tagged.where(contact_tags.c.contact_id == Contact.id))


def segment_condition(session: Session, segment_id: str, *,
                      clock: Clock | None = None) -> ColumnElement[bool]:
    """Return the condition "is in this saved segment" (NotFound or ValidationFailed if bad)."""
    # Imported here: the segment engine reads group names, and groups page through this module.
    from .segments import compile_rule
    from .segments import service as segment_service

    if not _SEGMENT_ID.fullmatch(segment_id) or int(segment_id) >= 2**31:
        raise ValidationFailed({"segment": "Choose a saved segment."})
    segment = segment_service.get(session, int(segment_id))
    # The saved rule is read against today's fields, so a field removed since it was
    # saved is reported here rather than failing in SQL.
    return compile_rule(segment_service.rule_of(segment), clock=clock, session=session)


def conditions(session: Session, flt: ContactFilter, *,
               clock: Clock | None = None) -> list[ColumnElement[bool]] | None:
    """Return the filter's WHERE conditions except search, or None if nothing can match.

    ``clock`` is the moment and time zone a segment's dates are read in (default: now, UTC).
    """
    where: list[ColumnElement[bool]] = [Contact.deleted_at.is_(None)]
    if flt.tag:
        tag = _tag_condition(session, flt.tag)
        if tag is None:
            return None
        where.append(tag)
    if flt.state:
        where.append(Contact.state == flt.state.strip().upper())
    if flt.email_status:
        if flt.email_status not in EMAIL_STATUSES:
            allowed = ", ".join(EMAIL_STATUSES)
            raise ValidationFailed({"email_status": f"Must be one of: {allowed}."})
        where.append(Contact.email_status == flt.email_status)
    if flt.segment:
        where.append(segment_condition(session, flt.segment, clock=clock))
    return where


def page(session: Session, flt: ContactFilter, *, cursor: str | None = None,
         limit: int = 50, clock: Clock | None = None,
         prepared: list[ColumnElement[bool]] | None = None) -> ContactPage:
    """Return one page of contacts ordered by last name, first name and id.

    ``prepared`` is what ``conditions`` gave for this filter: a caller reading many pages
    (an export) works out the tag and the segment once instead of once a page.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed({"limit": f"Must be between 1 and {MAX_LIMIT}."})
    terms = search_terms(flt.query)
    where = list(prepared) if prepared is not None else conditions(session, flt, clock=clock)
    if where is None:
        return ContactPage(items=[], next_cursor=None)
    if cursor:
        where.append(tuple_(*ORDER) > tuple_(*decode_cursor(cursor)))
    stmt = select(Contact).order_by(*ORDER).limit(limit + 1)
    if terms:
        # Every word must match some field. One page per field the first word may
        # match, each read in name order from its own covering index, then merged:
        # an OR across the fields would sort every match (seconds at 1M contacts).
        rest = [or_(*_term_ranges(term)) for term in terms[1:]]
        pages = [
            select(Contact.id).where(rng, *where, *rest).order_by(*ORDER).limit(limit + 1)
            .subquery()
            for rng in _term_ranges(terms[0])
        ]
        merged = union(*(select(p.c.id) for p in pages)).subquery()
        stmt = stmt.where(Contact.id.in_(select(merged.c.id)))
    else:
        stmt = stmt.where(*where)
    rows = list(session.scalars(stmt))
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1]) if len(rows) > limit else None
    return ContactPage(items=items, next_cursor=next_cursor)
