"""The app's campaign settings, read from its config for the services (an edge helper)."""

from __future__ import annotations

from flask import Flask

from . import asks, audience, composing, connection, personalise, sending
from .campaign_models import Campaign


def org(app: Flask) -> sending.Org:
    """Return the organization's name and postal address."""
    return sending.Org(name=str(app.config.get("CRM_ORG_NAME") or ""),
               postal_address=str(app.config.get("CRM_ORG_POSTAL_ADDRESS") or "").strip())


def defaults(app: Flask) -> composing.Defaults:
    """Return what a new campaign starts with."""
    config = app.config
    return composing.Defaults(
        from_name=str(config.get("CRM_CAMPAIGN_FROM_NAME") or config.get("CRM_ORG_NAME") or ""),
        reply_to=str(config.get("CRM_CAMPAIGN_REPLY_TO") or ""),
        donate_url=str(config.get("CRM_DONATE_URL") or ""))


def response_base(app: Flask) -> str:
    """Return the public address the response pages live under."""
    base = str(app.config.get("CRM_PUBLIC_URL") or "").rstrip("/")
    return base + str(app.config.get("CRM_URL_PREFIX") or "")


def settings(app: Flask, campaign: Campaign) -> personalise.Settings:
    """Return what personalising one campaign needs."""
    return personalise.Settings(
        kind=campaign.kind, refcode=campaign.refcode, donate_url=campaign.donate_url,
        ask_config=asks.AskConfig.from_dict(campaign.ask_config or {}),
        secret_key=str(app.config["SECRET_KEY"]), response_base=response_base(app))


def approval_drift(app: Flask) -> float:
    """Return how far (a fraction) the segment may move from what its approver saw."""
    return float(app.config.get("CRM_APPROVAL_DRIFT", sending.DEFAULT_DRIFT))


def rules(app: Flask) -> audience.Rules:
    """Return who snapshots leave out besides opt-outs."""
    groups = app.config.get("CRM_SUPPRESSION_GROUPS") or ()
    return audience.Rules(suppression_groups=tuple(groups),
                          audience_id=connection.audience_id(app))
