"""The donation and union-membership columns of a row: money, dates and member statuses."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from ..models import MEMBERSHIP_STATUSES

# Spellings of member statuses on rosters; anything else is refused rather than guessed.
MEMBER_STATUSES = {
    "active": "active", "a": "active", "member": "active", "goodstanding": "active",
    "current": "active", "retired": "retired", "retiree": "retired", "r": "retired",
    "lapsed": "lapsed", "inactive": "lapsed", "l": "lapsed", "suspended": "lapsed",
    "dropped": "lapsed", "expired": "lapsed", "terminated": "lapsed",
}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%m/%d/%Y %H:%M:%S",
                "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d")


class Refused(ValueError):
    """A row cannot be imported; the message is the reason staff read."""


def _short(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."


def parse_amount(raw: str) -> int:
    """Return an amount such as "$1,234.50" in cents; raise Refused if it is not money."""
    text = raw.replace("$", "").replace(",", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise Refused(f"amount is not a number ({_short(raw)!r})") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise Refused(f"amount is not a number of dollars and cents ({_short(raw)!r})")
    if amount <= 0:
        raise Refused(f"amount must be more than zero ({_short(raw)!r})")
    if amount >= 10**9:
        raise Refused(f"amount is too large ({_short(raw)!r})")
    return int(amount * 100)


def parse_date(raw: str, zone: tzinfo) -> datetime:
    """Return a date or time as an aware datetime; times without a zone are in ``zone``."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Refused(f"unknown date {_short(raw)!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=zone)


def donation(get: dict[str, str], zone: tzinfo) -> dict[str, Any] | None:
    """Return the gift a row records, or None; raise Refused if it is incomplete."""
    amount = get.get("donation_amount")
    receipt = get.get("donation_id")
    if not amount:
        if receipt:
            raise Refused("donation amount is missing")
        return None
    if not receipt:
        # Without a receipt id a second import could not tell the gift was already there.
        raise Refused("donation has no receipt id")
    if len(receipt) > 100:
        raise Refused("receipt id is longer than 100 characters")
    date = get.get("donation_date")
    if not date:
        raise Refused("donation date is missing")
    months = get.get("donation_recurring", "").lower()
    refcode = get.get("donation_refcode") or None
    return {
        "external_id": receipt,
        "amount_cents": parse_amount(amount),
        "received_at": parse_date(date, zone),
        "recurring": bool(months) and months not in ("0", "1", "no", "false"),
        "refcode": refcode[:100] if refcode else None,
    }


def membership(get: dict[str, str], zone: tzinfo,
               default_union: str | None) -> dict[str, Any] | None:
    """Return the union membership a row records, or None; raise Refused if it is unclear."""
    member_id = get.get("member_id") or None
    local = get.get("local") or None
    status_raw = get.get("member_status", "")
    worksite = get.get("worksite") or None
    since_raw = get.get("member_since")
    if not (member_id or local or status_raw or worksite):
        return None
    union = get.get("union_name") or default_union
    if not union:
        raise Refused("no union name: add a Union column or choose the union")
    status = "active"
    if status_raw:
        found = MEMBER_STATUSES.get("".join(status_raw.lower().split()))
        if found is None or found not in MEMBERSHIP_STATUSES:
            raise Refused(f"unknown member status {_short(status_raw)!r}")
        status = found
    for value, limit, label in ((member_id, 50, "member id"), (local, 50, "local"),
                                (worksite, 200, "worksite"), (union, 100, "union")):
        if value and len(value) > limit:
            raise Refused(f"{label} is longer than {limit} characters")
    return {"union_name": union, "member_id": member_id, "local": local, "status": status,
            "worksite": worksite,
            "since": parse_date(since_raw, zone).date() if since_raw else None}
