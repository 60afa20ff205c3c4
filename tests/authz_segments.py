"""Segment pages and API in the authorization matrix: anyone may count, organizers may save."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crm.segments import service

ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("crm.segment_list", "GET"): ("view", {}, None),
    ("crm.segment_new", "GET"): ("view", {}, None),
    ("crm.segment_create", "POST"): ("edit", {}, {"name": "Wisconsin", "text": "state = WI"}),
    ("crm.segment_detail", "GET"): ("view", {"segment_id": "SEG"}, None),
    ("crm.segment_update", "POST"): ("edit", {"segment_id": "SEG"},
                                     {"name": "Union members", "text": "tag:union-member"}),
    ("crm.segment_delete", "POST"): ("edit", {"segment_id": "SEG"}, {}),
    ("crm.segment_preview", "POST"): ("view", {}, {"text": "tag:union-member"}),
    ("crm_api.segment_list", "GET"): ("view", {}, None),
    ("crm_api.segment_create", "POST"): ("edit", {}, {"name": "Minnesota",
                                                      "text": "state = MN"}),
    ("crm_api.segment_get", "GET"): ("view", {"segment_id": "SEG"}, None),
    ("crm_api.segment_update", "PATCH"): ("edit", {"segment_id": "SEG"},
                                          {"description": "Members only"}),
    ("crm_api.segment_delete", "DELETE"): ("edit", {"segment_id": "SEG"}, None),
    ("crm_api.segment_preview", "POST"): ("view", {}, {"rules": {"tag": "union-member"}}),
    ("crm_api.segment_contacts", "GET"): ("view", {"segment_id": "SEG"}, None),
}


def seed(session: Session, ids: dict[str, Any]) -> None:
    """Save a segment that the shared contact is in."""
    ids["SEG"] = service.create(session, {"name": "Members", "text": "tag:union-member"},
                                actor="seed").id
