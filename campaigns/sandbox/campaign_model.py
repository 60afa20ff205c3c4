"""A sandbox campaign as plain data: Mailchimp's rules for it and how the API shows it.

Everything here is unlocked and pure; ``SandboxState`` holds the lock around it. A campaign
is a dict with ``id``, ``web_id``, ``number`` (creation order), ``type``, ``list_id``,
``segment_id`` (None for the whole audience), ``settings``, ``create_time``, ``status``,
``emails_sent``, ``send_time``, ``schedule_time``, ``html``, ``plain_text`` and the
counters ``send_calls``, ``send_requests`` and ``test_sends``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from . import merge_tags
from .model import Audience, SandboxProblem, subscriber_hash

SETTINGS = ("subject_line", "preview_text", "title", "from_name", "reply_to")
EDITABLE = ("save", "paused")
SENDABLE = ("save", "paused", "schedule")
UNSUBSCRIBE_PATH = "/_sandbox/unsubscribe"
_DONE = {"edit": "edited", "schedule": "scheduled", "send": "sent"}


def bad_request(detail: str) -> SandboxProblem:
    """Return Mailchimp's 400 "Bad Request" problem, its answer to an action out of turn."""
    return SandboxProblem(400, "Bad Request", detail)


# A reply-to Mailchimp accepts: one address, a dot in its domain, no spaces.
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def out_of_turn(campaign: dict[str, Any], action: str) -> SandboxProblem:
    """Return the problem for editing, scheduling or sending a campaign in the wrong state."""
    if campaign["status"] in ("sent", "sending"):
        return bad_request("This campaign has already been sent.")
    if campaign["status"] == "schedule":
        return bad_request("This campaign is scheduled: unschedule it before it can be "
                           f"{_DONE[action]}.")
    return bad_request(f"A campaign whose status is {campaign['status']} cannot be "
                       f"{_DONE[action]}.")


def check_ready(campaign: dict[str, Any], audience: Audience | None = None) -> None:
    """Raise Mailchimp's "not ready to send" problem if the campaign lacks what a send needs.

    With the ``audience`` (a send or a schedule, not a test) the checklist also wants an
    unsubscribe link in the content and someone subscribed in the segment, as Mailchimp's does.
    """
    settings = campaign["settings"]
    reply_to = settings["reply_to"].strip()
    missing = [what for what, ok in (
        ("it has no content", campaign["html"].strip() or campaign["plain_text"].strip()),
        ("the subject line is empty", settings["subject_line"].strip()),
        ("the from name is empty", settings["from_name"].strip()),
        ("the reply-to address is empty", reply_to),
        ("the reply-to address is not a valid email address",
         not reply_to or _ADDRESS.fullmatch(reply_to))) if not ok]
    if audience is not None:
        content = campaign["html"] or campaign["plain_text"]
        if "*|UNSUB|*" not in content.upper():
            missing.append("the content has no unsubscribe link (*|UNSUB|*)")
        if not missing and not recipients(campaign, audience):
            missing.append("the segment has no subscribed members")
    if missing:
        raise bad_request(f"Your Campaign is not ready to send: {'; '.join(missing)}.")


def recipients(campaign: dict[str, Any], audience: Audience) -> list[dict[str, Any]]:
    """Return the members a send reaches: the segment's (or audience's) subscribed ones."""
    if campaign["segment_id"] is None:
        ids: Any = audience.members
    else:
        segment = audience.segments.get(campaign["segment_id"])
        if segment is None:
            raise bad_request(f"The campaign's segment {campaign['segment_id']} no longer "
                              "exists.")
        ids = segment["members"]
    members = [audience.members[h] for h in ids if h in audience.members]
    return sorted((m for m in members if m["status"] == "subscribed"),
                  key=lambda m: m["email_address"].lower())


def list_address(audience: Audience) -> str:
    """Return the audience's postal address on one line (``*|LIST:ADDRESS|*``)."""
    # Rendering the list counts its members: done once per delivery, not per message.
    return merge_tags.postal_address(audience.render()["contact"])


def unsubscribe_url(public_url: str, list_id: str, email: str, campaign_id: str) -> str:
    """Return the sandbox page where this recipient of this campaign unsubscribes."""
    return f"{public_url}{UNSUBSCRIBE_PATH}/{list_id}/{subscriber_hash(email)}/{campaign_id}"


def message(campaign: dict[str, Any], *, email: str, values: dict[str, Any] | None,
            unsubscribe: str, address: str, sent_at: str, test: bool) -> dict[str, Any]:
    """Return the inbox message one recipient gets (``values`` None: not a member)."""
    lookup = merge_tags.recipient_lookup(values, email=email, unsubscribe_url=unsubscribe,
                                         list_address=address)
    fill = merge_tags.fill
    subject = fill(campaign["settings"]["subject_line"], lookup, as_html=False)
    # Mailchimp marks test messages in the subject line.
    return {"campaign_id": campaign["id"], "message_id": uuid.uuid4().hex[:16], "to": email,
            "subject": f"[Test] {subject}" if test else subject,
            "html": fill(campaign["html"], lookup, as_html=True),
            "text": fill(campaign["plain_text"], lookup, as_html=False),
            "test": test, "sent_at": sent_at}


def render_content(campaign: dict[str, Any]) -> dict[str, Any]:
    """Return a campaign's content as the API shows it."""
    return {"html": campaign["html"], "plain_text": campaign["plain_text"], "_links": []}


def render(campaign: dict[str, Any], audience: Audience | None) -> dict[str, Any]:
    """Return a campaign as the API shows it."""
    if campaign["status"] == "sent" or audience is None:
        count = campaign["emails_sent"]
    else:
        try:
            count = len(recipients(campaign, audience))
        except SandboxProblem:
            count = 0  # its segment was deleted; a send would say so
    target: dict[str, Any] = {
        "list_id": campaign["list_id"], "list_is_active": audience is not None,
        "list_name": audience.name if audience else "", "segment_text": "",
        "recipient_count": count}
    if campaign["segment_id"] is not None:
        target["segment_opts"] = {"saved_segment_id": campaign["segment_id"], "match": "all"}
    archive = f"http://eepurl.localhost/c{campaign['web_id']}"
    body: dict[str, Any] = {
        "id": campaign["id"], "web_id": campaign["web_id"], "parent_campaign_id": "",
        "type": campaign["type"], "create_time": campaign["create_time"],
        "archive_url": archive, "long_archive_url": archive, "status": campaign["status"],
        "emails_sent": campaign["emails_sent"], "content_type": "html",
        "needs_block_refresh": False, "resendable": False, "recipients": target,
        "settings": {**campaign["settings"], "use_conversation": False, "to_name": "",
                     "folder_id": "", "authenticate": True, "auto_footer": False,
                     "inline_css": False, "auto_tweet": False, "fb_comments": False,
                     "timewarp": False, "template_id": 0, "drag_and_drop": False},
        "tracking": {"opens": True, "html_clicks": True, "text_clicks": False,
                     "goal_tracking": False, "ecomm360": False, "google_analytics": "",
                     "clicktale": ""},
        "delivery_status": {"enabled": False}, "_links": []}
    # Unsent, Mailchimp says "", but the published spec says date-time: leave it out.
    if campaign["send_time"]:
        body["send_time"] = campaign["send_time"]
    return body
