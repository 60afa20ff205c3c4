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
from .giving import DONATION_SOURCES, Donation, DonationSummary
from .jobs import JOB_STATUSES, ImportMapping, ImportReject, Job
from .membership import MEMBERSHIP_STATUSES, Group, UnionMembership, group_members
from .pipeline import OFFICES, STAGES, Recruit, StageChange
from .segments import Segment
from .staff import ROLES, ApiToken, StaffUser

__all__ = [
    "CONSENT_METHODS",
    "DONATION_SOURCES",
    "EMAIL_STATUSES",
    "JOB_STATUSES",
    "MEMBERSHIP_STATUSES",
    "NAMING_CONVENTION",
    "OFFICES",
    "ROLES",
    "STAGES",
    "ApiToken",
    "AuditEntry",
    "Base",
    "ConsentEvent",
    "Contact",
    "Donation",
    "DonationSummary",
    "Group",
    "ImportMapping",
    "ImportReject",
    "Job",
    "Note",
    "Recruit",
    "Segment",
    "StaffUser",
    "StageChange",
    "Tag",
    "UTCDateTime",
    "UnionMembership",
    "contact_tags",
    "group_members",
    "key_string",
    "utcnow",
]
