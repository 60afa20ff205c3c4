"""Preview a campaign as one contact: the merge-tag content with their own values filled in.

The content is exactly what Mailchimp is given (frozen at "ready"; rendered on the fly for
a draft), and the values are the ones synced as the contact's merge fields, so the preview
is the email Mailchimp sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from crm import contacts, donations

from . import audience, email_render, personalise
from .campaign_models import Campaign
from .sending import Org

PREVIEW_UNSUBSCRIBE = "#unsubscribe"


@dataclass(frozen=True)
class Preview:
    """One contact's email: both parts, the values used, and whether they get it at all."""

    contact_id: int
    email: str
    name: str
    subject: str
    html: str
    text: str
    values: dict[str, str] = field(default_factory=dict)
    in_snapshot: bool = False
    excluded_reason: str = ""


def content(campaign: Campaign, org: Org) -> tuple[str, str]:
    """Return the merge-tag content: the frozen one, or the draft's rendered now."""
    if campaign.status != "draft" and campaign.html:
        return campaign.html, campaign.text
    rendered = email_render.render(campaign.body, fmt=campaign.body_format,
                                   subject=campaign.subject,
                                   preview_text=campaign.preview_text, org_name=org.name,
                                   postal_address=org.postal_address)
    return rendered.html, rendered.text


def values_for(session: Session, campaign: Campaign, contact_id: int,
               settings: personalise.Settings) -> tuple[dict[str, str], bool, str]:
    """Return a contact's merge values, whether they are in the snapshot, and any reason out."""
    contact = contacts.get(session, contact_id)
    row = audience.recipient(session, campaign.id, contact_id) if campaign.id else None
    if row is not None and row.included:
        values = {k: str(v) for k, v in (row.merge_values or {}).items()}
    else:
        summary = donations.summary(session, contact_id)
        giving = personalise.Giving(summary.hpc_cents, summary.last_cents,
                                    summary.gift_count) if summary else personalise.Giving()
        values = personalise.member_values(contact.first_name or "", contact.last_name or "")
        # Out of the snapshot (or before one): response links carry no valid token.
        values.update(personalise.campaign_values(settings, giving, recipient_id=0,
                                                  nonce="preview"))
    values["EMAIL"] = contact.email
    return values, row is not None and row.included, row.reason if row is not None else ""


def for_contact(session: Session, campaign: Campaign, contact_id: int,
                settings: personalise.Settings, org: Org, *,
                unsubscribe_url: str = PREVIEW_UNSUBSCRIBE, inert: bool = False) -> Preview:
    """Return the email one contact gets from this campaign.

    ``inert`` (every preview staff see) swaps the contact's response links for preview
    links, which open a page saying so and record nothing; the rest is byte for byte theirs.
    """
    html, text = content(campaign, org)
    values, included, reason = values_for(session, campaign, contact_id, settings)
    if inert:
        values.update(personalise.preview_values(settings, campaign.id or 0))
    values.setdefault("UNSUB", unsubscribe_url)
    contact = contacts.get(session, contact_id)
    return Preview(contact_id=contact_id, email=contact.email, name=contact.full_name,
                   subject=email_render.substitute(campaign.subject, values, html=False),
                   html=email_render.substitute(html, values, html=True),
                   text=email_render.substitute(text, values, html=False),
                   values=values, in_snapshot=included, excluded_reason=reason)
