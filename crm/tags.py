"""Tags: free, case-insensitive labels on contacts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .errors import ValidationFailed
from .models import Contact, Tag, contact_tags
from .validation import normalize_tag


def parse_names(names: Iterable[str]) -> list[tuple[str, str]]:
    """Validate tag names and drop case-insensitive repeats, keeping the first spelling."""
    seen: dict[str, str] = {}
    for raw in names:
        try:
            display, key = normalize_tag(raw)
        except ValueError as exc:
            raise ValidationFailed({"tags": str(exc)}) from None
        seen.setdefault(key, display)
    return [(display, key) for key, display in seen.items()]


def split_text(text: str | None) -> list[str]:
    """Split a comma-separated tag box into names."""
    return [part for part in (text or "").split(",") if part.strip()]


def get_or_create(session: Session, display: str, key: str) -> Tag:
    """Return the tag with this key, creating it with this spelling if new."""
    tag = session.scalar(select(Tag).where(Tag.name_key == key))
    if tag is None:
        tag = Tag(name=display, name_key=key)
        session.add(tag)
        session.flush()
    return tag


def add(session: Session, contact: Contact, names: Iterable[str]) -> list[str]:
    """Add tags to a contact; return the names that were newly added."""
    have = {tag.name_key for tag in contact.tags}
    added = []
    for display, key in parse_names(names):
        if key in have:
            continue
        contact.tags.append(get_or_create(session, display, key))
        have.add(key)
        added.append(display)
    session.flush()
    return added


def remove(session: Session, contact: Contact, names: Iterable[str]) -> list[str]:
    """Remove tags from a contact; return the names that were removed."""
    keys = {key for _display, key in parse_names(names)}
    removed = [tag.name for tag in contact.tags if tag.name_key in keys]
    contact.tags[:] = [tag for tag in contact.tags if tag.name_key not in keys]
    session.flush()
    return removed


def replace(session: Session, contact: Contact, names: Iterable[str]) -> None:
    """Make the contact's tags exactly these names."""
    wanted = parse_names(names)
    keys = {key for _display, key in wanted}
    contact.tags[:] = [tag for tag in contact.tags if tag.name_key in keys]
    add(session, contact, [display for display, _key in wanted])


def all_with_counts(session: Session) -> list[tuple[Tag, int]]:
    """Return every tag with how many contacts carry it, most used first."""
    stmt = (
        select(Tag, func.count(contact_tags.c.contact_id))
        .outerjoin(contact_tags, contact_tags.c.tag_id == Tag.id)
        .group_by(Tag.id)
        .order_by(func.count(contact_tags.c.contact_id).desc(), Tag.name_key)
    )
    return [(tag, count) for tag, count in session.execute(stmt)]
