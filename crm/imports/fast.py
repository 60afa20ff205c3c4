"""Fast paths for the common shapes of email addresses and US phone numbers.

Each returns exactly what the library normaliser in crm.validation would, or None when the
value is not a shape it is sure about; the caller then asks the library. The tests prove
the equality with generated inputs.
"""

from __future__ import annotations

import re

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from phonenumbers import PhoneMetadata

_LOCAL = r"[A-Za-z0-9_%+'-]+(?:\.[A-Za-z0-9_%+'-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
_SPECIAL = tuple(SPECIAL_USE_DOMAIN_NAMES)

_PHONE = re.compile(r"(?:\+?1[ .-]?)?(?:\((\d{3})\)|(\d{3}))[ .-]?(\d{3})[ .-]?(\d{4})")
_US = PhoneMetadata.metadata_for_region("US")
# Geographic US numbers: the library's own pattern, so it stays in step with its metadata.
_US_GEOGRAPHIC = re.compile(_US.fixed_line.national_number_pattern) if _US else None


def email(raw: str) -> tuple[str, str] | None:
    """Return (display, key) for a plain ASCII address, or None to ask the library."""
    value = raw.strip()
    match = _EMAIL.fullmatch(value)
    if match is None or len(value) > 254:
        return None
    local, domain = match.groups()
    lower = domain.lower()
    # Labels like "xn--" are IDNA and reserved names are refused: the library decides those.
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    if any(lower == name or lower.endswith("." + name) for name in _SPECIAL):
        return None
    display = f"{local}@{lower}"
    return display, display.lower()


def phone(raw: str, region: str) -> str | None:
    """Return E.164 for a 10-digit US geographic number, or None to ask the library."""
    if region != "US" or _US_GEOGRAPHIC is None:
        return None
    match = _PHONE.fullmatch(raw.strip())
    if match is None:
        return None
    area_paren, area, exchange, line = match.groups()
    national = (area_paren or area) + exchange + line
    if _US_GEOGRAPHIC.fullmatch(national) is None:
        return None
    return "+1" + national
