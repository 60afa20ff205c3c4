"""Giving and membership pages: contact-page panels, gift and membership forms, wiring."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from . import access, donations, giving_timeline, groups, memberships, money
from .access import require
from .current import db_session as _session
from .errors import CRMError, ValidationFailed
from .forms import ConfirmForm
from .giving_forms import ContactGroupForm, DonationForm, MembershipForm
from .models import Contact
from .panels import ContactPanel, NavItem
from .views import bp

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .extension import CRMState

GIFTS_SHOWN = 10



def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(str(current_app.config["CRM_TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def gift_time(day: date) -> datetime:
    """Return noon of a day in the organization's zone: the day stays put in any display."""
    return datetime.combine(day, time(12), tzinfo=_zone())


def _flash_errors(form: FlaskForm | None, exc: CRMError | None = None) -> None:
    """Flash a form's or a service's field errors as one message."""
    if exc is not None and not isinstance(exc, ValidationFailed):
        flash(exc.message, "danger")
        return
    messages: dict[str, Any] = dict(exc.errors) if isinstance(exc, ValidationFailed) else {}
    if form is not None:
        messages.update({name: " ".join(errs) for name, errs in form.errors.items()})
    flash("Please correct: " + "; ".join(f"{k.replace('_', ' ')}: {v}"
                                         for k, v in messages.items()), "danger")


def _to_contact(contact_id: int) -> ResponseReturnValue:
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))


def _live_contact(contact_id: int) -> Contact:
    contact = _session().get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None:
        abort(404)
    return contact


@bp.route("/contacts/<int(max=2147483647):contact_id>/donations", methods=["POST"])
@require("edit")
def donation_add(contact_id: int) -> ResponseReturnValue:
    """Record a gift by hand."""
    _live_contact(contact_id)
    form = DonationForm(prefix="donation")
    if not form.validate_on_submit():
        _flash_errors(form)
        return _to_contact(contact_id)
    data = {**form.to_data(), "received_at": gift_time(form.received_on.data)}
    try:
        gift = donations.create(_session(), contact_id, data, actor=access.actor_label())
        _session().commit()
        flash(f"Recorded a gift of {money.format_cents(gift.amount_cents)}.", "success")
    except CRMError as exc:
        _session().rollback()
        _flash_errors(None, exc)
    return _to_contact(contact_id)


@bp.route("/donations/<int(max=2147483647):donation_id>/edit", methods=["GET", "POST"])
@require("edit")
def donation_edit(donation_id: int) -> ResponseReturnValue:
    """Correct a gift's amount, date, recurring flag or refcode."""
    gift = _get_or_404(donations.get, donation_id)
    form = DonationForm(prefix="donation")
    if request.method == "GET":
        form.amount.data = f"{gift.amount_cents / 100:.2f}"
        form.received_on.data = gift.received_at.astimezone(_zone()).date()
        form.recurring.data = gift.recurring
        form.refcode.data = gift.refcode or ""
    elif form.validate_on_submit():
        old_day = gift.received_at.astimezone(_zone()).date()
        data = form.to_data()
        if form.received_on.data != old_day:  # an unchanged day keeps its exact time
            data["received_at"] = gift_time(form.received_on.data)
        try:
            donations.update(_session(), gift.id, data, actor=access.actor_label())
            _session().commit()
            flash("Gift saved.", "success")
            return _to_contact(gift.contact_id)
        except CRMError as exc:
            _session().rollback()
            _flash_errors(None, exc)
            gift = _get_or_404(donations.get, donation_id)
    status = 422 if request.method == "POST" else 200
    return render_template("crm/giving/donation_form.html", form=form, gift=gift,
                           contact=_session().get(Contact, gift.contact_id)), status


@bp.route("/donations/<int(max=2147483647):donation_id>/delete", methods=["POST"])
@require("edit")
def donation_delete(donation_id: int) -> ResponseReturnValue:
    """Delete a gift entered by mistake."""
    gift = _get_or_404(donations.get, donation_id)
    contact_id = gift.contact_id
    if ConfirmForm().validate_on_submit():
        donations.delete(_session(), gift.id, actor=access.actor_label())
        _session().commit()
        flash("Gift deleted.", "success")
    return _to_contact(contact_id)


@bp.route("/contacts/<int(max=2147483647):contact_id>/memberships", methods=["POST"])
@require("edit")
def membership_add(contact_id: int) -> ResponseReturnValue:
    """Add a union membership to a contact."""
    _live_contact(contact_id)
    form = MembershipForm(prefix="membership")
    if not form.validate_on_submit():
        _flash_errors(form)
        return _to_contact(contact_id)
    try:
        memberships.add(_session(), contact_id, form.to_data(), actor=access.actor_label())
        _session().commit()
        flash("Membership added.", "success")
    except CRMError as exc:
        _session().rollback()
        _flash_errors(None, exc)
    return _to_contact(contact_id)


@bp.route("/memberships/<int(max=2147483647):membership_id>/edit", methods=["GET", "POST"])
@require("edit")
def membership_edit(membership_id: int) -> ResponseReturnValue:
    """Edit a union membership."""
    membership = _get_or_404(memberships.get, membership_id)
    form = MembershipForm(prefix="membership",
                          obj=membership if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            memberships.update(_session(), membership.id, form.to_data(),
                               actor=access.actor_label())
            _session().commit()
            flash("Membership saved.", "success")
            return _to_contact(membership.contact_id)
        except CRMError as exc:
            _session().rollback()
            _flash_errors(None, exc)
            membership = _get_or_404(memberships.get, membership_id)
    status = 422 if request.method == "POST" else 200
    return render_template("crm/giving/membership_form.html", form=form, membership=membership,
                           contact=_session().get(Contact, membership.contact_id)), status


@bp.route("/memberships/<int(max=2147483647):membership_id>/delete", methods=["POST"])
@require("edit")
def membership_delete(membership_id: int) -> ResponseReturnValue:
    """Remove a union membership."""
    membership = _get_or_404(memberships.get, membership_id)
    contact_id = membership.contact_id
    if ConfirmForm().validate_on_submit():
        memberships.remove(_session(), membership.id, actor=access.actor_label())
        _session().commit()
        flash("Membership removed.", "success")
    return _to_contact(contact_id)


def _get_or_404(getter: Any, ident: int) -> Any:
    try:
        return getter(_session(), ident)
    except CRMError:
        abort(404)


def membership_panel(session: Session, contact: Contact) -> ContactPanel:
    """Offer the contact's union memberships with an add form."""
    return ContactPanel("crm/giving/memberships_panel.html", {
        "memberships": memberships.for_contact(session, contact.id),
        "form": MembershipForm(prefix="membership", formdata=None),
    }, column="side", order=10)


def giving_panel(session: Session, contact: Contact) -> ContactPanel:
    """Offer the contact's giving summary and latest gifts with an add form."""
    return ContactPanel("crm/giving/giving_panel.html", {
        "summary": donations.summary(session, contact.id),
        "gifts": donations.for_contact(session, contact.id, limit=GIFTS_SHOWN),
        "form": DonationForm(prefix="donation", formdata=None),
    }, column="side", order=20)


def groups_panel(session: Session, contact: Contact) -> ContactPanel:
    """Offer the contact's groups with a select to add them to another."""
    mine = groups.for_contact(session, contact.id)
    have = {group.id for group in mine}
    form = ContactGroupForm(prefix="group", formdata=None)
    form.group_id.choices = [(group.id, group.name) for group in groups.all_groups(session)
                             if group.id not in have]
    return ContactPanel("crm/giving/groups_panel.html", {"groups": mine, "form": form},
                        column="side", order=30)


def install(app: Flask, state: CRMState) -> None:
    """Add the giving, membership and group panels, the gift timeline and the Groups link."""
    # Their routes attach to the shared blueprints on first import, which happens here,
    # before the blueprints are registered.
    from . import giving_api, group_views  # noqa: F401

    state.add_panel_source(membership_panel)
    state.add_panel_source(giving_panel)
    state.add_panel_source(groups_panel)
    state.add_timeline_source(giving_timeline.timeline_entries)
    state.add_nav_item(NavItem("Groups", "crm.group_list", "view", 40))
    app.add_template_filter(money.format_cents, "crm_money")
