"""Where the CRM's Alembic migrations live, for hosts that run them."""

from __future__ import annotations

from pathlib import Path

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")
VERSIONS_DIR = str(Path(MIGRATIONS_DIR) / "versions")
