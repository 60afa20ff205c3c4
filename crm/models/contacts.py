"""Contacts and what hangs off them: tags, consent events, notes and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, key_string, utcnow

EMAIL_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
CONSENT_METHODS = ("form", "import", "api", "staff", "mailchimp")

contact_tags = Table(
    "crm_contact_tags",
    Base.metadata,
    Column("contact_id", ForeignKey("crm_contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("crm_tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_crm_contact_tags_tag_id", "tag_id", "contact_id"),
)


class Contact(Base):
    """A person the organization knows: member, donor, recruit or official."""

    __tablename__ = "crm_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(key_string(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    first_name_key: Mapped[str] = mapped_column(key_string(100), default="")
    last_name_key: Mapped[str] = mapped_column(key_string(100), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    city_key: Mapped[str | None] = mapped_column(key_string(100))
    state: Mapped[str | None] = mapped_column(String(2), index=True)
    zip: Mapped[str | None] = mapped_column(String(10))
    county: Mapped[str | None] = mapped_column(String(100))
    employer: Mapped[str | None] = mapped_column(String(200))
    occupation: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(100))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    email_status: Mapped[str] = mapped_column(String(20), default="subscribed", index=True)
    # Indexed for segments such as "created_at within 30d".
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A merged duplicate stays as a tombstone that points at the surviving record.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )

    tags: Mapped[list[Tag]] = relationship(
        secondary=contact_tags, lazy="selectin", order_by="Tag.name_key"
    )
    consent_events: Mapped[list[ConsentEvent]] = relationship(
        back_populates="contact",
        order_by="ConsentEvent.id.desc()",
        cascade="all, delete-orphan",
        lazy="raise",
    )

    __table_args__ = (
        # The contact list pages by name with keyset pagination on this index. Search
        # reads one name-ordered page per field from the covering indexes below
        # (deleted_at is a column, not a partial-index WHERE, so SQLite can cover).
        Index("ix_crm_contacts_name_order", "last_name_key", "first_name_key", "id", "deleted_at"),
        Index("ix_crm_contacts_email_order", "email_normalized", "last_name_key", "first_name_key",
              "id", "deleted_at"),
        Index("ix_crm_contacts_first_name_order", "first_name_key", "last_name_key", "id",
              "deleted_at"),
        Index("ix_crm_contacts_city_order", "city_key", "last_name_key", "first_name_key", "id",
              "deleted_at"),
        Index("ix_crm_contacts_phone_order", "phone", "last_name_key", "first_name_key", "id",
              "deleted_at"),
    )

    @property
    def full_name(self) -> str:
        """Return the display name, falling back to the email."""
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email


class Tag(Base):
    """A free label on contacts; names match case-insensitively."""

    __tablename__ = "crm_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(key_string(100), unique=True)


class ConsentEvent(Base):
    """One change of a contact's email status: what, when, how and by whom."""

    __tablename__ = "crm_consent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    previous_status: Mapped[str | None] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="consent_events")


class Note(Base):
    """A staff note on a contact's timeline."""

    __tablename__ = "crm_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who changed what and when, with each changed field's before and after."""

    __tablename__ = "crm_audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(20))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int] = mapped_column(Integer)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_crm_audit_log_entity", "entity_type", "entity_id", "id"),)
