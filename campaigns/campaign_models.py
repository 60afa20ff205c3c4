"""Campaign tables: the appeal or ask itself, its frozen audience, and what people answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base, UTCDateTime, utcnow

KINDS = ("chip_in", "run_for_office", "general")
KIND_LABELS = {"chip_in": "Chip-in appeal", "run_for_office": "Run-for-office ask",
               "general": "General email"}
STATUSES = ("draft", "ready", "approved", "scheduled", "sending", "sent", "cancelled", "failed")
FORMATS = ("markdown", "html")
# What a recipient can answer on the landing page, and the other things we record.
ANSWERS = ("interested", "declined", "nominated")
RESPONSE_KINDS = ("clicked", *ANSWERS)


class Campaign(Base):
    """One email to a segment: its content, settings, state and Mailchimp ids."""

    __tablename__ = "crm_mc_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="general")
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200), default="")
    preview_text: Mapped[str] = mapped_column(String(200), default="")
    from_name: Mapped[str] = mapped_column(String(100), default="")
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    body_format: Mapped[str] = mapped_column(String(10), default="markdown")
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_segments.id", ondelete="SET NULL")
    )
    segment_name: Mapped[str | None] = mapped_column(String(200))
    # Chip-in settings: the ask ladder (asks.AskConfig as a dict) and the donation page.
    ask_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    donate_url: Mapped[str] = mapped_column(String(500), default="")
    refcode: Mapped[str] = mapped_column(String(60), default="")
    # Leave out anyone a sent campaign reached in the last N days (None: no such rule).
    skip_recent_days: Mapped[int | None] = mapped_column(Integer)
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False)

    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    # Every UPDATE of a campaign says "WHERE status = <the status this request read>" and
    # checks that it changed one row (SQLAlchemy's version counter, set by hand): of two
    # requests that read the same status, the second to write finds it gone and loses.
    __mapper_args__ = {"version_id_col": status, "version_id_generator": False}
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    ready_by: Mapped[str | None] = mapped_column(String(320))
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(320))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the approver saw: the segment's rule, a hash of the email, the segment's size.
    # Should any of them change (the size by more than CRM_APPROVAL_DRIFT), it no longer holds.
    approved_rule: Mapped[str | None] = mapped_column(Text)
    approved_hash: Mapped[str | None] = mapped_column(String(64))
    approved_count: Mapped[int | None] = mapped_column(Integer)
    send_requested_by: Mapped[str | None] = mapped_column(String(320))
    # Set for "schedule": the UTC quarter hour Mailchimp sends at.
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure: Mapped[str | None] = mapped_column(Text)

    # The merge-tag content frozen when the campaign was marked ready.
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    # The snapshot's counts: {"included": n, "excluded": {reason: n}, "taken_at": iso}.
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Mailchimp's side, each recorded (and committed) as soon as it is known.
    audience_id: Mapped[str | None] = mapped_column(String(40))
    mc_segment_id: Mapped[int | None] = mapped_column(Integer)
    mc_campaign_id: Mapped[str | None] = mapped_column(String(40))
    mc_web_id: Mapped[int | None] = mapped_column(Integer)
    mc_status: Mapped[str | None] = mapped_column(String(20))
    # A unique key in the Mailchimp names, so a lost answer can be looked up, not redone.
    send_key: Mapped[str | None] = mapped_column(String(40))
    send_step: Mapped[str | None] = mapped_column(String(20))
    content_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set (and committed) just before actions/send is called: from then on, a retry looks
    # up the campaign's status in Mailchimp before it may call send again.
    send_called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_calls: Mapped[int] = mapped_column(Integer, default=0)
    # How many emails Mailchimp says it sent, once it says the campaign is sent.
    emails_sent: Mapped[int | None] = mapped_column(Integer)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("crm_jobs.id", ondelete="SET NULL"))


class Recipient(Base):
    """One contact in a campaign's frozen audience, with the values they are sent."""

    __tablename__ = "crm_mc_recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("crm_mc_campaigns.id",
                                                        ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    included: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why an excluded contact is left out ("unsubscribed", "emailed in the last 7 days", …).
    reason: Mapped[str] = mapped_column(String(100), default="")
    # The merge values sent for this recipient: {"FNAME": …, "ASK1": "25", "YESURL": …}.
    merge_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The random part of the response token; a token is only good with its recipient's nonce.
    nonce: Mapped[str] = mapped_column(String(32), default="")
    # What Mailchimp held for them once their values were synced.
    mc_status: Mapped[str | None] = mapped_column(String(20))
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(20))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_crm_mc_recipients_campaign", "campaign_id", "included", "contact_id"),
        Index("ix_crm_mc_recipients_contact", "contact_id", "campaign_id"),
    )


class Response(Base):
    """Something a recipient did with a campaign: clicked, said yes or not now, nominated."""

    __tablename__ = "crm_mc_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("crm_mc_campaigns.id",
                                                        ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_mc_recipients.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    # For a nomination: the nominee's contact and what the nominator wrote.
    nominee_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
