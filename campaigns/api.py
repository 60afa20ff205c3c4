"""The Mailchimp sync API under ``<prefix>/api/v1/mailchimp``, on the CRM's API and its auth."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import RAISE

from crm import access
from crm import api as crm_api
from crm.current import db_session as _session
from crm.job_views import JobSchema
from crm.models import Job

from . import actions, review, sync
from .api_schemas import (
    MailchimpReviewArgsSchema,
    MailchimpReviewPageSchema,
    MailchimpSyncCreateSchema,
    MailchimpSyncSchema,
)
from .models import SyncRun

mc_api = Blueprint("campaigns_api", __name__,
                   description="Sync contacts to the Mailchimp audience, review what it refused "
                               "and reconcile.")
# The same token or session auth, role checks and JSON errors as the rest of the API.
crm_api.protect(mc_api)

ID = "int(max=2147483647)"
BUSY = "A job of this sync is running, or the sync has pushed everything already"


def _out(record: SyncRun) -> dict[str, Any]:
    """Return a sync with its latest job, as the schema reads it."""
    names = ("id", "audience_id", "scope", "segment_id", "segment_name", "status", "plan",
             "counts", "cursor", "created_by", "created_at", "finished_at", "job_id")
    return {**{name: getattr(record, name) for name in names},
            "job": actions.job_of(_session(), record)}


@mc_api.route("/syncs", methods=["POST"])
@mc_api.arguments(MailchimpSyncCreateSchema)
@mc_api.response(202, MailchimpSyncSchema)
@mc_api.alt_response(409, description="Mailchimp is not configured (an API key, no audience)")
def sync_create(body: dict[str, Any]) -> dict[str, Any]:
    """Start a sync of a saved segment (or everyone subscribed): its dry run, or a push."""
    session = _session()
    record = actions.new_sync(session, current_app, segment_id=body["segment_id"],
                              actor=access.actor_label())
    session.commit()
    actions.start_sync(session, record, dry_run=body["dry_run"], actor=access.actor_label())
    return _out(record)


@mc_api.route(f"/syncs/<{ID}:sync_id>")
@mc_api.response(200, MailchimpSyncSchema)
def sync_get(sync_id: int) -> dict[str, Any]:
    """Get a sync: its status, plan, counts, cursor and job."""
    return _out(sync.get(_session(), sync_id))


@mc_api.route(f"/syncs/<{ID}:sync_id>/push", methods=["POST"])
@mc_api.response(202, MailchimpSyncSchema)
@mc_api.alt_response(409, description=BUSY)
def sync_push(sync_id: int) -> dict[str, Any]:
    """Push a sync to Mailchimp, or resume a push that stopped or failed."""
    session = _session()
    record = sync.get(session, sync_id)
    actions.start_sync(session, record, dry_run=False, actor=access.actor_label())
    return _out(record)


@mc_api.route("/review")
@mc_api.arguments(MailchimpReviewArgsSchema, location="query", unknown=RAISE)
@mc_api.response(200, MailchimpReviewPageSchema)
def review_list(args: dict[str, Any]) -> dict[str, Any]:
    """List the open review items (members Mailchimp refused), newest first, by page."""
    page, per_page = args["page"], args["per_page"]
    items, total = review.open_items(_session(), sync_id=args["sync_id"], page=page,
                                     per_page=per_page)
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "next_page": page + 1 if page * per_page < total else None}


@mc_api.route("/reconcile", methods=["POST"])
@mc_api.response(202, JobSchema)
def reconcile_start() -> Job:
    """Start applying Mailchimp's status changes; answers the job already running, if one is."""
    job, _new = actions.start_reconcile(_session(), actor=access.actor_label())
    return job


def register(crm_state: Any) -> None:
    """Mount the Mailchimp API on the CRM's API (nothing when the CRM has no blueprints)."""
    if crm_state.api is None:
        return
    crm_state.api.register_blueprint(mc_api, url_prefix=f"{crm_state.url_prefix}/api/v1/mailchimp")
    crm_state.csrf.exempt(mc_api)  # the auth above checks CSRF itself for cookie sessions
    crm_state.page_blueprint_names.add(mc_api.name)  # the input guard and security headers
