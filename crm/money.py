"""Money as integer cents: parse what staff type, show dollars."""

from __future__ import annotations

import re
from decimal import Decimal

# Ten million dollars: far above any gift, low enough to catch a slipped decimal point.
MAX_CENTS = 1_000_000_000
_DOLLARS = re.compile(r"^(?=\.?\d)(\d*)(?:\.(\d*))?$")


def parse_dollars(raw: str | int | float | Decimal | None) -> int:
    """Return a positive dollar amount such as "25", "25.50" or "$1,250" in cents."""
    text = str(raw if raw is not None else "").strip().replace(",", "").removeprefix("$").strip()
    if not text:
        raise ValueError("Enter an amount.")
    if text.startswith("-"):
        raise ValueError("The amount must be more than zero.")
    match = _DOLLARS.match(text)
    if match is None:
        raise ValueError("Not an amount: write it like 25 or 25.50.")
    if len((match.group(2) or "").rstrip("0")) > 2:
        raise ValueError("An amount has at most 2 decimals (cents).")
    return check_cents(int(Decimal(text) * 100))


def check_cents(cents: int) -> int:
    """Return the amount if it is a positive number of cents within bounds."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise ValueError("The amount must be a whole number of cents.")
    if cents <= 0:
        raise ValueError("The amount must be more than zero.")
    if cents > MAX_CENTS:
        raise ValueError("The amount is larger than $10,000,000.00.")
    return cents


def format_cents(cents: int | None) -> str:
    """Show cents as dollars with thousands separators: 123456 -> "$1,234.56"."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(int(cents)), 100)
    return f"{sign}${dollars:,}.{rest:02d}"
