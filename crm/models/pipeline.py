"""The recruitment pipeline: where each recruit stands and every move they made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

STAGES = ("prospect", "contacted", "interested", "in_training", "candidate", "elected",
          "declined")
OFFICES = ("school_board", "city_council", "county_board", "state_house", "state_senate",
           "other")


class Recruit(Base):
    """A contact in the recruitment pipeline (one row per contact)."""

    __tablename__ = "crm_recruits"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(20), default="prospect", index=True)
    target_office: Mapped[str | None] = mapped_column(String(20))
    jurisdiction: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(320))
    nominated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StageChange(Base):
    """One move of a recruit between stages, with who moved them and when."""

    __tablename__ = "crm_stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_crm_stage_changes_contact", "contact_id", "id"),)
