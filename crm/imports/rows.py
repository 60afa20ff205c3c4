"""Check and normalise one CSV row into a typed record, or say why it is refused."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from ..models import EMAIL_STATUSES
from ..validation import (
    normalize_email,
    normalize_phone,
    normalize_state,
    normalize_tag,
    normalize_text,
    normalize_zip,
)
from . import fast
from .extras import Refused, donation, membership
from .presets import IGNORE

TEXT = ("first_name", "last_name", "street", "city", "county", "employer", "occupation",
        "source")
CUSTOM_MAX = 1000
_GAP = re.compile(r"\s{2,}")

@dataclass(slots=True)
class Row:
    """A valid row: the contact's non-empty fields and what hangs off them."""

    line: int
    cells: list[str]
    email: str | None
    email_key: str | None
    fields: dict[str, str]
    custom: dict[str, str]
    status: str | None
    tags: list[tuple[str, str]]
    donation: dict[str, Any] | None = None
    membership: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """A refused row: where it starts, why, and the cells as read."""

    line: int
    reason: str
    row: dict[str, str]


@dataclass
class Spec:
    """A header and its mapping, compiled for checking many rows quickly."""

    header: list[str]
    mapping: dict[str, str]
    region: str = "US"
    timezone: str = "UTC"
    union: str | None = None
    # The status a row carries when the file has no status column (Mailchimp exports).
    file_status: str | None = None
    columns: dict[str, int] = field(init=False)
    custom: list[tuple[int, str]] = field(init=False)
    zone: tzinfo = field(init=False)

    def __post_init__(self) -> None:
        self.columns = {}
        self.custom = []
        for index, name in enumerate(self.header):
            target = self.mapping.get(name, IGNORE)
            if target == "custom":
                self.custom.append((index, name))
            elif target and target not in self.columns:
                self.columns[target] = index
        if "clean_time" in self.columns:
            self.file_status = "cleaned"
        elif "unsub_time" in self.columns:
            self.file_status = "unsubscribed"
        self.zone = ZoneInfo(self.timezone)


def raw_row(header: list[str], cells: list[str]) -> dict[str, str]:
    """Return the cells keyed by column, extra cells as "extra 1", "extra 2"…."""
    # PostgreSQL cannot store NUL; the replacement character shows where one was.
    clean = [cell.replace("\x00", "\ufffd") for cell in cells]
    row = dict(zip(header, clean, strict=False))
    for n, cell in enumerate(clean[len(header):], start=1):
        row[f"extra {n}"] = cell
    return row


def _short(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."


def check(spec: Spec, line: int, cells: list[str]) -> Row | Reject:
    """Return the normalised row, or a Reject with the reason."""
    try:
        return _check(spec, line, cells)
    except Refused as exc:
        return Reject(line, str(exc)[:500], raw_row(spec.header, cells))


def _check(spec: Spec, line: int, cells: list[str]) -> Row:
    width = len(spec.header)
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        raise Refused(f"row has {len(cells)} cells but the header has {width} "
                      "(a value with an unquoted delimiter?)")
    if any("\x00" in c for c in cells):
        raise Refused("contains a NUL character")
    get = {name: cells[i].strip() for name, i in spec.columns.items() if i < len(cells)}
    if address := get.pop("address", ""):
        _split_address(address, get)
    if full := get.pop("full_name", ""):
        # "Ana Maria Lopez": the last word is the family name; a column of its own wins.
        first, _, last = full.rpartition(" ") if " " in full else (full, "", "")
        get["first_name"] = get.get("first_name") or first.strip()
        get["last_name"] = get.get("last_name") or last.strip()
    email: str | None = None
    key: str | None = None
    if raw := get.get("email"):
        email, key = _email(raw)
    elif not get.get("member_id"):
        raise Refused("email is missing")
    fields: dict[str, str] = {}
    for name in TEXT:
        if value := get.get(name):
            try:
                fields[name] = normalize_text(name, value) or ""
            except ValueError as exc:
                raise Refused(f"{name.replace('_', ' ')}: {exc}") from None
    if value := get.get("phone"):
        fields["phone"] = _phone(value, spec.region)
    if value := get.get("state"):
        try:
            fields["state"] = normalize_state(value) or ""
        except ValueError:
            raise Refused(f"unknown state {_short(value.upper())!r}") from None
    if value := get.get("zip"):
        try:
            fields["zip"] = normalize_zip(value) or ""
        except ValueError:
            raise Refused(f"invalid ZIP {_short(value)!r}") from None
    custom = {}
    for index, name in spec.custom:
        if index < len(cells) and (value := cells[index].strip()):
            if len(value) > CUSTOM_MAX:
                raise Refused(f"{name}: longer than {CUSTOM_MAX} characters")
            custom[name[:64]] = value
    row = Row(line, cells, email, key, fields, custom, _status(spec, get), _tags(get.get("tags")))
    row.donation = donation(get, spec.zone)
    row.membership = membership(get, spec.zone, spec.union)
    return row


def _split_address(value: str, get: dict[str, str]) -> None:
    """Split Mailchimp's "street  city  ST  zip  country" into the fields a file left empty."""
    parts = _GAP.split(value)
    if len(parts) >= 5 and len(parts[-1]) == 2 and len(parts[-3]) == 2:
        street = " ".join(parts[:-4])
        found = {"street": street, "city": parts[-4], "state": parts[-3], "zip": parts[-2]}
    else:
        found = {"street": value}
    for name, part in found.items():
        if part and not get.get(name):
            get[name] = part


def _email(raw: str) -> tuple[str, str]:
    found = fast.email(raw)
    if found is not None:
        return found
    try:
        return normalize_email(raw)
    except ValueError:
        raise Refused(f"invalid email {_short(raw)!r}") from None


def _phone(raw: str, region: str) -> str:
    found = fast.phone(raw, region)
    if found is not None:
        return found
    try:
        return normalize_phone(raw, region) or ""
    except ValueError:
        raise Refused(f"invalid phone number {_short(raw)!r}") from None


def _status(spec: Spec, get: dict[str, str]) -> str | None:
    value = get.get("email_status", "").lower()
    if not value:
        return spec.file_status
    if value not in EMAIL_STATUSES:
        raise Refused(f"unknown email status {_short(value)!r}")
    return value


def _tags(cell: str | None) -> list[tuple[str, str]]:
    if not cell:
        return []
    # Mailchimp writes TAGS as "Tag one","Tag two"; sheets write plain comma lists.
    names = next(csv.reader([cell])) if '"' in cell else cell.split(",")
    out: dict[str, str] = {}
    for name in names:
        if name.strip():
            try:
                display, key = normalize_tag(name)
            except ValueError as exc:
                raise Refused(f"tag {_short(name)!r}: {exc}") from None
            out.setdefault(key, display)
    return [(display, key) for key, display in out.items()]
