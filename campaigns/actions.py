"""What the Mailchimp pages and API start: syncs, pushes, reconciling, and the webhook."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.errors import CRMError, NotFound, ValidationFailed
from crm.job_runner import start_job
from crm.models import Job
from crm.models.jobs import FINAL_JOB_STATUSES

from . import connection, jobs, sync
from .cli import EVENTS, SOURCES, hook_url
from .mailchimp import Gateway
from .models import SyncRun


class Busy(CRMError):
    """The work asked for is running already, or is finished and cannot run again."""

    status_code = 409


class NotReady(CRMError):
    """Mailchimp is not configured well enough to sync (an API key without an audience)."""

    status_code = 409


def gateway(app: Flask, *, quick: bool = False) -> Gateway:
    """Return the app's gateway, or raise NotReady when its settings are incomplete."""
    try:
        return app.extensions["campaigns"].gateway(app, quick=quick)  # type: ignore[no-any-return]
    except connection.NotConfigured as exc:
        raise NotReady(str(exc)) from None


def audience_id(app: Flask) -> str:
    """Return the configured audience id, or raise NotReady when there is none."""
    found = connection.audience_id(app)
    if not found:
        raise NotReady("CRM_MAILCHIMP_API_KEY is set but CRM_MAILCHIMP_AUDIENCE_ID is not: "
                       "copy the audience id from Mailchimp (Audience → Settings).")
    return found


def new_sync(session: Session, app: Flask, *, segment_id: int | None, actor: str) -> SyncRun:
    """Record a sync of a saved segment (or of everyone subscribed) to the audience."""
    try:
        return sync.create(session, audience_id=audience_id(app), actor=actor,
                           segment_id=segment_id)
    except NotFound:
        raise ValidationFailed({"segment_id": f"There is no saved segment #{segment_id}."}
                               ) from None


def job_of(session: Session, record: SyncRun) -> Job | None:
    """Return the latest job of a sync, if it ever had one."""
    return session.get(Job, record.job_id) if record.job_id is not None else None


def start_sync(session: Session, record: SyncRun, *, dry_run: bool, actor: str) -> Job:
    """Start the dry run or the push (a resume after a stop) of a sync as a job."""
    current = job_of(session, record)
    if current is not None and current.status not in FINAL_JOB_STATUSES:
        raise Busy(f"Sync #{record.id} is running already: wait for it, or stop it first.")
    if record.status == "synced":
        raise Busy(f"Sync #{record.id} has pushed everything already; start a new sync "
                   "to push again.")
    if dry_run and record.counts:
        raise Busy(f"Sync #{record.id} has started pushing: resume it, or start a new sync "
                   "for a fresh dry run.")
    job = start_job(jobs.SYNC, {"sync_id": record.id, "dry_run": dry_run}, started_by=actor)
    # The job records itself on the sync when it starts; until then the page follows it too.
    record.job_id = job.id
    session.commit()
    return job


def running_reconcile(session: Session) -> Job | None:
    """Return the reconcile job that is queued or running, if any."""
    return session.scalar(select(Job).where(Job.kind == jobs.RECONCILE,
                                            Job.status.not_in(FINAL_JOB_STATUSES))
                          .order_by(Job.id.desc()).limit(1))


def start_reconcile(session: Session, *, actor: str) -> tuple[Job, bool]:
    """Start reconciling unless it runs already; return the job and whether it is new."""
    running = running_reconcile(session)
    if running is not None:
        return running, False
    return start_job(jobs.RECONCILE, {}, started_by=actor), True


def install_webhook(app: Flask, base_url: str) -> tuple[str, bool]:
    """Register this app's webhook under a public base URL; return it and whether it is new."""
    url = hook_url(base_url, app)
    found = gateway(app)
    if any(h.url == url for h in found.webhooks()):
        return url, False
    found.add_webhook(url, list(EVENTS), list(SOURCES))
    return url, True

