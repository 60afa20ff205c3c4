"""Routes of duplicates and merging, for the authorization matrix."""

from __future__ import annotations

from typing import Any

from crm import contacts

ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("crm.duplicates", "GET"): ("edit", {}, None),
    ("crm.contact_merge", "GET"): ("edit", {"survivor_id": "C", "duplicate_id": "DUP"}, None),
    ("crm.contact_merge", "POST"): ("edit", {"survivor_id": "C", "duplicate_id": "DUP"}, {}),
    ("crm_api.contact_merge_api", "POST"): ("edit", {"contact_id": "C"}, {"duplicate_id": "DUP"}),
}


def seed(session: Any, ids: dict[str, Any]) -> None:
    """Create a second contact to merge into the first."""
    twin = contacts.create(session, {"email": "ana.twin@example.org", "first_name": "Ana"},
                           actor="seed")
    ids["DUP"] = twin.id
