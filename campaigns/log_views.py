"""Mailchimp record pages: the review queue, the sync ledger and the webhook log."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from crm import access
from crm.access import require
from crm.current import db_session as _session
from crm.errors import CRMError

from . import browse, connection, review
from .forms import DismissForm
from .models import ReviewItem
from .views import bp

ID = "int(max=2147483647)"
PAGE_MAX = 100_000


def _page_arg() -> int:
    return max(1, min(request.args.get("page", 1, type=int) or 1, PAGE_MAX))


@bp.route("/mailchimp/review")
@require("view")
def review_list() -> ResponseReturnValue:
    """List the members Mailchimp refused that nobody has dealt with yet."""
    page = _page_arg()
    items, total = review.open_items(_session(), page=page)
    return render_template(
        "campaigns/review.html", items=items, total=total, page=page, per_page=review.PAGE,
        contacts=browse.contacts_by_id(_session(), (i.contact_id for i in items)),
        dismiss=DismissForm(formdata=None))


@bp.route(f"/mailchimp/review/<{ID}:item_id>/dismiss", methods=["POST"])
@require("edit")
def review_dismiss(item_id: int) -> ResponseReturnValue:
    """Close a review item, with an optional note of what was done."""
    item = _session().get(ReviewItem, item_id)
    if item is None:
        abort(404)
    form = DismissForm()
    if form.validate_on_submit():
        try:
            review.resolve(_session(), item.id, actor=access.actor_label(),
                           resolution=(form.note.data or "").strip() or "Dismissed.")
            _session().commit()
            flash(f"Dismissed the item about {item.email}.", "success")
        except CRMError as exc:
            _session().rollback()
            flash(exc.message, "danger")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors)
              or "The form expired; please try again.", "danger")
    if request.form.get("back") == "sync" and item.sync_id is not None:
        return redirect(url_for("campaigns.sync_detail", sync_id=item.sync_id))
    return redirect(url_for("campaigns.review_list", page=_page_arg()))


@bp.route("/mailchimp/ledger")
@require("view")
def ledger_list() -> ResponseReturnValue:
    """List what Mailchimp holds per contact, as far as the ledger knows, by contact."""
    email = request.args.get("q", "").strip()[:320]
    status = request.args.get("status", "")
    if status not in browse.STATUSES:
        status = ""
    after = max(0, min(request.args.get("after", 0, type=int) or 0, 2**31 - 1))
    rows, next_after = browse.ledger_page(_session(), connection.audience_id(current_app),
                                          after=after, email=email, status=status)
    return render_template(
        "campaigns/ledger.html", rows=rows, next_after=next_after, after=after, q=email,
        status=status, statuses=browse.STATUSES,
        contacts=browse.contacts_by_id(_session(), (r.contact_id for r in rows)))


@bp.route("/mailchimp/webhooks")
@require("view")
def webhook_log() -> ResponseReturnValue:
    """List the latest webhook deliveries and what each one changed."""
    outcome = request.args.get("outcome", "")[:30]
    before = request.args.get("before", type=int)
    if before is not None:
        before = max(0, min(before, 2**31 - 1))
    rows, next_before = browse.webhook_page(_session(), before=before, outcome=outcome)
    return render_template(
        "campaigns/webhooks.html", rows=rows, next_before=next_before, outcome=outcome,
        outcomes=browse.webhook_outcomes(_session()),
        contacts=browse.contacts_by_id(_session(), (r.contact_id for r in rows)))
