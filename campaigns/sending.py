"""The campaign state machine: the only place a campaign changes status.

draft → ready → approved → sending → scheduled | sent, plus cancelled and failed. A move
not in ``MOVES`` raises ``IllegalMove``. Marking ready checks the email and freezes the
audience; approval needs a second organizer; sending and scheduling hand over to the send
job, which reports back through ``sent``, ``scheduled`` and ``failed``. Every move is a
compare-and-set on the status (see ``move``), so of two presses of one button one wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import StaleDataError

from crm.errors import CRMError, ValidationFailed
from crm.models import Segment, utcnow
from crm.segments.dates import Clock

from . import audience, email_render, personalise
from .campaign_models import Campaign

MOVES: dict[str, frozenset[str]] = {
    "draft": frozenset({"ready", "cancelled"}),
    "ready": frozenset({"draft", "approved", "sending", "cancelled"}),
    "approved": frozenset({"draft", "sending", "cancelled"}),
    "sending": frozenset({"sent", "scheduled", "failed", "cancelled"}),
    "scheduled": frozenset({"sent", "cancelled", "failed"}),
    "failed": frozenset({"sending", "cancelled"}),
    "sent": frozenset(),
    "cancelled": frozenset(),
}
APPROVER_ROLES = ("admin", "organizer")
# How far the segment's size may move from what the approver saw before it asks again.
DEFAULT_DRIFT = 0.10
# Mailchimp schedules on the quarter hour, in UTC, and not in the past.
SCHEDULE_LEAD = timedelta(minutes=15)


class IllegalMove(CRMError):
    """A status change the state machine does not allow."""

    status_code = 409


class ApprovalRefused(CRMError):
    """Approval by someone who may not approve this campaign."""

    status_code = 403


@dataclass(frozen=True)
class Org:
    """The organization facts every email's footer needs."""

    name: str
    postal_address: str


def move(campaign: Campaign, to: str) -> None:
    """Change a campaign's status, or raise IllegalMove.

    The change is written at once, as a compare-and-set on the status this session read:
    when another request changed it first, this one is rolled back and refused with the
    status that won.
    """
    if to not in MOVES.get(campaign.status, frozenset()):
        raise IllegalMove(f"A {campaign.status} campaign cannot become {to}.")
    campaign.status = to
    session = object_session(campaign)
    if session is None or campaign.id is None:
        return
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise IllegalMove(f"Someone else changed this campaign first: it is {campaign.status} "
                          "now.") from None


def problems(campaign: Campaign, org: Org) -> dict[str, str]:
    """Return what stops a campaign from being marked ready, by field (empty when none)."""
    found: dict[str, list[str]] = {}
    for problem in email_render.check(campaign.body, fmt=campaign.body_format,
                                      subject=campaign.subject, org_name=org.name,
                                      postal_address=org.postal_address):
        found.setdefault(problem.field, []).append(problem.message)
    if not found.get("body"):
        wrong = sorted(name for name in email_render.used_variables(campaign.body,
                                                                    campaign.body_format)
                       if name in email_render.VARIABLES
                       and campaign.kind not in email_render.VARIABLES[name].kinds)
        if wrong:
            found.setdefault("body", []).append(
                f"{', '.join('{{ ' + w + ' }}' for w in wrong)} cannot be used in a "
                f"{campaign.kind.replace('_', '-')} email.")
    if campaign.segment_id is None:
        found.setdefault("segment_id", []).append("Pick the segment this campaign goes to.")
    if not campaign.from_name:
        found.setdefault("from_name", []).append("Say who the email is from.")
    if not campaign.reply_to:
        found.setdefault("reply_to", []).append("Give a reply-to address.")
    if campaign.kind == "chip_in" and not campaign.donate_url:
        found.setdefault("donate_url", []).append(
            "A chip-in appeal needs the donation page its links go to.")
    return {field: " ".join(messages) for field, messages in found.items()}


def freeze_content(campaign: Campaign, org: Org) -> None:
    """Render the merge-tag content Mailchimp will be given and keep it on the campaign."""
    rendered = email_render.render(campaign.body, fmt=campaign.body_format,
                                   subject=campaign.subject,
                                   preview_text=campaign.preview_text, org_name=org.name,
                                   postal_address=org.postal_address)
    campaign.html, campaign.text = rendered.html, rendered.text


def mark_ready(session: Session, campaign: Campaign, *, actor: str, org: Org,
               settings: personalise.Settings, rules: audience.Rules,
               clock: Clock | None = None) -> dict[str, object]:
    """Check the campaign, freeze its content and audience, and mark it ready."""
    if campaign.status != "draft":
        raise IllegalMove(f"A {campaign.status} campaign cannot become ready.")
    found = problems(campaign, org)
    if found:
        raise ValidationFailed(found)
    freeze_content(campaign, org)
    counts = audience.take(session, campaign, settings, rules, clock=clock)
    if not counts["included"]:
        excluded = ", ".join(f"{n:,} {reason}" for reason, n in counts["excluded"].items())
        raise ValidationFailed({"segment_id": "Nobody in this segment can be emailed"
                                + (f" ({excluded})." if excluded else " (it is empty).")})
    move(campaign, "ready")
    campaign.ready_by, campaign.ready_at = actor, utcnow()
    _forget_approval(campaign)
    session.flush()
    return counts


def back_to_draft(campaign: Campaign) -> None:
    """Reopen a ready or approved campaign for editing; any approval is dropped."""
    move(campaign, "draft")
    _forget_approval(campaign)
    campaign.ready_by = campaign.ready_at = None


def _forget_approval(campaign: Campaign) -> None:
    campaign.approved_by = campaign.approved_at = None
    campaign.approved_rule = campaign.approved_hash = campaign.approved_count = None


def content_hash(campaign: Campaign) -> str:
    """Return a hash of everything of the email an approver reads."""
    parts = (campaign.subject, campaign.preview_text, campaign.from_name, campaign.reply_to,
             campaign.html or "", campaign.text or "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _segment_text(campaign: Campaign) -> str | None:
    session = object_session(campaign)
    if session is None or campaign.segment_id is None:
        return None
    found = session.get(Segment, campaign.segment_id)
    return found.text if found is not None else None


def approval_lapse(campaign: Campaign, *, drift: float = DEFAULT_DRIFT,
                   clock: Clock | None = None) -> str:
    """Say why an approved campaign's approval no longer holds ("" while it holds).

    It lapses when the segment's rule or the email changed since, or when the segment now
    holds more than ``drift`` (a fraction) more or fewer people than the approver saw.
    Consent does not move that count: an opt-out leaves the segment's members as they are.
    """
    if campaign.status != "approved" or campaign.approved_rule is None:
        return ""
    now_rule = _segment_text(campaign)
    if now_rule is None:
        return "The segment it was approved for is gone."
    if now_rule != campaign.approved_rule:
        return (f"The segment's rule changed since it was approved (from "
                f"“{campaign.approved_rule}” to “{now_rule}”).")
    if content_hash(campaign) != campaign.approved_hash:
        return "The email changed since it was approved."
    session = object_session(campaign)
    seen = campaign.approved_count or 0
    if session is not None and seen:
        total = audience.segment_total(session, campaign, clock)
        if abs(total - seen) > drift * seen:
            return (f"The segment holds {total:,} people now, not the {seen:,} it held when it "
                    f"was approved (more than {drift:.0%} apart).")
    return ""


def approve(campaign: Campaign, *, actor: str, role: str | None,
            drift: float = DEFAULT_DRIFT, clock: Clock | None = None) -> None:
    """Approve a ready campaign, or one whose approval lapsed: an organizer (or admin)
    other than its author. The approval records what it saw."""
    if role not in APPROVER_ROLES:
        raise ApprovalRefused("Only an organizer or an admin can approve a campaign.")
    if actor in {campaign.created_by, campaign.ready_by}:
        raise ApprovalRefused("A second organizer must approve: you wrote this campaign or "
                              "marked it ready.")
    # Approving again after a lapse keeps the status; its UPDATE still checks the status.
    if not (campaign.status == "approved"
            and approval_lapse(campaign, drift=drift, clock=clock)):
        move(campaign, "approved")
    campaign.approved_by, campaign.approved_at = actor, utcnow()
    campaign.approved_rule = _segment_text(campaign)
    campaign.approved_hash = content_hash(campaign)
    session = object_session(campaign)
    campaign.approved_count = (audience.segment_total(session, campaign, clock)
                               if session is not None and campaign.segment_id else None)


def check_schedule(when: datetime, now: datetime | None = None) -> datetime:
    """Return ``when`` in UTC if Mailchimp can schedule it, or raise ValidationFailed."""
    if when.tzinfo is None:
        raise ValidationFailed({"send_at": "Give the time with its time zone (UTC)."})
    moment = when.astimezone(utcnow().tzinfo)
    if moment.minute % 15 or moment.second or moment.microsecond:
        raise ValidationFailed({"send_at": "Mailchimp schedules on the quarter hour in UTC "
                                           "(:00, :15, :30 or :45)."})
    if moment < (now or utcnow()) + SCHEDULE_LEAD:
        raise ValidationFailed({"send_at": "Pick a time at least 15 minutes from now."})
    return moment


def request_send(campaign: Campaign, *, actor: str, when: datetime | None = None,
                 now: datetime | None = None, drift: float = DEFAULT_DRIFT,
                 clock: Clock | None = None) -> None:
    """Hand a ready (or approved) campaign to the send job: now, or at ``when``."""
    if campaign.status == "ready" and campaign.require_approval:
        raise IllegalMove("This campaign needs a second organizer's approval before it is "
                          "sent.")
    lapse = approval_lapse(campaign, drift=drift, clock=clock) if campaign.require_approval else ""
    if lapse:
        raise IllegalMove(f"{lapse} A second organizer must approve it again before it is "
                          "sent.")
    if campaign.status not in ("ready", "approved", "failed"):
        raise IllegalMove(f"A {campaign.status} campaign cannot be sent.")
    campaign.send_at = check_schedule(when, now) if when is not None else None
    move(campaign, "sending")
    campaign.send_requested_by = actor
    campaign.failure = None


def sent(campaign: Campaign, at: datetime | None = None) -> None:
    """Record that Mailchimp took the send."""
    move(campaign, "sent")
    campaign.sent_at = at or utcnow()


def scheduled(campaign: Campaign) -> None:
    """Record that Mailchimp holds the campaign for its scheduled time."""
    move(campaign, "scheduled")


def failed(campaign: Campaign, reason: str) -> None:
    """Record that the send job gave up; a retry resumes where it stopped."""
    move(campaign, "failed")
    campaign.failure = reason


def cancel(campaign: Campaign, *, unschedule: Callable[[str], None] | None = None) -> None:
    """Cancel a campaign not yet sent; a scheduled one is unscheduled in Mailchimp first."""
    if campaign.status == "sending" and campaign.send_called_at is not None:
        raise IllegalMove("Mailchimp is already sending this campaign.")
    if campaign.status == "scheduled" and campaign.mc_campaign_id:
        if unschedule is None:
            raise IllegalMove("Unscheduling needs Mailchimp.")
        unschedule(campaign.mc_campaign_id)
    move(campaign, "cancelled")
    campaign.cancelled_at = utcnow()


def cancelled_in_mailchimp(campaign: Campaign) -> None:
    """Record that Mailchimp cancelled a scheduled or sending campaign (done there, not here)."""
    move(campaign, "cancelled")
    campaign.cancelled_at = utcnow()
