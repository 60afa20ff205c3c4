"""The sandbox inbox: what the sandbox Mailchimp "delivered", to read and click through.

Only with the sandbox (no API key): with the real Mailchimp these pages do not exist.
A message is shown in a sandboxed frame from its own URL (see ``frame_response``); its
links open in a new tab and are listed under it as well, so a response link can be
followed as a recipient would.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from crm.access import require
from crm.current import db_session as _session

from . import connection, sandbox_inbox
from .campaign_models import Campaign
from .campaign_views import bp
from .campaign_views_page import frame_response

_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class _Links(HTMLParser):
    """Collect an email's links as (text, address)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or None
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            if self._href.startswith(("http://", "https://")):
                self.links.append((" ".join("".join(self._text).split()), self._href))
            self._href = None


def links_of(html: str) -> list[tuple[str, str]]:
    """Return the http(s) links of an email, in order."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.links


def _base() -> str:
    base = connection.inbox_url(current_app)
    if base is None:
        abort(404)  # a real Mailchimp has no inbox to show
    return base


def _campaigns(mc_ids: set[str]) -> dict[str, Campaign]:
    if not mc_ids:
        return {}
    rows = _session().scalars(select(Campaign).where(Campaign.mc_campaign_id.in_(mc_ids)))
    return {c.mc_campaign_id: c for c in rows if c.mc_campaign_id}


@bp.route("/campaigns/sandbox-inbox")
@require("view")
def inbox() -> ResponseReturnValue:
    """List the messages the sandbox delivered, newest first, optionally of one campaign."""
    base = _base()
    chosen = request.args.get("campaign", "")[:40]
    error, messages = "", []
    try:
        messages = sandbox_inbox.messages(base, chosen or None)
    except sandbox_inbox.SandboxUnavailable as exc:
        error = str(exc)
    sent = list(_session().scalars(select(Campaign).where(Campaign.mc_campaign_id.is_not(None))
                                   .order_by(Campaign.id.desc()).limit(200)))
    return render_template(
        "campaigns/inbox.html", messages=messages, error=error, chosen=chosen, campaigns=sent,
        by_mc_id={c.mc_campaign_id: c for c in sent} | _campaigns(
            {str(m.get("campaign_id")) for m in messages})), 502 if error else 200


def _message_or_404(message_id: str) -> dict[str, object]:
    if not _MESSAGE_ID.fullmatch(message_id):
        abort(404)
    try:
        found = sandbox_inbox.message(_base(), message_id)
    except sandbox_inbox.SandboxUnavailable:
        abort(404)
    if found is None:
        abort(404)
    return found


@bp.route("/campaigns/sandbox-inbox/<message_id>")
@require("view")
def inbox_message(message_id: str) -> ResponseReturnValue:
    """Show one delivered message: its header, the email in a frame, its links and its text."""
    found = _message_or_404(message_id)
    campaign = _campaigns({str(found.get("campaign_id"))}).get(str(found.get("campaign_id")))
    return render_template("campaigns/inbox_message.html", message=found, campaign=campaign,
                           links=links_of(str(found.get("html") or "")))


@bp.route("/campaigns/sandbox-inbox/<message_id>/frame")
@require("view")
def inbox_frame(message_id: str) -> ResponseReturnValue:
    """Answer the message's frame with the email's HTML."""
    found = _message_or_404(message_id)
    return frame_response(str(found.get("html") or ""),
                          {"html": "This message has no HTML part."})
