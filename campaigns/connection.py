"""Which Mailchimp an app talks to: the real one with a key, else the local sandbox."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from . import throttle
from .mailchimp import BATCH_MAX, Gateway, MailchimpConfig

SANDBOX_KEY = "sandbox-us1"  # any key: the sandbox accepts every key; never sent to Mailchimp
GatewayFactory = Callable[[Flask], Gateway]


class NotConfigured(RuntimeError):
    """A real API key is set but something it needs (the audience id) is not."""


def webhook_secret(app: Flask) -> str:
    """Return the secret in the webhook's URL: configured, else derived from SECRET_KEY."""
    configured = app.config.get("CRM_MAILCHIMP_WEBHOOK_SECRET")
    if configured:
        return str(configured)
    key = str(app.config.get("SECRET_KEY") or "")
    if not key:
        raise NotConfigured("Set SECRET_KEY or CRM_MAILCHIMP_WEBHOOK_SECRET for the webhook.")
    return hmac.new(key.encode(), b"mailchimp-webhook", hashlib.sha256).hexdigest()[:40]


class SandboxHolder:
    """Starts the in-process sandbox Mailchimp once, on first use, and stops it on request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.server: Any = None

    def url(self, app: Flask) -> str:
        """Return the running sandbox's API root, starting it if needed."""
        with self._lock:
            if self.server is None:
                from .sandbox import SandboxState, serve

                data = app.config.get("CRM_MAILCHIMP_SANDBOX_DATA")
                if data is None:
                    data = str(Path(app.instance_path) / "mailchimp-sandbox.json")
                state = SandboxState(path=data or None)
                self.server = serve(state=state, host="127.0.0.1", port=0)
            return str(self.server.url)

    def stop(self) -> None:
        """Stop the sandbox if it runs."""
        with self._lock:
            if self.server is not None:
                self.server.stop()
                self.server = None


def is_sandbox(app: Flask) -> bool:
    """Tell whether the app uses the sandbox (no API key configured)."""
    return not app.config.get("CRM_MAILCHIMP_API_KEY")


def config_for(app: Flask, holder: SandboxHolder) -> MailchimpConfig:
    """Build the gateway settings from the app's config."""
    c = app.config
    batch_size = int(c.get("CRM_MAILCHIMP_BATCH_SIZE", BATCH_MAX))
    if not 1 <= batch_size <= BATCH_MAX:
        raise NotConfigured(f"CRM_MAILCHIMP_BATCH_SIZE is {batch_size}: Mailchimp takes 1 to "
                            f"{BATCH_MAX} members per batch call.")
    common: dict[str, Any] = {
        "timeout": float(c["CRM_MAILCHIMP_TIMEOUT"]),
        "max_connections": int(c["CRM_MAILCHIMP_MAX_CONNECTIONS"]),
        "batch_size": batch_size,
        "retry": throttle.RetryPolicy(attempts=int(c["CRM_MAILCHIMP_RETRIES"]) + 1,
                                      base_seconds=float(c["CRM_MAILCHIMP_RETRY_SECONDS"])),
    }
    if is_sandbox(app):
        from .sandbox import DEFAULT_LIST_ID

        host = c.get("CRM_MAILCHIMP_SANDBOX_URL") or holder.url(app)
        return MailchimpConfig(api_key=SANDBOX_KEY, server="us1", host=host, sandbox=True,
                               audience_id=c.get("CRM_MAILCHIMP_AUDIENCE_ID") or DEFAULT_LIST_ID,
                               **common)
    audience = c.get("CRM_MAILCHIMP_AUDIENCE_ID")
    if not audience:
        raise NotConfigured("CRM_MAILCHIMP_API_KEY is set but CRM_MAILCHIMP_AUDIENCE_ID is not: "
                            "copy the audience id from Mailchimp (Audience → Settings).")
    return MailchimpConfig(api_key=str(c["CRM_MAILCHIMP_API_KEY"]),
                           server=str(c.get("CRM_MAILCHIMP_SERVER") or ""),
                           audience_id=str(audience), **common)


def audience_id(app: Flask) -> str:
    """Return the configured audience id without starting anything."""
    if is_sandbox(app):
        from .sandbox import DEFAULT_LIST_ID

        return str(app.config.get("CRM_MAILCHIMP_AUDIENCE_ID") or DEFAULT_LIST_ID)
    return str(app.config.get("CRM_MAILCHIMP_AUDIENCE_ID") or "")


def inbox_url(app: Flask) -> str | None:
    """Return the root of the sandbox whose inbox the app can read, or None with a real key.

    Give it to ``campaigns.sandbox_inbox``; the in-process sandbox is started if need be.
    """
    if not is_sandbox(app):
        return None
    configured = app.config.get("CRM_MAILCHIMP_SANDBOX_URL")
    holder: SandboxHolder = app.extensions["campaigns"].sandbox
    api_root = str(configured or holder.url(app)).rstrip("/")
    return api_root[: -len("/3.0")] if api_root.endswith("/3.0") else api_root
