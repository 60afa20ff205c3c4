"""Recruitment pipeline pages: the board, the funnel chart, the contact panel and its forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from . import access, audit, contacts, pipeline
from .access import require
from .current import db_session as _session
from .errors import CRMError, ValidationFailed
from .forms import ConfirmForm
from .models import OFFICES, Contact
from .panels import ContactPanel, NavItem
from .pipeline_forms import MoveForm, details_form
from .timeline import TimelineEntry
from .views import bp

if TYPE_CHECKING:
    from .extension import CRMState

LABELS = {"stages": pipeline.STAGE_LABELS, "offices": pipeline.OFFICE_LABELS}
_CONTACT = "/contacts/<int(max=2147483647):contact_id>/pipeline"



def _staff_choices() -> list[tuple[str, str]] | None:
    """Offer the staff accounts as owners in the standalone app; free text for host users."""
    if not current_app.extensions["crm"].builtin_accounts:
        return None
    return pipeline.staff_owners(_session())


def _message(exc: CRMError) -> str:
    if isinstance(exc, ValidationFailed):
        return " ".join(f"{name.replace('_', ' ').capitalize()}: {message}"
                        for name, message in exc.errors.items())
    return exc.message


def _form_errors(form: FlaskForm) -> str:
    return " ".join(f"{getattr(form, name).label.text}: {' '.join(errors)}"
                    for name, errors in form.errors.items() if hasattr(form, name))


def _get_or_404(contact_id: int) -> Contact:
    try:
        return contacts.get(_session(), contact_id)
    except CRMError:
        abort(404)


def _run(action: Any, success: str) -> bool:
    """Call a service, commit and flash; flash the domain error instead and roll back."""
    try:
        action()
        _session().commit()
    except CRMError as exc:
        _session().rollback()
        flash(_message(exc), "danger")
        return False
    flash(success, "success")
    return True


def _filters() -> dict[str, str]:
    office = request.args.get("office", "")
    return {"office": office if office in OFFICES else "",
            "owner": request.args.get("owner", "")[:320]}


@bp.route("/pipeline")
@require("view")
def pipeline_board() -> ResponseReturnValue:
    """Show one column per stage with its recruits, filtered by office and owner."""
    session = _session()
    flt = _filters()
    return render_template(
        "crm/pipeline/board.html", columns=pipeline.board(session, **flt),
        funnel=pipeline.funnel(session, **flt), owners=pipeline.owners(session), flt=flt,
        **LABELS)


@bp.route("/pipeline/funnel.svg")
@require("view")
def pipeline_funnel() -> ResponseReturnValue:
    """Draw the funnel from prospect to elected as an SVG image."""
    funnel = pipeline.funnel(_session(), **_filters())
    svg = render_template("crm/pipeline/funnel.svg", funnel=funnel, **LABELS)
    return Response(svg, mimetype="image/svg+xml")


@bp.route(_CONTACT, methods=["POST"])
@require("edit")
def pipeline_add(contact_id: int) -> ResponseReturnValue:
    """Put a contact in the pipeline."""
    _get_or_404(contact_id)
    form = details_form(_staff_choices(), add=True)
    if form.validate_on_submit():
        data = form.to_data()
        _run(lambda: pipeline.add_to_pipeline(_session(), contact_id, actor=access.actor_label(),
                                              **data), "Added to the pipeline.")
    else:
        flash(_form_errors(form) or "The form expired; please try again.", "danger")
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))


@bp.route(f"{_CONTACT}/move", methods=["POST"])
@require("edit")
def pipeline_move(contact_id: int) -> ResponseReturnValue:
    """Move a recruit to another stage, back to the board or the contact page."""
    _get_or_404(contact_id)
    form = MoveForm()
    if form.validate_on_submit():
        stage = form.stage.data or ""
        _run(lambda: pipeline.move(_session(), contact_id, stage, actor=access.actor_label(),
                                   note=form.note.data),
             f"Moved to {pipeline.STAGE_LABELS.get(stage, stage)}.")
    else:
        flash(_form_errors(form) or "The form expired; please try again.", "danger")
    if request.args.get("back") == "board":
        flt = {k: v for k, v in _filters().items() if v}
        return redirect(url_for("crm.pipeline_board", **flt))
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))


@bp.route(f"{_CONTACT}/edit", methods=["GET", "POST"])
@require("edit")
def pipeline_edit(contact_id: int) -> ResponseReturnValue:
    """Edit a recruit's office, jurisdiction and owner."""
    contact = _get_or_404(contact_id)
    session = _session()
    recruit = pipeline.find(session, contact_id)
    if recruit is None:
        abort(404)
    obj = {"office": recruit.target_office or "", "jurisdiction": recruit.jurisdiction,
           "owner": recruit.owner or ""}
    form = details_form(_staff_choices(), keep=recruit.owner,
                        data=obj if request.method == "GET" else None)
    if form.validate_on_submit():
        data = form.to_data()
        if _run(lambda: pipeline.update_details(session, contact_id, data,
                                                actor=access.actor_label()), "Saved."):
            return redirect(url_for("crm.contact_detail", contact_id=contact_id))
    status = 422 if request.method == "POST" else 200
    return render_template("crm/pipeline/edit.html", contact=contact, recruit=recruit,
                           form=form, history=pipeline.history(session, contact_id),
                           confirm=ConfirmForm(), **LABELS), status


@bp.route(f"{_CONTACT}/remove", methods=["POST"])
@require("edit")
def pipeline_remove(contact_id: int) -> ResponseReturnValue:
    """Take a contact out of the pipeline (their stage history stays)."""
    _get_or_404(contact_id)
    if ConfirmForm().validate_on_submit():
        _run(lambda: pipeline.remove(_session(), contact_id, actor=access.actor_label()),
             "Removed from the pipeline. Their stage history is kept.")
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))


def recruit_panel(session: Session, contact: Contact) -> ContactPanel:
    """Show where the contact stands in the pipeline, with forms for organizers."""
    recruit = pipeline.find(session, contact.id)
    context: dict[str, Any] = {"recruit": recruit, **LABELS}
    if access.can("edit"):
        if recruit is None:
            context["add_form"] = details_form(_staff_choices(), add=True)
        else:
            context["move_form"] = MoveForm(stage=recruit.stage)
    return ContactPanel("crm/pipeline/panel.html", context, column="side", order=15)


def _labelled(changes: dict[str, Any]) -> dict[str, Any]:
    names = {"office": pipeline.OFFICE_LABELS, "stage": pipeline.STAGE_LABELS}
    out: dict[str, Any] = {}
    for key, pair in changes.items():
        labels = names.get(key, {})
        out[key] = [labels.get(value, value) for value in pair]
    return out


def stage_timeline(session: Session, contact_id: int) -> list[TimelineEntry]:
    """Return the contact's stage moves and recruit edits as timeline entries."""
    label = pipeline.STAGE_LABELS
    entries = [
        TimelineEntry(
            at=c.created_at, kind="pipeline", actor=c.actor, body=c.note or "",
            # The title says it all; a "stage: from → to" line under it would repeat it.
            title=(f"Added to the pipeline as {label.get(c.to_stage, c.to_stage)}"
                   if c.from_stage is None else
                   f"Moved from {label.get(c.from_stage, c.from_stage)} to "
                   f"{label.get(c.to_stage, c.to_stage)}"))
        for c in pipeline.history(session, contact_id)
    ]
    titles = {"update": "Recruitment details edited", "delete": "Removed from the pipeline"}
    entries.extend(
        TimelineEntry(at=e.created_at, kind="pipeline", title=titles[e.action], actor=e.actor,
                      changes=_labelled(dict(e.changes or {})) if e.action == "update" else {})
        for e in audit.entries_for(session, "recruit", contact_id) if e.action in titles
    )
    return entries


def install(app: Flask, state: CRMState) -> None:
    """Add the pipeline panel, timeline entries and header link; wire the contact export."""
    state.add_panel_source(recruit_panel)
    state.add_timeline_source(stage_timeline)
    state.add_nav_item(NavItem("Pipeline", "crm.pipeline_board", "view", 30))
    # The API routes and the export page attach to the shared blueprints on import.
    from . import export_views, pipeline_api  # noqa: F401

    export_views.install(app, state)
