"""Put a campaign's page together: the composer for a draft, else its review-and-send page.

Also the preview frame's response: the email is shown from its own URL, under its own
policy (its inline styles allowed, no script, sandboxed), because a frame filled from the
page (``srcdoc``) would inherit the page's policy, which blocks the inline styles every
email uses.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.routing import BuildError
from wtforms import SelectChoice

from crm import access
from crm.current import db_session as _session
from crm.current import segment_clock
from crm.forms import ConfirmForm
from crm.models import Job, utcnow
from crm.segments import service as segment_service

from . import campaign_config, composer_preview, connection, email_render, sending
from .campaign_forms import CampaignForm, ScheduleForm, TestSendForm
from .campaign_models import KIND_LABELS, Campaign

FRAME_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
                "font-src https: data:; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox")
# Links in the frame open in a new tab: inside the frame they would land on pages that
# refuse to be framed.
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
RESPONSE_ENDPOINTS = ("campaign_responses.response_list", "campaign_responses.responses")


def frame_response(html: str, problems: dict[str, str] | None = None) -> ResponseReturnValue:
    """Answer the preview frame: the email, or what stops it from being shown."""
    if not html:
        items = "".join(f"<li>{html_lib.escape(m)}</li>" for m in (problems or {}).values())
        html = ("<!doctype html><html><head><meta charset=\"utf-8\"></head>"
                "<body style=\"font:15px system-ui,sans-serif;color:#555;padding:1rem\">"
                "<p><strong>This email can't be shown yet.</strong></p>"
                f"<ul>{items}</ul></body></html>")
    base = '<base target="_blank">'
    match = _HEAD.search(html)
    html = html[:match.end()] + base + html[match.end():] if match else base + html
    response = make_response(html)
    response.headers["Content-Security-Policy"] = FRAME_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def responses_url(**args: Any) -> str | None:
    """Return the responses page's URL, or None when that page is not installed."""
    for endpoint in RESPONSE_ENDPOINTS:
        try:
            return url_for(endpoint, **args)
        except BuildError:
            continue
    return None


def first_slot(now: datetime | None = None) -> datetime:
    """Return the first UTC quarter hour Mailchimp would take, with a few minutes to spare."""
    moment = (now or utcnow()) + sending.SCHEDULE_LEAD + timedelta(minutes=5)
    moment = moment.replace(second=0, microsecond=0)
    return moment + timedelta(minutes=(15 - moment.minute % 15) % 15)


def approval(campaign: Campaign) -> dict[str, Any]:
    """Say where approval stands and whether the viewer may approve (and why not)."""
    actor = access.actor_label()
    role = access.role_of(access.current_staff())
    authors = {campaign.created_by, campaign.ready_by} - {None}
    box: dict[str, Any] = {"needed": campaign.require_approval, "can": False, "why": "",
                           "lapse": ""}
    if campaign.approved_by:
        box["lapse"] = sending.approval_lapse(
            campaign, drift=campaign_config.approval_drift(current_app), clock=segment_clock())
    if campaign.approved_by and not box["lapse"]:
        box["state"] = "approved"
    elif campaign.status not in ("ready", "approved"):
        box["state"] = "none"
    else:
        box["state"] = ("lapsed" if box["lapse"] else
                        "waiting" if campaign.require_approval else "optional")
        who = ", ".join(sorted(a for a in authors if a))
        if role not in sending.APPROVER_ROLES:
            box["why"] = (f"An organizer or an admin other than {who} must approve it; "
                          f"your role ({role or 'none'}) cannot approve.")
        elif actor in authors:
            box["why"] = ("You wrote it or marked it ready, so you cannot approve it: ask "
                          f"an organizer or an admin other than {who}.")
        else:
            box["can"] = True
    return box


def _segments() -> list[SelectChoice]:
    return [SelectChoice("", "— pick a segment —")] + [
        SelectChoice(str(s.id), s.name) for s in segment_service.all_segments(_session())]


def show(campaign: Campaign, *, form: CampaignForm | None = None,
         schedule: ScheduleForm | None = None, test: TestSendForm | None = None,
         problems: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    """Render a campaign's page: the composer while it is a draft, else its send page."""
    session, app, clock = _session(), current_app, segment_clock()
    people = composer_preview.suggestions(session, campaign, clock)
    chosen = request.args.get("contact_id", type=int)
    job = session.get(Job, campaign.job_id) if campaign.job_id else None
    common: dict[str, Any] = {
        "campaign": campaign, "kind_label": KIND_LABELS.get(campaign.kind, campaign.kind),
        "confirm": ConfirmForm(), "test_form": test or TestSendForm(formdata=None),
        "people": people, "chosen": chosen, "job": job,
        "sandbox": connection.is_sandbox(app), "responses_url": responses_url(
            campaign=campaign.id) if campaign.kind == "run_for_office" else None,
        "can_edit": access.can("edit")}
    if campaign.status == "draft":
        if form is None:
            form = CampaignForm(formdata=None)
            form.fill(campaign)
        form.segment_id.choices = _segments()
        variables = [v for v in (*email_render.VARIABLES.values(),
                                 *email_render.CONSTANTS.values()) if campaign.kind in v.kinds]
        return render_template(
            "campaigns/campaigns/composer.html", form=form, variables=variables,
            problems=problems or {}, checklist=sending.problems(campaign, campaign_config.org(app)),
            audience_now=composer_preview.draft_audience(session, campaign, clock),
            **common), status
    shown = composer_preview.show(session, campaign, chosen,
                                  settings=campaign_config.settings(app, campaign),
                                  org=campaign_config.org(app), clock=clock, check=False)
    if schedule is None:
        schedule = ScheduleForm(formdata=None)
        schedule.send_at.data = first_slot().replace(tzinfo=None)
    return render_template(
        "campaigns/campaigns/detail.html", shown=shown, approval=approval(campaign),
        schedule_form=schedule, first_slot=first_slot(), **common), status
