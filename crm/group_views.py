"""Group pages: the list with counts, one group's members, and adding and removing members."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from . import access, contacts, groups
from .access import require
from .current import db_session as _session
from .errors import CRMError, ValidationFailed
from .forms import ConfirmForm
from .giving_forms import ContactGroupForm, GroupForm, MemberEmailForm, RenameGroupForm
from .views import bp


def _message(exc: CRMError) -> str:
    return "; ".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else exc.message


def _group_or_404(group_id: int) -> Any:
    try:
        return groups.get(_session(), group_id)
    except CRMError:
        abort(404)


def _to_group(group_id: int) -> ResponseReturnValue:
    return redirect(url_for("crm.group_detail", group_id=group_id))


@bp.route("/groups")
@require("view")
def group_list() -> ResponseReturnValue:
    """List groups by name with how many contacts each has."""
    return render_template("crm/giving/groups.html", rows=groups.all_with_counts(_session()),
                           form=GroupForm())


@bp.route("/groups", methods=["POST"])
@require("edit")
def group_create() -> ResponseReturnValue:
    """Create a group."""
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = groups.create(_session(), form.name.data or "", form.description.data,
                                  actor=access.actor_label())
            _session().commit()
            flash(f"Created the group {group.name}.", "success")
            return _to_group(group.id)
        except CRMError as exc:
            _session().rollback()
            form.name.errors = [*form.name.errors, _message(exc)]
    return render_template("crm/giving/groups.html", rows=groups.all_with_counts(_session()),
                           form=form), 422


@bp.route("/groups/<int(max=2147483647):group_id>")
@require("view")
def group_detail(group_id: int) -> ResponseReturnValue:
    """Show a group's members by name, a page at a time."""
    group = _group_or_404(group_id)
    cursor = request.args.get("after") or None
    try:
        page = groups.members(_session(), group.id, cursor=cursor,
                              limit=int(current_app.config["CRM_PAGE_SIZE"]))
    except CRMError as exc:
        flash(exc.message, "warning")
        page = groups.MemberPage(items=[], next_cursor=None)
    return render_template("crm/giving/group_detail.html", group=group, page=page, cursor=cursor,
                           count=groups.member_count(_session(), group.id),
                           email_form=MemberEmailForm(), rename_form=RenameGroupForm(
                               formdata=None, data={"name": group.name}))


@bp.route("/groups/<int(max=2147483647):group_id>/rename", methods=["POST"])
@require("edit")
def group_rename(group_id: int) -> ResponseReturnValue:
    """Rename a group."""
    group = _group_or_404(group_id)
    form = RenameGroupForm()
    if not form.validate_on_submit():
        flash("A group name is 1 to 200 characters.", "danger")
        return _to_group(group.id)
    try:
        groups.rename(_session(), group.id, form.name.data or "", actor=access.actor_label())
        _session().commit()
        flash("Renamed.", "success")
    except CRMError as exc:
        _session().rollback()
        flash(_message(exc), "danger")
    return _to_group(group_id)


@bp.route("/groups/<int(max=2147483647):group_id>/delete", methods=["POST"])
@require("edit")
def group_delete(group_id: int) -> ResponseReturnValue:
    """Delete a group; its members stay as contacts."""
    group = _group_or_404(group_id)
    if ConfirmForm().validate_on_submit():
        name = groups.delete(_session(), group.id, actor=access.actor_label())
        _session().commit()
        flash(f"Deleted the group {name}.", "success")
        return redirect(url_for("crm.group_list"))
    return _to_group(group_id)


@bp.route("/groups/<int(max=2147483647):group_id>/members", methods=["POST"])
@require("edit")
def group_member_add(group_id: int) -> ResponseReturnValue:
    """Add a contact to the group by their email."""
    group = _group_or_404(group_id)
    form = MemberEmailForm()
    if not form.validate_on_submit():
        flash("Give the email of a contact.", "danger")
        return _to_group(group.id)
    try:
        contact, added = groups.add_member_by_email(_session(), group.id, form.email.data or "",
                                                    actor=access.actor_label())
        _session().commit()
        flash(f"Added {contact.full_name}." if added
              else f"{contact.full_name} is already in the group.", "success")
    except CRMError as exc:
        _session().rollback()
        flash(_message(exc), "danger")
    return _to_group(group_id)


@bp.route("/groups/<int(max=2147483647):group_id>/members/<int(max=2147483647):contact_id>"
          "/remove", methods=["POST"])
@require("edit")
def group_member_remove(group_id: int, contact_id: int) -> ResponseReturnValue:
    """Take a contact out of the group (back to the contact page if asked from there)."""
    group = _group_or_404(group_id)
    if ConfirmForm().validate_on_submit():
        groups.remove_member(_session(), group.id, contact_id, actor=access.actor_label())
        _session().commit()
        flash("Removed from the group.", "success")
    if request.form.get("return_to") == "contact":
        return redirect(url_for("crm.contact_detail", contact_id=contact_id))
    return _to_group(group_id)


@bp.route("/contacts/<int(max=2147483647):contact_id>/groups", methods=["POST"])
@require("edit")
def contact_group_add(contact_id: int) -> ResponseReturnValue:
    """Put the contact in the group chosen on their page."""
    try:
        contacts.get(_session(), contact_id)
    except CRMError:
        abort(404)
    form = ContactGroupForm(prefix="group")
    if form.validate_on_submit():
        try:
            groups.add_member(_session(), form.group_id.data, contact_id,
                              actor=access.actor_label())
            _session().commit()
            flash("Added to the group.", "success")
        except CRMError as exc:
            _session().rollback()
            flash(_message(exc), "danger")
    else:
        flash("Choose a group.", "danger")
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))
