"""The public landing page of run-for-office links: no login, no staff layout, CSRF on.

A GET shows the three answers and counts the click (a HEAD, a link checker, counts nothing);
a staff preview's links open a page that says it is a preview and record nothing;
the ``?answer=`` of the email's buttons only highlights one of them. Only a POST with the
form's CSRF token answers. Bad links and bad requests get a friendly page in the public
layout, never the staff's navigation and never a stack trace.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from crm.current import db_session as _session
from crm.errors import CRMError, ValidationFailed

from . import responses, tokens
from .campaign_models import Recipient
from .respond_forms import LINK_ANSWERS, ResponseForm

respond_bp = Blueprint("campaign_public", __name__)

REFUSED = {
    "forged": ("This link does not work",
               "The link may have been cut short or changed. Please open it again from the "
               "email we sent you, in full."),
    "unknown": ("This link does not work any more",
                "We could not find what this link was for. Please reply to the email we sent "
                "you and we will sort it out."),
    "expired": ("This link has expired",
                "Links in our emails work for a limited time. Please reply to the email we "
                "sent you and tell us your answer there."),
}
ERRORS = {
    400: ("Something went wrong with that request",
          "Nothing was changed. Please go back, reload the page and try again."),
    404: ("There is nothing here", "Please check the link in the email we sent you."),
    413: ("That was too much text", "Nothing was changed. Please shorten it and try again."),
    429: ("Too many tries", "Please wait a minute and try again. Nothing was lost."),
    500: ("Something went wrong on our side",
          "We are sorry. Please try again in a few minutes."),
}


@respond_bp.context_processor
def _public_context() -> dict[str, Any]:
    return {"org_name": current_app.config["CRM_ORG_NAME"]}


@respond_bp.after_request
def _private(response: WerkzeugResponse) -> WerkzeugResponse:
    # The URL holds a personal token: keep the page out of shared caches and search engines.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _message_page(title: str, message: str, status: int) -> str:
    return render_template("campaigns/public/message.html", title=title, message=message,
                           status=status)


def _message(title: str, message: str, status: int) -> ResponseReturnValue:
    return _message_page(title, message, status), status


def public_error(exc: HTTPException) -> ResponseReturnValue:
    """Answer an error on the public pages with a friendly page in the public layout."""
    code = exc.code or 500
    if code >= 500:
        _session().rollback()
    if isinstance(exc, CSRFError):
        return _message("This form has expired",
                        "Nothing was changed. Please go back, reload the page and answer again.",
                        400)
    title, message = ERRORS.get(code, ERRORS[400])
    if isinstance(exc, RateLimitExceeded):
        # Tell well-behaved clients when to come back: the length of the limit's window.
        return (_message_page(title, message, code), code,
                {"Retry-After": str(exc.limit.limit.get_expiry())})
    return _message(title, message, code)


for _code in ERRORS:
    respond_bp.register_error_handler(_code, public_error)


def _recipient(token: str) -> Recipient:
    return responses.recipient_for(
        _session(), str(current_app.config["SECRET_KEY"]), token,
        max_age_days=int(current_app.config.get("CRM_RESPONSE_TOKEN_DAYS") or 60))


def _show(token: str, recipient: Recipient, form: ResponseForm, preselect: str | None,
          status: int = 200) -> ResponseReturnValue:
    campaign = responses.campaign_of(_session(), recipient)
    answered = recipient.answer if recipient.answer in responses.SELF_ANSWERS else None
    return render_template("campaigns/public/respond.html", token=token, form=form,
                           preselect=preselect, answered=answered,
                           answered_at=recipient.answered_at,
                           reply_to=campaign.reply_to), status


@respond_bp.route("/respond/preview/<token>", methods=["GET", "POST"])
def respond_preview(token: str) -> ResponseReturnValue:
    """Say that a staff preview's link is only a preview; record nothing."""
    try:
        tokens.read_preview(str(current_app.config["SECRET_KEY"]), token)
    except tokens.BadToken:
        return _message(*REFUSED["forged"], 400)
    return _message("This is a preview",
                    "This link comes from a preview of the email, so nothing is recorded "
                    "here. Only the links in the email as it is delivered record an answer.",
                    200)


@respond_bp.route("/respond/<token>", methods=["GET", "POST"])
def respond(token: str) -> ResponseReturnValue:
    """Show the run-for-office answers for a link, or record the one posted."""
    session = _session()
    try:
        recipient = _recipient(token)
    except responses.LinkRefused as exc:
        session.rollback()
        title, message = REFUSED.get(exc.reason, REFUSED["unknown"])
        return _message(title, message, exc.status_code)
    if request.method == "POST":
        return _answer(token, recipient)
    if request.method == "GET":
        responses.record_click(session, recipient)
        session.commit()
    return _show(token, recipient, ResponseForm(),
                 LINK_ANSWERS.get(request.args.get("answer", "")))


def _answer(token: str, recipient: Recipient) -> ResponseReturnValue:
    session = _session()
    form = ResponseForm()
    if not form.validate():
        return _show(token, recipient, form, "nominated" if form.choice.data == "nominated"
                     else None, 422)
    choice = str(form.choice.data)
    nomination = form.nomination() if choice == "nominated" else None
    region = str(current_app.config.get("CRM_PHONE_REGION") or "US")
    campaign = responses.campaign_of(session, recipient)
    reply_to = campaign.reply_to
    # Two submits at once may both create the same nominee or recruit; the loser's second
    # try finds what the winner made.
    for _attempt in range(2):
        try:
            outcome = responses.answer(session, recipient, choice, nomination=nomination,
                                       region=region)
            session.commit()
            break
        except ValidationFailed as exc:
            session.rollback()
            for name, message in exc.errors.items():
                field = getattr(form, name, None)
                if field is not None and name != "choice":
                    field.errors = [*field.errors, message]
                else:
                    form.form_errors.append(message)
            return _show(token, recipient, form, choice, 422)
        except CRMError as exc:
            session.rollback()
            return _message("We could not record that", exc.message, exc.status_code)
        except IntegrityError:
            session.rollback()
    else:
        return _message("That did not go through", "Nothing was changed. Please try again.", 409)
    return render_template("campaigns/public/done.html", token=token, outcome=outcome,
                           reply_to=reply_to, nominee_name=(nomination or {}).get("name", ""))
