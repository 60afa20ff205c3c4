"""Background jobs and what imports leave behind: saved column mappings and rejected rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "stopped")
FINAL_JOB_STATUSES = ("succeeded", "failed", "stopped")


class Job(Base):
    """A long piece of work (an import, later a sync or a send) and how far it got."""

    __tablename__ = "crm_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stop_requested: Mapped[bool] = mapped_column(default=False)
    started_by: Mapped[str] = mapped_column(String(320), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The process running it, "host:pid": a process that starts on that host reaps the
    # running jobs of pids that no longer exist.
    worker: Mapped[str | None] = mapped_column(String(300))

    @property
    def finished(self) -> bool:
        """Tell whether the job has reached a final status."""
        return self.status in FINAL_JOB_STATUSES

    @property
    def percent(self) -> int | None:
        """Return how far the job got in whole percent, or None while its size is unknown."""
        if self.status == "succeeded":
            return 100
        if not self.total:
            return None
        return max(0, min(100, (self.progress or 0) * 100 // self.total))


class ImportMapping(Base):
    """A column-to-field mapping staff saved for files with this header."""

    __tablename__ = "crm_import_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    header_signature: Mapped[str] = mapped_column(String(64), unique=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(320), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportReject(Base):
    """A row an import refused, with its line number, the reason and the row as read."""

    __tablename__ = "crm_import_rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("crm_jobs.id", ondelete="CASCADE"))
    line_number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    row: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_crm_import_rejects_job", "job_id", "line_number"),)
