"""The campaign API under ``<prefix>/api/v1/campaigns``, on the CRM's API and its auth.

Write, mark ready, approve, send or schedule, cancel; preview as any contact and read
the audience. Errors are the API's JSON problems: 422 with field errors, 404, 409 for a
move the campaign's status does not allow, 403 when approval is refused, and 502 when
Mailchimp did not answer as expected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import RAISE

from crm import access, contacts
from crm import api as crm_api
from crm import jobs as crm_jobs
from crm.current import db_session as _session
from crm.current import segment_clock
from crm.job_runner import start_job
from crm.models import Job

from . import actions, audience, campaign_config, composer_preview, composing, jobs, sending
from .campaign_models import Campaign
from .campaign_schemas import (
    CampaignAudienceSchema,
    CampaignCreateSchema,
    CampaignFieldsSchema,
    CampaignListArgsSchema,
    CampaignPageSchema,
    CampaignPreviewArgsSchema,
    CampaignPreviewSchema,
    CampaignScheduleSchema,
    CampaignSchema,
    CampaignSendSchema,
)
from .mailchimp_errors import MailchimpError

campaign_api = Blueprint("campaign_api", __name__,
                         description="Write campaigns, mark them ready, approve, send or "
                                     "schedule them, and preview them as any contact.")
crm_api.protect(campaign_api)

ID = "int(max=2147483647)"
MOVE = "The campaign's status does not allow this (IllegalMove)"


@campaign_api.errorhandler(MailchimpError)
def _mailchimp_error(exc: MailchimpError) -> ResponseReturnValue:
    _session().rollback()
    response = jsonify(status=502, detail=f"Mailchimp did not answer as expected: {exc}")
    response.status_code = 502
    return response


def _out(campaign: Campaign) -> dict[str, Any]:
    """Return a campaign with its latest job, as the schema reads it."""
    data = {name: getattr(campaign, name) for name in CampaignSchema().fields
            if name != "job"}
    data["job"] = _session().get(Job, campaign.job_id) if campaign.job_id else None
    return data


def _get(campaign_id: int) -> Campaign:
    campaign = composing.get(_session(), campaign_id)
    if jobs.settle_dead_send(_session(), campaign,
                             stale_after=crm_jobs.stale_seconds(current_app.config)):
        _session().commit()  # a send whose job died reads as failed, ready for a retry
    return campaign


@campaign_api.route("/campaigns")
@campaign_api.arguments(CampaignListArgsSchema, location="query", unknown=RAISE)
@campaign_api.response(200, CampaignPageSchema)
def campaign_list(args: dict[str, Any]) -> dict[str, Any]:
    """List campaigns, newest first, by status and kind, a page at a time."""
    rows, more = composing.listing(_session(), status=args["status"], kind=args["kind"],
                                   before_id=args["before_id"], limit=args["limit"])
    return {"items": [_out(c) for c in rows], "next_before_id": more}


@campaign_api.route("/campaigns", methods=["POST"])
@campaign_api.arguments(CampaignCreateSchema)
@campaign_api.response(201, CampaignSchema)
def campaign_create(body: dict[str, Any]) -> dict[str, Any]:
    """Start a draft of a kind; fields left out come from the kind's starter and defaults."""
    campaign = composing.create(_session(), body, actor=access.actor_label(),
                                defaults=campaign_config.defaults(current_app))
    _session().commit()
    return _out(campaign)


@campaign_api.route(f"/campaigns/<{ID}:campaign_id>")
@campaign_api.response(200, CampaignSchema)
def campaign_get(campaign_id: int) -> dict[str, Any]:
    """Get a campaign."""
    return _out(_get(campaign_id))


@campaign_api.route(f"/campaigns/<{ID}:campaign_id>", methods=["PATCH"])
@campaign_api.arguments(CampaignFieldsSchema)
@campaign_api.response(200, CampaignSchema)
@campaign_api.alt_response(409, description="Past draft: move it back to draft to edit it")
def campaign_update(body: dict[str, Any], campaign_id: int) -> dict[str, Any]:
    """Change some fields of a draft; fields left out keep their values."""
    campaign = composing.update(_session(), campaign_id, body, actor=access.actor_label())
    _session().commit()
    return _out(campaign)


@campaign_api.route(f"/campaigns/<{ID}:campaign_id>/ready", methods=["POST"])
@campaign_api.response(200, CampaignSchema)
@campaign_api.alt_response(409, description=MOVE)
def campaign_ready(campaign_id: int) -> dict[str, Any]:
    """Check the email, freeze its content and audience and mark it ready (422: what's missing)."""
    campaign, app = _get(campaign_id), current_app
    sending.mark_ready(_session(), campaign, actor=access.actor_label(),
                       org=campaign_config.org(app),
                       settings=campaign_config.settings(app, campaign),
                       rules=campaign_config.rules(app), clock=segment_clock())
    _session().commit()
    return _out(campaign)


@campaign_api.route(f"/campaigns/<{ID}:campaign_id>/approve", methods=["POST"])
@campaign_api.response(200, CampaignSchema)
@campaign_api.alt_response(403, description="Only an organizer or admin other than the author")
@campaign_api.alt_response(409, description=MOVE)
def campaign_approve(campaign_id: int) -> dict[str, Any]:
    """Approve a ready campaign: an organizer (or admin) other than its author."""
    campaign = _get(campaign_id)
    sending.approve(campaign, actor=access.actor_label(),
                    role=access.role_of(access.current_staff()),
                    drift=campaign_config.approval_drift(current_app), clock=segment_clock())
    _session().commit()
    return _out(campaign)


def _send(campaign: Campaign, when: datetime | None) -> dict[str, Any]:
    sending.request_send(campaign, actor=access.actor_label(), when=when,
                         drift=campaign_config.approval_drift(current_app), clock=segment_clock())
    _session().commit()
    job = start_job(jobs.SEND, {"campaign_id": campaign.id}, started_by=access.actor_label())
    campaign.job_id = job.id
    _session().commit()
    return _out(campaign)


@campaign_api.route(f"/campaigns/<{ID}:campaign_id>/send", methods=["POST"])
@campaign_api.arguments(CampaignSendSchema(), required=False)
@campaign_api.response(202, CampaignSchema)
@campaign_api.alt_response(409, description=MOVE)
def campaign_send(body: dict[str, Any], campaign_id: int) -> dict[str, Any]:
    """Send a ready (or approved, or failed) campaign now, or at ``send_at``; a job does it."""
    return _send(_get(campaign_id), (body or {}).get("send_at"))


@campaign_api.route(f"/campaigns/<{ID}:campaign_id>/schedule", methods=["POST"])
@campaign_api.arguments(CampaignScheduleSchema)
@campaign_api.response(202, CampaignSchema)
@campaign_api.alt_response(409, description=MOVE)
def campaign_schedule(body: dict[str, Any], campaign_id: int) -> dict[str, Any]:
    """Schedule a campaign for a UTC quarter hour at least 15 minutes ahead."""
    return _send(_get(campaign_id), body["send_at"])


@campaign_api.route(f"/campaigns/<{ID}:campaign_id>/cancel", methods=["POST"])
@campaign_api.response(200, CampaignSchema)
@campaign_api.alt_response(409, description=MOVE)
def campaign_cancel(campaign_id: int) -> dict[str, Any]:
    """Cancel a campaign not yet sent; a scheduled one is unscheduled in Mailchimp first."""
    campaign = _get(campaign_id)
    sending.cancel(campaign, unschedule=lambda mc_id: actions.gateway(
        current_app).unschedule(mc_id))
    _session().commit()
    return _out(campaign)


@campaign_api.route(f"/campaigns/<{ID}:campaign_id>/preview")
@campaign_api.arguments(CampaignPreviewArgsSchema, location="query", unknown=RAISE)
@campaign_api.response(200, CampaignPreviewSchema)
def campaign_preview(args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
    """Preview the email as one contact: subject, html, text and the merge values used."""
    campaign, app = _get(campaign_id), current_app
    if args["contact_id"] is not None:
        contacts.get(_session(), args["contact_id"])  # 404 for an unknown contact
    shown = composer_preview.show(_session(), campaign, args["contact_id"],
                                  settings=campaign_config.settings(app, campaign),
                                  org=campaign_config.org(app), clock=segment_clock(),
                                  check=campaign.status == "draft")
    person = shown.person
    return {"contact_id": person.id if person else None, "email": person.email if person
            else None, "subject": shown.subject, "html": shown.html, "text": shown.text,
            "values": shown.values, "in_snapshot": shown.in_snapshot,
            "excluded_reason": shown.excluded_reason, "problems": shown.problems}


@campaign_api.route(f"/campaigns/<{ID}:campaign_id>/audience")
@campaign_api.response(200, CampaignAudienceSchema)
def campaign_audience(campaign_id: int) -> dict[str, Any]:
    """Count who the campaign goes to: the snapshot's counts, or a draft's segment now."""
    campaign = _get(campaign_id)
    if campaign.status == "draft":
        now = composer_preview.draft_audience(_session(), campaign, segment_clock())
        if now is None:
            return {"included": None, "excluded": {}, "taken_at": None, "segment_total": None}
        return {"included": None, "excluded": now["excluded"], "taken_at": None,
                "segment_total": now["total"]}
    counts = audience.counts(_session(), campaign.id)
    return {**counts, "taken_at": (campaign.audience or {}).get("taken_at"),
            "segment_total": None}


def register(crm_state: Any) -> None:
    """Mount the campaign API on the CRM's API (nothing when the CRM has no blueprints)."""
    if crm_state.api is None:
        return
    crm_state.api.register_blueprint(campaign_api, url_prefix=f"{crm_state.url_prefix}/api/v1")
    crm_state.csrf.exempt(campaign_api)  # the auth above checks CSRF itself for cookie sessions
    crm_state.page_blueprint_names.add(campaign_api.name)  # the input guard and headers
