"""The webhook Mailchimp calls: secret in the URL, no login, no CSRF, answered fast."""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from crm.current import db_session as _session

from . import connection, webhooks

hook_bp = Blueprint("campaigns_hooks", __name__)
MAX_BODY = 64 * 1024  # Mailchimp's deliveries are a few hundred bytes


@hook_bp.route("/hooks/mailchimp/<secret>", methods=["GET", "HEAD", "POST"])
def mailchimp_hook(secret: str) -> ResponseReturnValue:
    """Receive one webhook delivery (a GET is Mailchimp checking the URL)."""
    expected = connection.webhook_secret(current_app)
    if not hmac.compare_digest(secret.encode(), expected.encode()):
        abort(404)
    if request.method != "POST":
        return jsonify(ok=True)
    request.max_content_length = MAX_BODY
    try:
        form = webhooks.parse_form(request.form.items(multi=True))
    except webhooks.BadDelivery as exc:
        return jsonify(error=str(exc)), 400
    if not form.get("type"):
        return jsonify(error="Not a Mailchimp delivery: it has no type."), 400
    session = _session()
    event, new = webhooks.receive(session, form,
                                  audience_id=connection.audience_id(current_app))
    session.commit()
    # 200 even for what we ignore: anything else makes Mailchimp retry for 75 minutes.
    return jsonify(outcome=event.outcome, detail=event.detail, repeat=not new)
