"""The CRM's tables, on the plugin's own declarative base (every table is prefixed ``crm_``)."""

from __future__ import annotations

from .base import NAMING_CONVENTION, Base, UTCDateTime, key_string, utcnow
from .contacts import (
    CONSENT_METHODS,
    EMAIL_STATUSES,
    AuditEntry,
    ConsentEvent,
    Contact,
    Note,
    Tag,
    contact_tags,
)
from .staff import ROLES, ApiToken, StaffUser

__all__ = [
    "CONSENT_METHODS",
    "EMAIL_STATUSES",
    "NAMING_CONVENTION",
    "ROLES",
    "ApiToken",
    "AuditEntry",
    "Base",
    "ConsentEvent",
    "Contact",
    "Note",
    "StaffUser",
    "Tag",
    "UTCDateTime",
    "contact_tags",
    "key_string",
    "utcnow",
]
