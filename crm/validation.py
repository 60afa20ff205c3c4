"""Pure normalisers for contact fields: each returns the stored form or raises ValueError."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# USPS codes for the states, DC and the territories; a constant is clearer than a
# dependency for 56 fixed codes.
US_STATES = frozenset(
    """AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV
    NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR VI GU AS MP""".split()
)
_ZIP = re.compile(r"^(\d{5})(?:[- ]?(\d{4}))?$")

MAX_LENGTHS = {
    "email": 320,
    "first_name": 100,
    "last_name": 100,
    "street": 200,
    "city": 100,
    "county": 100,
    "employer": 200,
    "occupation": 200,
    "source": 100,
}
TAG_MAX = 100


def normalize_email(raw: str) -> tuple[str, str]:
    """Return (display, key) for an email: the trimmed original and its lowercased match key."""
    value = (raw or "").strip()
    if not value:
        raise ValueError("Email is required.")
    if len(value) > MAX_LENGTHS["email"]:
        raise ValueError("Email is longer than 320 characters.")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"Not a valid email address: {exc}") from None
    display = result.normalized
    return display, display.lower()


def normalize_phone(raw: str | None, region: str = "US") -> str | None:
    """Return the phone in E.164, or None when blank."""
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > 40:
        raise ValueError("Phone number is too long.")
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError("Not a phone number.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("Not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_state(raw: str | None) -> str | None:
    """Return the 2-letter state code in upper case, or None when blank."""
    value = (raw or "").strip().upper()
    if not value:
        return None
    if value not in US_STATES:
        raise ValueError(f"Unknown state {value!r}: use a 2-letter code such as WI.")
    return value


def normalize_zip(raw: str | None) -> str | None:
    """Return a 5-digit or ZIP+4 code as text, or None when blank."""
    value = (raw or "").strip()
    if not value:
        return None
    match = _ZIP.match(value)
    if not match:
        raise ValueError("ZIP must be 5 digits or ZIP+4 (12345-6789).")
    return match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")


def normalize_text(field: str, raw: str | None) -> str | None:
    """Trim a free-text field and enforce its length; None when blank."""
    value = (raw or "").strip()
    if not value:
        return None
    limit = MAX_LENGTHS.get(field, 200)
    if len(value) > limit:
        raise ValueError(f"Must be at most {limit} characters.")
    return value


def normalize_tag(raw: str) -> tuple[str, str]:
    """Return (display, key) for a tag name; keys compare case-insensitively."""
    value = " ".join((raw or "").split())
    if not value:
        raise ValueError("Tag names cannot be blank.")
    if len(value) > TAG_MAX:
        raise ValueError(f"Tag names are at most {TAG_MAX} characters.")
    return value, value.casefold()


def search_key(value: str | None) -> str:
    """Return the lowercased key used to search and sort names and cities."""
    return " ".join((value or "").split()).casefold()[:100]
