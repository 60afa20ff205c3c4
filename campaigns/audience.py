"""A campaign's audience: the segment frozen into one recipient row per contact.

Each row holds the merge values that will be sent and, for a run-for-office ask, the nonce
its response token is tied to. Contacts who may not be emailed are kept as excluded rows
with the reason, so staff see who was left out and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from crm.errors import ValidationFailed
from crm.models import Contact, DonationSummary, Group, group_members, utcnow
from crm.segments import service as segments
from crm.segments.compiler import compile_rule
from crm.segments.dates import Clock

from . import personalise, tokens
from .campaign_models import Campaign, Recipient
from .models import LedgerEntry

STATUS_REASONS = {
    "unsubscribed": "unsubscribed",
    "cleaned": "cleaned (the address bounced)",
    "pending": "has not confirmed their opt-in",
    "transactional": "not on the marketing list",
}
MAILCHIMP_REASONS = {"unsubscribed": "unsubscribed in Mailchimp",
                     "cleaned": "cleaned in Mailchimp"}
CHUNK = 2000


@dataclass(frozen=True)
class Rules:
    """Who the snapshot leaves out besides opt-outs."""

    suppression_groups: Sequence[str] = ()
    audience_id: str | None = None  # where Mailchimp's own opt-outs are known (the ledger)


def _segment_condition(session: Session, campaign: Campaign, clock: Clock | None) -> Any:
    if campaign.segment_id is None:
        raise ValidationFailed({"segment_id": "Pick the segment this campaign goes to."})
    rule = segments.rule_of(segments.get(session, campaign.segment_id))
    return compile_rule(rule, clock=clock, session=session)


def segment_total(session: Session, campaign: Campaign, clock: Clock | None = None) -> int:
    """Count the contacts the campaign's segment holds now, whatever their email status."""
    condition = _segment_condition(session, campaign, clock)
    return int(session.scalar(select(func.count()).select_from(Contact).where(condition)) or 0)


def _suppressed(session: Session, names: Iterable[str]) -> dict[int, str]:
    keys = [n.strip().lower() for n in names if n.strip()]
    if not keys:
        return {}
    rows = session.execute(
        select(group_members.c.contact_id, Group.name)
        .join(Group, Group.id == group_members.c.group_id)
        .where(func.lower(Group.name).in_(keys)))
    return {contact_id: f"in the suppression group {name}" for contact_id, name in rows}


def _recently_emailed(session: Session, campaign: Campaign, now: datetime) -> set[int]:
    if not campaign.skip_recent_days:
        return set()
    since = now - timedelta(days=campaign.skip_recent_days)
    return set(session.scalars(
        select(Recipient.contact_id).join(Campaign, Campaign.id == Recipient.campaign_id)
        .where(Campaign.id != campaign.id, Campaign.status == "sent", Campaign.sent_at >= since,
               Recipient.included.is_(True))))


def _mailchimp_opt_outs(session: Session, audience_id: str | None) -> dict[int, str]:
    if not audience_id:
        return {}
    rows = session.execute(select(LedgerEntry.contact_id, LedgerEntry.status).where(
        LedgerEntry.audience_id == audience_id,
        LedgerEntry.status.in_(tuple(MAILCHIMP_REASONS))))
    return {contact_id: MAILCHIMP_REASONS[status] for contact_id, status in rows}


def exclusion(email_status: str, contact_id: int, *, suppressed: dict[int, str],
              recent: set[int], mailchimp: dict[int, str], days: int | None) -> str:
    """Return why a contact is left out of a campaign, or "" when they get it."""
    if email_status != "subscribed":
        return STATUS_REASONS.get(email_status, email_status)
    if contact_id in mailchimp:
        return mailchimp[contact_id]
    if contact_id in suppressed:
        return suppressed[contact_id]
    if contact_id in recent:
        return f"emailed in the last {days} days"
    return ""


def take(session: Session, campaign: Campaign, settings: personalise.Settings, rules: Rules, *,
         clock: Clock | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Freeze the campaign's segment into recipient rows; return the counts by reason."""
    now = now or utcnow()
    condition = _segment_condition(session, campaign, clock)
    suppressed = _suppressed(session, rules.suppression_groups)
    recent = _recently_emailed(session, campaign, now)
    mailchimp = _mailchimp_opt_outs(session, rules.audience_id)
    session.execute(delete(Recipient).where(Recipient.campaign_id == campaign.id))
    rows = session.execute(
        select(Contact.id, Contact.email, Contact.email_status, Contact.first_name,
               Contact.last_name, DonationSummary.hpc_cents, DonationSummary.last_cents,
               DonationSummary.gift_count)
        .outerjoin(DonationSummary, DonationSummary.contact_id == Contact.id)
        .where(condition).order_by(Contact.id))
    reasons: Counter[str] = Counter()
    batch: list[dict[str, Any]] = []
    included = 0
    needs_token = campaign.kind == "run_for_office"
    for cid, email, status, first, last, hpc, last_cents, count in rows:
        reason = exclusion(status, cid, suppressed=suppressed, recent=recent,
                           mailchimp=mailchimp, days=campaign.skip_recent_days)
        values: dict[str, Any] = {}
        if reason:
            reasons[reason] += 1
        else:
            included += 1
            values = personalise.member_values(first or "", last or "")
            if not needs_token:  # response links need the row's id: filled in below
                values.update(personalise.campaign_values(
                    settings, personalise.Giving(hpc or 0, last_cents or 0, count or 0)))
        batch.append({"campaign_id": campaign.id, "contact_id": cid, "email": email,
                      "included": not reason, "reason": reason, "merge_values": values,
                      "nonce": tokens.new_nonce() if needs_token and not reason else ""})
        if len(batch) >= CHUNK:
            session.execute(Recipient.__table__.insert(), batch)
            batch = []
    if batch:
        session.execute(Recipient.__table__.insert(), batch)
    if needs_token:
        _fill_response_links(session, campaign, settings)
    campaign.audience = {"included": included, "excluded": dict(reasons.most_common()),
                         "taken_at": now.isoformat()}
    session.flush()
    return campaign.audience


def _fill_response_links(session: Session, campaign: Campaign,
                         settings: personalise.Settings) -> None:
    rows = session.execute(select(Recipient.id, Recipient.nonce, Recipient.merge_values).where(
        Recipient.campaign_id == campaign.id, Recipient.included.is_(True)))
    changes = []
    for rid, nonce, values in rows:
        merged = dict(values or {})
        merged.update(personalise.campaign_values(settings, personalise.Giving(),
                                                  recipient_id=rid, nonce=nonce))
        changes.append({"rid": rid, "values": merged})
    for start in range(0, len(changes), CHUNK):
        session.execute(
            update(Recipient.__table__).where(Recipient.__table__.c.id == bindparam("rid"))
            .values(merge_values=bindparam("values")),
            changes[start:start + CHUNK])


def counts(session: Session, campaign_id: int) -> dict[str, Any]:
    """Return included and excluded counts by reason, read from the recipient rows."""
    rows = session.execute(
        select(Recipient.included, Recipient.reason, func.count())
        .where(Recipient.campaign_id == campaign_id)
        .group_by(Recipient.included, Recipient.reason))
    result: dict[str, Any] = {"included": 0, "excluded": {}}
    for included, reason, n in rows:
        if included:
            result["included"] += n
        else:
            result["excluded"][reason] = n
    return result


def recipient(session: Session, campaign_id: int, contact_id: int) -> Recipient | None:
    """Return a contact's row in a campaign's snapshot, if any."""
    return session.scalar(select(Recipient).where(
        and_(Recipient.campaign_id == campaign_id, Recipient.contact_id == contact_id)))


def included_rows(session: Session, campaign_id: int, *, after_id: int = 0,
                  limit: int = 50) -> list[Recipient]:
    """Return included recipients in id order after ``after_id`` (for pickers and the inbox)."""
    return list(session.scalars(
        select(Recipient).where(Recipient.campaign_id == campaign_id,
                                Recipient.included.is_(True), Recipient.id > after_id)
        .order_by(Recipient.id).limit(limit)))
