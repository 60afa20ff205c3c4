"""Mount run-for-office responses: the public landing page, its limits, the staff's page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue

from crm.access import require
from crm.blueprints import mount_pages
from crm.current import db_session as _session
from crm.models import utcnow
from crm.pipeline import OFFICE_LABELS
from crm.views import error_page

from . import limits, responses
from .campaign_models import RESPONSE_KINDS

responses_bp = Blueprint("campaign_responses", __name__)
responses_bp.register_error_handler(403, error_page)
responses_bp.register_error_handler(404, error_page)
PER_PAGE = 50
NEW_DAYS = 7
KIND_LABELS = {"clicked": "Opened the link", "interested": "Yes, interested",
               "declined": "Not now", "nominated": "Nominated someone"}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@responses_bp.route("/campaigns/responses")
@require("view")
def response_list() -> ResponseReturnValue:
    """List run-for-office responses newest first, with counts and how many are new."""
    session = _session()
    kind = request.args.get("kind", "")
    if kind and kind not in RESPONSE_KINDS:
        flash(f"There is no answer {kind!r}: showing every answer.", "warning")
        kind = ""
    campaign_id = _int_arg("campaign")
    before = _int_arg("before")
    rows = responses.recent(session, limit=PER_PAGE + 1, kind=kind or None,
                            campaign_id=campaign_id, before_id=before)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    summaries = responses.campaign_summaries(session)
    chosen = next((c for c, _ in summaries if c.id == campaign_id), None)
    filters = {"kind": kind or None, "campaign": campaign_id}
    return render_template(
        "campaigns/responses.html", rows=rows, kind=kind, campaign_id=campaign_id,
        chosen=chosen, counts=responses.counts(session, campaign_id=campaign_id),
        new=responses.new_count(session, utcnow() - timedelta(days=NEW_DAYS)),
        new_days=NEW_DAYS, summaries=summaries, kinds=RESPONSE_KINDS, kind_labels=KIND_LABELS,
        office_labels=OFFICE_LABELS,
        first_url=url_for(".response_list", **filters) if before else None,
        next_url=(url_for(".response_list", before=rows[-1].response.id, **filters)
                  if more else None),
    )


def register(app: Flask, crm_state: Any) -> None:
    """Mount the public landing page (rate limited), the responses page and timeline entries."""
    from .respond_views import respond_bp
    from .response_timeline import timeline_entries

    app.register_blueprint(respond_bp, url_prefix=crm_state.url_prefix or None)
    # Not mounted as a CRM page (no staff layout), but it gets the same input guard and
    # security headers; its POST keeps CSRF, so it is not exempted.
    crm_state.page_blueprint_names.add(respond_bp.name)
    limits.install(app)
    mount_pages(app, crm_state, responses_bp)
    crm_state.add_timeline_source(timeline_entries)
