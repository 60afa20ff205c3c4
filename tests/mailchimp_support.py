"""Shared pieces of the Mailchimp tests: a sandbox per module, reset per test, an app on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import sync
from campaigns.mailchimp import Gateway
from campaigns.models import LedgerEntry, SyncRun
from campaigns.sandbox import SandboxServer, SandboxState, serve
from crm import contacts
from crm.models import Contact


class Reporter:
    """Progress that commits like the job runner's; ``stop_after=N`` stops at check N + 1.

    A push asks whether to stop after each batch it hands out, so with one connection
    ``stop_after=2`` lets two batches go and stops before the third.
    """

    def __init__(self, session: Session, stop_after: int | None = None) -> None:
        self.session = session
        self.stop_after = stop_after
        self.reports = 0
        self.checks = 0

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Commit the work so far."""
        self.reports += 1
        self.session.commit()

    def should_stop(self) -> bool:
        """Stop once asked more than ``stop_after`` times."""
        self.checks += 1
        return self.stop_after is not None and self.checks > self.stop_after


# How often a test sandbox looks for a stop: stopping one waits up to this long.
POLL_SECONDS = 0.005


def serve_for_test(state: SandboxState | None = None, **kwargs: Any) -> SandboxServer:
    """Start a sandbox that stops promptly."""
    return serve(state if state is not None else SandboxState(validate_webhooks=False),
                 poll_interval=POLL_SECONDS, **kwargs)


class ModuleSandbox:
    """A module's one sandbox, reset through its admin API before each test."""

    def __init__(self) -> None:
        self.server = serve_for_test()

    def fresh(self) -> SandboxServer:
        """Return the sandbox emptied, or a new one if a test stopped it."""
        if self.server.stopped:
            self.server = serve_for_test()
            return self.server
        response = requests.post(f"{self.server.base_url}/_sandbox/reset", timeout=5)
        response.raise_for_status()
        return self.server


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[ModuleSandbox]:
    """The sandbox the module's tests share."""
    holder = ModuleSandbox()
    yield holder
    holder.server.stop()


@pytest.fixture
def sandbox(module_sandbox: ModuleSandbox) -> SandboxServer:
    """A sandbox Mailchimp over HTTP as if new, its audience in memory."""
    return module_sandbox.fresh()


@pytest.fixture
def mc_app(shared_app: Callable[..., Flask], sandbox: SandboxServer) -> Flask:
    """The app talking to this test's sandbox."""
    return shared_app(CRM_MAILCHIMP_SANDBOX_URL=sandbox.url)


def gateway_of(app: Flask) -> Gateway:
    """Return the app's gateway."""
    return app.extensions["campaigns"].gateway(app)  # type: ignore[no-any-return]


def add(session: Session, email: str, **fields: Any) -> Contact:
    """Create a contact (staff-made) and return it."""
    return contacts.create(session, {"email": email, **fields}, actor="test")


def push(app: Flask, session: Session, *, segment_id: int | None = None,
         reporter: Reporter | None = None, gateway: Gateway | None = None,
         connections: int = 10) -> tuple[SyncRun, dict[str, int]]:
    """Create a sync and push it; return the sync and its counts."""
    gw = gateway or gateway_of(app)
    record = sync.create(session, audience_id=gw.config.audience_id, actor="test",
                         segment_id=segment_id)
    session.commit()
    counts = sync.push(session, gw, record, reporter or Reporter(session),
                       connections=connections)
    session.commit()
    return record, counts


def members_by_email(server: SandboxServer) -> dict[str, dict[str, Any]]:
    """Return the sandbox audience's members by lowercased address."""
    return {m["email_address"].lower(): m for m in server.state.all_members(server.list_id)}


def ledger_rows(session: Session) -> dict[int, LedgerEntry]:
    """Return the ledger by contact id."""
    return {row.contact_id: row for row in session.scalars(select(LedgerEntry))}
