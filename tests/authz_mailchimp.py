"""Mailchimp pages, API and webhook in the authorization matrix.

Anyone on staff may look; organizers and admins start syncs, pushes, stops and reconciling
and dismiss review items; only admins install the webhook (its URL holds the secret). The
webhook itself is public: its secret URL is the guard.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

from campaigns import connection, review, sync

BLUEPRINTS = {"campaigns", "campaigns_api", "campaigns_hooks"}
API_BLUEPRINTS = {"campaigns_api"}

ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("campaigns.mailchimp_home", "GET"): ("view", {}, None),
    ("campaigns.reconcile_now", "POST"): ("edit", {}, {}),
    ("campaigns.webhook_install", "POST"): ("manage_users", {},
                                            {"base_url": "http://127.0.0.1:9"}),
    ("campaigns.sync_list", "GET"): ("view", {}, None),
    ("campaigns.sync_new", "GET"): ("edit", {}, None),
    ("campaigns.sync_new", "POST"): ("edit", {}, {"segment": ""}),
    ("campaigns.sync_detail", "GET"): ("view", {"sync_id": "MC_SYNC"}, None),
    ("campaigns.sync_push", "POST"): ("edit", {"sync_id": "MC_SYNC"}, {}),
    ("campaigns.sync_plan", "POST"): ("edit", {"sync_id": "MC_SYNC"}, {}),
    ("campaigns.sync_stop", "POST"): ("edit", {"sync_id": "MC_SYNC"}, {}),
    ("campaigns.review_list", "GET"): ("view", {}, None),
    ("campaigns.review_dismiss", "POST"): ("edit", {"item_id": "MC_REVIEW"}, {"note": "ok"}),
    ("campaigns.ledger_list", "GET"): ("view", {}, None),
    ("campaigns.webhook_log", "GET"): ("view", {}, None),
    ("campaigns_api.sync_create", "POST"): ("edit", {}, {"dry_run": True}),
    ("campaigns_api.sync_get", "GET"): ("view", {"sync_id": "MC_SYNC"}, None),
    ("campaigns_api.sync_push", "POST"): ("edit", {"sync_id": "MC_SYNC"}, None),
    ("campaigns_api.review_list", "GET"): ("view", {}, None),
    ("campaigns_api.reconcile_start", "POST"): ("edit", {}, None),
    ("campaigns_hooks.mailchimp_hook", "GET"): ("public", {"secret": "MC_SECRET"}, None),
    ("campaigns_hooks.mailchimp_hook", "POST"): ("public", {"secret": "MC_SECRET"},
                                                 {"type": "profile",
                                                  "data[email]": "nobody@example.org"}),
}


class _Recorder:
    """A job runner that only remembers: no sync may run behind the matrix's back."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def dispatch(self, app: Flask, job_id: int) -> None:
        self.ids.append(job_id)


def seed(session: Session, ids: dict[str, Any]) -> None:
    """Add a planned sync with a refused member, and keep jobs from running."""
    current_app.extensions["crm"].job_runner = _Recorder()
    record = sync.create(session, audience_id=connection.audience_id(current_app), actor="seed")
    record.status = "planned"
    record.plan = {"counts": {"add": 1, "update": 0, "unchanged": 0, "skip": 0}, "to_push": 1}
    item = review.add(session, record.id, ids["C"], "ana@example.org", "ERROR_GENERIC", "",
                      "ana@example.org looks fake or invalid.")
    ids["MC_SYNC"] = record.id
    ids["MC_REVIEW"] = item.id
    ids["MC_SECRET"] = connection.webhook_secret(current_app)
