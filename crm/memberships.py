"""Union memberships: which union and local a contact belongs to, and their standing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, contacts
from .errors import CRMError, NotFound, ValidationFailed
from .models import MEMBERSHIP_STATUSES, UnionMembership, utcnow

FIELDS = ("union_name", "local", "member_id", "status", "worksite", "since")
LIMITS = {"union_name": 100, "local": 50, "member_id": 50, "worksite": 200}


class DuplicateMemberId(CRMError):
    """Another membership of the same union already has this member id."""

    status_code = 409

    def __init__(self, union_name: str, member_id: str, contact_id: int) -> None:
        super().__init__(f"Member id {member_id} of {union_name} already belongs to contact "
                         f"#{contact_id}.")
        self.contact_id = contact_id


def _text(name: str, value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    if len(text) > LIMITS[name]:
        raise ValueError(f"Must be at most {LIMITS[name]} characters.")
    return text or None


def _status(value: Any) -> str:
    if value not in MEMBERSHIP_STATUSES:
        raise ValueError(f"Must be one of {', '.join(MEMBERSHIP_STATUSES)}.")
    return str(value)


def _since(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError("Give a date as YYYY-MM-DD.") from None
    if not isinstance(value, date):
        raise ValueError("Give a date as YYYY-MM-DD.")
    # A day of slack: "today" in the organization's zone may be tomorrow in UTC.
    if value.year < 1900 or value > utcnow().date() + timedelta(days=1):
        raise ValueError("Must be a past date after 1900.")
    return value


def clean(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate raw membership fields, collecting every error at once."""
    errors = {key: "Unknown field." for key in data if key not in FIELDS}
    out: dict[str, Any] = {}
    for key in FIELDS:
        if key not in data or key in errors:
            continue
        try:
            if key == "status":
                out[key] = _status(data[key])
            elif key == "since":
                out[key] = _since(data[key])
            else:
                out[key] = _text(key, data[key])
        except ValueError as exc:
            errors[key] = str(exc)
    if "union_name" not in errors and (not partial or "union_name" in data) and not out.get(
            "union_name"):
        errors["union_name"] = "The union is required."
    if errors:
        raise ValidationFailed(errors)
    return out


def snapshot(membership: UnionMembership) -> dict[str, Any]:
    """Return a membership's fields as JSON-ready values for the audit log."""
    return {"contact_id": membership.contact_id, "union_name": membership.union_name,
            "local": membership.local, "member_id": membership.member_id,
            "status": membership.status, "worksite": membership.worksite,
            "since": membership.since.isoformat() if membership.since else None}


def get(session: Session, membership_id: int) -> UnionMembership:
    """Return a membership or raise NotFound."""
    membership = session.get(UnionMembership, membership_id)
    if membership is None:
        raise NotFound(f"No membership #{membership_id}.")
    return membership


def for_contact(session: Session, contact_id: int) -> list[UnionMembership]:
    """Return a contact's memberships by union and local."""
    stmt = (select(UnionMembership).where(UnionMembership.contact_id == contact_id)
            .order_by(UnionMembership.union_name, UnionMembership.local, UnionMembership.id))
    return list(session.scalars(stmt))


def _check_unique(session: Session, union_name: str, member_id: str | None,
                  own_id: int | None) -> None:
    if member_id is None:
        return
    # Union names differ in case between rosters ("SEIU", "Seiu"); ids are exact.
    stmt = select(UnionMembership).where(
        func.lower(UnionMembership.union_name) == union_name.lower(),
        UnionMembership.member_id == member_id)
    if own_id is not None:
        stmt = stmt.where(UnionMembership.id != own_id)
    other = session.scalars(stmt).first()
    if other is not None:
        raise DuplicateMemberId(other.union_name, member_id, other.contact_id)


def add(session: Session, contact_id: int, data: Mapping[str, Any], *,
        actor: str) -> UnionMembership:
    """Give a live contact a union membership."""
    contact = contacts.get(session, contact_id)
    fields = clean(data)
    _check_unique(session, fields["union_name"], fields.get("member_id"), None)
    membership = UnionMembership(contact_id=contact.id, **{"status": "active", **fields})
    session.add(membership)
    session.flush()
    audit.record(session, actor=actor, action="create", entity_type="membership",
                 entity_id=membership.id, changes=audit.diff({}, snapshot(membership)))
    return membership


def update(session: Session, membership_id: int, data: Mapping[str, Any], *,
           actor: str) -> UnionMembership:
    """Change some fields of a membership; fields left out keep their values."""
    membership = get(session, membership_id)
    fields = clean(data, partial=True)
    _check_unique(session, fields.get("union_name", membership.union_name),
                  fields.get("member_id", membership.member_id), membership.id)
    before = snapshot(membership)
    for key, value in fields.items():
        setattr(membership, key, value)
    session.flush()
    changes = audit.diff(before, snapshot(membership))
    if changes:
        audit.record(session, actor=actor, action="update", entity_type="membership",
                     entity_id=membership.id, changes=changes)
    return membership


def remove(session: Session, membership_id: int, *, actor: str) -> int:
    """Delete a membership; return its contact's id."""
    membership = get(session, membership_id)
    contact_id = membership.contact_id
    audit.record(session, actor=actor, action="delete", entity_type="membership",
                 entity_id=membership.id, changes=audit.diff(snapshot(membership), {}))
    session.delete(membership)
    session.flush()
    return contact_id
