"""Where the campaigns' Alembic migrations live: a branch of their own beside the CRM's."""

from __future__ import annotations

from pathlib import Path

VERSIONS_DIR = str(Path(__file__).resolve().parent / "migrations" / "versions")
