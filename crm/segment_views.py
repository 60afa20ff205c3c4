"""Segment pages: the saved list, the editor with its live count, saving and deleting."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from . import access, segments
from .access import require
from .current import db_session as _session
from .current import segment_clock
from .errors import CRMError, ValidationFailed
from .formatting import pointer
from .forms import ConfirmForm
from .models import Contact, Segment
from .panels import NavItem
from .segment_forms import SegmentForm
from .segments import service as segment_service
from .segments.errors import SegmentError
from .views import _fail, bp

if TYPE_CHECKING:
    from .extension import CRMState

SAMPLE = 10
_GROUPS = {"donations": "Donations", "union": "Union", "recruitment": "Recruitment"}


def _segment_or_404(segment_id: int) -> Segment:
    try:
        return segment_service.get(_session(), segment_id)
    except CRMError:
        abort(404)


def builder_fields() -> list[dict[str, Any]]:
    """Return what the visual builder offers: every registered field, grouped by subject."""
    out = []
    for field in segments.REGISTRY.fields():
        prefix = field.name.partition(".")[0] if "." in field.name else ""
        out.append({"name": field.name, "param": field.param, "type": field.type,
                    "operators": list(field.operators), "allowed": list(field.allowed),
                    "label": field.label,
                    "group": _GROUPS.get(prefix, prefix.replace("_", " ").capitalize()
                                         or "Contact")})
    return out


def rule_error(error: SegmentError, text: str | None) -> dict[str, Any]:
    """Return an error for the page: its message and, in typed text, the line and a caret."""
    shown: dict[str, Any] = {**error.as_dict()}
    if text is not None and isinstance(error.position, int):
        shown["line"], shown["caret"] = pointer(text, error.position)
    return shown


def _editor(form: SegmentForm, segment: Segment | None, *,
            error: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("crm/segments/edit.html", form=form, segment=segment,
                           fields=builder_fields(), rule_error=error, confirm=ConfirmForm(),
                           sample_size=SAMPLE), status


def _save_failed(form: SegmentForm, exc: CRMError) -> dict[str, Any] | None:
    """Put a service error on the form's fields; return the rule error with its caret."""
    if isinstance(exc, segment_service.InvalidRule):
        _session().rollback()
        form.text.errors = [*form.text.errors, exc.error.message]
        return rule_error(exc.error, form.text.data or "")
    if isinstance(exc, segment_service.DuplicateSegment):
        _session().rollback()
        form.name.errors = [*form.name.errors, exc.message]
    else:
        _fail(form, exc)
    return None


@bp.route("/segments")
@require("view")
def segment_list() -> ResponseReturnValue:
    """List saved segments; their counts load one by one once the page is shown."""
    return render_template("crm/segments/list.html",
                           rows=segment_service.all_segments(_session()))


@bp.route("/segments/new")
@require("view")
def segment_new() -> ResponseReturnValue:
    """Offer an empty editor (viewers may try queries; organizers may save them)."""
    return _editor(SegmentForm(formdata=None), None)


@bp.route("/segments", methods=["POST"])
@require("edit")
def segment_create() -> ResponseReturnValue:
    """Save a new segment."""
    form = SegmentForm()
    error = None
    if form.validate_on_submit():
        try:
            segment = segment_service.create(_session(), form.to_data(),
                                             actor=access.actor_label())
            _session().commit()
            flash(f"Saved the segment {segment.name}.", "success")
            return redirect(url_for("crm.segment_detail", segment_id=segment.id))
        except CRMError as exc:
            error = _save_failed(form, exc)
    return _editor(form, None, error=error, status=422)


@bp.route("/segments/<int(max=2147483647):segment_id>")
@require("view")
def segment_detail(segment_id: int) -> ResponseReturnValue:
    """Show a saved segment in the editor, with its live count and sample."""
    segment = _segment_or_404(segment_id)
    form = SegmentForm(formdata=None, data={"name": segment.name,
                                            "description": segment.description or "",
                                            "text": segment.text})
    return _editor(form, segment)


@bp.route("/segments/<int(max=2147483647):segment_id>", methods=["POST"])
@require("edit")
def segment_update(segment_id: int) -> ResponseReturnValue:
    """Save changes to a segment's name, description or query."""
    segment = _segment_or_404(segment_id)
    form = SegmentForm()
    error = None
    if form.validate_on_submit():
        try:
            segment_service.update(_session(), segment.id, form.to_data(),
                                   actor=access.actor_label())
            _session().commit()
            flash("Segment saved.", "success")
            return redirect(url_for("crm.segment_detail", segment_id=segment.id))
        except CRMError as exc:
            error = _save_failed(form, exc)
            segment = _segment_or_404(segment_id)
    return _editor(form, segment, error=error, status=422)


@bp.route("/segments/<int(max=2147483647):segment_id>/delete", methods=["POST"])
@require("edit")
def segment_delete(segment_id: int) -> ResponseReturnValue:
    """Delete a saved segment; its contacts stay as they are."""
    segment = _segment_or_404(segment_id)
    if ConfirmForm().validate_on_submit():
        name = segment_service.delete(_session(), segment.id, actor=access.actor_label())
        _session().commit()
        flash(f"Deleted the segment {name}.", "success")
        return redirect(url_for("crm.segment_list"))
    return redirect(url_for("crm.segment_detail", segment_id=segment.id))


def _payload() -> dict[str, Any] | None:
    """Return the preview request as an object: a JSON body, or form fields from a page."""
    if not request.is_json:
        return request.form.to_dict()
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested past what the JSON reader can follow
        body = None
    return body if isinstance(body, dict) else None


def _sample(contact: Contact) -> dict[str, Any]:
    name = (f"{contact.last_name}, {contact.first_name}" if contact.last_name
            and contact.first_name else contact.full_name)
    return {"id": contact.id, "name": name, "email": contact.email,
            "url": url_for("crm.contact_detail", contact_id=contact.id)}


def _problem(kind: str, message: str, status: int) -> ResponseReturnValue:
    return jsonify(error={"kind": kind, "message": message, "position": None}), status


@bp.route("/segments/preview", methods=["POST"])
@require("view")
def segment_preview() -> ResponseReturnValue:
    """Count a rule while staff edit it: ``text``, ``rules`` or a saved ``segment`` id.

    Answers ``{count, text, rules, sample}``. A rule with a mistake is an answer too (200
    with ``{error: {kind, message, position}}``), since the page asks on every pause in
    typing; only a malformed request is a 4xx. ``"sample": false`` skips the sample.
    """
    payload, session = _payload(), _session()
    if payload is None:
        return _problem("request", "Send a JSON object with text, rules or segment.", 400)
    data = {key: payload[key] for key in ("text", "rules") if key in payload}
    if isinstance(data.get("rules"), str):  # from a form field
        try:
            data["rules"] = json.loads(data["rules"])
        except (ValueError, RecursionError):
            return _problem("syntax", "The rules are not valid JSON.", 400)
    if "segment" in payload:
        raw = str(payload["segment"])
        if not raw.isascii() or not raw.isdigit() or int(raw) >= 2**31:
            return _problem("request", "Not a segment id.", 400)
        try:
            data = {"rules": segment_service.get(session, int(raw)).rules}
        except CRMError as exc:
            return _problem("request", exc.message, exc.status_code)
    clock, wants_sample = segment_clock(), payload.get("sample", True) not in (False, "false")
    try:
        if not wants_sample:
            rule = segment_service.read_rule(data)
            return jsonify(count=segments.count(session, rule, clock=clock),
                           text=segments.to_text(rule), rules=segments.to_json(rule), sample=[])
        result = segment_service.preview(session, data, clock=clock, sample_size=SAMPLE)
    except segment_service.InvalidRule as exc:
        text = data.get("text")
        return jsonify(error=rule_error(exc.error, text if isinstance(text, str) else None))
    except ValidationFailed as exc:
        return _problem("request", "; ".join(exc.errors.values()), 400)
    return jsonify(count=result.count, text=result.text, rules=result.rules,
                   sample=[_sample(contact) for contact in result.sample])


def install(app: Flask, state: CRMState) -> None:
    """Add the Segments link, the segment API and the segment-count command."""
    # The API routes and the command attach to the shared blueprint and group on import.
    from . import segment_api, segment_cli  # noqa: F401

    state.add_nav_item(NavItem("Segments", "crm.segment_list", "view", 20))
