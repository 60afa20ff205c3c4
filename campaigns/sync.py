"""Audience sync: plan (dry run) and push a segment to Mailchimp, keeping the ledger true.

A push reads contacts in id order, skips what the ledger says Mailchimp already holds, and
sends the rest in batches of at most 500 over a few connections. The ledger is written per
batch only for members Mailchimp accepted, so a crash, a stop or a failed call loses
nothing: the next push (or a resume) sends exactly what is still missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from sqlalchemy.orm import Session

from crm.errors import CRMError, NotFound
from crm.models import utcnow
from crm.segments import service as segments
from crm.segments.dates import Clock

from . import inbound, ledger, merge_setup, review
from .mailchimp import BATCH_MAX, Gateway
from .mailchimp_errors import MailchimpError
from .models import SyncRun
from .sync_plan import DryRun, Planned, count_scope, walk
from .sync_push import BatchOutcome, send_batch

REPORT_SECONDS = 1.0


class SyncFailed(CRMError):
    """Mailchimp kept refusing a batch; what was accepted is kept and a resume goes on."""


class Progress(Protocol):
    """Where a sync reports how far it got and learns whether to stop."""

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress (and make the work so far durable)."""

    def should_stop(self) -> bool:
        """Tell whether someone asked the sync to stop."""


def create(session: Session, *, audience_id: str, actor: str,
           segment_id: int | None = None) -> SyncRun:
    """Record a new sync of a segment (or of everyone emailable) to an audience."""
    sync = SyncRun(audience_id=audience_id, created_by=actor, status="planning",
                   scope="segment" if segment_id is not None else "emailable")
    if segment_id is not None:
        segment = segments.get(session, segment_id)
        sync.segment_id, sync.segment_name = segment.id, segment.name
    session.add(sync)
    session.flush()
    return sync


def get(session: Session, sync_id: int) -> SyncRun:
    """Return a sync by id or raise NotFound."""
    sync = session.get(SyncRun, sync_id)
    if sync is None:
        raise NotFound(f"No sync #{sync_id}.")
    return sync


def dry_run(session: Session, gateway: Gateway | None, sync: SyncRun, progress: Progress, *,
            clock: Clock | None = None, merge_field_limit: int = 30) -> dict[str, Any]:
    """Work out what a push would do, without changing anything in Mailchimp."""
    total = count_scope(session, sync, clock)
    progress.progress(0, total, "Planning…")
    plan = DryRun()
    for done, item in enumerate(walk(session, sync, clock=clock), start=1):
        plan.add(item, session, sync.audience_id)
        if done % 5000 == 0:
            progress.progress(done, total, f"Planned {done:,} of {total:,}.")
    result = plan.as_dict()
    result["merge_fields"] = merge_setup.check(gateway, merge_field_limit) if gateway else {}
    sync.plan = result
    sync.status = "planned"
    progress.progress(total, total, f"Planned: {result['to_push']:,} to push.")
    return result


class _Push:
    """The state of one push while it runs."""

    def __init__(self, session: Session, gateway: Gateway, sync: SyncRun, progress: Progress,
                 connections: int, actor: str, merge_field_limit: int) -> None:
        self.session, self.gateway, self.sync, self.progress = session, gateway, sync, progress
        self.connections = max(1, min(connections, 10))
        self.actor = actor
        self.merge_field_limit = merge_field_limit
        self.counts: dict[str, int] = {k: int(v) for k, v in (sync.counts or {}).items()}
        for key in ("added", "updated", "unchanged", "skipped", "errors", "failed", "opted_out",
                    "examined"):
            self.counts.setdefault(key, 0)
        self.setup: merge_setup.Setup | None = None
        self.settled: dict[int, BatchOutcome] = {}
        self.next_to_settle = 0
        self.failure: str | None = None
        self.total = 0
        self.reported = 0.0
        self.report_seconds = REPORT_SECONDS
        self.campaign_segment: int | None = None
        self.on_settled: Callable[[BatchOutcome], None] | None = None

    @property
    def owed(self) -> bool:
        """Tell whether an earlier push left a merge field to create."""
        if self.setup is not None:
            return self.setup.owed
        return merge_setup.Setup(self.session, self.gateway, self.merge_field_limit).owed

    def prepare(self) -> None:
        """Before the first call: the merge fields (unless checked lately) and the tag ids."""
        if self.setup is None:
            self.setup = merge_setup.Setup(self.session, self.gateway, self.merge_field_limit)
            warnings = self.setup.fields()
            self.sync.plan = dict(self.sync.plan or {}, push_warnings=warnings)

    def tag_ids(self, batch: list[Planned]) -> dict[str, int]:
        """Return the ids of the tags a batch adds or removes, creating missing tags."""
        assert self.setup is not None
        wanted: set[str] = set()
        for item in batch:
            before = set(item.previous.tags) if item.previous is not None else set()
            wanted |= set(item.tags) ^ before
        return {name: self.setup.tag_id(name) for name in sorted(wanted)}

    def settle(self, outcome: BatchOutcome) -> None:
        """Write one finished batch to the ledger and the review queue."""
        items = {item.email.strip().lower(): item for item in outcome.items}
        if outcome.failure is not None:
            self.counts["failed"] += len(outcome.items)
            self.failure = str(outcome.failure)
        accepted = []
        for key, item in items.items():
            if key in outcome.added or key in outcome.updated:
                tags = item.tags
                if key in outcome.tags_failed:
                    # Tags Mailchimp did not take stay as they were: the next sync retries.
                    tags = list(item.previous.tags or []) if item.previous is not None else []
                accepted.append(ledger.Accepted(item.contact_id, item.email,
                                                item.payload["status"], item.text,
                                                item.hash, sorted(tags, key=str.lower)))
        ledger.record(self.session, self.sync.audience_id, accepted)
        if self.on_settled is not None:
            self.on_settled(outcome)
        self.counts["added"] += sum(1 for k in items if k in outcome.added)
        self.counts["updated"] += sum(1 for k in items if k in outcome.updated)
        for error in outcome.errors:
            key = error.email.strip().lower()
            item = items.get(key)
            status = outcome.opted_out.get(key)
            if key in outcome.undecided:
                self.counts["failed"] += 1
                continue
            if item is not None and status is not None:
                inbound.apply_status(self.session, item.contact_id, status,
                                     audience_id=self.sync.audience_id,
                                     note="Mailchimp refused to subscribe them during a sync.")
                self.counts["opted_out"] += 1
                continue
            self.counts["errors"] += 1
            review.add(self.session, self.sync.id, item.contact_id if item else None,
                       error.email, error.code, error.field, error.message,
                       item.hash if item else "")
        for name in outcome.tags_gone:
            if self.setup is not None:
                self.setup.forget_tag(name)
        if self.setup is not None:
            self.setup.save()
        self.settled[outcome.number] = outcome
        # The cursor moves over contiguous batches that went through.
        while self.next_to_settle in self.settled:
            done = self.settled.pop(self.next_to_settle)
            if done.failure is not None:
                break
            self.sync.cursor = max(self.sync.cursor, done.upto)
            self.next_to_settle += 1
        self.sync.counts = dict(self.counts, calls=self.gateway.calls)
        now = time.monotonic()
        if now - self.reported >= self.report_seconds or outcome.failure is not None:
            # Reporting commits: once a second keeps the work durable without a commit (and
            # its disk sync) per batch. A crash loses at most that second's ledger rows, and
            # the next push sends those members again; upserts make that harmless.
            self.progress.progress(self.counts["examined"], self.total, self.message())
            self.reported = now

    def message(self) -> str:
        """Describe progress in staff words."""
        c = self.counts
        return (f"{c['added']:,} added, {c['updated']:,} updated, {c['unchanged']:,} unchanged, "
                f"{c['skipped']:,} skipped, {c['errors']:,} to review.")


def push(session: Session, gateway: Gateway, sync: SyncRun, progress: Progress, *,
         connections: int = 10, clock: Clock | None = None, actor: str = "Mailchimp sync",
         merge_field_limit: int = 30, report_seconds: float = REPORT_SECONDS,
         campaign_segment: int | None = None,
         on_settled: Callable[[BatchOutcome], None] | None = None) -> dict[str, int]:
    """Push the sync's contacts to Mailchimp, resuming after its cursor; return the counts.

    Progress is reported (and so committed) at most every ``report_seconds``; 0 reports
    after every batch. A campaign's send passes its static segment (each batch's subscribed
    members join it) and ``on_settled``, told of every batch once it is written.
    """
    run = _Push(session, gateway, sync, progress, connections, actor, merge_field_limit)
    run.report_seconds = report_seconds
    run.campaign_segment, run.on_settled = campaign_segment, on_settled
    run.total = count_scope(session, sync, clock)
    sync.status = "syncing"
    progress.progress(run.counts["examined"], run.total, "Syncing…")
    start_cursor = sync.cursor
    batch: list[Planned] = []
    number = 0
    pending: set[Future[BatchOutcome]] = set()
    stopped = False
    last_id = start_cursor
    batch_size = min(gateway.config.batch_size, BATCH_MAX)
    with ThreadPoolExecutor(max_workers=run.connections, thread_name_prefix="mc-sync") as pool:

        def submit(items: list[Planned], upto: int) -> None:
            nonlocal number
            try:
                run.prepare()
                ids = run.tag_ids(items)
            except (MailchimpError, CRMError) as exc:
                # Setting up failed: send nothing more, but settle what is already out.
                run.failure = str(exc)
                return
            pending.add(pool.submit(send_batch, gateway, number, upto, items, ids,
                                    run.campaign_segment))
            number += 1

        def drain(limit: int) -> None:
            while len(pending) > limit:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.discard(future)
                    run.settle(future.result())

        for item in walk(session, sync, after_id=start_cursor, clock=clock):
            last_id = item.contact_id
            run.counts["examined"] += 1
            if item.action == "unchanged":
                run.counts["unchanged"] += 1
            elif item.action == "skip":
                run.counts["skipped"] += 1
            else:
                batch.append(item)
            if len(batch) == batch_size:
                submit(batch, last_id)
                batch = []
                # Keep a batch ready per connection, no more: memory stays flat at any size.
                drain(run.connections)
                if run.failure or progress.should_stop():
                    stopped = not run.failure
                    break
        else:
            if batch:
                submit(batch, last_id)
            elif run.owed and not run.failure:
                # Nothing to send, but a merge field is owed from an earlier push.
                try:
                    run.prepare()
                except (MailchimpError, CRMError) as exc:
                    run.failure = str(exc)
        drain(0)
    if not stopped and not run.failure:
        sync.cursor = max(sync.cursor, last_id)
    sync.counts = dict(run.counts, calls=gateway.calls)
    if run.failure:
        sync.status = "failed"
        progress.progress(run.counts["examined"], run.total, run.message())
        raise SyncFailed(f"Mailchimp kept failing, so the sync paused: {run.failure} "
                         "Everything accepted so far is recorded; resume to go on.")
    sync.status = "stopped" if stopped else "synced"
    if not stopped:
        sync.finished_at = utcnow()
    progress.progress(run.counts["examined"], run.total, run.message())
    return dict(sync.counts)

