"""Sync pages: start one with a dry run, read its plan, push it, stop and resume it."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from crm import access
from crm import jobs as crm_jobs
from crm.access import require
from crm.current import db_session as _session
from crm.errors import CRMError, ValidationFailed
from crm.forms import ConfirmForm
from crm.segments import service as segment_service
from crm.views import _fail

from . import actions, browse, connection, review, sync
from .forms import DismissForm, SyncForm
from .models import SyncRun
from .views import bp

ID = "int(max=2147483647)"


def _sync_or_404(sync_id: int) -> SyncRun:
    try:
        return sync.get(_session(), sync_id)
    except CRMError:
        abort(404)


def _back(record: SyncRun) -> ResponseReturnValue:
    return redirect(url_for("campaigns.sync_detail", sync_id=record.id))


def _expired() -> None:
    flash("The form expired; please try again.", "danger")


@bp.route("/mailchimp/syncs")
@require("view")
def sync_list() -> ResponseReturnValue:
    """List every sync, newest first."""
    before = request.args.get("before", type=int)
    rows, next_before = browse.sync_page(_session(), before=before)
    return render_template("campaigns/syncs.html", syncs=rows, next_before=next_before,
                           jobs=browse.jobs_by_id(_session(), (s.job_id for s in rows
                                                               if s.job_id is not None)))


@bp.route("/mailchimp/syncs/new", methods=["GET", "POST"])
@require("edit")
def sync_new() -> ResponseReturnValue:
    """Choose everyone subscribed or a saved segment, and start its dry run."""
    form = SyncForm(formdata=request.form if request.method == "POST" else request.args)
    if request.method == "POST" and form.validate_on_submit():
        session = _session()
        try:
            record = actions.new_sync(session, current_app, segment_id=form.segment_id(),
                                      actor=access.actor_label())
            session.commit()
            actions.start_sync(session, record, dry_run=True, actor=access.actor_label())
            return _back(record)
        except ValidationFailed as exc:
            session.rollback()
            form.segment.errors = [*form.segment.errors, *exc.errors.values()]
        except CRMError as exc:
            _fail(form, exc)
    status = 422 if request.method == "POST" else 200
    return render_template("campaigns/sync_new.html", form=form,
                           segments=segment_service.all_segments(_session())), status


@bp.route(f"/mailchimp/syncs/<{ID}:sync_id>")
@require("view")
def sync_detail(sync_id: int) -> ResponseReturnValue:
    """Show a sync: its progress, its dry-run plan, what the push did and what to review."""
    session = _session()
    record = _sync_or_404(sync_id)
    items, open_total = review.open_items(session, sync_id=record.id)
    plan = record.plan or {}
    shown = [i.contact_id for i in items] + [s["contact_id"] for s in
                                              plan.get("sample_adds", []) +
                                              plan.get("sample_updates", [])]
    return render_template(
        "campaigns/sync_detail.html", sync=record, plan=plan, counts=record.counts or {},
        job=actions.job_of(session, record), items=items, open_total=open_total,
        contacts=browse.contacts_by_id(session, shown), confirm=ConfirmForm(),
        dismiss=DismissForm(formdata=None), sandbox=connection.is_sandbox(current_app))


@bp.route(f"/mailchimp/syncs/<{ID}:sync_id>/push", methods=["POST"])
@require("edit")
def sync_push(sync_id: int) -> ResponseReturnValue:
    """Push the sync to Mailchimp, or resume a push that stopped or failed."""
    record = _sync_or_404(sync_id)
    if not ConfirmForm().validate_on_submit():
        _expired()
        return _back(record)
    resuming = record.status in ("stopped", "failed", "syncing") and bool(record.counts)
    try:
        actions.start_sync(_session(), record, dry_run=False, actor=access.actor_label())
        flash("Resumed the push where it stopped." if resuming else "Pushing to Mailchimp…",
              "success")
    except CRMError as exc:
        _session().rollback()
        flash(exc.message, "warning")
    return _back(record)


@bp.route(f"/mailchimp/syncs/<{ID}:sync_id>/plan", methods=["POST"])
@require("edit")
def sync_plan(sync_id: int) -> ResponseReturnValue:
    """Run the sync's dry run again, against the contacts as they are now."""
    record = _sync_or_404(sync_id)
    if not ConfirmForm().validate_on_submit():
        _expired()
        return _back(record)
    try:
        actions.start_sync(_session(), record, dry_run=True, actor=access.actor_label())
    except CRMError as exc:
        _session().rollback()
        flash(exc.message, "warning")
    return _back(record)


@bp.route(f"/mailchimp/syncs/<{ID}:sync_id>/stop", methods=["POST"])
@require("edit")
def sync_stop(sync_id: int) -> ResponseReturnValue:
    """Ask the sync's running job to stop after the batches in flight."""
    record = _sync_or_404(sync_id)
    if not ConfirmForm().validate_on_submit():
        _expired()
        return _back(record)
    if record.job_id is None:
        flash("This sync has nothing running.", "info")
        return _back(record)
    job = crm_jobs.request_stop(_session(), record.job_id,
                                stale_after=crm_jobs.stale_seconds(current_app.config))
    _session().commit()
    if job.status == "stopped":
        flash("Stopped before it started.", "success")
    elif job.finished:
        flash("It had finished already.", "info")
    else:
        flash("Stop requested: the sync stops after the batches in flight; resume it later.",
              "success")
    return _back(record)
