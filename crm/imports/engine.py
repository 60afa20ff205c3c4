"""The importer: check rows, fold repeats together and write them a batch at a time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..validation import normalize_tag
from .rows import Reject, Row, Spec

if TYPE_CHECKING:
    from .checking import Batch

BATCH_SIZE = 1000
# Committing is what makes progress visible and keeps work if the job dies, but each commit
# writes the index pages the batch touched: every 2 seconds rather than every batch keeps a
# million-row import several times faster on SQLite.
COMMIT_SECONDS = 2.0
# When two rows for one person disagree, the stricter email status wins: an opt-out or a
# bounce in any row must never be lost to a "subscribed" in another.
STRICTNESS = {"cleaned": 4, "unsubscribed": 3, "pending": 2, "transactional": 1,
              "subscribed": 0}

Progress = Callable[[int], None]
RejectSink = Callable[[list[Reject]], None]


@dataclass
class Options:
    """How to import: who does it, which tags to add, and whether to write at all."""

    actor: str
    tags: list[str] = field(default_factory=list)
    dry_run: bool = False
    new_status: str = "subscribed"
    donation_source: str = "import"
    job_id: int | None = None
    batch_size: int = BATCH_SIZE
    commit_seconds: float = COMMIT_SECONDS
    # Check rows in a second process: None decides by the file's size.
    parallel: bool | None = None


@dataclass
class Counts:
    """What an import did (or, in a dry run, would do)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    skipped_resubscribe: int = 0
    donations_created: int = 0
    donations_existing: int = 0
    memberships_created: int = 0
    memberships_updated: int = 0
    stopped: bool = False
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the counts as a JSON-ready dict."""
        return asdict(self)


@dataclass
class Person:
    """Every row of one file that names the same person, folded together."""

    rows: list[Row]
    email: str | None
    email_key: str | None
    fields: dict[str, str]
    custom: dict[str, str]
    status: str | None
    tags: dict[str, str]
    donations: list[dict[str, Any]]
    memberships: list[dict[str, Any]]
    # Seen in an earlier batch of this file: already counted as created or updated.
    repeat: bool = False

    @classmethod
    def of(cls, row: Row) -> Person:
        """Start a person from their first row."""
        return cls([row], row.email, row.email_key, dict(row.fields), dict(row.custom),
                   row.status, {k: d for d, k in row.tags},
                   [row.donation] if row.donation else [],
                   [row.membership] if row.membership else [])

    def add(self, row: Row) -> None:
        """Fold a later row in: its non-empty values win, tags and gifts add up."""
        self.rows.append(row)
        if self.email is None and row.email:
            self.email, self.email_key = row.email, row.email_key
        self.fields.update(row.fields)
        self.custom.update(row.custom)
        if row.status and STRICTNESS[row.status] >= STRICTNESS.get(self.status or "", -1):
            self.status = row.status
        for display, key in row.tags:
            self.tags.setdefault(key, display)
        if row.donation:
            self.donations.append(row.donation)
        if row.membership:
            self.memberships.append(row.membership)


def identity(row: Row) -> str:
    """Return what makes two rows the same person: the email, else the member id."""
    if row.email_key:
        return row.email_key
    member = row.membership or {}
    return f"\x00member\x00{member.get('union_name')}\x00{member.get('member_id')}"


class Importer:
    """Import rows of one file into one session; see ``run``."""

    def __init__(self, session: Session, spec: Spec, options: Options,
                 on_rejects: RejectSink | None = None) -> None:
        self.session = session
        self.spec = spec
        self.options = options
        self.on_rejects = on_rejects
        self.counts = Counts(dry_run=options.dry_run)
        try:
            self.import_tags = [normalize_tag(name) for name in options.tags if name.strip()]
        except ValueError as exc:
            raise ValidationFailed({"tags": str(exc)}) from None
        # Hashes, not strings, keep a million-row file's memory small; a collision could
        # only move one row between the duplicates and unchanged counts.
        self.seen: set[int] = set()

    def run(self, batches: Iterable[Batch], progress: Progress | None = None,
            should_stop: Callable[[], bool] | None = None) -> Counts:
        """Import every checked batch; a dry run rolls the session back so nothing stays."""
        from .writer import BatchWriter

        if self.options.dry_run and (self.session.new or self.session.dirty
                                     or self.session.deleted):
            raise RuntimeError("A dry run rolls back the session: flush or commit first.")
        writer = BatchWriter(self.session, self.options, self.counts, self.import_tags,
                             self.spec.header)
        report = progress if not self.options.dry_run else None
        last_commit = time.monotonic()
        try:
            for read, rows, rejects in batches:
                self.counts.rows += read
                self._batch(writer, rows, rejects)
                if time.monotonic() - last_commit < self.options.commit_seconds:
                    continue
                if report is not None:
                    report(self.counts.rows)
                last_commit = time.monotonic()
                if should_stop is not None and should_stop():
                    self.counts.stopped = True
                    break
            else:
                if report is not None:
                    report(self.counts.rows)
        finally:
            if self.options.dry_run:
                self.session.rollback()
        return self.counts

    def _batch(self, writer: Any, rows: list[Row], rejects: list[Reject]) -> None:
        people: dict[str, Person] = {}
        for row in rows:
            ident = identity(row)
            person = people.get(ident)
            digest = hash(ident)
            if person is not None:
                person.add(row)
                self.counts.duplicates += 1
                continue
            person = people[ident] = Person.of(row)
            if digest in self.seen:
                person.repeat = True
                self.counts.duplicates += 1
            self.seen.add(digest)
        rejects = rejects + writer.write(list(people.values()))
        rejects.sort(key=lambda r: r.line)
        self.counts.rejected += len(rejects)
        if rejects:
            if not self.options.dry_run and self.options.job_id is not None:
                writer.store_rejects(self.options.job_id, rejects)
            if self.on_rejects is not None:
                self.on_rejects(rejects)
