"""Contact pages: list and search, view, create, edit, delete, notes and tags."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException

from . import access, consent, contacts, listing, panels, timeline
from .access import require
from .current import db_session as _session
from .current import segment_clock
from .errors import CRMError, DuplicateEmail, ValidationFailed
from .forms import ConfirmForm, ContactForm, NoteForm, TagForm, format_custom_lines
from .models import EMAIL_STATUSES
from .segments import service as segment_service
from .templating import template_folder

bp = Blueprint("crm", __name__, template_folder=template_folder(), static_folder="static",
               static_url_path="/static")


@bp.errorhandler(403)
@bp.errorhandler(404)
def error_page(exc: HTTPException) -> ResponseReturnValue:
    """Render a 403 or 404 in the CRM's layout."""
    messages = {403: "Your role cannot do this.", 404: "There is nothing here."}
    code = exc.code or 404
    return render_template("crm/error.html", code=code, message=messages.get(code, "")), code



def _region() -> str:
    return str(current_app.config["CRM_PHONE_REGION"])


def _fail(form: FlaskForm, exc: CRMError) -> None:
    """Put a service error on the form's fields, or flash it when it has no field."""
    _session().rollback()
    if isinstance(exc, ValidationFailed):
        for name, message in exc.errors.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message]
            else:
                flash(f"{name}: {message}", "danger")
    else:
        flash(exc.message, "danger")


@bp.route("/")
@require("view")
def index() -> ResponseReturnValue:
    """Send staff to the contact list."""
    return redirect(url_for("crm.contact_list"))


@bp.route("/contacts")
@require("view")
def contact_list() -> ResponseReturnValue:
    """List contacts with search and filters, one keyset page at a time."""
    flt = listing.ContactFilter.from_query(request.args)
    cursor = request.args.get("after") or None
    try:
        result = listing.page(_session(), flt, cursor=cursor,
                              limit=int(current_app.config["CRM_PAGE_SIZE"]),
                              clock=segment_clock())
    except CRMError as exc:
        _session().rollback()
        message = "; ".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else None
        flash(message or exc.message, "warning")
        result = listing.ContactPage(items=[], next_cursor=None)
    saved = segment_service.all_segments(_session())
    return render_template("crm/contacts/list.html", page=result, flt=flt, cursor=cursor,
                           statuses=EMAIL_STATUSES, segments=saved,
                           segment=next((s for s in saved if str(s.id) == flt.segment), None))


@bp.route("/contacts/new", methods=["GET", "POST"])
@require("edit")
def contact_new() -> ResponseReturnValue:
    """Create a contact."""
    form = ContactForm()
    duplicate: DuplicateEmail | None = None
    if form.validate_on_submit():
        try:
            contact = contacts.create(_session(), form.to_data(), actor=access.actor_label(),
                                      method="staff", region=_region())
            _session().commit()
            flash(f"Created {contact.full_name}.", "success")
            return redirect(url_for("crm.contact_detail", contact_id=contact.id))
        except DuplicateEmail as exc:
            _session().rollback()
            duplicate = exc
            form.email.errors = [*form.email.errors, exc.message]
        except CRMError as exc:
            _fail(form, exc)
    status = 422 if request.method == "POST" else 200
    return render_template("crm/contacts/form.html", form=form, contact=None,
                           duplicate=duplicate, confirm=ConfirmForm()), status


@bp.route("/contacts/<int(max=2147483647):contact_id>")
@require("view")
def contact_detail(contact_id: int) -> ResponseReturnValue:
    """Show a contact with tags, timeline and consent history."""
    session = _session()
    survivor_id = contacts.merged_into(session, contact_id)
    if survivor_id is not None:
        # A merged duplicate is a tombstone that sends staff on to the surviving record.
        return redirect(url_for("crm.contact_detail", contact_id=survivor_id))
    contact = _get_or_404(contact_id)
    state = current_app.extensions["crm"]
    return render_template(
        "crm/contacts/detail.html",
        contact=contact,
        entries=timeline.build(session, contact.id, state.timeline_sources),
        panels=panels.build(session, contact, state.panel_sources),
        consent_history=consent.history(session, contact.id),
        note_form=NoteForm(),
        tag_form=TagForm(),
        confirm=ConfirmForm(),
    )


@bp.route("/contacts/<int(max=2147483647):contact_id>/edit", methods=["GET", "POST"])
@require("edit")
def contact_edit(contact_id: int) -> ResponseReturnValue:
    """Edit a contact's fields, status and tags."""
    contact = _get_or_404(contact_id)
    form = ContactForm(obj=contact if request.method == "GET" else None)
    if request.method == "GET":
        form.tags.data = ", ".join(tag.name for tag in contact.tags)
        form.custom_fields.data = format_custom_lines(contact.custom_fields)
        form.state.data = contact.state or ""
    if form.validate_on_submit():
        try:
            contacts.update(_session(), contact.id, form.to_data(), actor=access.actor_label(),
                            method="staff", region=_region())
            _session().commit()
            flash("Saved.", "success")
            return redirect(url_for("crm.contact_detail", contact_id=contact.id))
        except CRMError as exc:
            _fail(form, exc)
            contact = _get_or_404(contact_id)
    status = 422 if request.method == "POST" else 200
    return render_template("crm/contacts/form.html", form=form, contact=contact,
                           duplicate=None, confirm=ConfirmForm()), status


@bp.route("/contacts/<int(max=2147483647):contact_id>/delete", methods=["POST"])
@require("edit")
def contact_delete(contact_id: int) -> ResponseReturnValue:
    """Delete a contact (kept as a hidden record so its opt-out is never lost)."""
    _get_or_404(contact_id)
    if ConfirmForm().validate_on_submit():
        contact = contacts.delete(_session(), contact_id, actor=access.actor_label())
        _session().commit()
        flash(f"Deleted {contact.full_name}. Their email and consent are kept.", "success")
    return redirect(url_for("crm.contact_list"))


@bp.route("/contacts/<int(max=2147483647):contact_id>/restore", methods=["POST"])
@require("edit")
def contact_restore(contact_id: int) -> ResponseReturnValue:
    """Bring back a deleted contact."""
    if ConfirmForm().validate_on_submit():
        try:
            contacts.restore(_session(), contact_id, actor=access.actor_label())
            _session().commit()
            flash("Restored.", "success")
        except CRMError:
            _session().rollback()
            abort(404)
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))


@bp.route("/contacts/<int(max=2147483647):contact_id>/notes", methods=["POST"])
@require("edit")
def contact_note(contact_id: int) -> ResponseReturnValue:
    """Add a note to the timeline."""
    _get_or_404(contact_id)
    form = NoteForm()
    if form.validate_on_submit():
        contacts.add_note(_session(), contact_id, form.body.data or "", actor=access.actor_label())
        _session().commit()
        flash("Note added.", "success")
    else:
        flash("A note needs some text (at most 10,000 characters).", "danger")
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))


@bp.route("/contacts/<int(max=2147483647):contact_id>/tags", methods=["POST"])
@require("edit")
def contact_tag_add(contact_id: int) -> ResponseReturnValue:
    """Tag a contact."""
    _get_or_404(contact_id)
    form = TagForm()
    if form.validate_on_submit():
        try:
            contacts.change_tags(_session(), contact_id, add=[form.name.data or ""],
                                 actor=access.actor_label())
            _session().commit()
        except CRMError as exc:
            _session().rollback()
            flash(exc.message if not isinstance(exc, ValidationFailed)
                  else "; ".join(exc.errors.values()), "danger")
    else:
        flash("A tag needs a name of at most 100 characters.", "danger")
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))


@bp.route("/contacts/<int(max=2147483647):contact_id>/tags/<path:name>/remove", methods=["POST"])
@require("edit")
def contact_tag_remove(contact_id: int, name: str) -> ResponseReturnValue:
    """Remove a tag from a contact."""
    _get_or_404(contact_id)
    if ConfirmForm().validate_on_submit():
        try:
            contacts.change_tags(_session(), contact_id, remove=[name],
                                 actor=access.actor_label())
            _session().commit()
        except CRMError as exc:
            _session().rollback()
            flash(exc.message, "danger")
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))


def _get_or_404(contact_id: int) -> Any:
    try:
        return contacts.get(_session(), contact_id)
    except CRMError:
        abort(404)
