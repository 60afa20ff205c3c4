"""Job pages and API in the authorization matrix: anyone may watch, organizers may stop."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crm import jobs

ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("crm.job_list", "GET"): ("view", {}, None),
    ("crm.job_detail", "GET"): ("view", {"job_id": "J"}, None),
    ("crm.job_stop", "POST"): ("edit", {"job_id": "J"}, {}),
    ("crm_api.job_list", "GET"): ("view", {}, None),
    ("crm_api.job_get", "GET"): ("view", {"job_id": "J"}, None),
    ("crm_api.job_stop", "POST"): ("edit", {"job_id": "J"}, None),
}


def seed(session: Session, ids: dict[str, Any]) -> None:
    """Add a queued job for the job routes."""
    ids["J"] = jobs.create(session, "test.noop", {}, started_by="seed").id
