"""How values read on the pages: phones, times, audit values and field labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

FIELD_LABELS = {
    "email": "Email", "first_name": "First name", "last_name": "Last name", "phone": "Phone",
    "street": "Street", "city": "City", "state": "State", "zip": "ZIP", "county": "County",
    "employer": "Employer", "occupation": "Occupation", "source": "Source",
    "custom_fields": "Custom fields", "email_status": "Email status", "tags": "Tags",
    "deleted": "Deleted",
}


def phone(value: str | None) -> str:
    """Show an E.164 number the way staff dial it: national for US numbers."""
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, style)


def local_time(value: datetime | None, zone: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Show a UTC time in the organization's time zone, with the zone's abbreviation."""
    if value is None:
        return ""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = value.astimezone(tz)
    if "%H" not in fmt:
        return local.strftime(fmt)
    return f"{local.strftime(fmt)} {local.tzname()}"


def audit_value(value: Any) -> str:
    """Show an audited value as plain text: lists comma-separated, dicts as name: value."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def field_label(name: str) -> str:
    """Return the staff-facing label of a contact field."""
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
