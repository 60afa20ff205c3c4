"""Routes of the recruitment pipeline and the contact export, for the authorization matrix."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crm import contacts, pipeline

ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("crm.pipeline_board", "GET"): ("view", {}, None),
    ("crm.pipeline_funnel", "GET"): ("view", {}, None),
    ("crm.pipeline_add", "POST"): ("edit", {"contact_id": "pipeline:new"},
                                   {"stage": "prospect", "office": "school_board"}),
    ("crm.pipeline_move", "POST"): ("edit", {"contact_id": "C"}, {"stage": "contacted"}),
    ("crm.pipeline_edit", "GET"): ("edit", {"contact_id": "C"}, None),
    ("crm.pipeline_edit", "POST"): ("edit", {"contact_id": "C"},
                                    {"office": "city_council", "jurisdiction": "Madison"}),
    ("crm.pipeline_remove", "POST"): ("edit", {"contact_id": "C"}, {}),
    ("crm.contact_export", "GET"): ("view", {}, None),
    ("crm_api.pipeline_counts", "GET"): ("view", {}, None),
    ("crm_api.recruitment_get", "GET"): ("view", {"contact_id": "C"}, None),
    ("crm_api.recruitment_put", "PUT"): ("edit", {"contact_id": "C"}, {"stage": "interested"}),
    ("crm_api.recruitment_history", "GET"): ("view", {"contact_id": "C"}, None),
}


def seed(session: Session, ids: dict[str, Any]) -> None:
    """Put the shared contact in the pipeline and add one who is not in it yet."""
    pipeline.add_to_pipeline(session, ids["C"], office="state_house", actor="seed")
    ids["pipeline:new"] = contacts.create(session, {"email": "newrecruit@example.org"},
                                          actor="seed").id
