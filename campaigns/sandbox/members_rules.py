"""The checks Mailchimp applies to a member before accepting it: address, status, merge fields."""

from __future__ import annotations

import re
from typing import Any

FAKE_LOCAL_PARTS = frozenset({"test", "fake", "asdf", "noreply", "example"})
# Not example.com: the demo contacts live on the reserved example domains, so a demo sync
# would refuse a third of them. Placeholder local parts and test domains are refused.
FAKE_DOMAINS = frozenset({"mailinator.com"})
FAKE_DOMAIN_ENDINGS = (".invalid", ".test")

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_EMAIL = re.compile(rf"^{_LOCAL}@{_DOMAIN}$")
_BIRTHDAY = re.compile(r"^(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4})$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def fake_or_invalid_message(email: str) -> str:
    """Return Mailchimp's words for an address it will not take."""
    return f"{email} looks fake or invalid, please enter a real email address."


def looks_fake(email: str) -> bool:
    """Tell whether the sandbox treats a well-formed address as fake (see the package rule)."""
    local, _, domain = email.lower().rpartition("@")
    return (local in FAKE_LOCAL_PARTS or domain in FAKE_DOMAINS
            or domain.endswith(FAKE_DOMAIN_ENDINGS))


def email_problem(email: str) -> str | None:
    """Return why an address would be refused, or None when it is acceptable."""
    if not email:
        return "An email address must contain a single @."
    if len(email) > 254 or not _EMAIL.match(email) or looks_fake(email):
        return fake_or_invalid_message(email)
    return None


def status_blocked(current: str, wanted: str) -> bool:
    """Tell whether the API may not move a member from ``current`` to ``wanted``."""
    if current == "cleaned":
        return wanted != "cleaned"
    return current == "unsubscribed" and wanted == "subscribed"


def compliance_message(email: str) -> str:
    """Return Mailchimp's words for a member the API may not resubscribe."""
    return (f"{email} is in a compliance state due to unsubscribe, bounce, or compliance "
            "review and cannot be subscribed.")


def clean_merge_fields(definitions: list[dict[str, Any]] | dict[str, dict[str, Any]],
                       values: Any) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """Return the known merge values to store and the first (tag, message) that is invalid.

    ``definitions`` is the audience's merge fields, as a list or already keyed by tag.
    """
    if values is None:
        return {}, None
    if not isinstance(values, dict):
        return {}, ("merge_fields", "merge_fields should be an object of TAG: value.")
    by_tag = definitions if isinstance(definitions, dict) else {
        d["tag"]: d for d in definitions}
    clean: dict[str, Any] = {}
    for raw_tag, value in values.items():
        tag = str(raw_tag).upper()
        definition = by_tag.get(tag)
        if definition is None:
            continue  # Mailchimp ignores merge tags the audience does not have.
        message, stored = _check(definition, value)
        if message:
            return {}, (tag, message)
        clean[tag] = stored
    return clean, None


def _check(definition: dict[str, Any], value: Any) -> tuple[str | None, Any]:
    kind = definition["type"]
    if value is None or value == "":
        return None, ""
    if kind == "address":
        if not isinstance(value, dict) or not all(
                str(value.get(k) or "").strip() for k in ("addr1", "city", "state", "zip")):
            return "Please enter a complete address", None
        address = {k: str(value.get(k) or "") for k in ("addr1", "addr2", "city", "state", "zip")}
        address["country"] = str(value.get("country") or "US")
        return None, address
    if isinstance(value, dict | list):
        return "This value should be a text, not an object or a list.", None
    if kind == "number":
        if isinstance(value, bool) or not (isinstance(value, int | float)
                                           or _NUMBER.match(str(value).strip())):
            return "Please enter a number", None
        return None, value
    text = str(value)
    if kind == "birthday" and not _BIRTHDAY.match(text):
        return "Please enter a birthday as MM/DD", None
    if kind == "date" and not _DATE.match(text):
        return "Please enter a date as YYYY-MM-DD or MM/DD/YYYY", None
    choices = definition.get("options", {}).get("choices") or []
    if kind in ("dropdown", "radio") and choices and text not in choices:
        return f"Please choose one of: {', '.join(choices)}", None
    return None, text
