"""The current app's CRM pieces, for the edges (views, API, CLI)."""

from __future__ import annotations

from typing import Any

from flask import current_app


def db_session() -> Any:
    """Return the host's SQLAlchemy session that the CRM works in."""
    return current_app.extensions["crm"].db.session
