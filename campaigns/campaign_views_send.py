"""Moving a campaign along from its page: ready, back to draft, approve, send, schedule,
cancel, retry, and a test send."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue

from crm import access
from crm.access import require
from crm.current import db_session as _session
from crm.current import segment_clock
from crm.errors import CRMError, ValidationFailed
from crm.forms import ConfirmForm
from crm.job_runner import start_job

from . import actions, campaign_config, jobs, personalise, sending, test_send
from .campaign_forms import CampaignForm, ScheduleForm, TestSendForm
from .campaign_models import Campaign
from .campaign_views import ID, bp, campaign_or_404, composer_failed, save
from .campaign_views_page import show
from .mailchimp_errors import MailchimpError


def _back(campaign: Campaign) -> ResponseReturnValue:
    return redirect(url_for("campaign_pages.campaign_page", campaign_id=campaign.id))


def _refused(campaign_id: int, message: str, status: int) -> ResponseReturnValue:
    """Show the campaign again, as it is stored, with why the step was refused."""
    _session().rollback()
    flash(message, "danger" if status >= 500 else "warning")
    return show(campaign_or_404(campaign_id), status=status)


def _step(campaign_id: int, move: Callable[[Campaign], str]) -> ResponseReturnValue:
    """Run one state change from a button (CSRF-checked), commit it and say what happened."""
    campaign = campaign_or_404(campaign_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; please try again.", "danger")
        return _back(campaign)
    try:
        message = move(campaign)
        _session().commit()
    except CRMError as exc:
        return _refused(campaign_id, exc.message, exc.status_code)
    except MailchimpError as exc:
        return _refused(campaign_id, f"Mailchimp did not answer as expected: {exc}", 502)
    flash(message, "success")
    return _back(campaign)


def _approval_check() -> dict[str, Any]:
    """What a send checks an approval against: the drift allowed, and the segments' clock."""
    return {"drift": campaign_config.approval_drift(current_app), "clock": segment_clock()}


def _start_send(campaign: Campaign) -> None:
    """Commit the send request, then queue the job that sends or schedules it."""
    _session().commit()
    job = start_job(jobs.SEND, {"campaign_id": campaign.id}, started_by=access.actor_label())
    campaign.job_id = job.id


@bp.route(f"/campaigns/<{ID}:campaign_id>/ready", methods=["POST"])
@require("edit")
def campaign_ready(campaign_id: int) -> ResponseReturnValue:
    """Save the composer, check the email and freeze its content and audience."""
    campaign = campaign_or_404(campaign_id)
    form = CampaignForm()
    if campaign.status != "draft":
        return _refused(campaign_id, f"This campaign is {campaign.status} already.", 409)
    if not form.validate_on_submit():
        return show(campaign, form=form, status=422)
    try:
        save(campaign, form)
    except CRMError as exc:
        return composer_failed(campaign, form, exc)
    session, app = _session(), current_app
    try:
        counts = sending.mark_ready(session, campaign, actor=access.actor_label(),
                                    org=campaign_config.org(app),
                                    settings=campaign_config.settings(app, campaign),
                                    rules=campaign_config.rules(app), clock=segment_clock())
        session.commit()
    except ValidationFailed as exc:
        session.rollback()
        campaign = campaign_or_404(campaign_id)
        for key, message in exc.errors.items():
            field = form.field_for(key)
            if field is not None:
                field.errors = [*field.errors, message]
        return show(campaign, form=form, problems=exc.errors, status=422)
    except CRMError as exc:
        return _refused(campaign_id, exc.message, exc.status_code)
    left_out = sum(counts["excluded"].values())
    flash(f"Ready: {counts['included']:,} recipients, {left_out:,} left out. The content and "
          "the audience are frozen.", "success")
    return _back(campaign)


@bp.route(f"/campaigns/<{ID}:campaign_id>/draft", methods=["POST"])
@require("edit")
def campaign_draft(campaign_id: int) -> ResponseReturnValue:
    """Reopen a ready or approved campaign for editing (its approval is dropped)."""
    def move(campaign: Campaign) -> str:
        sending.back_to_draft(campaign)
        return "Back to draft: edit it and mark it ready again."
    return _step(campaign_id, move)


@bp.route(f"/campaigns/<{ID}:campaign_id>/approve", methods=["POST"])
@require("edit")
def campaign_approve(campaign_id: int) -> ResponseReturnValue:
    """Approve a ready campaign (an organizer or admin other than its author)."""
    def move(campaign: Campaign) -> str:
        sending.approve(campaign, actor=access.actor_label(),
                        role=access.role_of(access.current_staff()),
                        drift=campaign_config.approval_drift(current_app), clock=segment_clock())
        return "Approved: it can be sent or scheduled now."
    return _step(campaign_id, move)


@bp.route(f"/campaigns/<{ID}:campaign_id>/send", methods=["POST"])
@require("edit")
def campaign_send(campaign_id: int) -> ResponseReturnValue:
    """Send a ready (or approved) campaign now."""
    def move(campaign: Campaign) -> str:
        sending.request_send(campaign, actor=access.actor_label(), **_approval_check())
        _start_send(campaign)
        return "Sending: the audience is synced to Mailchimp, then the campaign goes out."
    return _step(campaign_id, move)


@bp.route(f"/campaigns/<{ID}:campaign_id>/retry", methods=["POST"])
@require("edit")
def campaign_retry(campaign_id: int) -> ResponseReturnValue:
    """Send a failed campaign again; the job resumes at the step that failed."""
    def move(campaign: Campaign) -> str:
        sending.request_send(campaign, actor=access.actor_label(), when=campaign.send_at,
                             **_approval_check())
        _start_send(campaign)
        return "Trying again from the step that failed."
    return _step(campaign_id, move)


@bp.route(f"/campaigns/<{ID}:campaign_id>/schedule", methods=["POST"])
@require("edit")
def campaign_schedule(campaign_id: int) -> ResponseReturnValue:
    """Schedule a ready (or approved) campaign for a UTC quarter hour."""
    campaign = campaign_or_404(campaign_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        return show(campaign, schedule=form, status=422)
    try:
        sending.request_send(campaign, actor=access.actor_label(), when=form.when(),
                             **_approval_check())
        _start_send(campaign)
        _session().commit()
    except ValidationFailed as exc:
        _session().rollback()
        form.send_at.errors = [*form.send_at.errors, *exc.errors.values()]
        return show(campaign_or_404(campaign_id), schedule=form, status=422)
    except CRMError as exc:
        return _refused(campaign_id, exc.message, exc.status_code)
    flash(f"Scheduling for {form.when():%Y-%m-%d %H:%M} UTC.", "success")
    return _back(campaign)


@bp.route(f"/campaigns/<{ID}:campaign_id>/cancel", methods=["POST"])
@require("edit")
def campaign_cancel(campaign_id: int) -> ResponseReturnValue:
    """Cancel a campaign not yet sent; a scheduled one is unscheduled in Mailchimp first."""
    def move(campaign: Campaign) -> str:
        scheduled = campaign.status == "scheduled"
        sending.cancel(campaign, unschedule=lambda mc_id: actions.gateway(
            current_app).unschedule(mc_id))
        return ("Cancelled, and unscheduled in Mailchimp." if scheduled else "Cancelled.")
    return _step(campaign_id, move)


@bp.route(f"/campaigns/<{ID}:campaign_id>/test", methods=["POST"])
@require("edit")
def campaign_test(campaign_id: int) -> ResponseReturnValue:
    """Send the email as a test to up to five staff addresses."""
    campaign = campaign_or_404(campaign_id)
    form = TestSendForm()
    if not form.validate_on_submit():
        return show(campaign, test=form, status=422)
    try:
        sent = test_send.send_test(
            _session(), actions.gateway(current_app), campaign, form.emails.data or "",
            campaign_config.org(current_app), preview_links=personalise.preview_values(
                campaign_config.settings(current_app, campaign), campaign.id))
    except ValidationFailed as exc:
        for key, message in exc.errors.items():
            if key == "emails":
                form.emails.errors = [*form.emails.errors, message]
            else:
                flash(f"The test was not sent: {message}", "warning")
        return show(campaign, test=form, status=422)
    except CRMError as exc:
        flash(exc.message, "danger" if exc.status_code >= 500 else "warning")
        return show(campaign, test=form, status=exc.status_code)
    flash(f"Sent a test to {', '.join(sent)}.", "success")
    return _back(campaign)
