"""The current app's CRM pieces, for the edges (views, API, CLI)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from .segments import Clock


def db_session() -> Any:
    """Return the host's SQLAlchemy session that the CRM works in."""
    return current_app.extensions["crm"].db.session


def segment_clock() -> Clock:
    """Return the clock segments are read against: now, with dates as days in CRM_TIMEZONE."""
    try:
        zone = ZoneInfo(str(current_app.config["CRM_TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return Clock.current(zone)
