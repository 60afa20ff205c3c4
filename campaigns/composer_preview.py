"""What the composer shows beside the form: the unsaved email as one contact, who to preview
it as, and a draft's audience before any snapshot. Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import listing
from crm.errors import CRMError, ValidationFailed
from crm.models import Contact, DonationSummary
from crm.segments import service as segments
from crm.segments.compiler import compile_rule
from crm.segments.dates import Clock

from . import audience, composing, email_render, preview, sending
from .campaign_models import Campaign
from .personalise import Settings

SEARCH_LIMIT = 10


@dataclass(frozen=True)
class Person:
    """A contact offered in the "preview as" picker."""

    id: int
    name: str
    email: str
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the person as JSON-ready values."""
        return {"id": self.id, "name": self.name, "email": self.email, "note": self.note}


def _person(contact: Contact, note: str = "") -> Person:
    return Person(contact.id, contact.full_name or contact.email, contact.email, note)


def _condition(session: Session, campaign: Campaign, clock: Clock | None) -> Any | None:
    if campaign.segment_id is None:
        return None
    try:
        rule = segments.rule_of(segments.get(session, campaign.segment_id))
        return compile_rule(rule, clock=clock, session=session)
    except CRMError:
        return None  # a deleted or broken segment: marking ready says so


def draft_audience(session: Session, campaign: Campaign,
                   clock: Clock | None = None) -> dict[str, Any] | None:
    """Count a draft's segment by email status, without taking a snapshot (None: no segment)."""
    condition = _condition(session, campaign, clock)
    if condition is None:
        return None
    rows = session.execute(select(Contact.email_status, func.count()).where(condition)
                           .group_by(Contact.email_status))
    by_status = {status: n for status, n in rows}
    out = {reason: by_status[status] for status, reason in audience.STATUS_REASONS.items()
           if by_status.get(status)}
    return {"total": sum(by_status.values()), "subscribed": by_status.get("subscribed", 0),
            "excluded": out}


def suggestions(session: Session, campaign: Campaign, clock: Clock | None = None
                ) -> list[Person]:
    """Return who to preview as first: a recipient (or segment member), and for chip-in a donor."""
    found: list[Person] = []
    if campaign.status != "draft":
        rows = audience.included_rows(session, campaign.id, limit=1)
        if rows:
            contact = session.get(Contact, rows[0].contact_id)
            if contact is not None:
                found.append(_person(contact, "first recipient"))
    condition = _condition(session, campaign, clock)
    if condition is not None:
        first = session.scalar(select(Contact).where(
            condition, Contact.email_status == "subscribed").order_by(Contact.id).limit(1))
        if first is not None and not found:
            found.append(_person(first, "first in the segment"))
        if campaign.kind == "chip_in":
            donor = session.scalar(
                select(Contact).join(DonationSummary, DonationSummary.contact_id == Contact.id)
                .where(condition, Contact.email_status == "subscribed",
                       DonationSummary.gift_count > 0)
                .order_by(DonationSummary.hpc_cents.desc(), Contact.id).limit(1))
            if donor is not None and donor.id not in {p.id for p in found}:
                found.append(_person(donor, "a donor in the segment"))
    if not found:
        anyone = session.scalar(select(Contact).where(Contact.deleted_at.is_(None))
                                .order_by(Contact.id).limit(1))
        if anyone is not None:
            found.append(_person(anyone, "no segment picked yet" if campaign.segment_id is None
                                 else "not in the segment"))
    return found


def search(session: Session, query: str, limit: int = SEARCH_LIMIT) -> list[Person]:
    """Find contacts by name or email for the picker."""
    if not query.strip():
        return []
    page = listing.page(session, listing.ContactFilter(query=query[:200]), limit=limit)
    return [_person(contact) for contact in page.items]


def unsaved(session: Session, campaign: Campaign, data: dict[str, Any]
            ) -> tuple[Campaign, dict[str, str]]:
    """Return a copy of a draft with the submitted values that pass, and the errors of the rest.

    The copy is never added to the session: it only feeds the preview.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, value in data.items():
        try:
            values.update(composing.clean(session, {key: value}))
        except ValidationFailed as exc:
            errors.update(exc.errors)
    copy = Campaign(id=campaign.id, kind=campaign.kind, status="draft", refcode=campaign.refcode,
                    created_by=campaign.created_by, segment_name=campaign.segment_name,
                    **{name: getattr(campaign, name) for name in composing.EDITABLE
                       if name != "kind"})
    for name, value in values.items():
        setattr(copy, name, value)
    return copy, errors


@dataclass
class Shown:
    """The preview the composer shows: one contact's email, or what stops it."""

    subject: str = ""
    html: str = ""
    text: str = ""
    problems: dict[str, str] = field(default_factory=dict)
    person: Person | None = None
    in_snapshot: bool = False
    excluded_reason: str = ""
    values: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the preview as the composer's script reads it."""
        return {"subject": self.subject, "html": self.html, "text": self.text,
                "problems": self.problems, "in_snapshot": self.in_snapshot,
                "excluded_reason": self.excluded_reason,
                "contact": self.person.as_dict() if self.person else None}


def merge_problems(problems: dict[str, str], more: dict[str, str]) -> None:
    """Add messages to a field-keyed dict of problems, without repeating one."""
    for key, message in more.items():
        if message not in problems.get(key, ""):
            problems[key] = " ".join(filter(None, [problems.get(key), message]))


def example_values() -> dict[str, str]:
    """Return each merge tag's example value, for a preview with nobody to show it as."""
    return {v.tag: v.example for v in email_render.VARIABLES.values() if v.tag}


def show(session: Session, campaign: Campaign, contact_id: int | None, *,
         settings: Settings, org: sending.Org, clock: Clock | None = None,
         check: bool = True) -> Shown:
    """Render a campaign as one contact (default: the first suggestion) and list its problems."""
    shown = Shown(subject=campaign.subject,
                  problems=sending.problems(campaign, org) if check else {})
    contact = session.get(Contact, contact_id) if contact_id else None
    if contact is not None and contact.deleted_at is None:
        shown.person = _person(contact)
    else:
        people = suggestions(session, campaign, clock)
        shown.person = people[0] if people else None
    try:
        if shown.person is None:
            html, text = preview.content(campaign, org)
            values = example_values()
            shown.subject = campaign.subject
            shown.html = email_render.substitute(html, values, html=True)
            shown.text = email_render.substitute(text, values, html=False)
            return shown
        found = preview.for_contact(session, campaign, shown.person.id, settings, org,
                                    inert=True)
    except ValidationFailed as exc:  # the body does not render, or a link cannot be made
        merge_problems(shown.problems, exc.errors)
        return shown
    shown.subject, shown.html, shown.text = found.subject, found.html, found.text
    shown.in_snapshot, shown.excluded_reason = found.in_snapshot, found.excluded_reason
    shown.values = found.values
    return shown
