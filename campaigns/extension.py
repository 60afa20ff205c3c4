"""The ``Campaigns`` Flask extension; it requires the CRM to be initialised first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask


class CampaignsSetupError(RuntimeError):
    """Campaigns was set up before the CRM, or twice."""


@dataclass
class CampaignsState:
    """Per-app state, kept in ``app.extensions["campaigns"]``."""

    crm: Any


class Campaigns:
    """Mount campaigns on an app that already has ``crm.CRM``."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Attach to the app's CRM.

        Config keys read: none yet (the Mailchimp keys arrive with the gateway).
        """
        crm_state = app.extensions.get("crm")
        if crm_state is None:
            raise CampaignsSetupError(
                "Campaigns stands on the CRM: call crm.CRM(app, db=db) before Campaigns(app)."
            )
        if "campaigns" in app.extensions:
            raise CampaignsSetupError("Campaigns.init_app was already called for this app.")
        app.extensions["campaigns"] = CampaignsState(crm=crm_state)
