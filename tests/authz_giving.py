"""Routes of donations, union memberships and groups, for the authorization matrix."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crm import donations, groups, memberships

GIFT = {"donation-amount": "25.00", "donation-received_on": "2024-05-01",
        "donation-refcode": "em-may"}
MEMBERSHIP = {"membership-union_name": "AFSCME", "membership-local": "60",
              "membership-status": "active"}

ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("crm.donation_add", "POST"): ("edit", {"contact_id": "C"}, GIFT),
    ("crm.donation_edit", "GET"): ("edit", {"donation_id": "D"}, None),
    ("crm.donation_edit", "POST"): ("edit", {"donation_id": "D"}, GIFT),
    ("crm.donation_delete", "POST"): ("edit", {"donation_id": "D"}, {}),
    ("crm.membership_add", "POST"): ("edit", {"contact_id": "C"}, MEMBERSHIP),
    ("crm.membership_edit", "GET"): ("edit", {"membership_id": "M"}, None),
    ("crm.membership_edit", "POST"): ("edit", {"membership_id": "M"}, MEMBERSHIP),
    ("crm.membership_delete", "POST"): ("edit", {"membership_id": "M"}, {}),
    ("crm.group_list", "GET"): ("view", {}, None),
    ("crm.group_create", "POST"): ("edit", {}, {"name": "Tax fairness working group"}),
    ("crm.group_detail", "GET"): ("view", {"group_id": "G"}, None),
    ("crm.group_rename", "POST"): ("edit", {"group_id": "G"}, {"name": "Steering"}),
    ("crm.group_delete", "POST"): ("edit", {"group_id": "G"}, {}),
    ("crm.group_member_add", "POST"): ("edit", {"group_id": "G"}, {"email": "ana@example.org"}),
    ("crm.group_member_remove", "POST"): ("edit", {"group_id": "G", "contact_id": "C"}, {}),
    ("crm.contact_group_add", "POST"): ("edit", {"contact_id": "C"}, {"group-group_id": "2"}),
    ("crm_api.donation_list", "GET"): ("view", {"contact_id": "C"}, None),
    ("crm_api.donation_create", "POST"): ("edit", {"contact_id": "C"}, {"amount_cents": 2500}),
    ("crm_api.donation_get", "GET"): ("view", {"donation_id": "D"}, None),
    ("crm_api.donation_update", "PATCH"): ("edit", {"donation_id": "D"}, {"amount": "30"}),
    ("crm_api.donation_delete", "DELETE"): ("edit", {"donation_id": "D"}, None),
    ("crm_api.membership_list", "GET"): ("view", {"contact_id": "C"}, None),
    ("crm_api.membership_create", "POST"): ("edit", {"contact_id": "C"},
                                            {"union_name": "NEA", "member_id": "n-1"}),
    ("crm_api.membership_get", "GET"): ("view", {"membership_id": "M"}, None),
    ("crm_api.membership_update", "PATCH"): ("edit", {"membership_id": "M"},
                                             {"status": "retired"}),
    ("crm_api.membership_delete", "DELETE"): ("edit", {"membership_id": "M"}, None),
    ("crm_api.group_list", "GET"): ("view", {}, None),
    ("crm_api.group_create", "POST"): ("edit", {}, {"name": "Phone bank crew"}),
    ("crm_api.group_members", "GET"): ("view", {"group_id": "G"}, None),
    ("crm_api.group_member_add", "POST"): ("edit", {"group_id": "G2"},
                                              {"email": "ana@example.org"}),
    ("crm_api.group_member_remove", "DELETE"): ("edit", {"group_id": "G", "contact_id": "C"},
                                                None),
}


def seed(session: Any, ids: dict[str, Any]) -> None:
    """Give contact C a gift, a membership and a group, and make a second, empty group."""
    gift = donations.create(session, ids["C"], {
        "amount_cents": 5000, "received_at": datetime(2024, 3, 1, 18, tzinfo=UTC),
        "refcode": "seed", "external_id": "seed-1"}, actor="seed")
    membership = memberships.add(session, ids["C"], {"union_name": "SEIU", "local": "150",
                                                     "member_id": "s-1"}, actor="seed")
    group = groups.create(session, "Steering committee", actor="seed")
    groups.add_member(session, group.id, ids["C"], actor="seed")
    ids["D"], ids["M"], ids["G"] = gift.id, membership.id, group.id
    ids["G2"] = groups.create(session, "Canvass team", actor="seed").id
    # Form bodies are not substituted, so the contact-page form above names group 2.
    assert ids["G2"] == 2, "fresh tables number the second group 2"
