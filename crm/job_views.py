"""Background jobs: pages to watch and stop them, their API, the runner and a command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from flask import Flask, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy.exc import SQLAlchemyError

from . import jobs
from .access import require
from .api import api_bp
from .cli import crm_cli
from .current import db_session as _session
from .errors import CRMError
from .job_runner import CeleryRunner, ThreadRunner, run_now
from .models import Job
from .panels import NavItem
from .views import bp

if TYPE_CHECKING:
    from .extension import CRMState


class StopForm(FlaskForm):
    """Ask a running job to stop (only the CSRF token)."""


class JobSchema(Schema):
    """A background job as the API returns it."""

    id = fields.Integer()
    kind = fields.String()
    status = fields.String(metadata={"description": "queued, running, succeeded, failed or "
                                                    "stopped."})
    progress = fields.Integer(metadata={"description": "Units of work done so far."})
    total = fields.Integer(allow_none=True, metadata={"description": "Null while unknown."})
    percent = fields.Integer(allow_none=True, metadata={"description": "0 to 100, or null."})
    message = fields.String()
    error = fields.String(allow_none=True)
    result = fields.Dict()
    started_by = fields.String()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class JobListSchema(Schema):
    """The latest jobs, newest first."""

    items = fields.List(fields.Nested(JobSchema))


class JobListArgsSchema(Schema):
    """Query string of the job list."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))



def _fresh_jobs() -> None:
    """Fail jobs whose worker went away, so what staff read is true."""
    seconds = jobs.stale_seconds(current_app.config)
    if jobs.reap_stale(_session(), stale_seconds=seconds):
        _session().commit()


def _get_or_404(job_id: int) -> Job:
    try:
        return jobs.get(_session(), job_id)
    except CRMError:
        abort(404)


@bp.route("/jobs")
@require("view")
def job_list() -> ResponseReturnValue:
    """List the latest background jobs."""
    _fresh_jobs()
    return render_template("crm/jobs/list.html", jobs=jobs.recent(_session()))


@bp.route("/jobs/<int(max=2147483647):job_id>")
@require("view")
def job_detail(job_id: int) -> ResponseReturnValue:
    """Show one job with a progress bar that follows it live."""
    _fresh_jobs()
    job = _get_or_404(job_id)
    return render_template("crm/jobs/detail.html", job=job, stop_form=StopForm())


@bp.route("/jobs/<int(max=2147483647):job_id>/stop", methods=["POST"])
@require("edit")
def job_stop(job_id: int) -> ResponseReturnValue:
    """Ask a job to stop after its current batch."""
    _get_or_404(job_id)
    if StopForm().validate_on_submit():
        job = jobs.request_stop(_session(), job_id,
                                stale_after=jobs.stale_seconds(current_app.config))
        _session().commit()
        if job.status == "stopped":
            flash("Stopped before it started.", "success")
        elif job.finished:
            flash("This job had already finished.", "info")
        else:
            flash("Stop requested: the job stops after its current batch.", "success")
    else:
        flash("The form expired; please try again.", "danger")
    return redirect(url_for("crm.job_detail", job_id=job_id))


@api_bp.route("/jobs", endpoint="job_list")
@api_bp.arguments(JobListArgsSchema, location="query", unknown=RAISE)
@api_bp.response(200, JobListSchema)
def job_list_api(args: dict[str, Any]) -> dict[str, Any]:
    """List the latest background jobs, newest first."""
    _fresh_jobs()
    return {"items": jobs.recent(_session(), limit=args["limit"])}


@api_bp.route("/jobs/<int(max=2147483647):job_id>")
@api_bp.response(200, JobSchema)
def job_get(job_id: int) -> Job:
    """Get one job and how far it got."""
    _fresh_jobs()
    return jobs.get(_session(), job_id)


@api_bp.route("/jobs/<int(max=2147483647):job_id>/stop", methods=["POST"], endpoint="job_stop")
@api_bp.response(200, JobSchema)
def job_stop_api(job_id: int) -> Job:
    """Ask a job to stop; one that has not started stops at once."""
    job = jobs.request_stop(_session(), job_id,
                            stale_after=jobs.stale_seconds(current_app.config))
    _session().commit()
    return job


@crm_cli.command("run-job")
@click.argument("job_id", type=int)
def run_job_command(job_id: int) -> None:
    """Run a queued job in this process and print how it ended."""
    try:
        job = run_now(current_app._get_current_object(), job_id)
    except CRMError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Job #{job.id} {job.status}: {job.message}")
    if job.error:
        click.echo(job.error, err=True)


def reap_at_start(app: Flask, state: CRMState) -> None:
    """Fail the jobs that processes of this host left running when they died."""
    with app.app_context():
        session = state.db.session
        try:
            if jobs.reap_dead_workers(session):
                session.commit()
        except SQLAlchemyError:
            # No tables yet (before the first migration): nothing can have been left running.
            session.rollback()
        finally:
            session.remove()


def install(app: Flask, state: CRMState) -> None:
    """Choose the job runner and add the Jobs link."""
    app.config.setdefault("CRM_CELERY_BROKER_URL", None)
    app.config.setdefault("CRM_CELERY_RESULT_BACKEND", None)
    app.config.setdefault("CRM_JOB_STALE_SECONDS", None)
    app.config.setdefault("CRM_JOB_HEARTBEAT_SECONDS", jobs.HEARTBEAT_SECONDS)
    if app.config["CRM_CELERY_BROKER_URL"]:
        state.job_runner = CeleryRunner(app)
    else:
        state.job_runner = ThreadRunner()
    reap_at_start(app, state)
    state.add_nav_item(NavItem("Jobs", "crm.job_list", "view", 80))
