"""Duplicates and merging: the finder, the side-by-side merge screen and the merge API."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from . import access, contacts, merge
from .access import require
from .api import api_bp
from .api_schemas import ContactSchema
from .current import db_session as _session
from .errors import CRMError, ValidationFailed
from .merge_forms import merge_form
from .panels import NavItem
from .views import bp

_ID = "int(max=2147483647)"



@bp.route("/duplicates")
@require("edit")
def duplicates() -> ResponseReturnValue:
    """List contacts that are probably the same person."""
    session = _session()
    pairs = merge.find_duplicates(session)
    ids = {i for pair in pairs for i in (pair.first_id, pair.second_id)}
    people = {c.id: c for c in _load(session, ids)}
    return render_template("crm/merge/duplicates.html", pairs=pairs, people=people)


@bp.route(f"/contacts/<{_ID}:survivor_id>/merge/<{_ID}:duplicate_id>", methods=["GET", "POST"])
@require("edit")
def contact_merge(survivor_id: int, duplicate_id: int) -> ResponseReturnValue:
    """Compare two contacts field by field and merge the second into the first."""
    session = _session()
    try:
        survivor = contacts.get(session, survivor_id)
        duplicate = contacts.get(session, duplicate_id)
    except CRMError:
        abort(404)
    if survivor.id == duplicate.id:
        abort(404)
    form = merge_form(survivor, duplicate, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        choices = {name: form[name].data for name in merge.CHOOSABLE}
        try:
            merge.merge(session, survivor.id, duplicate.id, choices=choices,
                        actor=access.actor_label())
            session.commit()
        except CRMError as exc:
            session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("crm.contact_merge", survivor_id=survivor_id,
                                    duplicate_id=duplicate_id))
        flash(f"Merged #{duplicate_id} into this contact; #{duplicate_id} now points here.",
              "success")
        return redirect(url_for("crm.contact_detail", contact_id=survivor_id))
    return render_template("crm/merge/compare.html", survivor=survivor, duplicate=duplicate,
                           form=form, fields=merge.CHOOSABLE,
                           moves=merge.what_moves(session, duplicate.id))


class MergeSchema(Schema):
    """Which contact to fold into this one, and which of its field values to keep."""

    duplicate_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    choices = fields.Dict(
        keys=fields.String(validate=validate.OneOf(merge.CHOOSABLE)),
        values=fields.String(validate=validate.OneOf(("survivor", "duplicate"))),
        load_default=dict,
        metadata={"description": "Field name to survivor or duplicate; unlisted fields keep "
                                 "the survivor's value (or the duplicate's where it is empty)."},
    )


@api_bp.route(f"/contacts/<{_ID}:contact_id>/merge", methods=["POST"])
@api_bp.arguments(MergeSchema)
@api_bp.response(200, ContactSchema)
def contact_merge_api(body: dict[str, Any], contact_id: int) -> Any:
    """Merge another contact into this one; the other becomes a tombstone pointing here."""
    session = _session()
    survivor = contacts.get(session, contact_id)
    duplicate = contacts.get(session, body["duplicate_id"])
    choices = {name: ("duplicate" if not getattr(survivor, name) and getattr(duplicate, name)
                      else "survivor") for name in merge.CHOOSABLE}
    choices.update(body["choices"])
    try:
        result = merge.merge(session, contact_id, body["duplicate_id"], choices=choices,
                             actor=access.actor_label())
    except ValidationFailed:
        session.rollback()
        raise
    session.commit()
    return result


def _load(session: Any, ids: set[int]) -> list[Any]:
    from sqlalchemy import select

    from .models import Contact

    return list(session.scalars(select(Contact).where(Contact.id.in_(ids)))) if ids else []


def install(app: Flask, state: Any) -> None:
    """Add the Duplicates link for organizers."""
    state.add_nav_item(NavItem("Duplicates", "crm.duplicates", "edit", 70))
