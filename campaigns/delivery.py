"""What Mailchimp says about a campaign's delivery, applied here through the state machine.

A scheduled campaign becomes "sent" when Mailchimp starts delivering it, and a send-now
campaign whose send call was made (its answer lost, say) too. Mailchimp's own status and,
once sent, the number of emails it sent are kept on the campaign. Mailchimp tells us on the
``campaign`` webhook, and reconciling asks it about every campaign still in flight here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import sending
from .campaign_models import Campaign
from .mailchimp import Gateway

DELIVERING = ("sending", "sent")
CANCELLED = ("cancel", "canceled", "cancelled", "canceling")


def apply(session: Session, campaign: Campaign, mc_status: str, *,
          emails_sent: int | None = None, at: datetime | None = None) -> str:
    """Bring a campaign in line with Mailchimp's status for it; return what changed."""
    changes: list[str] = []
    in_flight = campaign.status == "scheduled" or (
        campaign.status == "sending" and campaign.send_called_at is not None)
    if mc_status in DELIVERING and in_flight:
        sending.sent(campaign, at)
        changes.append("now sent")
    elif mc_status in CANCELLED and in_flight:
        sending.cancelled_in_mailchimp(campaign)
        changes.append("now cancelled")
    # A draft, or a campaign cancelled here: Mailchimp's word about it is history.
    if campaign.status in ("scheduled", "sending", "sent"):
        if mc_status and campaign.mc_status != mc_status:
            campaign.mc_status = mc_status[:20]
            changes.append(f"Mailchimp: {mc_status}")
        if emails_sent is not None and campaign.emails_sent != emails_sent:
            campaign.emails_sent = emails_sent
            changes.append(f"{emails_sent:,} emails sent")
    session.flush()
    return changes[0] if changes else "no change"


def from_webhook(session: Session, data: dict[str, Any],
                 fired_at: datetime | None) -> tuple[str, str]:
    """Apply a ``campaign`` webhook (Mailchimp finished or cancelled a send)."""
    mc_id = str(data.get("id") or "")[:40]
    status = str(data.get("status") or "").strip().lower()
    campaign = session.scalar(select(Campaign).where(Campaign.mc_campaign_id == mc_id)) \
        if mc_id else None
    if campaign is None:
        return "ignored", f"No campaign here has the Mailchimp id {mc_id!r}."
    if status not in DELIVERING + CANCELLED:
        return "ignored", f"Campaign {mc_id} reported as {status[:30]!r}."
    done = apply(session, campaign, "sent" if status == "sent" else status, at=fired_at)
    return ("applied" if done != "no change" else "no change"), f"Campaign {mc_id}: {done}."


def in_flight(session: Session) -> list[Campaign]:
    """Return the campaigns whose delivery Mailchimp has still to confirm."""
    return list(session.scalars(
        select(Campaign).where(Campaign.mc_campaign_id.is_not(None), or_(
            Campaign.status == "scheduled",
            (Campaign.status == "sending") & Campaign.send_called_at.is_not(None),
            (Campaign.status == "sent") & or_(Campaign.mc_status.is_(None),
                                              Campaign.mc_status != "sent"),
            (Campaign.status == "sent") & Campaign.emails_sent.is_(None)))
        .order_by(Campaign.id)))


def check(session: Session, gateway: Gateway) -> dict[str, int]:
    """Ask Mailchimp about each campaign in flight and apply what it says; return counts."""
    counts = {"campaigns": 0, "campaigns_changed": 0}
    for campaign in in_flight(session):
        info = gateway.campaign(str(campaign.mc_campaign_id))
        counts["campaigns"] += 1
        if info is None:
            continue
        sent = info.status == "sent"
        done = apply(session, campaign, info.status,
                     emails_sent=info.emails_sent if sent else None, at=info.send_time)
        if done != "no change":
            counts["campaigns_changed"] += 1
    return counts
