"""The Mailchimp section of a contact's page: what the audience holds and what needs review."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from crm.models import Contact
from crm.panels import ContactPanel

from . import connection, ledger, review


def mailchimp_panel(session: Session, contact: Contact) -> ContactPanel | None:
    """Offer the contact's status in the audience and open review items; None when neither."""
    audience = connection.audience_id(current_app)
    entry = ledger.entry(session, audience, contact.id) if audience else None
    items = review.open_for_contact(session, contact.id)
    if entry is None and not items:
        return None
    return ContactPanel("campaigns/panel.html", {
        "entry": entry, "items": items, "sandbox": connection.is_sandbox(current_app),
    }, column="side", order=40)
