"""Union memberships and named static groups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, key_string, utcnow

MEMBERSHIP_STATUSES = ("active", "retired", "lapsed")


class UnionMembership(Base):
    """A contact's membership of a union local."""

    __tablename__ = "crm_union_memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True
    )
    union_name: Mapped[str] = mapped_column(String(100))
    local: Mapped[str | None] = mapped_column(String(50))
    member_id: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="active")
    worksite: Mapped[str | None] = mapped_column(String(200))
    since: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # A roster matches members on their id within the union.
        UniqueConstraint("union_name", "member_id", name="uq_crm_union_memberships_member"),
        Index("ix_crm_union_memberships_union", "union_name", "local", "status"),
        # Segments on union.status read the matching members' contact ids from here.
        Index("ix_crm_union_memberships_status", "status", "contact_id"),
    )


class Group(Base):
    """A named static group, such as a working group or a steering committee."""

    __tablename__ = "crm_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(key_string(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


group_members = Table(
    "crm_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("crm_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("crm_contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", UTCDateTime, default=utcnow, nullable=False),
    Column("added_by", String(320), nullable=False, default="system"),
    Index("ix_crm_group_members_contact", "contact_id", "group_id"),
)
