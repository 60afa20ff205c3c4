"""The background jobs campaigns adds to the CRM's runner: sync and reconcile."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from crm import jobs as crm_jobs
from crm.current import segment_clock
from crm.job_runner import Reporter
from crm.models import Job

from . import campaign_config, composing, reconcile, send_job, sending, sync
from .campaign_models import Campaign

SYNC = "mailchimp_sync"
RECONCILE = "mailchimp_reconcile"
SEND = "campaign_send"


def gateway() -> Any:
    """Return the current app's gateway."""
    return current_app.extensions["campaigns"].gateway(current_app)


def run_sync(session: Session, job: Job, reporter: Reporter) -> dict[str, Any]:
    """Plan (dry run) or push a sync; a push resumes where the sync stopped."""
    record = sync.get(session, int(job.params["sync_id"]))
    record.job_id = job.id
    config = current_app.config
    limit = int(config["CRM_MAILCHIMP_MERGE_FIELD_LIMIT"])
    try:
        if job.params.get("dry_run"):
            plan = sync.dry_run(session, gateway(), record, reporter, clock=segment_clock(),
                                merge_field_limit=limit)
            c = plan["counts"]
            reporter.summary = (f"Dry run: {plan['to_push']:,} to push ({c['add']:,} to add, "
                                f"{c['update']:,} to update); {c['unchanged']:,} unchanged, "
                                f"{c['skip']:,} skipped.")
            return plan
        counts = sync.push(session, gateway(), record, reporter, clock=segment_clock(),
                           connections=int(config["CRM_MAILCHIMP_MAX_CONNECTIONS"]),
                           merge_field_limit=limit)
        reporter.summary = (f"{counts['added']:,} added, {counts['updated']:,} updated, "
                            f"{counts['unchanged']:,} unchanged, {counts['skipped']:,} skipped, "
                            f"{counts['errors']:,} to review, {counts['calls']:,} API calls.")
        return counts
    except Exception:
        session.rollback()
        record = sync.get(session, int(job.params["sync_id"]))
        if record.status in ("planning", "syncing"):
            record.status = "failed"
        session.commit()
        raise


def run_reconcile(session: Session, job: Job, reporter: Reporter) -> dict[str, Any]:
    """Pull Mailchimp's status changes since the last run and apply them."""
    counts = reconcile.run(session, gateway(), progress=reporter)
    reporter.summary = (f"{counts['applied']:,} changes applied from {counts['examined']:,} "
                        f"members Mailchimp changed; {counts['campaigns_changed']:,} of "
                        f"{counts['campaigns']:,} campaigns in flight updated.")
    reporter.progress(counts["examined"], counts["examined"], reporter.summary)
    return counts


def sender(session: Session, campaign_id: int, reporter: Any) -> send_job.Sender:
    """Build the send job's worker for a campaign from the current app's settings."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    campaign = composing.get(session, campaign_id)
    return send_job.Sender(
        session=session, gateway=gateway(), campaign=campaign, progress=reporter,
        settings=campaign_config.settings(app, campaign), rules=campaign_config.rules(app),
        connections=int(app.config["CRM_MAILCHIMP_MAX_CONNECTIONS"]),
        merge_field_limit=int(app.config["CRM_MAILCHIMP_MERGE_FIELD_LIMIT"]),
        clock=segment_clock())


def run_send(session: Session, job: Job, reporter: Reporter) -> dict[str, Any]:
    """Send (or schedule) a campaign, resuming at the step an earlier run stopped at."""
    campaign_id = int(job.params["campaign_id"])
    worker = sender(session, campaign_id, reporter)
    worker.campaign.job_id = job.id
    try:
        result = worker.run()
    except send_job.SendStopped as exc:
        reporter.summary = str(exc)
        return {"campaign_id": campaign_id, "stopped": True}
    except Exception as exc:
        session.rollback()
        campaign = composing.get(session, campaign_id)
        if campaign.status == "cancelled":
            # Cancelled by staff meanwhile: the job's next write found the status changed.
            reporter.summary = ("Cancelled while it was being prepared: nothing more went to "
                                "Mailchimp.")
            return {"campaign_id": campaign_id, "stopped": True}
        if campaign.status == "sending":
            sending.failed(campaign, str(exc))
        session.commit()
        raise
    reporter.summary = (f"Sent to {result['recipients']:,} recipients."
                        if result["status"] == "sent" else
                        f"Scheduled for {result['recipients']:,} recipients.")
    return result


def settle_dead_send(session: Session, campaign: Campaign, *, stale_after: float) -> bool:
    """Fail a sending campaign whose send job died (killed, restarted, or gone stale), so
    Retry takes it and resumes at the step it reached; return whether it changed."""
    if campaign.status != "sending" or campaign.job_id is None:
        return False
    crm_jobs.reap_stale(session, stale_seconds=stale_after)
    job = session.get(Job, campaign.job_id)
    if job is None or job.status not in ("failed", "stopped"):
        return False
    why = (job.error or job.message or "").strip()
    sending.failed(campaign, f"The send job {job.status} before the send was done"
                   + (f" ({why})" if why else "") + ". Retry resumes at the step it reached.")
    return True


def install(crm_state: Any) -> None:
    """Register the job kinds with the CRM."""
    crm_state.add_job_handler(SYNC, run_sync)
    crm_state.add_job_handler(RECONCILE, run_reconcile)
    crm_state.add_job_handler(SEND, run_send)
