"""How values read on the pages: phones, times, audit values, field labels, query errors."""

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


def pointer(text: str, position: int, width: int = 72) -> tuple[str, str]:
    """Return the line of ``text`` holding a 0-based position and a caret line under it.

    A line longer than ``width`` is cut to the part around the position, marked with "…".
    """
    position = max(0, min(position, len(text)))
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = (text[start:] if end == -1 else text[start:end]).rstrip("\r")
    column = position - start
    if len(line) > width:
        left = max(0, min(column - width // 2, len(line) - width))
        cut = line[left:left + width]
        line = ("…" if left else "") + cut + ("…" if left + width < len(line) else "")
        column = column - left + (1 if left else 0)
    # Tabs keep their width in the caret line, so the caret stays under the character.
    lead = "".join("\t" if ch == "\t" else " " for ch in line[:column])
    return line, lead + "^"
