"""Email status and the consent history: the rules that keep opt-outs opted out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ConsentError, ValidationFailed
from .models import CONSENT_METHODS, EMAIL_STATUSES, ConsentEvent, Contact

_CLEANED = (
    "This address was cleaned (it bounced). Correct the email address instead of re-subscribing."
)
# A contact who opted out or bounced may never be flipped back to "subscribed" by us;
# only a fresh double opt-in ("pending") can bring an opt-out back.
_BLOCKED = {
    ("unsubscribed", "subscribed"): (
        "This contact unsubscribed. Only a fresh opt-in can bring them back: "
        "set the status to pending so they confirm by email."
    ),
    ("cleaned", "subscribed"): (
        _CLEANED
    ),
    ("cleaned", "pending"): (
        _CLEANED
    ),
}


def check_status(status: str) -> str:
    """Return the status if it is one we know, else raise ValidationFailed."""
    if status not in EMAIL_STATUSES:
        raise ValidationFailed({"email_status": f"Must be one of: {', '.join(EMAIL_STATUSES)}."})
    return status


def check_transition(old: str | None, new: str) -> None:
    """Raise ConsentError when moving from ``old`` to ``new`` would break consent."""
    message = _BLOCKED.get((old or "", new))
    if message:
        raise ConsentError(message)


def set_status(
    session: Session,
    contact: Contact,
    status: str,
    *,
    method: str,
    actor: str,
    note: str | None = None,
) -> ConsentEvent | None:
    """Change a contact's email status and record it; None when nothing changed."""
    check_status(status)
    previous = contact.email_status
    if previous == status:
        return None
    check_transition(previous, status)
    contact.email_status = status
    return _add_event(session, contact, status, previous, method=method, actor=actor, note=note)


def record_opt_in(
    session: Session,
    contact: Contact,
    status: str,
    *,
    method: str,
    actor: str,
    note: str,
) -> ConsentEvent | None:
    """Apply a fresh opt-in made elsewhere (a confirmed sign-up form) and record it.

    This is the one way back from an opt-out besides "pending": the note must say where the
    person opted in again, and the consent history keeps it.
    """
    check_status(status)
    if status not in ("subscribed", "pending"):
        raise ValidationFailed({"email_status": "An opt-in is subscribed or pending."})
    previous = contact.email_status
    if previous == status:
        return None
    contact.email_status = status
    return _add_event(session, contact, status, previous, method=method, actor=actor, note=note)


def record_initial(
    session: Session, contact: Contact, *, method: str, actor: str, note: str | None = None
) -> ConsentEvent:
    """Record the status a new contact starts with as the first entry of its history."""
    check_status(contact.email_status)
    return _add_event(
        session, contact, contact.email_status, None, method=method, actor=actor, note=note
    )


def _add_event(
    session: Session,
    contact: Contact,
    status: str,
    previous: str | None,
    *,
    method: str,
    actor: str,
    note: str | None,
) -> ConsentEvent:
    if method not in CONSENT_METHODS:
        raise ValidationFailed({"method": f"Must be one of: {', '.join(CONSENT_METHODS)}."})
    session.flush()
    event = ConsentEvent(
        contact_id=contact.id,
        status=status,
        previous_status=previous,
        method=method,
        actor=actor,
        note=note,
    )
    session.add(event)
    session.flush()
    return event


def history(session: Session, contact_id: int) -> list[ConsentEvent]:
    """Return the contact's consent history, newest first."""
    stmt = (
        select(ConsentEvent)
        .where(ConsentEvent.contact_id == contact_id)
        .order_by(ConsentEvent.id.desc())
    )
    return list(session.scalars(stmt))
