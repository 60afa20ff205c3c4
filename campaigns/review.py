"""The review queue: members Mailchimp refused, kept until staff fix or dismiss them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from crm.errors import NotFound
from crm.models import utcnow

from .models import ReviewItem

PAGE = 50


def add(session: Session, sync_id: int | None, contact_id: int | None, email: str, code: str,
        field: str, message: str, payload_hash: str = "") -> ReviewItem:
    """Queue a refusal, or return the open item already saying the same about this contact."""
    message = " ".join(message.split())[:1000] or "Mailchimp refused this member."
    same = session.scalar(
        select(ReviewItem).where(ReviewItem.email == email, ReviewItem.message == message,
                                 ReviewItem.resolved_at.is_(None))
    )
    if same is not None:
        same.sync_id = sync_id or same.sync_id
        same.payload_hash = payload_hash or same.payload_hash
        return same
    item = ReviewItem(sync_id=sync_id, contact_id=contact_id, email=email, code=code[:60],
                      field=field[:60], message=message, payload_hash=payload_hash)
    session.add(item)
    session.flush()
    return item


def open_items(session: Session, *, sync_id: int | None = None, page: int = 1,
               per_page: int = PAGE) -> tuple[list[ReviewItem], int]:
    """Return a page of open items (newest first) and how many are open in all."""
    where = [ReviewItem.resolved_at.is_(None)]
    if sync_id is not None:
        where.append(ReviewItem.sync_id == sync_id)
    total = int(session.scalar(select(func.count()).select_from(ReviewItem).where(*where)) or 0)
    rows = session.scalars(select(ReviewItem).where(*where).order_by(ReviewItem.id.desc())
                           .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return list(rows), total


def resolve(session: Session, item_id: int, *, actor: str, resolution: str) -> ReviewItem:
    """Close an item with what was done about it."""
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"No review item #{item_id}.")
    if item.resolved_at is None:
        item.resolved_at = utcnow()
        item.resolved_by = actor
        item.resolution = (resolution or "Dismissed.")[:200]
        session.flush()
    return item


def open_for_contact(session: Session, contact_id: int) -> list[ReviewItem]:
    """Return a contact's open items."""
    return list(session.scalars(select(ReviewItem).where(
        ReviewItem.contact_id == contact_id, ReviewItem.resolved_at.is_(None))))


def refused(session: Session, which: ColumnElement[bool]) -> dict[int, set[str]]:
    """Return the payload hashes Mailchimp refused per contact (open or dismissed items).

    ``which`` picks the contacts, as a condition on ``ReviewItem.contact_id``.
    """
    found: dict[int, set[str]] = {}
    rows = session.execute(select(ReviewItem.contact_id, ReviewItem.payload_hash).where(
        which, ReviewItem.payload_hash != ""))
    for contact_id, digest in rows:
        found.setdefault(contact_id, set()).add(digest)
    return found
