"""Uploads waiting to be imported: forget the ones nobody came back for."""

from __future__ import annotations

import time
from collections.abc import Collection
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Job

SUFFIXES = (".csv", ".json")


def in_use(session: Session) -> set[str]:
    """Return the paths that queued or running import jobs still need."""
    stmt = select(Job.params).where(Job.kind == "import", Job.status.in_(("queued", "running")))
    return {str((params or {}).get("path")) for params in session.scalars(stmt)}


def sweep(folder: Path, max_age_seconds: float, keep: Collection[str] = (),
          now: float | None = None) -> list[str]:
    """Delete uploads older than ``max_age_seconds`` unless a job needs them; return their names.

    An upload holds personal data: one that was never imported, or whose import failed and
    was not run again, should not stay on the server for good.
    """
    cutoff = (time.time() if now is None else now) - max_age_seconds
    kept = {Path(path).resolve() for path in keep}
    removed = []
    for path in sorted(folder.glob("*")):
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        csv_path = path.with_suffix(".csv").resolve()
        try:
            old = path.stat().st_mtime < cutoff
        except FileNotFoundError:
            continue
        if old and csv_path not in kept:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed
