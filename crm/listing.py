"""The contact list: search and keyset pagination by name, with no COUNT(*) per page."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_, select, tuple_
from sqlalchemy.orm import Session

from .errors import InvalidCursor, ValidationFailed
from .models import EMAIL_STATUSES, Contact, Tag, contact_tags
from .validation import normalize_tag, search_key

MAX_LIMIT = 200
_DIGITS = re.compile(r"\D+")
_PHONE_LIKE = re.compile(r"[\d().+-]+")


@dataclass(frozen=True)
class ContactFilter:
    """What staff asked the list for: free text, a tag, a state, an email status."""

    query: str = ""
    tag: str = ""
    state: str = ""
    email_status: str = ""


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
        if not (isinstance(last, str) and isinstance(first, str) and isinstance(ident, int)):
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


def _term_condition(term: str) -> ColumnElement[bool]:
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
    return or_(*options)


def conditions(flt: ContactFilter) -> list[ColumnElement[bool]]:
    """Return the WHERE conditions for a filter (live contacts only)."""
    where: list[ColumnElement[bool]] = [Contact.deleted_at.is_(None)]
    query = flt.query.strip()
    if len(query) > 200:
        raise ValidationFailed({"q": "Search text is at most 200 characters."})
    # "(608) 555 0134" is one phone number, not three words.
    compact = query.replace(" ", "")
    terms = [compact] if _PHONE_LIKE.fullmatch(compact) else query.split()
    for term in terms:
        where.append(_term_condition(term))
    if flt.tag:
        try:
            _display, key = normalize_tag(flt.tag)
        except ValueError as exc:
            raise ValidationFailed({"tag": str(exc)}) from None
        where.append(
            exists()
            .where(contact_tags.c.contact_id == Contact.id)
            .where(contact_tags.c.tag_id == Tag.id)
            .where(Tag.name_key == key)
        )
    if flt.state:
        where.append(Contact.state == flt.state.strip().upper())
    if flt.email_status:
        if flt.email_status not in EMAIL_STATUSES:
            allowed = ", ".join(EMAIL_STATUSES)
            raise ValidationFailed({"email_status": f"Must be one of: {allowed}."})
        where.append(Contact.email_status == flt.email_status)
    return where


def page(session: Session, flt: ContactFilter, *, cursor: str | None = None,
         limit: int = 50) -> ContactPage:
    """Return one page of contacts ordered by last name, first name and id."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed({"limit": f"Must be between 1 and {MAX_LIMIT}."})
    order = (Contact.last_name_key, Contact.first_name_key, Contact.id)
    stmt = select(Contact).where(*conditions(flt)).order_by(*order).limit(limit + 1)
    if cursor:
        stmt = stmt.where(tuple_(*order) > tuple_(*decode_cursor(cursor)))
    rows = list(session.scalars(stmt))
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1]) if len(rows) > limit else None
    return ContactPage(items=items, next_cursor=next_cursor)
