"""Contact services: validate, create, update, upsert, delete and restore, audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, consent, tags
from .errors import DuplicateEmail, NotFound, ValidationFailed
from .models import Contact, Note, utcnow
from .validation import (
    normalize_email,
    normalize_phone,
    normalize_state,
    normalize_text,
    normalize_zip,
    search_key,
)

TEXT_FIELDS = ("first_name", "last_name", "street", "city", "county", "employer", "occupation",
               "source")
FIELDS = ("email", "phone", "state", "zip", "custom_fields", "email_status", "tags", *TEXT_FIELDS)
AUDITED = ("email", "phone", "state", "zip", "custom_fields", "email_status", "tags", *TEXT_FIELDS)
CUSTOM_MAX_KEYS = 50
NOTE_MAX = 10_000


def _clean_custom(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("Custom fields must be an object of names to values.")
    if len(value) > CUSTOM_MAX_KEYS:
        raise ValueError(f"At most {CUSTOM_MAX_KEYS} custom fields.")
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key).strip()
        if not name or len(name) > 64:
            raise ValueError("Custom field names must be 1 to 64 characters.")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValueError(f"Custom field {name!r} must be text, a number, true/false or null.")
        if isinstance(item, str) and len(item) > 1000:
            raise ValueError(f"Custom field {name!r} is longer than 1000 characters.")
        out[name] = item
    return out


def clean(data: Mapping[str, Any], *, region: str = "US", partial: bool = False) -> dict[str, Any]:
    """Validate and normalise raw contact fields, collecting every error at once."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key in data:
        if key not in FIELDS:
            errors[key] = "Unknown field."
    if not partial and not str(data.get("email") or "").strip():
        errors["email"] = "Email is required."
    normalisers = {
        "phone": lambda v: normalize_phone(v, region),
        "state": normalize_state,
        "zip": normalize_zip,
        "custom_fields": _clean_custom,
        "email_status": lambda v: consent.check_status(str(v)) and str(v),
        "tags": lambda v: [d for d, _k in tags.parse_names(_as_list(v))],
    }
    for key in FIELDS:
        if key not in data or key in errors:
            continue
        raw = data[key]
        try:
            if key == "email":
                out["email"], out["email_normalized"] = normalize_email(str(raw or ""))
            elif key in normalisers:
                out[key] = normalisers[key](raw)
            else:
                out[key] = normalize_text(key, None if raw is None else str(raw))
        except ValidationFailed as exc:
            errors[key] = exc.errors.get(key) or next(iter(exc.errors.values()))
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    return out


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return tags.split_text(value)
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    raise ValueError("Tags must be a list of names.")


def snapshot(contact: Contact) -> dict[str, Any]:
    """Return the audited fields of a contact as plain values."""
    values: dict[str, Any] = {name: getattr(contact, name) for name in AUDITED if name != "tags"}
    values["custom_fields"] = dict(contact.custom_fields or {})
    values["tags"] = sorted(tag.name for tag in contact.tags)
    return values


def find_by_email(session: Session, email_key: str) -> Contact | None:
    """Return the contact (deleted or not) holding this normalised email."""
    return session.scalar(select(Contact).where(Contact.email_normalized == email_key))


def merged_into(session: Session, contact_id: int) -> int | None:
    """Return the surviving contact's id if this one was merged away, following chains."""
    seen: set[int] = set()
    current = session.get(Contact, contact_id)
    while current is not None and current.merged_into_id is not None and current.id not in seen:
        seen.add(current.id)
        current = session.get(Contact, current.merged_into_id)
    return current.id if current is not None and seen else None


def get(session: Session, contact_id: int) -> Contact:
    """Return a live contact or raise NotFound."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None:
        raise NotFound(f"No contact #{contact_id}.")
    return contact


def _apply(session: Session, contact: Contact, fields: Mapping[str, Any], *, method: str,
           actor: str) -> None:
    for key, value in fields.items():
        if key in ("tags", "email_status"):
            continue
        setattr(contact, key, value)
    contact.first_name = contact.first_name or ""
    contact.last_name = contact.last_name or ""
    contact.first_name_key = search_key(contact.first_name)
    contact.last_name_key = search_key(contact.last_name)
    contact.city_key = search_key(contact.city) or None
    if contact.custom_fields is None:
        contact.custom_fields = {}
    session.flush()
    if "tags" in fields:
        tags.replace(session, contact, fields["tags"])
    if "email_status" in fields and contact.email_status != fields["email_status"]:
        consent.set_status(session, contact, fields["email_status"], method=method, actor=actor)


def apply_fields(session: Session, contact: Contact, fields: Mapping[str, Any]) -> None:
    """Set already-normalised fields on a contact and refresh its search keys."""
    _apply(session, contact, fields, method="staff", actor="system")


def create(session: Session, data: Mapping[str, Any], *, actor: str, method: str = "staff",
           region: str = "US") -> Contact:
    """Create a contact from raw fields; raise DuplicateEmail if the email is taken."""
    fields = clean(data, region=region)
    existing = find_by_email(session, fields["email_normalized"])
    if existing is not None:
        raise DuplicateEmail(existing.email, existing.id, deleted=existing.deleted_at is not None)
    contact = Contact(email_status=fields.get("email_status", "subscribed"), custom_fields={})
    session.add(contact)
    _apply(session, contact, {k: v for k, v in fields.items() if k != "email_status"},
           method=method, actor=actor)
    consent.record_initial(session, contact, method=method, actor=actor)
    audit.record(session, actor=actor, action="create", entity_type="contact",
                 entity_id=contact.id, changes=audit.diff({}, _present(snapshot(contact))))
    return contact


def update(session: Session, contact_id: int, data: Mapping[str, Any], *, actor: str,
           method: str = "staff", region: str = "US") -> Contact:
    """Apply a partial update; fields left out keep their values."""
    contact = get(session, contact_id)
    fields = clean(data, region=region, partial=True)
    if "email_normalized" in fields and fields["email_normalized"] != contact.email_normalized:
        other = find_by_email(session, fields["email_normalized"])
        if other is not None:
            raise DuplicateEmail(other.email, other.id, deleted=other.deleted_at is not None)
    before = snapshot(contact)
    _apply(session, contact, fields, method=method, actor=actor)
    changes = audit.diff(before, snapshot(contact))
    if changes:
        contact.updated_at = utcnow()
        audit.record(session, actor=actor, action="update", entity_type="contact",
                     entity_id=contact.id, changes=changes)
    return contact


def upsert(session: Session, data: Mapping[str, Any], *, actor: str, method: str = "api",
           region: str = "US") -> tuple[Contact, bool]:
    """Create the contact, or update the one with this email (restoring it if deleted)."""
    fields = clean(data, region=region)
    existing = find_by_email(session, fields["email_normalized"])
    if existing is None:
        return create(session, data, actor=actor, method=method, region=region), True
    if existing.deleted_at is not None:
        restore(session, existing.id, actor=actor)
    # Never blank a field the caller left out or sent empty: an upsert only adds.
    partial = {k: v for k, v in data.items() if v not in (None, "", [], {})}
    return update(session, existing.id, partial, actor=actor, method=method, region=region), False


def delete(session: Session, contact_id: int, *, actor: str) -> Contact:
    """Hide a contact from lists; its email and consent stay so an opt-out is never lost."""
    contact = get(session, contact_id)
    contact.deleted_at = utcnow()
    audit.record(session, actor=actor, action="delete", entity_type="contact",
                 entity_id=contact.id, changes={"deleted": [False, True]})
    return contact


def restore(session: Session, contact_id: int, *, actor: str) -> Contact:
    """Bring a deleted contact back with everything it had."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is None:
        raise NotFound(f"No deleted contact #{contact_id}.")
    contact.deleted_at = None
    session.flush()
    audit.record(session, actor=actor, action="restore", entity_type="contact",
                 entity_id=contact.id, changes={"deleted": [True, False]})
    return contact


def add_note(session: Session, contact_id: int, body: str, *, actor: str) -> Note:
    """Add a staff note to a contact's timeline."""
    contact = get(session, contact_id)
    text = (body or "").strip()
    if not text:
        raise ValidationFailed({"body": "A note cannot be empty."})
    if len(text) > NOTE_MAX:
        raise ValidationFailed({"body": f"A note is at most {NOTE_MAX} characters."})
    note = Note(contact_id=contact.id, body=text, author=actor)
    session.add(note)
    session.flush()
    return note


def change_tags(session: Session, contact_id: int, *, add: list[str] | None = None,
                remove: list[str] | None = None, actor: str) -> Contact:
    """Add and remove tags on a contact, auditing the change."""
    contact = get(session, contact_id)
    before = snapshot(contact)
    if remove:
        tags.remove(session, contact, remove)
    if add:
        tags.add(session, contact, add)
    changes = audit.diff(before, snapshot(contact))
    if changes:
        audit.record(session, actor=actor, action="update", entity_type="contact",
                     entity_id=contact.id, changes=changes)
    return contact


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}
