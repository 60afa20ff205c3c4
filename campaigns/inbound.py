"""What Mailchimp tells us (webhooks, reconciling, refusals) applied with the consent rules.

An opt-out in Mailchimp (unsubscribed, cleaned) always wins here and is recorded in the
consent history with the method "mailchimp". A subscribe from Mailchimp is a fresh opt-in
only when Mailchimp really changed (its status was not subscribed before, as far as the
ledger knows, or a webhook reported the subscribe itself) and no opt-out here is newer. An
unsubscribed contact is subscribed again only when Mailchimp's change carries a time later
than the latest consent change here (a webhook without a readable ``fired_at`` never does),
and a cleaned one never is: fixing an address is a staff action.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import consent
from crm.models import ConsentEvent, Contact
from crm.validation import normalize_email

from . import ledger

ACTOR = "Mailchimp"
OPT_OUTS = ("unsubscribed", "cleaned")


def find_contact(session: Session, email: str) -> Contact | None:
    """Return the contact holding this address (deleted and merged ones too), if any."""
    try:
        _, key = normalize_email(email)
    except Exception:  # an address we could never have stored
        return None
    return session.scalar(select(Contact).where(Contact.email_normalized == key))


def _latest_change(session: Session, contact_id: int) -> datetime | None:
    return session.scalar(select(ConsentEvent.created_at)
                          .where(ConsentEvent.contact_id == contact_id)
                          .order_by(ConsentEvent.id.desc()).limit(1))


def apply_status(session: Session, contact_id: int, status: str, *, audience_id: str,
                 note: str, when: datetime | None = None, opt_in_event: bool = False) -> str:
    """Apply a member status Mailchimp reported; return what happened in a few words.

    ``opt_in_event`` says Mailchimp reported a subscribe as it happened (a webhook); a
    status read later (reconciling) counts as an opt-in only if the ledger saw it change.
    """
    contact = session.get(Contact, contact_id)
    if contact is None:
        return "no such contact"
    known = ledger.entry(session, audience_id, contact_id)
    outcome = "no change"
    if status in OPT_OUTS:
        if contact.email_status != status and not (
                contact.email_status == "cleaned" and status == "unsubscribed"):
            consent.set_status(session, contact, status, method="mailchimp", actor=ACTOR,
                               note=note)
            outcome = f"now {status}"
    elif status == "subscribed" and contact.email_status == "cleaned":
        # A cleaned address bounced for good: only staff, fixing the address, reopen it.
        outcome = "kept: the address was cleaned, and fixing it is a staff action"
    elif status == "subscribed" and contact.email_status != "subscribed":
        was = known.status if known is not None else None
        latest = _latest_change(session, contact_id) or contact.created_at
        changed_there = (opt_in_event or (was is not None and was != "subscribed")
                         or contact.email_status == "pending")
        if contact.email_status == "unsubscribed":
            # An opt-out here is undone only by a change Mailchimp proves newer.
            proven = when is not None and latest is not None and when > latest
        else:
            proven = when is None or latest is None or when >= latest
        if changed_there and proven:
            consent.record_opt_in(session, contact, "subscribed", method="mailchimp",
                                  actor=ACTOR, note=f"Opted in through Mailchimp. {note}".strip())
            outcome = "now subscribed"
        else:
            outcome = "kept the opt-out made here"
    if known is not None:
        ledger.note_status(session, audience_id, contact_id, status)
    session.flush()
    return outcome
