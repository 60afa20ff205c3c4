"""Named static groups (working groups, steering committees) and who is in them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.orm import Session

from . import audit, contacts, listing
from .errors import CRMError, NotFound, ValidationFailed
from .models import Contact, Group, group_members
from .validation import normalize_email

NAME_MAX = 200
DESCRIPTION_MAX = 1000
MAX_LIMIT = 200


class DuplicateGroup(CRMError):
    """Another group already has this name (names match case-insensitively)."""

    status_code = 409

    def __init__(self, name: str, existing_id: int) -> None:
        super().__init__(f"Group #{existing_id} is already called {name}.")
        self.existing_id = existing_id


@dataclass(frozen=True)
class MemberPage:
    """One page of a group's members by name and the cursor of the next (None on the last)."""

    items: list[Contact]
    next_cursor: str | None


def clean_name(raw: str | None) -> tuple[str, str]:
    """Return (display, key) for a group name; keys compare case-insensitively."""
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationFailed({"name": "A group needs a name."})
    if len(name) > NAME_MAX:
        raise ValidationFailed({"name": f"Group names are at most {NAME_MAX} characters."})
    return name, name.casefold()


def _description(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed({"description": f"At most {DESCRIPTION_MAX} characters."})
    return text or None


def get(session: Session, group_id: int) -> Group:
    """Return a group or raise NotFound."""
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"No group #{group_id}.")
    return group


def _check_free(session: Session, name: str, key: str, own_id: int | None) -> None:
    other = session.scalar(select(Group).where(Group.name_key == key))
    if other is not None and other.id != own_id:
        raise DuplicateGroup(other.name, other.id)


def create(session: Session, name: str, description: str | None = None, *,
           actor: str) -> Group:
    """Create an empty group."""
    display, key = clean_name(name)
    text = _description(description)
    _check_free(session, display, key, None)
    group = Group(name=display, name_key=key, description=text)
    session.add(group)
    session.flush()
    audit.record(session, actor=actor, action="create", entity_type="group", entity_id=group.id,
                 changes=audit.diff({}, {"name": display, "description": text}))
    return group


def rename(session: Session, group_id: int, name: str, *, actor: str) -> Group:
    """Give a group a new name."""
    group = get(session, group_id)
    display, key = clean_name(name)
    _check_free(session, display, key, group.id)
    if display != group.name:
        audit.record(session, actor=actor, action="update", entity_type="group",
                     entity_id=group.id, changes={"name": [group.name, display]})
        group.name, group.name_key = display, key
        session.flush()
    return group


def delete(session: Session, group_id: int, *, actor: str) -> str:
    """Delete a group and its memberships (the contacts stay); return its name."""
    group = get(session, group_id)
    name = group.name
    # Explicit, not ON DELETE CASCADE: a host's SQLite may run without foreign keys.
    session.execute(sql_delete(group_members).where(group_members.c.group_id == group.id))
    session.delete(group)
    session.flush()
    audit.record(session, actor=actor, action="delete", entity_type="group", entity_id=group_id,
                 changes={"name": [name, None]})
    return name


def all_with_counts(session: Session) -> list[tuple[Group, int]]:
    """Return every group by name with how many live contacts are in it."""
    count = (select(func.count()).select_from(group_members).join(
        Contact, Contact.id == group_members.c.contact_id)
        .where(group_members.c.group_id == Group.id, Contact.deleted_at.is_(None))
        .correlate(Group).scalar_subquery())
    stmt = select(Group, count).order_by(Group.name_key)
    return [(group, int(n)) for group, n in session.execute(stmt)]


def all_groups(session: Session) -> list[Group]:
    """Return every group by name."""
    return list(session.scalars(select(Group).order_by(Group.name_key)))


def member_count(session: Session, group_id: int) -> int:
    """Return how many live contacts are in a group."""
    stmt = select(func.count()).select_from(group_members).join(
        Contact, Contact.id == group_members.c.contact_id).where(
        group_members.c.group_id == group_id, Contact.deleted_at.is_(None))
    return int(session.scalar(stmt) or 0)


def is_member(session: Session, group_id: int, contact_id: int) -> bool:
    """Tell whether a contact is in a group."""
    stmt = select(group_members.c.contact_id).where(group_members.c.group_id == group_id,
                                                    group_members.c.contact_id == contact_id)
    return session.execute(stmt).first() is not None


def add_member(session: Session, group_id: int, contact_id: int, *, actor: str) -> bool:
    """Put a live contact in a group; return False if they already were."""
    group = get(session, group_id)
    contact = contacts.get(session, contact_id)
    if is_member(session, group.id, contact.id):
        return False
    session.execute(insert(group_members).values(group_id=group.id, contact_id=contact.id,
                                                 added_by=actor))
    audit.record(session, actor=actor, action="add_member", entity_type="group",
                 entity_id=group.id, changes={"contact_id": [None, contact.id]})
    return True


def add_member_by_email(session: Session, group_id: int, email: str, *,
                        actor: str) -> tuple[Contact, bool]:
    """Put the live contact with this email in a group; return it and whether it was added."""
    try:
        _display, key = normalize_email(email)
    except ValueError as exc:
        raise ValidationFailed({"email": str(exc)}) from None
    contact = contacts.find_by_email(session, key)
    if contact is None or contact.deleted_at is not None:
        raise NotFound(f"No contact has the email {email.strip()}.")
    return contact, add_member(session, group_id, contact.id, actor=actor)


def remove_member(session: Session, group_id: int, contact_id: int, *, actor: str) -> bool:
    """Take a contact out of a group; return False if they were not in it."""
    group = get(session, group_id)
    result = session.execute(sql_delete(group_members).where(
        group_members.c.group_id == group.id, group_members.c.contact_id == contact_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(session, actor=actor, action="remove_member", entity_type="group",
                 entity_id=group.id, changes={"contact_id": [contact_id, None]})
    return True


def members(session: Session, group_id: int, *, cursor: str | None = None,
            limit: int = 50) -> MemberPage:
    """Return one page of a group's live members by name, with keyset pagination."""
    group = get(session, group_id)
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = (select(Contact).join(group_members, group_members.c.contact_id == Contact.id)
            .where(group_members.c.group_id == group.id, Contact.deleted_at.is_(None))
            .order_by(*listing.ORDER).limit(limit + 1))
    if cursor:
        stmt = stmt.where(tuple_(*listing.ORDER) > tuple_(*listing.decode_cursor(cursor)))
    rows = list(session.scalars(stmt))
    items = rows[:limit]
    return MemberPage(items=items, next_cursor=listing.encode_cursor(items[-1])
                      if len(rows) > limit else None)


def for_contact(session: Session, contact_id: int) -> list[Group]:
    """Return the groups a contact is in, by name."""
    stmt = (select(Group).join(group_members, group_members.c.group_id == Group.id)
            .where(group_members.c.contact_id == contact_id).order_by(Group.name_key))
    return list(session.scalars(stmt))
