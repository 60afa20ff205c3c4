"""Run-for-office responses in the authorization matrix.

Anyone on staff may read the responses page. The landing page is public: its signed link
is the guard, and its form is what a recipient (logged in or not) answers with.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from campaigns import tokens
from campaigns.campaign_models import Campaign, Recipient, Response

BLUEPRINTS = {"campaign_public", "campaign_responses"}

ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("campaign_responses.response_list", "GET"): ("view", {}, None),
    ("campaign_public.respond", "GET"): ("public", {"token": "RESPOND_TOKEN"}, None),
    # "Not now" records an answer; it creates no contact (the viewer test checks that).
    ("campaign_public.respond", "POST"): ("public", {"token": "RESPOND_TOKEN"},
                                          {"choice": "declined"}),
    # A staff preview's link: public too, and it records nothing.
    ("campaign_public.respond_preview", "GET"): ("public", {"token": "PREVIEW_TOKEN"}, None),
    ("campaign_public.respond_preview", "POST"): ("public", {"token": "PREVIEW_TOKEN"},
                                                  {"choice": "interested"}),
}


def seed(session: Session, ids: dict[str, Any]) -> None:
    """Add a sent run-for-office ask to the shared contact, with one answer to list."""
    campaign = Campaign(kind="run_for_office", name="Run with us", status="sent",
                        created_by="seed")
    session.add(campaign)
    session.flush()
    recipient = Recipient(campaign_id=campaign.id, contact_id=ids["C"], email="ana@example.org",
                          nonce=tokens.new_nonce())
    session.add(recipient)
    session.flush()
    session.add(Response(campaign_id=campaign.id, recipient_id=recipient.id,
                         contact_id=ids["C"], kind="clicked"))
    ids["RESPOND_TOKEN"] = tokens.sign(current_app.config["SECRET_KEY"], recipient.id,
                                       recipient.nonce)
    ids["PREVIEW_TOKEN"] = tokens.sign_preview(current_app.config["SECRET_KEY"], campaign.id)
