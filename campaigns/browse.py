"""Read-only views of the Mailchimp side for the pages and the API: overview and listings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.models import Contact, Job

from . import actions, connection, ledger, reconcile, review
from .mailchimp_errors import MailchimpError
from .mailchimp_types import Audience
from .models import LedgerEntry, MailchimpMark, SyncRun, WebhookEvent

PAGE = 50
RECENT_SYNCS = 10
# The statuses Mailchimp holds, in the order the overview shows them.
STATUSES = ("subscribed", "pending", "unsubscribed", "cleaned", "transactional")


@dataclass
class Connection:
    """Which Mailchimp the app talks to, what it said, and whether our webhook is there."""

    sandbox: bool
    data_centre: str = ""
    audience_id: str = ""
    audience: Audience | None = None
    webhook_installed: bool | None = None
    error: str = ""


@dataclass
class Overview:
    """Everything the Mailchimp home page shows."""

    connection: Connection
    statuses: list[tuple[str, int, int]]  # (status, members, percent of the largest)
    ledger_total: int
    open_review: int
    last_reconcile: datetime | None
    last_reconcile_counts: dict[str, Any]
    reconcile_job: Job | None
    syncs: list[SyncRun]
    jobs: dict[int, Job] = field(default_factory=dict)


def check_connection(app: Flask) -> Connection:
    """Ask Mailchimp for the audience and its webhooks; an error becomes text, never raises."""
    found = Connection(sandbox=connection.is_sandbox(app), audience_id=connection.audience_id(app))
    try:
        gateway = actions.gateway(app, quick=True)
        found.data_centre = gateway.config.data_centre
        found.audience = gateway.audience()
        secret = connection.webhook_secret(app)
        found.webhook_installed = any(h.url.rstrip("/").endswith(f"/hooks/mailchimp/{secret}")
                                      for h in gateway.webhooks())
    except (MailchimpError, actions.NotReady, connection.NotConfigured) as exc:
        found.error = str(exc)
    except OSError as exc:  # the in-process sandbox could not start
        found.error = f"The sandbox Mailchimp could not start: {exc}"
    return found


def bars(counts: dict[str, int]) -> list[tuple[str, int, int]]:
    """Return (status, count, percent of the largest) for the chart, known statuses first."""
    names = [s for s in STATUSES if counts.get(s)] + sorted(set(counts) - set(STATUSES))
    largest = max(counts.values(), default=0)
    return [(name, counts[name], round(counts[name] * 100 / largest) if largest else 0)
            for name in names]


def overview(session: Session, app: Flask) -> Overview:
    """Gather the home page: connection, ledger by status, review, reconcile, latest syncs."""
    audience = connection.audience_id(app)
    counts = ledger.summary(session, audience) if audience else {}
    mark = session.get(MailchimpMark, f"{reconcile.MARK}:{audience}")
    syncs, _ = sync_page(session, limit=RECENT_SYNCS)
    return Overview(
        connection=check_connection(app), statuses=bars(counts),
        ledger_total=sum(counts.values()), open_review=review.open_items(session, per_page=1)[1],
        last_reconcile=reconcile.last_run(session, audience) if audience else None,
        last_reconcile_counts=dict((mark.value or {}).get("counts") or {}) if mark else {},
        reconcile_job=actions.running_reconcile(session), syncs=syncs,
        jobs=jobs_by_id(session, (s.job_id for s in syncs if s.job_id is not None)))


def jobs_by_id(session: Session, ids: Iterable[int]) -> dict[int, Job]:
    """Return these jobs keyed by id."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(wanted)))}


def contacts_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Contact]:
    """Return these contacts keyed by id (deleted ones too, so their names still show)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(wanted)))}


def sync_page(session: Session, *, before: int | None = None,
              limit: int = PAGE) -> tuple[list[SyncRun], int | None]:
    """Return syncs newest first (before an id) and the id to continue before, if more."""
    stmt = select(SyncRun).order_by(SyncRun.id.desc()).limit(limit + 1)
    if before is not None:
        stmt = stmt.where(SyncRun.id < before)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def ledger_page(session: Session, audience_id: str, *, after: int = 0, email: str = "",
                status: str = "", limit: int = PAGE) -> tuple[list[LedgerEntry], int | None]:
    """Return ledger rows by contact id after ``after``, filtered, and the next ``after``."""
    stmt = (select(LedgerEntry).where(LedgerEntry.audience_id == audience_id,
                                      LedgerEntry.contact_id > after)
            .order_by(LedgerEntry.contact_id).limit(limit + 1))
    if email:
        stmt = stmt.where(func.lower(LedgerEntry.email).startswith(email.strip().lower(),
                                                                   autoescape=True))
    if status:
        stmt = stmt.where(LedgerEntry.status == status)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].contact_id if more and rows else None)


def webhook_page(session: Session, *, before: int | None = None, outcome: str = "",
                 limit: int = PAGE) -> tuple[list[WebhookEvent], int | None]:
    """Return webhook deliveries newest first (before an id) and the next ``before``."""
    stmt = select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(limit + 1)
    if before is not None:
        stmt = stmt.where(WebhookEvent.id < before)
    if outcome:
        stmt = stmt.where(WebhookEvent.outcome == outcome)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def webhook_outcomes(session: Session) -> list[str]:
    """Return the outcomes recorded so far, for the log's filter."""
    return sorted(session.scalars(select(WebhookEvent.outcome).distinct()))
