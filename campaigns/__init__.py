"""Email campaigns through Mailchimp, standing on the CRM (its pages arrive in later work)."""

from __future__ import annotations

from .extension import Campaigns, CampaignsSetupError

__all__ = ["Campaigns", "CampaignsSetupError"]
