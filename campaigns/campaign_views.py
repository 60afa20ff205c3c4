"""Campaign pages: the list, a new campaign, the composer with its live preview, the preview.

Moving a campaign along (ready, approve, send, schedule, cancel, test) is in
``campaign_views_send``; the page a campaign shows is put together in
``campaign_views_page``. Both add to this blueprint when imported at the end.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm.exc import StaleDataError

from crm import access
from crm import jobs as crm_jobs
from crm.access import require
from crm.current import db_session as _session
from crm.current import segment_clock
from crm.errors import CRMError, ValidationFailed
from crm.views import error_page

from . import campaign_config, composer_preview, composing, connection, jobs
from .campaign_forms import CampaignForm, NewCampaignForm
from .campaign_models import KIND_LABELS, KINDS, STATUSES, Campaign
from .campaign_views_page import frame_response, responses_url, show

bp = Blueprint("campaign_pages", __name__, static_folder="static",
               static_url_path="/campaigns/static")
bp.register_error_handler(403, error_page)
bp.register_error_handler(404, error_page)
ID = "int(max=2147483647)"


@bp.errorhandler(StaleDataError)
def _changed_meanwhile(_exc: StaleDataError) -> ResponseReturnValue:
    """Another request changed the campaign first (a lost compare-and-set): show it as it is."""
    _session().rollback()
    flash("Someone else changed this campaign at the same moment; here it is as it is now. "
          "Nothing of yours was saved.", "warning")
    campaign_id = (request.view_args or {}).get("campaign_id")
    if campaign_id is None:
        return redirect(url_for("campaign_pages.campaign_list"))
    return redirect(url_for("campaign_pages.campaign_page", campaign_id=campaign_id))


def campaign_or_404(campaign_id: int) -> Campaign:
    """Return the campaign (a send whose job died read as failed) or answer 404."""
    try:
        campaign = composing.get(_session(), campaign_id)
    except CRMError:
        abort(404)
    if jobs.settle_dead_send(_session(), campaign,
                             stale_after=crm_jobs.stale_seconds(current_app.config)):
        _session().commit()
    return campaign


@bp.route("/campaigns")
@require("view")
def campaign_list() -> ResponseReturnValue:
    """List campaigns, newest first, filtered by status and kind."""
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    status = status if status in STATUSES else ""
    kind = kind if kind in KINDS else ""
    before = request.args.get("before", type=int)
    rows, next_before = composing.listing(_session(), status=status, kind=kind,
                                          before_id=before)
    return render_template(
        "campaigns/campaigns/list.html", campaigns=rows, next_before=next_before,
        status=status, kind=kind, counts=composing.status_counts(_session()),
        kind_labels=KIND_LABELS, statuses=STATUSES, responses_url=responses_url(),
        sandbox=connection.is_sandbox(current_app))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@require("edit")
def campaign_new() -> ResponseReturnValue:
    """Pick a kind and a name; the draft starts from the kind's starter email."""
    form = NewCampaignForm(formdata=request.form if request.method == "POST" else request.args)
    if request.method == "POST" and form.validate_on_submit():
        session = _session()
        try:
            campaign = composing.create(session, {"kind": form.kind.data,
                                                  "name": form.name.data},
                                       actor=access.actor_label(),
                                       defaults=campaign_config.defaults(current_app))
            session.commit()
        except ValidationFailed as exc:
            session.rollback()
            for key, message in exc.errors.items():
                field = getattr(form, key, form.name)
                field.errors = [*field.errors, message]
        else:
            flash(f"Started {campaign.name} from the {KIND_LABELS[campaign.kind].lower()} "
                  "starter: make it yours.", "success")
            return redirect(url_for("campaign_pages.campaign_page", campaign_id=campaign.id))
    status = 422 if request.method == "POST" else 200
    return render_template("campaigns/campaigns/new.html", form=form,
                           kind_labels=KIND_LABELS), status


@bp.route(f"/campaigns/<{ID}:campaign_id>")
@require("view")
def campaign_page(campaign_id: int) -> ResponseReturnValue:
    """Show the composer for a draft, else the campaign with its preview, approval and send."""
    return show(campaign_or_404(campaign_id))


@bp.route(f"/campaigns/<{ID}:campaign_id>", methods=["POST"])
@require("edit")
def campaign_save(campaign_id: int) -> ResponseReturnValue:
    """Save a draft's fields."""
    campaign = campaign_or_404(campaign_id)
    form = CampaignForm()
    if not form.validate_on_submit():
        return show(campaign, form=form, status=422)
    try:
        save(campaign, form)
    except CRMError as exc:
        return composer_failed(campaign, form, exc)
    flash("Saved.", "success")
    return redirect(url_for("campaign_pages.campaign_page", campaign_id=campaign.id))


def save(campaign: Campaign, form: CampaignForm) -> None:
    """Save the composer's fields on a draft and commit (ReadOnly once past draft)."""
    composing.update(_session(), campaign.id, form.service_data(campaign.kind),
                     actor=access.actor_label())
    _session().commit()


def composer_failed(campaign: Campaign, form: CampaignForm, exc: CRMError
                    ) -> ResponseReturnValue:
    """Show the composer again with a service's errors on its fields (or flashed)."""
    _session().rollback()
    if isinstance(exc, ValidationFailed):
        for key, message in exc.errors.items():
            field = form.field_for(key)
            if field is not None:
                field.errors = [*field.errors, message]
            else:
                flash(message, "danger")
        return show(campaign, form=form, status=422)
    flash(exc.message, "warning")
    return show(campaign_or_404(campaign.id), status=exc.status_code)


def _unsaved_preview(campaign: Campaign) -> tuple[Campaign, composer_preview.Shown]:
    form = CampaignForm(meta={"csrf": False})
    draft, errors = composer_preview.unsaved(_session(), campaign,
                                             form.service_data(campaign.kind))
    shown = composer_preview.show(
        _session(), draft, request.form.get("contact_id", type=int),
        settings=campaign_config.settings(current_app, draft),
        org=campaign_config.org(current_app), clock=segment_clock())
    composer_preview.merge_problems(shown.problems, errors)
    return draft, shown


@bp.route(f"/campaigns/<{ID}:campaign_id>/preview", methods=["POST"])
@require("view")
def campaign_preview(campaign_id: int) -> ResponseReturnValue:
    """Render the composer's unsaved form as one contact: {subject, html, text, problems}."""
    campaign = campaign_or_404(campaign_id)
    if campaign.status != "draft":
        return jsonify(error=f"This campaign is {campaign.status}: its content is frozen."), 409
    draft, shown = _unsaved_preview(campaign)
    return jsonify({**shown.as_dict(), "audience": composer_preview.draft_audience(
        _session(), draft, segment_clock())})


@bp.route(f"/campaigns/<{ID}:campaign_id>/preview/frame", methods=["POST"])
@require("view")
def campaign_preview_frame(campaign_id: int) -> ResponseReturnValue:
    """Show the composer's unsaved email in the preview frame (posted into it)."""
    campaign = campaign_or_404(campaign_id)
    if campaign.status != "draft":
        return redirect(url_for("campaign_pages.campaign_frame", campaign_id=campaign.id))
    _draft, shown = _unsaved_preview(campaign)
    return frame_response(shown.html, shown.problems)


@bp.route(f"/campaigns/<{ID}:campaign_id>/preview/frame")
@require("view")
def campaign_frame(campaign_id: int) -> ResponseReturnValue:
    """Show the saved (or, past draft, the frozen) email as one contact, for the frame."""
    campaign = campaign_or_404(campaign_id)
    shown = composer_preview.show(
        _session(), campaign, request.args.get("contact_id", type=int),
        settings=campaign_config.settings(current_app, campaign),
        org=campaign_config.org(current_app), clock=segment_clock(), check=False)
    return frame_response(shown.html, shown.problems)


@bp.route(f"/campaigns/<{ID}:campaign_id>/people")
@require("view")
def campaign_people(campaign_id: int) -> ResponseReturnValue:
    """Find contacts to preview as (``q``), or the suggested ones when ``q`` is empty."""
    campaign = campaign_or_404(campaign_id)
    query = request.args.get("q", "")[:200]
    people = (composer_preview.search(_session(), query) if query.strip()
              else composer_preview.suggestions(_session(), campaign, segment_clock()))
    return jsonify(people=[p.as_dict() for p in people])


# The other routes attach to ``bp`` on import.
from . import campaign_views_send, inbox_views  # noqa: E402, F401
