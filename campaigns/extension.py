"""The ``Campaigns`` Flask extension; it requires the CRM to be initialised first."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Flask

from . import throttle
from .connection import GatewayFactory, SandboxHolder, config_for
from .mailchimp import Gateway

QUICK_TIMEOUT = 8.0


class CampaignsSetupError(RuntimeError):
    """Campaigns was set up before the CRM, or twice."""


def default_gateway(app: Flask) -> Gateway:
    """Build the gateway from the app's config (the sandbox when no API key is set)."""
    state: CampaignsState = app.extensions["campaigns"]
    return Gateway(config_for(app, state.sandbox))


@dataclass
class CampaignsState:
    """Per-app state, kept in ``app.extensions["campaigns"]``."""

    crm: Any
    gateway_factory: GatewayFactory = default_gateway
    sandbox: SandboxHolder = field(default_factory=SandboxHolder)
    timer: Any = None
    _gateway: Gateway | None = None
    _quick: Gateway | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def gateway(self, app: Flask, *, quick: bool = False) -> Gateway:
        """Return the app's gateway, built once by the factory.

        ``quick`` gives one for pages: a single try with a short timeout, so a page never
        waits through a Mailchimp outage's retries.
        """
        with self._lock:
            if self._gateway is None:
                self._gateway = self.gateway_factory(app)
            if not quick:
                return self._gateway
            if self._quick is None:
                config = replace(self._gateway.config, retry=throttle.RetryPolicy(attempts=1),
                                 timeout=min(self._gateway.config.timeout, QUICK_TIMEOUT))
                self._quick = Gateway(config)
            return self._quick

    def reset_gateway(self) -> None:
        """Forget the built gateway (after a config change)."""
        with self._lock:
            self._gateway = self._quick = None


class Campaigns:
    """Mount campaigns on an app that already has ``crm.CRM``."""

    def __init__(self, app: Flask | None = None, *,
                 gateway_factory: GatewayFactory | None = None) -> None:
        self.gateway_factory = gateway_factory
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Attach to the app's CRM.

        Config keys read (defaults in brackets):
        - ``CRM_MAILCHIMP_API_KEY`` [None]: the Marketing API key ("…-us6"). Unset, the app
          uses the sandbox Mailchimp: a local server speaking the same API, so nothing leaves.
        - ``CRM_MAILCHIMP_SERVER`` [from the key's suffix]: the data centre, e.g. "us6".
        - ``CRM_MAILCHIMP_AUDIENCE_ID`` [None; the sandbox's own audience in the sandbox].
        - ``CRM_MAILCHIMP_TIMEOUT`` [30]: seconds before a call is given up (then retried).
        - ``CRM_MAILCHIMP_RETRIES`` [5]: extra tries for 429, 5xx and timeouts.
        - ``CRM_MAILCHIMP_RETRY_SECONDS`` [0.5]: the first backoff; it doubles per try (up to
          30 s), with jitter.
        - ``CRM_MAILCHIMP_MAX_CONNECTIONS`` [10]: calls in flight per API key (at most 10).
        - ``CRM_MAILCHIMP_BATCH_SIZE`` [500]: members per batch call of a sync (1 to 500).
        - ``CRM_MAILCHIMP_MERGE_FIELD_LIMIT`` [30]: the audience's merge-field budget.
        - ``CRM_MAILCHIMP_WEBHOOK_SECRET`` [derived from SECRET_KEY]: the secret in the
          webhook URL.
        - ``CRM_MAILCHIMP_RECONCILE_MINUTES`` [60]: reconcile this often (0: only by hand).
        - ``CRM_MAILCHIMP_SANDBOX_URL`` [None]: use a sandbox already running there instead
          of starting one in this process (``python -m campaigns.sandbox``).
        - ``CRM_MAILCHIMP_SANDBOX_DATA`` [instance/mailchimp-sandbox.json]: where the
          in-process sandbox keeps its audience ("" keeps it in memory only).
        - ``CRM_ORG_POSTAL_ADDRESS`` [""]: the postal address every email's footer must show
          (CAN-SPAM); a campaign cannot be marked ready without it.
        - ``CRM_PUBLIC_URL`` ["http://127.0.0.1:5000"]: the address people reach this app
          at, for the response links in emails.
        - ``CRM_DONATE_URL`` [""]: the donation page (ActBlue or any URL) new chip-in
          appeals link to, with their refcode and amount.
        - ``CRM_CAMPAIGN_FROM_NAME`` [CRM_ORG_NAME] and ``CRM_CAMPAIGN_REPLY_TO`` [""]: the
          sender new campaigns start with.
        - ``CRM_SUPPRESSION_GROUPS`` [("Do not email",)]: groups whose members no campaign
          reaches.
        - ``CRM_RESPONSE_TOKEN_DAYS`` [60]: how long a response link keeps working.
        - ``CRM_RESPONSE_RATE_LIMIT`` ["30 per minute"]: the public response pages' limit
          per address; ``CRM_RATELIMIT_STORAGE_URI`` ["memory://"] where it is counted.
        """
        crm_state = app.extensions.get("crm")
        if crm_state is None:
            raise CampaignsSetupError(
                "Campaigns stands on the CRM: call crm.CRM(app, db=db) before Campaigns(app)."
            )
        if "campaigns" in app.extensions:
            raise CampaignsSetupError("Campaigns.init_app was already called for this app.")
        config = app.config
        config.setdefault("CRM_MAILCHIMP_API_KEY", None)
        config.setdefault("CRM_MAILCHIMP_SERVER", None)
        config.setdefault("CRM_MAILCHIMP_AUDIENCE_ID", None)
        config.setdefault("CRM_MAILCHIMP_TIMEOUT", 30)
        config.setdefault("CRM_MAILCHIMP_RETRIES", 5)
        config.setdefault("CRM_MAILCHIMP_RETRY_SECONDS", 0.5)
        config.setdefault("CRM_MAILCHIMP_MAX_CONNECTIONS", 10)
        config.setdefault("CRM_MAILCHIMP_MERGE_FIELD_LIMIT", 30)
        config.setdefault("CRM_MAILCHIMP_WEBHOOK_SECRET", None)
        config.setdefault("CRM_MAILCHIMP_RECONCILE_MINUTES", 60)
        config.setdefault("CRM_MAILCHIMP_SANDBOX_URL", None)
        config.setdefault("CRM_MAILCHIMP_SANDBOX_DATA", None)
        config.setdefault("CRM_ORG_POSTAL_ADDRESS", "")
        config.setdefault("CRM_PUBLIC_URL", "http://127.0.0.1:5000")
        config.setdefault("CRM_DONATE_URL", "")
        config.setdefault("CRM_CAMPAIGN_FROM_NAME", None)
        config.setdefault("CRM_CAMPAIGN_REPLY_TO", "")
        config.setdefault("CRM_SUPPRESSION_GROUPS", ("Do not email",))
        config.setdefault("CRM_RESPONSE_TOKEN_DAYS", 60)
        config.setdefault("CRM_RESPONSE_RATE_LIMIT", "30 per minute")
        config.setdefault("CRM_RATELIMIT_STORAGE_URI", "memory://")
        state = CampaignsState(crm=crm_state)
        if self.gateway_factory is not None:
            state.gateway_factory = self.gateway_factory
        app.extensions["campaigns"] = state

        from . import (
            cli,
            demo_cli,  # noqa: F401  (importing it adds ``demo`` to the group)
            jobs,
            schedule,
        )

        jobs.install(crm_state)
        cli.register(app)
        state.timer = schedule.Timer()

        @app.before_request
        def _start_reconcile_timer() -> None:
            # On the first request, not at import: a CLI command or a test starts no thread.
            state.timer.start(app)
        if config.get("CRM_ENABLE_BLUEPRINTS", True):
            from . import pages

            pages.register(app, crm_state)
