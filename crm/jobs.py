"""Background job records: create, read, stop, and the status moves a runner makes."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from .errors import NotFound, ValidationFailed
from .models import Job, utcnow
from .models.jobs import FINAL_JOB_STATUSES

FINAL = FINAL_JOB_STATUSES
MESSAGE_MAX = 500
ERROR_MAX = 2000
KIND_MAX = 50
STALE_SECONDS = 600
HEARTBEAT_SECONDS = 10.0
# A job whose heartbeat is this many beats old has lost its worker.
STALE_BEATS = 3
RECENT_MAX = 500


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _duration(seconds: int) -> str:
    if seconds % 60 == 0 and seconds >= 60:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def create(session: Session, kind: str, params: Mapping[str, Any], *,
           started_by: str) -> Job:
    """Record a new queued job of this kind with its parameters."""
    errors: dict[str, str] = {}
    kind = (kind or "").strip()
    if not kind or len(kind) > KIND_MAX:
        errors["kind"] = f"A job kind is 1 to {KIND_MAX} characters."
    if not isinstance(params, Mapping):
        errors["params"] = "Job parameters must be an object of names to values."
    if errors:
        raise ValidationFailed(errors)
    job = Job(kind=kind, params=dict(params), status="queued", progress=0, message="Queued.",
              started_by=_short(started_by or "system", 320))
    session.add(job)
    session.flush()
    return job


def get(session: Session, job_id: int) -> Job:
    """Return a job by id or raise NotFound."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job #{job_id}.")
    return job


def recent(session: Session, limit: int = 50) -> list[Job]:
    """Return the latest jobs, newest first."""
    limit = max(1, min(int(limit), RECENT_MAX))
    return list(session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))


def stale_seconds(config: Mapping[str, Any]) -> float:
    """Return how old a running job's heartbeat may be: CRM_JOB_STALE_SECONDS if set, else
    three heartbeats (CRM_JOB_HEARTBEAT_SECONDS)."""
    if config.get("CRM_JOB_STALE_SECONDS"):
        return float(config["CRM_JOB_STALE_SECONDS"])
    return STALE_BEATS * float(config.get("CRM_JOB_HEARTBEAT_SECONDS") or HEARTBEAT_SECONDS)


def request_stop(session: Session, job_id: int, *,
                 stale_after: float | None = None) -> Job:
    """Ask a job to stop; a job not started yet, or whose worker is gone, stops at once.

    ``stale_after`` (seconds) says when a running job's heartbeat is too old for a worker
    to be behind it: then nobody would ever read the request, so the job ends now.
    """
    job = get(session, job_id)
    if job.finished:
        return job
    now = utcnow()
    session.execute(update(Job).where(Job.id == job_id).values(stop_requested=True))
    if stale_after is not None:
        cutoff = now - timedelta(seconds=stale_after)
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running",
                   or_(Job.heartbeat_at < cutoff, Job.heartbeat_at.is_(None)))
            .values(status="stopped", finished_at=now,
                    message="Stopped: its worker had already stopped (no heartbeat).")
        )
    # Conditional so a runner picking the job up at this very moment wins or loses cleanly.
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="stopped", finished_at=now, message="Stopped before it started.")
    )
    session.flush()
    session.refresh(job)
    return job


def stop_requested(session: Session, job_id: int) -> bool:
    """Read from the database whether someone asked this job to stop."""
    value = session.scalar(select(Job.stop_requested).where(Job.id == job_id))
    return bool(value)


def this_worker() -> str:
    """Return this process's name on jobs it runs: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 checks that the process exists and sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def reap_dead_workers(session: Session, now: datetime | None = None) -> int:
    """Fail the running jobs of processes on this host that no longer exist; return how many.

    Called as a web or worker process starts: a job whose process was killed or restarted
    is known dead at once, without waiting for its heartbeat to go stale.
    """
    host = socket.gethostname()
    dead = []
    for job_id, worker in session.execute(
            select(Job.id, Job.worker).where(Job.status == "running",
                                             Job.worker.like(f"{host}:%"))):
        pid = str(worker).rpartition(":")[2]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            dead.append((job_id, pid))
    for job_id, pid in dead:
        session.execute(
            update(Job).where(Job.id == job_id, Job.status == "running")
            .values(status="failed", finished_at=now or utcnow(),
                    message="Failed: the worker stopped.",
                    error=f"The process running it (pid {pid}) ended before the job did."))
    session.flush()
    return len(dead)


def mark_running(session: Session, job: Job) -> bool:
    """Move a queued job to running; return False when it was not queued any more."""
    now = utcnow()
    moved = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "queued")
        .values(status="running", started_at=now, heartbeat_at=now, message="Started.",
                worker=this_worker())
    )
    session.flush()
    session.refresh(job)
    return bool(getattr(moved, "rowcount", 0))


def record_progress(session: Session, job: Job, done: int, total: int | None = None,
                    message: str = "") -> Job:
    """Store how far a running job got; a total or message left out keeps its value."""
    job.progress = max(0, int(done))
    if total is not None:
        job.total = max(0, int(total))
    if message:
        job.message = _short(message, MESSAGE_MAX)
    job.heartbeat_at = utcnow()
    session.flush()
    return job


def _finish(session: Session, job: Job, status: str, message: str) -> Job:
    now = utcnow()
    job.status = status
    job.finished_at = now
    job.heartbeat_at = now
    job.message = _short(message, MESSAGE_MAX)
    session.flush()
    return job


def mark_succeeded(session: Session, job: Job, result: Mapping[str, Any] | None = None,
                   message: str = "Done.") -> Job:
    """Finish a job that did all its work, keeping what it returned."""
    job.result = dict(result or {})
    job.error = None
    return _finish(session, job, "succeeded", message)


def mark_stopped(session: Session, job: Job, result: Mapping[str, Any] | None = None,
                 message: str = "Stopped on request.") -> Job:
    """Finish a job that stopped early because someone asked it to."""
    job.result = dict(result or {})
    return _finish(session, job, "stopped", message)


def mark_failed(session: Session, job: Job, error: str, message: str = "Failed.") -> Job:
    """Finish a job that broke, keeping the error text."""
    job.error = _short(error, ERROR_MAX) or "Unknown error."
    return _finish(session, job, "failed", message)


def reap_stale(session: Session, now: datetime | None = None, *,
               stale_seconds: float = STALE_SECONDS) -> int:
    """Fail running jobs whose worker has not beaten for too long; return how many."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=stale_seconds)
    stale = and_(
        Job.status == "running",
        or_(Job.heartbeat_at < cutoff, and_(Job.heartbeat_at.is_(None), Job.created_at < cutoff)),
    )
    # Read first: an UPDATE would take SQLite's write lock on every page view.
    ids = list(session.scalars(select(Job.id).where(stale)))
    if not ids:
        return 0
    session.execute(
        update(Job)
        .where(Job.id.in_(ids), stale)
        .values(status="failed", finished_at=now, message="Failed: the worker stopped.",
                error=f"The worker stopped: no heartbeat for over "
                      f"{_duration(int(stale_seconds))}.")
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return len(ids)
