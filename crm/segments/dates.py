"""The clock rules are evaluated against: "now", relative windows and calendar days in a zone."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from .ast import RelativeWindow

# Longest windows staff may write; far past any real use, small enough for date arithmetic.
MAX_WINDOW = {"d": 36_500, "w": 5_200, "m": 1_200, "y": 100}


@dataclass(frozen=True)
class Clock:
    """The moment a rule is evaluated and the zone its calendar dates are days in."""

    now: datetime
    zone: tzinfo = field(default=UTC)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("The clock needs an aware datetime.")

    @classmethod
    def current(cls, zone: tzinfo = UTC) -> Clock:
        """Return a clock at the present moment."""
        return cls(datetime.now(UTC), zone)

    def ago(self, window: RelativeWindow) -> datetime:
        """Return the moment ``window`` before now, in UTC (months count calendar months)."""
        if window.unit in ("d", "w"):
            days = window.amount * (7 if window.unit == "w" else 1)
            return (self.now - timedelta(days=days)).astimezone(UTC)
        months = window.amount * (12 if window.unit == "y" else 1)
        local = self.now.astimezone(self.zone)
        year, month = divmod(local.year * 12 + local.month - 1 - months, 12)
        day = min(local.day, calendar.monthrange(year, month + 1)[1])
        return local.replace(year=year, month=month + 1, day=day).astimezone(UTC)

    def day_start(self, day: date) -> datetime:
        """Return the first moment of a calendar day in the clock's zone, in UTC."""
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)

    def day_end(self, day: date) -> datetime:
        """Return the first moment after a calendar day, in UTC."""
        return self.day_start(day + timedelta(days=1))


def check_window(window: RelativeWindow) -> RelativeWindow:
    """Return the window if its size is sensible, else raise ValueError."""
    if window.unit not in MAX_WINDOW:
        raise ValueError("use d, w, m or y for days, weeks, months or years")
    if not 1 <= window.amount <= MAX_WINDOW[window.unit]:
        raise ValueError(f"windows run from 1{window.unit} to "
                         f"{MAX_WINDOW[window.unit]}{window.unit}")
    return window


_WINDOW = re.compile(r"(\d{1,6})([dwmy])", re.IGNORECASE)


def parse_window(text: str) -> RelativeWindow:
    """Return the window written like 30d, 6w, 12m or 2y, or raise ValueError."""
    match = _WINDOW.fullmatch(text.strip())
    if match is None:
        raise ValueError("write it like 30d, 6w, 12m or 2y")
    return check_window(RelativeWindow(int(match.group(1)), match.group(2).lower()))
