"""Donations, in integer cents, and each contact's giving summary."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

DONATION_SOURCES = ("actblue", "manual", "api", "import")


class Donation(Base):
    """One gift: amount in cents, when, whether recurring, its refcode and external id."""

    __tablename__ = "crm_donations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recurring: Mapped[bool] = mapped_column(default=False)
    refcode: Mapped[str | None] = mapped_column(String(100), index=True)
    # The receipt id of the donation platform; unique so re-imports change nothing.
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    source: Mapped[str] = mapped_column(String(20), default="manual")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="system")

    # Covers a contact's gifts by date and the windowed totals of segments
    # (donations.total_since) without reading the table.
    __table_args__ = (
        Index("ix_crm_donations_contact", "contact_id", "received_at", "amount_cents"),
    )


class DonationSummary(Base):
    """A contact's giving at a glance, kept in step with their donations."""

    __tablename__ = "crm_donation_summaries"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), primary_key=True
    )
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    # Indexed for segments ("gave 3 times or more", "HPC of $250 or more", "first gave
    # this month"); the total and the latest gift were indexed already.
    gift_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # Highest previous contribution: the ask ladder starts from it.
    hpc_cents: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    first_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    recurring: Mapped[bool] = mapped_column(default=False)
