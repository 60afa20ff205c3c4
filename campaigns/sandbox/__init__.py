"""A sandbox Mailchimp: a local HTTP server speaking the Marketing API v3 calls the app makes.

It stands in for Mailchimp when no API key is configured, in tests, and in benchmarks::

    from campaigns.sandbox import serve

    with serve() as sandbox:
        client.api_client.host = sandbox.url  # http://127.0.0.1:PORT/3.0
        ...

Any HTTP basic auth key is accepted. ``sandbox.state`` holds the data and the call log,
``sandbox.faults`` adds latency and scripted failures. Campaigns are sent to an inbox that
the admin endpoints under /_sandbox show (see sandbox/campaign_routes.py).
"""

from __future__ import annotations

from .app import DropConnection, SandboxApp
from .core import CallRecord
from .faults import CAMPAIGN_STEPS, FaultRule, Faults
from .faults import KINDS as FAULT_KINDS
from .model import DEFAULT_LIST_ID, SandboxProblem, subscriber_hash
from .server import SandboxServer, serve
from .state import SandboxState

__all__ = [
    "CAMPAIGN_STEPS",
    "DEFAULT_LIST_ID",
    "FAULT_KINDS",
    "CallRecord",
    "DropConnection",
    "FaultRule",
    "Faults",
    "SandboxApp",
    "SandboxProblem",
    "SandboxServer",
    "SandboxState",
    "serve",
    "subscriber_hash",
]
