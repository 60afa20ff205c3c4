"""Mailchimp pages: the connection overview, reconciling now and installing the webhook.

The sync pages live in ``sync_views`` and the review queue, ledger and webhook log in
``log_views``; both add their routes to this blueprint when imported at the end.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from crm import access
from crm.access import require
from crm.current import db_session as _session
from crm.errors import CRMError
from crm.forms import ConfirmForm
from crm.views import error_page

from . import actions, browse, connection
from .cli import hook_url
from .forms import WebhookForm
from .mailchimp_errors import MailchimpError

bp = Blueprint("campaigns", __name__)
# A missing sync or a role that may not act gets the CRM's own error page.
bp.register_error_handler(403, error_page)
bp.register_error_handler(404, error_page)
HIDDEN_SECRET = "•" * 12


def webhook_address(reveal: bool) -> str:
    """Return the webhook URL under this request's host; the secret only when ``reveal``."""
    url = hook_url(request.host_url, current_app)
    if reveal:
        return url
    return url[: -len(connection.webhook_secret(current_app))] + HIDDEN_SECRET


def _home(form: WebhookForm, status: int = 200) -> ResponseReturnValue:
    admin = access.can("manage_users")
    return render_template(
        "campaigns/home.html", view=browse.overview(_session(), current_app),
        webhook_form=form, confirm=ConfirmForm(), hook_address=webhook_address(admin),
    ), status


@bp.route("/mailchimp")
@require("view")
def mailchimp_home() -> ResponseReturnValue:
    """Show the connection, the audience, the ledger by status, review and recent syncs."""
    return _home(WebhookForm(formdata=None, base_url=request.host_url.rstrip("/")))


@bp.route("/mailchimp/reconcile", methods=["POST"])
@require("edit")
def reconcile_now() -> ResponseReturnValue:
    """Start reconciling with Mailchimp now and follow it on the job page."""
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; please try again.", "danger")
        return redirect(url_for("campaigns.mailchimp_home"))
    job, new = actions.start_reconcile(_session(), actor=access.actor_label())
    if not new:
        flash("Reconciling is running already: here it is.", "info")
    return redirect(url_for("crm.job_detail", job_id=job.id))


@bp.route("/mailchimp/webhook", methods=["POST"])
@require("manage_users")
def webhook_install() -> ResponseReturnValue:
    """Register this CRM's webhook in Mailchimp for all six events."""
    form = WebhookForm()
    if not form.validate_on_submit():
        return _home(form, 422)
    try:
        url, new = actions.install_webhook(current_app, form.base_url.data or "")
    except MailchimpError as exc:
        flash(f"Mailchimp refused the webhook: {exc}", "danger")
        return _home(form, 422)
    except CRMError as exc:
        flash(exc.message, "danger")
        return _home(form, 422)
    if new:
        flash(f"Registered the webhook {url} for subscribe, unsubscribe, profile, cleaned, "
              "email-change and campaign events.", "success")
    else:
        flash("The webhook was registered already.", "info")
    return redirect(url_for("campaigns.mailchimp_home"))


# The other pages attach their routes to ``bp`` on import.
from . import log_views, sync_views  # noqa: E402, F401
