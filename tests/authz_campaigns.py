"""Campaign pages, their API and the sandbox inbox in the authorization matrix.

Anyone on staff may look at campaigns, preview them and read the sandbox inbox; organizers
and admins write, mark ready, approve, send, schedule, cancel and test them. (Approval
also needs an approver other than the author: the seeded campaigns are the seed's.)
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

from campaigns import connection
from campaigns.campaign_models import Campaign

BLUEPRINTS = {"campaign_pages", "campaign_api"}
API_BLUEPRINTS = {"campaign_api"}

_DRAFT = {"campaign_id": "CP_DRAFT"}
_READY = {"campaign_id": "CP_READY"}
ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("campaign_pages.static", "GET"): ("public", {"filename": "campaigns.js"}, None),
    ("campaign_pages.campaign_list", "GET"): ("view", {}, None),
    ("campaign_pages.campaign_new", "GET"): ("edit", {}, None),
    ("campaign_pages.campaign_new", "POST"): ("edit", {}, {"kind": "general", "name": "New"}),
    ("campaign_pages.campaign_page", "GET"): ("view", _DRAFT, None),
    ("campaign_pages.campaign_save", "POST"): ("edit", _DRAFT, {"name": "Renamed"}),
    ("campaign_pages.campaign_preview", "POST"): ("view", _DRAFT, {"subject": "Hi"}),
    ("campaign_pages.campaign_preview_frame", "POST"): ("view", _DRAFT, {"subject": "Hi"}),
    ("campaign_pages.campaign_frame", "GET"): ("view", _DRAFT, None),
    ("campaign_pages.campaign_people", "GET"): ("view", _DRAFT, None),
    ("campaign_pages.campaign_ready", "POST"): ("edit", _DRAFT, {"name": "Ready?"}),
    ("campaign_pages.campaign_draft", "POST"): ("edit", _READY, {}),
    ("campaign_pages.campaign_approve", "POST"): ("edit", _READY, {}),
    ("campaign_pages.campaign_send", "POST"): ("edit", {"campaign_id": "CP_SEND"}, {}),
    ("campaign_pages.campaign_retry", "POST"): ("edit", {"campaign_id": "CP_FAILED"}, {}),
    ("campaign_pages.campaign_schedule", "POST"): ("edit", _READY, {"send_at": ""}),
    ("campaign_pages.campaign_cancel", "POST"): ("edit", _READY, {}),
    ("campaign_pages.campaign_test", "POST"): ("edit", _READY, {"emails": ""}),
    ("campaign_pages.inbox", "GET"): ("view", {}, None),
    ("campaign_pages.inbox_message", "GET"): ("view", {"message_id": "CP_MESSAGE"}, None),
    ("campaign_pages.inbox_frame", "GET"): ("view", {"message_id": "CP_MESSAGE"}, None),
    ("campaign_api.campaign_list", "GET"): ("view", {}, None),
    ("campaign_api.campaign_create", "POST"): ("edit", {}, {"kind": "general", "name": "API"}),
    ("campaign_api.campaign_get", "GET"): ("view", _DRAFT, None),
    ("campaign_api.campaign_update", "PATCH"): ("edit", _DRAFT, {"name": "Renamed"}),
    ("campaign_api.campaign_ready", "POST"): ("edit", _DRAFT, None),
    ("campaign_api.campaign_approve", "POST"): ("edit", _READY, None),
    ("campaign_api.campaign_send", "POST"): ("edit", {"campaign_id": "CP_SEND"}, None),
    ("campaign_api.campaign_schedule", "POST"): ("edit", {"campaign_id": "CP_SEND"},
                                                 {"send_at": "2001-01-01T00:00:00Z"}),
    ("campaign_api.campaign_cancel", "POST"): ("edit", _READY, None),
    ("campaign_api.campaign_preview", "GET"): ("view", _DRAFT, None),
    ("campaign_api.campaign_audience", "GET"): ("view", _DRAFT, None),
}


class _Recorder:
    """A job runner that only remembers: no send may run behind the matrix's back."""

    def dispatch(self, app: Flask, job_id: int) -> None:
        return None


def _campaign(session: Session, name: str, status: str, **fields: Any) -> int:
    campaign = Campaign(kind="general", name=name, status=status, created_by="seed",
                        subject="Hello", from_name="Org", reply_to="org@example.org",
                        **fields)
    session.add(campaign)
    session.flush()
    return campaign.id


def _inbox_message() -> str:
    """Put one test message in the sandbox's inbox, as its test action does; return its id."""
    connection.inbox_url(current_app)  # starts the in-process sandbox
    state = current_app.extensions["campaigns"].sandbox.server.state
    made = state.create_campaign({"type": "regular",
                                  "recipients": {"list_id": connection.audience_id(current_app)},
                                  "settings": {"subject_line": "Hi", "from_name": "Org",
                                               "reply_to": "org@example.org", "title": "t"}})
    state.set_campaign_content(made["id"], {"html": "<p>Hi</p>", "plain_text": "Hi"})
    state.send_test(made["id"], {"test_emails": ["ana@example.org"], "send_type": "html"})
    return str(state.inbox_messages(made["id"])[0]["message_id"])


def seed(session: Session, ids: dict[str, Any]) -> None:
    """Add a draft, a ready campaign needing approval, one to send, a failed one, a message."""
    current_app.extensions["crm"].job_runner = _Recorder()
    ids["CP_DRAFT"] = _campaign(session, "Matrix draft", "draft")
    ids["CP_READY"] = _campaign(session, "Matrix ready", "ready", require_approval=True,
                                ready_by="seed", audience={"included": 1, "excluded": {}})
    ids["CP_SEND"] = _campaign(session, "Matrix send", "ready", ready_by="seed",
                               audience={"included": 1, "excluded": {}})
    ids["CP_FAILED"] = _campaign(session, "Matrix failed", "failed", failure="Mailchimp 503")
    ids["CP_MESSAGE"] = _inbox_message()
