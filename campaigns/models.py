"""Campaign tables on the CRM's base: the sync ledger, sync runs, review queue, webhook log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base, UTCDateTime, utcnow

from . import members

SYNC_SCOPES = ("emailable", "segment", "campaign")
SYNC_STATUSES = ("planning", "planned", "syncing", "synced", "stopped", "failed")
WEBHOOK_TYPES = ("subscribe", "unsubscribe", "profile", "upemail", "cleaned", "campaign")


class LedgerEntry(Base):
    """What Mailchimp last accepted for one contact in one audience, and when."""

    __tablename__ = "crm_mc_ledger"

    audience_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str] = mapped_column(String(320))
    # The member status Mailchimp holds, as far as we know (from syncs, webhooks, reconciling).
    status: Mapped[str] = mapped_column(String(20))
    payload_hash: Mapped[str] = mapped_column(String(64))
    # The accepted payload's values on one line (``members.flatten``; the hash is of this
    # text), so a dry run can show field-level changes.
    payload_text: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_crm_mc_ledger_contact", "contact_id"),)


    @property
    def payload(self) -> dict[str, Any]:
        """Return the accepted payload."""
        return members.unflatten(self.payload_text)


class SyncRun(Base):
    """One push of a segment (or everyone emailable) to the audience: plan, counts, cursor."""

    __tablename__ = "crm_mc_syncs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audience_id: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(20), default="emailable")
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_segments.id", ondelete="SET NULL")
    )
    segment_name: Mapped[str | None] = mapped_column(String(200))
    # A campaign's send: its included recipients, with their merge values for that campaign.
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_mc_campaigns.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="planning")
    job_id: Mapped[int | None] = mapped_column(ForeignKey("crm_jobs.id", ondelete="SET NULL"))
    # The dry run's counts, reasons, sample changes and warnings.
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the push did so far: added, updated, unchanged, skipped, errors, calls.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The last contact id whose batch was settled; a resumed push starts after it.
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewItem(Base):
    """A member Mailchimp refused; it waits here until staff fix or dismiss it."""

    __tablename__ = "crm_mc_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_mc_syncs.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    code: Mapped[str] = mapped_column(String(60), default="")
    field: Mapped[str] = mapped_column(String(60), default="")
    message: Mapped[str] = mapped_column(String(1000))
    # The refused payload: until the contact changes, syncs skip it instead of retrying.
    payload_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    resolution: Mapped[str | None] = mapped_column(String(200))


class WebhookEvent(Base):
    """One delivery Mailchimp made to our webhook, kept with what we did about it."""

    __tablename__ = "crm_mc_webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A hash of the delivery, so Mailchimp's retries of the same event change nothing twice.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(30))
    fired_at: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL"), index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class MailchimpMark(Base):
    """A named moment or value the Mailchimp side keeps (e.g. when reconciling last ran)."""

    __tablename__ = "crm_mc_marks"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# The campaign tables share this metadata (migrations and create_all see them through here).
from .campaign_models import Campaign, Recipient, Response  # noqa: E402

__all__ = ["Campaign", "LedgerEntry", "MailchimpMark", "Recipient", "Response", "ReviewItem",
           "SyncRun", "WebhookEvent"]
