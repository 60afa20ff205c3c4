"""The chip-in ask ladder and donate links (pure).

Each donor is asked for three amounts built from their highest previous contribution
(HPC) or their most recent gift, rounded to amounts people are used to seeing on a
donation page. People who never gave get a fixed ladder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crm.errors import ValidationFailed

# Whole-dollar amounts a ladder may use. The list follows common donation-page buttons,
# with $3 below (a classic first small-dollar ask) and $7,500 and $10,000 above (for
# organizations whose cap allows major-donor asks); a ladder only uses those between its
# floor and cap.
FRIENDLY_AMOUNTS: tuple[int, ...] = (
    3, 5, 10, 15, 20, 25, 35, 50, 75, 100, 150, 200, 250, 500, 750,
    1000, 1500, 2000, 2500, 5000, 7500, 10000,
)
BASES = ("hpc", "last")
_REFCODE_UNSAFE = re.compile(r"[^a-z0-9_-]+")


@dataclass(frozen=True)
class AskConfig:
    """How a campaign turns a donor's giving into three asks (all amounts in whole dollars)."""

    multipliers: tuple[float, float, float] = (1, 1.5, 2)
    floor: int = 5
    cap: int = 2500
    never_given: tuple[int, int, int] = (10, 25, 50)
    basis: str = "hpc"  # "hpc": highest previous contribution; "last": most recent gift

    def __post_init__(self) -> None:
        # Accept lists (as JSON gives them back) but keep the frozen config hashable.
        for name in ("multipliers", "never_given"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        errors = _problems(self)
        if errors:
            raise ValidationFailed(errors)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AskConfig:
        """Build a config from stored or submitted settings, raising ValidationFailed."""
        errors: dict[str, str] = {}
        unknown = set(data) - {"multipliers", "floor", "cap", "never_given", "basis"}
        for name in sorted(unknown):
            errors[name] = "This is not an ask setting."
        values: dict[str, Any] = {}
        for name, parse in (("multipliers", _numbers), ("never_given", _whole_numbers),
                            ("floor", _whole), ("cap", _whole), ("basis", _basis)):
            if name in data:
                try:
                    values[name] = parse(data[name])
                except ValueError as error:
                    errors[name] = str(error)
        if errors:
            raise ValidationFailed(errors)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Return the config as plain JSON-ready values."""
        return {"multipliers": list(self.multipliers), "floor": self.floor, "cap": self.cap,
                "never_given": list(self.never_given), "basis": self.basis}

    def amounts(self) -> tuple[int, ...]:
        """Return the friendly amounts between the floor and the cap."""
        return tuple(a for a in FRIENDLY_AMOUNTS if self.floor <= a <= self.cap)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _problems(config: AskConfig) -> dict[str, str]:
    errors: dict[str, str] = {}
    m = config.multipliers
    if (not isinstance(m, tuple) or len(m) != 3 or not all(_is_number(x) for x in m)
            or not all(math.isfinite(x) and x > 0 for x in m) or not m[0] < m[1] < m[2]):
        errors["multipliers"] = "Give three increasing positive multipliers, like 1, 1.5, 2."
    floor_ok = isinstance(config.floor, int) and not isinstance(config.floor, bool)
    cap_ok = isinstance(config.cap, int) and not isinstance(config.cap, bool)
    if not floor_ok or config.floor < 1:
        errors["floor"] = "The lowest ask must be a whole number of dollars, at least 1."
    if not cap_ok or config.cap < 1:
        errors["cap"] = "The highest ask must be a whole number of dollars, at least 1."
    elif floor_ok and config.floor >= config.cap:
        errors["cap"] = "The highest ask must be more than the lowest ask."
    elif floor_ok and len(config.amounts()) < 3:
        errors["cap"] = ("Leave room for three asks: between the lowest and highest ask there "
                         f"must be at least three of {_listing(FRIENDLY_AMOUNTS)}.")
    if config.basis not in BASES:
        errors["basis"] = "Base the asks on the highest previous gift (hpc) or the last (last)."
    n = config.never_given
    if (not isinstance(n, tuple) or len(n) != 3
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in n)
            or not n[0] < n[1] < n[2]):
        errors["never_given"] = "Give three increasing whole-dollar asks, like 10, 25, 50."
    elif not errors.keys() & {"floor", "cap"} and not set(n) <= set(config.amounts()):
        errors["never_given"] = ("Each ask for people who never gave must be one of "
                                 f"{_listing(config.amounts())}.")
    return errors


def _listing(amounts: tuple[int, ...]) -> str:
    return ", ".join(f"${a:,}" for a in amounts)


def _items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip().lstrip("$") for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError("Give three values separated by commas.")


def _numbers(value: Any) -> tuple[float, ...]:
    try:
        numbers = [x if _is_number(x) else float(x) for x in _items(value)]
    except (TypeError, ValueError):
        raise ValueError("Give three numbers, like 1, 1.5, 2.") from None
    return tuple(numbers)


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("Give a whole number of dollars.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("$").replace(",", "").isdigit():
        return int(value.strip().lstrip("$").replace(",", ""))
    raise ValueError("Give a whole number of dollars.")


def _whole_numbers(value: Any) -> tuple[int, ...]:
    try:
        return tuple(_whole(x) for x in _items(value))
    except ValueError:
        raise ValueError("Give three whole-dollar amounts, like 10, 25, 50.") from None


def _basis(value: Any) -> str:
    if value not in BASES:
        raise ValueError("Base the asks on the highest previous gift (hpc) or the last (last).")
    return value


def _nearest(amounts: tuple[int, ...], target: Decimal) -> int:
    """Return the index of the amount nearest the target, the larger one on a tie."""
    best = 0
    for index, amount in enumerate(amounts):
        if abs(amount - target) <= abs(amounts[best] - target):
            best = index
    return best


def ladder(*, hpc_cents: int, last_cents: int, gift_count: int,
           config: AskConfig) -> tuple[int, int, int]:
    """Return a donor's three asks in whole dollars: strictly increasing friendly amounts."""
    base_cents = hpc_cents if config.basis == "hpc" else last_cents
    if gift_count <= 0 or base_cents <= 0:
        return config.never_given
    amounts = config.amounts()
    # Decimal keeps ties exact: $20 x 1.5 = $30 sits exactly between $25 and $35.
    base = Decimal(base_cents) / 100
    rungs = [_nearest(amounts, base * Decimal(str(m))) for m in config.multipliers]
    # Step up past any rung that repeats or undercuts the one below it...
    for i in (1, 2):
        rungs[i] = max(rungs[i], rungs[i - 1] + 1)
    # ...and when that runs past the cap, step the lower rungs down instead.
    top = len(amounts) - 1
    rungs[2] = min(rungs[2], top)
    for i in (1, 0):
        rungs[i] = min(rungs[i], rungs[i + 1] - 1)
    return amounts[rungs[0]], amounts[rungs[1]], amounts[rungs[2]]


def donate_link(base_url: str, *, refcode: str, amount: int | None) -> str:
    """Return the donation page URL with ``refcode`` and (when given) ``amount`` set."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed({"donate_url": "Give the full address of the donation page, "
                                              "starting with https://."})
    replaced = {"refcode"} if amount is None else {"refcode", "amount"}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in replaced]
    query.append(("refcode", refcode))
    if amount is not None:
        query.append(("amount", str(amount)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def refcode_for(campaign_id: int, kind: str) -> str:
    """Return the refcode that ties gifts back to a campaign, e.g. "crm-c42-chip_in"."""
    # Refcodes travel in URLs and donation exports, so keep to lowercase letters, digits,
    # dashes and underscores; the "crm-c<id>" prefix is what matching gifts back relies on.
    if isinstance(campaign_id, bool) or not isinstance(campaign_id, int) or campaign_id < 1:
        raise ValueError(f"campaign_id must be a positive integer, not {campaign_id!r}")
    suffix = _REFCODE_UNSAFE.sub("-", kind.lower()).strip("-")
    return f"crm-c{campaign_id}-{suffix}" if suffix else f"crm-c{campaign_id}"


def campaign_from_refcode(refcode: str) -> int | None:
    """Return the campaign id a refcode made by refcode_for points to, or None."""
    match = re.match(r"crm-c(\d+)(?:[-_]|$)", refcode or "")
    return int(match.group(1)) if match else None
