"""Faults at every step of a Mailchimp sync: no member lost or sent twice, the ledger stays true.

The sandbox Mailchimp answers 429, 500, 503, HTML 502 and bare 403, times out, or drops the
connection (before or after applying the call) at one chosen step of a push of 120
contacts in batches of 50 (two full batches and a short third, the shape of 1,200 in
Mailchimp's batches of 500): the batch upsert, the merge-field listing and creation, the
tag (static segment) listing, creation and change, and the compliance lookup. After the
faulty push a second push runs without faults; then everyone must be in Mailchimp once, as
they are here, the ledger must say exactly what Mailchimp holds, and a third push must
have nothing to do.

The 120 contacts are made once per module (through the contacts service) and the sync's
own tables are emptied before each test; every test gets a sandbox as if new.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.orm import Session

from campaigns import members, sync
from campaigns.mailchimp import Gateway
from campaigns.mailchimp_errors import MailchimpError
from campaigns.mailchimp_types import BatchResult
from campaigns.members import NEEDED_FIELDS, ContactRow
from campaigns.merge_setup import MergeFieldsMissing
from campaigns.models import LedgerEntry, MailchimpMark, ReviewItem, SyncRun, WebhookEvent
from campaigns.sandbox import SandboxServer
from campaigns.sandbox.faults import FaultRule
from crm import contacts
from crm.models import Base, ConsentEvent, Contact, Tag, contact_tags
from tests.conftest import TestConfig, database_url, fresh_tables
from tests.mailchimp_support import Reporter, add, gateway_of, members_by_email, push
from wsgi import create_app, db

N = 120
BATCH = 50  # the sync's batch size here: N makes two full batches and a short third
FAKE = "test@example.com"  # Mailchimp refuses it as fake: it belongs in the review queue
GONE = "gone.away@example.org"  # unsubscribed in Mailchimp before the first push
FAKE_AT, GONE_AT = 3, 5
TIMEOUT = 0.2  # the client's timeout in the tests that time out; the sandbox answers later


# -- the contacts -------------------------------------------------------------------------

def email_of(i: int) -> str:
    """Return the address of the i-th contact (ids follow i)."""
    return {FAKE_AT: FAKE, GONE_AT: GONE}.get(i, f"member{i:04d}@example.org")


def tags_of(i: int) -> list[str]:
    """Return the i-th contact's tags: one tag everywhere, one from the second batch on,
    one only in the third, so some tags are first needed while earlier batches are out."""
    found = []
    if i % 7 == 0:
        found.append("Alpha")
    if i >= BATCH and i % 13 == 0:
        found.append("Beta")
    if i >= 2 * BATCH + 10 and i % 4 == 0:
        found.append("Late")
    return found


def fields_of(i: int) -> dict[str, Any]:
    """Return the i-th contact's fields: names, some phones and addresses, a few pending."""
    fields: dict[str, Any] = {"first_name": f"First{i}", "last_name": f"Last{i}",
                              "tags": tags_of(i)}
    if i % 40 == 9:
        fields["email_status"] = "pending"
    if i % 5 == 0:
        fields["phone"] = f"608-266-{i:04d}"
    if i % 3 == 0:
        fields.update(street=f"{i} Main St", city="Madison", state="WI", zip="53703")
    return fields


@dataclass
class World:
    """The module's app and contacts; ``ids`` maps addresses to contact ids."""

    app: Flask
    ids: dict[str, int] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)

    def seed(self) -> None:
        """Make the tables and the contacts."""
        with self.app.app_context():
            fresh_tables(db.engine)
            session = db.session
            self.ids.clear()
            self.pending.clear()
            for i in range(N):
                contact = add(session, email_of(i), **fields_of(i))
                self.ids[email_of(i)] = contact.id
                if contact.email_status == "pending":
                    self.pending.add(contact.id)
            session.commit()
            db.session.remove()

    def intact(self) -> bool:
        """Tell whether the contacts are still there (another test may have dropped them)."""
        with self.app.app_context():
            try:
                if not inspect(db.engine).has_table(SyncRun.__tablename__):
                    return False
                count = db.session.scalar(select(func.count()).select_from(Contact))
                return count == N and db.session.scalar(
                    select(Contact.id).where(Contact.email == GONE)) == self.ids.get(GONE)
            finally:
                db.session.remove()

    def reset(self) -> None:
        """Empty the sync's tables and undo what Mailchimp changed here."""
        if not self.ids or not self.intact():
            self.seed()
        with self.app.app_context():
            session = db.session
            for model in (ReviewItem, LedgerEntry, WebhookEvent, MailchimpMark, SyncRun):
                session.execute(delete(model))
            session.execute(delete(ConsentEvent).where(ConsentEvent.method == "mailchimp"))
            session.execute(update(Contact).where(Contact.id.in_(self.pending),
                                                  Contact.email_status != "pending")
                            .values(email_status="pending"))
            session.execute(update(Contact).where(Contact.id.not_in(self.pending),
                                                  Contact.email_status != "subscribed")
                            .values(email_status="subscribed"))
            session.commit()
            db.session.remove()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One app and its contacts for the module's sync tests."""
    url = database_url(tmp_path_factory.mktemp("faults"))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, CRM_MAILCHIMP_BATCH_SIZE=BATCH)
    made = World(app)
    yield made
    with app.app_context():
        db.session.remove()
        Base.metadata.drop_all(db.engine)
        db.engine.dispose()
    app.extensions["campaigns"].sandbox.stop()


@dataclass
class Run:
    """One test's world on its own sandbox: the app, a session, and the server."""

    world: World
    server: SandboxServer
    session: Session

    @property
    def app(self) -> Flask:
        return self.world.app

    def gateway(self, timeout: float = 5.0) -> Gateway:
        """Return a new gateway on this test's sandbox (as a new process would build it)."""
        self.app.config["CRM_MAILCHIMP_SANDBOX_URL"] = self.server.url
        self.app.config["CRM_MAILCHIMP_TIMEOUT"] = timeout
        self.app.extensions["campaigns"].reset_gateway()
        return gateway_of(self.app)


@pytest.fixture
def run(world: World, sandbox: SandboxServer) -> Iterator[Run]:
    """The module's contacts, nothing synced yet, and GONE unsubscribed in the sandbox."""
    world.reset()
    sandbox.state.batch_subscribe(sandbox.list_id, [
        {"email_address": GONE, "status": "unsubscribed"}])
    with world.app.app_context():
        yield Run(world, sandbox, db.session)
        db.session.rollback()
        db.session.remove()


# -- watching the gateway -------------------------------------------------------------------

class Spy:
    """Records the members each batch call carried and what the answers said (if heard)."""

    def __init__(self, gateway: Gateway) -> None:
        self.sent: list[list[str]] = []
        self.heard: list[BatchResult] = []
        self.failed: list[list[str]] = []
        self._lock = threading.Lock()
        real = gateway.batch_upsert

        def batch_upsert(payloads: list[dict[str, Any]]) -> BatchResult:
            emails = [p["email_address"].lower() for p in payloads]
            with self._lock:
                self.sent.append(emails)
            try:
                result = real(payloads)
            except MailchimpError:
                with self._lock:
                    self.failed.append(emails)
                raise
            with self._lock:
                self.heard.append(result)
            return result

        gateway.batch_upsert = batch_upsert  # type: ignore[method-assign]

    def sent_emails(self) -> list[str]:
        return [email for call in self.sent for email in call]

    def accepted(self) -> set[str]:
        """Return the addresses Mailchimp accepted in an answer the app heard."""
        return {e.lower() for r in self.heard for e in [*r.new, *r.updated]}


# -- the faults -----------------------------------------------------------------------------

@dataclass
class PathRule(FaultRule):
    """A fault for calls whose whole path matches a pattern (the batch call's path, the
    list's own, is a prefix of every other call's, so "contains" cannot single it out)."""

    pattern: str = ""

    def matches(self, method: str, path: str) -> bool:
        return self.method == method.upper() and re.fullmatch(self.pattern, path) is not None


def step_call(step: str, list_id: str) -> tuple[str, str]:
    """Return the HTTP method and path pattern of one step of a push."""
    root = re.escape(f"/3.0/lists/{list_id}")
    return {
        "batch": ("POST", root),
        "merge_list": ("GET", root + "/merge-fields"),
        "merge_create": ("POST", root + "/merge-fields"),
        "tag_list": ("GET", root + "/segments"),
        "tag_create": ("POST", root + "/segments"),
        "tag_change": ("POST", root + r"/segments/\d+"),
        "compliance": ("GET", root + r"/members/[0-9a-f]{32}"),
    }[step]


def inject(server: SandboxServer, step: str, kind: str, *, after: int = 0,
           times: int | None = 1) -> PathRule:
    """Script a fault for one step's calls."""
    method, pattern = step_call(step, server.list_id)
    rule = PathRule(kind=kind, method=method, times=times, after=after, pattern=pattern)
    server.faults.rules.append(rule)
    return rule


def calls_of(server: SandboxServer, step: str) -> list[Any]:
    """Return the logged calls of one step."""
    method, pattern = step_call(step, server.list_id)
    return [c for c in server.state.calls
            if c.method == method and re.fullmatch(pattern, c.path)]


# -- what must hold -------------------------------------------------------------------------

def row_of(contact: Contact) -> ContactRow:
    return ContactRow(contact.id, contact.email, contact.email_status, contact.first_name,
                      contact.last_name, contact.phone, contact.street, contact.city,
                      contact.state, contact.zip)


def contact_tags_by_id(session: Session) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for contact_id, name in session.execute(
            select(contact_tags.c.contact_id, Tag.name).join(Tag)):
        found.setdefault(contact_id, []).append(name)
    return {k: sorted(v, key=str.lower) for k, v in found.items()}


def same_merge_fields(wanted: dict[str, Any], held: dict[str, Any]) -> bool:
    """Tell whether Mailchimp holds every merge value we send (addresses part by part)."""
    for tag, value in wanted.items():
        if isinstance(value, dict):
            there = held.get(tag) or {}
            if any(str(there.get(k, "")) != str(v) for k, v in value.items()):
                return False
        elif held.get(tag) != value:
            return False
    return True


def member_tags(member: dict[str, Any]) -> list[str]:
    return sorted((t["name"] for t in member["tags"]), key=str.lower)


def open_reviews(session: Session) -> dict[str, int]:
    found: dict[str, int] = {}
    for email in session.scalars(select(ReviewItem.email).where(ReviewItem.resolved_at.is_(None))):
        found[email.lower()] = found.get(email.lower(), 0) + 1
    return found


def check_ledger_is_true(session: Session, server: SandboxServer) -> dict[int, LedgerEntry]:
    """Every ledger row names a member Mailchimp holds, with that status, those merge values
    and (at least) those tags; return the ledger by contact id."""
    session.expire_all()
    held = members_by_email(server)
    rows = {row.contact_id: row for row in session.scalars(select(LedgerEntry))}
    for row in rows.values():
        member = held.get(row.email.lower())
        assert member is not None, f"the ledger has {row.email}, Mailchimp does not"
        assert member["status"] == row.status, row.email
        assert same_merge_fields(row.payload.get("merge_fields", {}), member["merge_fields"]), \
            row.email
        assert members.payload_hash(row.payload) == row.payload_hash, row.email
        assert set(row.tags or []) <= set(member_tags(member)), row.email
    return rows


def check_all_synced(session: Session, server: SandboxServer) -> None:
    """Everyone is in Mailchimp once, as they are here; the ledger is exactly Mailchimp."""
    ledger = check_ledger_is_true(session, server)
    held = members_by_email(server)
    everyone = list(session.scalars(select(Contact).order_by(Contact.id)))
    tags_here = contact_tags_by_id(session)
    all_members = server.state.all_members(server.list_id)
    # Nobody twice, nobody extra: the emailable contacts and GONE, not the fake address.
    assert len(all_members) == len(held) == N - 1
    for contact in everyone:
        key = contact.email.lower()
        if key == FAKE:
            assert key not in held
            assert contact.id not in ledger
            continue
        member = held.get(key)
        assert member is not None, f"{key} was lost"
        if key == GONE:
            # Mailchimp refused to subscribe them: the opt-out made there now holds here.
            assert member["status"] == "unsubscribed"
            assert contact.email_status == "unsubscribed", "GONE's opt-out was not learned"
            continue
        assert member["status"] == contact.email_status, key
        row = row_of(contact)
        assert same_merge_fields(members.merge_values(row), member["merge_fields"]), key
        assert member_tags(member) == tags_here.get(contact.id, []), key
        entry = ledger.get(contact.id)
        assert entry is not None, f"{key} is in Mailchimp but not in the ledger"
        status, _ = members.outgoing_status(contact.email_status, entry.status)
        assert status == entry.status, key
        assert entry.payload_hash == members.payload_hash(members.payload(row, status)), key
        assert entry.tags == tags_here.get(contact.id, []), key
    # Each tag is one static segment, holding exactly the contacts with that tag.
    names = [s["name"] for s in server.state.list_segments(server.list_id, 1000)["segments"]]
    assert sorted(names) == ["Alpha", "Beta", "Late"]
    # The refused address waits in the review queue once, and nobody else does.
    assert open_reviews(session) == {FAKE: 1}


def check_needed_merge_fields(server: SandboxServer) -> None:
    tags = {f["tag"] for f in server.state.list_merge_fields(server.list_id, 1000)["merge_fields"]}
    assert {tag for tag, _, _ in NEEDED_FIELDS} <= tags


def third_push_does_nothing(run: Run) -> None:
    gw = run.gateway()
    before = len(run.server.state.calls)
    record, counts = push(run.app, run.session, gateway=gw)
    assert record.status == "synced"
    assert gw.calls == 0
    assert len(run.server.state.calls) == before
    assert counts["added"] == counts["updated"] == counts["failed"] == 0
    assert counts["unchanged"] == N - 2


# -- the fault matrix -----------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One fault: at which step, what kind, after how many spared calls, how often, and
    whether the push must succeed ("ok"), must fail ("failed"), or may do either."""

    step: str
    kind: str
    after: int = 0
    times: int | None = 1
    expect: str = "ok"

    @property
    def id(self) -> str:
        often = "always" if self.times is None else f"x{self.times}"
        return f"{self.step}-{self.kind}-after{self.after}-{often}"


CASES = [
    # The batch upsert: retried for everything but the bare 403, which fails the batch.
    *[Case("batch", kind) for kind in ("429", "500", "503", "timeout", "drop", "drop_after",
                                       "html502")],
    Case("batch", "bare403", expect="failed"),
    *[Case("batch", kind, after=1) for kind in ("429", "503", "drop", "drop_after")],
    Case("batch", "bare403", after=2, expect="failed"),
    Case("batch", "500", after=1, times=None, expect="failed"),  # retries run out
    # Merge fields: listing retried; creating is not retried on a lost answer.
    *[Case("merge_list", kind) for kind in ("429", "503", "timeout", "drop", "html502")],
    Case("merge_list", "bare403", expect="failed"),
    *[Case("merge_create", kind) for kind in ("500", "drop", "timeout", "bare403")],
    Case("merge_create", "drop_after", after=3),
    # Tags: the listing and creation happen before the batch that needs them goes out.
    *[Case("tag_list", kind) for kind in ("429", "drop")],
    Case("tag_list", "bare403", expect="either"),
    *[Case("tag_create", kind) for kind in ("503", "drop_after")],
    *[Case("tag_create", kind, expect="either") for kind in ("drop", "bare403")],
    *[Case("tag_create", kind, after=2, expect="either") for kind in ("timeout", "bare403")],
    Case("tag_create", "html502", after=1),
    *[Case("tag_change", kind) for kind in ("500", "timeout", "drop", "drop_after", "bare403")],
    Case("tag_change", "html502", after=2),
    Case("tag_change", "bare403", after=3),
    # The compliance lookup after Mailchimp refused to subscribe GONE.
    *[Case("compliance", kind) for kind in ("429", "503", "timeout", "drop", "drop_after")],
    Case("compliance", "bare403", expect="either"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_fault_loses_nobody_and_the_next_push_sends_only_what_is_missing(
        run: Run, case: Case) -> None:
    timeout = TIMEOUT if case.kind == "timeout" else 5.0
    run.server.faults.timeout_sleep = TIMEOUT + 0.15
    gw = run.gateway(timeout)
    spy = Spy(gw)
    rule = inject(run.server, case.step, case.kind, after=case.after, times=case.times)
    session = run.session

    record = sync.create(session, audience_id=gw.config.audience_id, actor="test")
    session.commit()
    failure: Exception | None = None
    try:
        counts = sync.push(session, gw, record, Reporter(session))
    except (sync.SyncFailed, MailchimpError, MergeFieldsMissing) as exc:
        failure = exc
    session.commit()
    assert rule.fired == 1 or (case.times is None and rule.fired > 1), "the fault never hit"
    status_after_fault = record.status
    # Whatever Mailchimp accepted (and said so) is in the ledger, and the ledger is true.
    ledger = check_ledger_is_true(session, run.server)
    recorded = {row.email.lower() for row in ledger.values()}
    assert spy.accepted() <= recorded, "members Mailchimp accepted are missing from the ledger"
    assert open_reviews(session).get(FAKE, 0) <= 1

    # The second push, without faults, sends exactly what is still missing.
    run.server.faults.clear()
    tags_here = contact_tags_by_id(session)
    stale_tags = {email for email, contact_id in run.world.ids.items()
                  if contact_id in ledger
                  and ledger[contact_id].tags != tags_here.get(contact_id, [])}
    missing = {email for email in run.world.ids if email not in recorded}
    already_sent = len(spy.sent)
    gw2 = run.gateway()
    spy2 = Spy(gw2)
    if failure is not None:
        sync.push(session, gw2, record, Reporter(session))  # the resume the failure asks for
        session.commit()
        assert record.status == "synced"
    else:
        push(run.app, session, gateway=gw2)
    assert already_sent == len(spy.sent)
    resent = set(spy2.sent_emails())
    assert resent <= missing | stale_tags, "members already accepted were sent again"
    assert len(spy2.sent_emails()) == len(resent), "a member was sent twice in one push"
    check_all_synced(session, run.server)
    if case.step == "merge_create":
        check_needed_merge_fields(run.server)
    third_push_does_nothing(run)

    # How the faulty push ended: retried faults are invisible; a failure is a SyncFailed
    # that leaves the sync "failed", ready to resume.
    if case.expect == "ok":
        assert failure is None, f"the push failed: {failure!r}"
        assert status_after_fault == "synced"
        assert counts["failed"] == 0
    if case.expect == "failed" or failure is not None:
        assert isinstance(failure, sync.SyncFailed), f"the push ended with {failure!r}"
        assert status_after_fault == "failed"


# -- retries --------------------------------------------------------------------------------

def test_one_429_on_the_first_batch_is_retried_once_and_the_push_succeeds(run: Run) -> None:
    gw = run.gateway()
    inject(run.server, "batch", "429")
    record, counts = push(run.app, run.session, gateway=gw)
    assert record.status == "synced"
    assert counts["failed"] == 0
    batch_calls = calls_of(run.server, "batch")
    assert len(batch_calls) == math.ceil(N / BATCH) + 1
    assert [(c.fault, c.status) for c in batch_calls].count(("429", 429)) == 1
    assert [c.status for c in batch_calls if c.fault is None] == [200] * math.ceil(N / BATCH)
    assert counts["calls"] == gw.calls == len(run.server.state.calls)
    check_all_synced(run.session, run.server)


def test_a_bare_403_on_a_batch_is_not_retried_and_fails_only_that_batch(run: Run) -> None:
    gw = run.gateway()
    spy = Spy(gw)
    inject(run.server, "batch", "bare403")
    record = sync.create(run.session, audience_id=gw.config.audience_id, actor="test")
    run.session.commit()
    with pytest.raises(sync.SyncFailed):
        sync.push(run.session, gw, record, Reporter(run.session))
    run.session.commit()
    batch_calls = calls_of(run.server, "batch")
    assert len(batch_calls) == math.ceil(N / BATCH)  # the refused one was not tried again
    refused = [c for c in batch_calls if c.fault == "bare403"]
    assert len(refused) == 1 and refused[0].status == 403
    assert len(spy.failed) == 1
    assert record.counts["failed"] == len(spy.failed[0])
    assert len(check_ledger_is_true(run.session, run.server)) == len(spy.accepted())


# -- stop, resume, crash --------------------------------------------------------------------

def test_a_stopped_sync_resumes_where_it_stopped_and_sends_nobody_twice(run: Run) -> None:
    session = run.session
    gw = run.gateway()
    spy = Spy(gw)
    record = sync.create(session, audience_id=gw.config.audience_id, actor="test")
    session.commit()
    # One connection: the first batch is settled before the next is cut.
    sync.push(session, gw, record, Reporter(session, stop_after=1), connections=1)
    session.commit()
    assert record.status == "stopped"
    assert record.cursor > 0
    assert record.finished_at is None
    first_run = len(calls_of(run.server, "batch"))
    assert first_run < math.ceil(N / BATCH)
    assert len(session.scalars(select(LedgerEntry)).all()) > 0

    gw2 = run.gateway()
    spy2 = Spy(gw2)
    sync.push(session, gw2, record, Reporter(session))
    session.commit()
    assert record.status == "synced"
    assert len(calls_of(run.server, "batch")) == math.ceil(N / BATCH)
    sent = spy.sent_emails() + spy2.sent_emails()
    assert len(sent) == len(set(sent)) == N, "a member was pushed twice, or never"
    assert record.counts["added"] + record.counts["updated"] == N - 2
    check_all_synced(session, run.server)
    third_push_does_nothing(run)


class Died(Exception):
    """The process running the sync died."""


class DyingReporter(Reporter):
    """Commits twice, then the process dies in the middle of the third report."""

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        if self.reports >= 2:
            raise Died
        super().progress(done, total, message)


def test_a_sync_that_dies_midway_resumes_with_nobody_lost(run: Run) -> None:
    session = run.session
    gw = run.gateway()
    record = sync.create(session, audience_id=gw.config.audience_id, actor="test")
    session.commit()
    sync_id = record.id
    with pytest.raises(Died):
        sync.push(session, gw, record, DyingReporter(session))
    # Nothing after the last commit survives the process.
    session.rollback()
    db.session.remove()
    session = db.session
    kept = len(session.scalars(select(LedgerEntry)).all())
    assert 0 < kept < N - 2 < len(run.server.state.all_members(run.server.list_id))
    record = session.get(SyncRun, sync_id)
    assert record is not None and record.status == "syncing"

    gw2 = run.gateway()
    sync.push(session, gw2, record, Reporter(session))
    session.commit()
    assert record.status == "synced"
    check_all_synced(session, run.server)
    third_push_does_nothing(Run(run.world, run.server, session))


# -- errors that are not retried ------------------------------------------------------------

def _number_field(server: SandboxServer, tag: str) -> None:
    """Make a merge field a number in Mailchimp, so our text for it does not fit."""
    audience = server.state.audiences[server.list_id]
    next(f for f in audience.merge_fields if f["tag"] == tag)["type"] = "number"


def test_a_merge_field_mismatch_is_refused_per_member_and_not_retried(
        mc_app: Flask, sandbox: SandboxServer) -> None:
    with mc_app.app_context():
        session = db.session
        add(session, "ann@example.org", first_name="Ann", last_name="Lee")
        add(session, "bo@example.org", first_name="Bo")
        session.commit()
        _number_field(sandbox, "LNAME")
        record, counts = push(mc_app, session)
        assert record.status == "synced"
        batch_calls = calls_of(sandbox, "batch")
        assert len(batch_calls) == 1 and batch_calls[0].status == 200
        assert counts["added"] == 1 and counts["errors"] == 1
        item = session.scalars(select(ReviewItem)).one()
        assert (item.email, item.field) == ("ann@example.org", "LNAME")
        assert set(members_by_email(sandbox)) == {"bo@example.org"}
        # The next push does not send the refused payload again.
        before = len(sandbox.state.calls)
        _, again = push(mc_app, session)
        assert len(sandbox.state.calls) == before
        assert again["skipped"] == 1


def test_a_400_on_an_address_change_is_not_retried(mc_app: Flask,
                                                   sandbox: SandboxServer) -> None:
    with mc_app.app_context():
        session = db.session
        ann = add(session, "ann@example.org", first_name="Ann")
        session.commit()
        push(mc_app, session)
        contacts.update(session, ann.id, {"email": "ann.lee@example.org", "last_name": "Lee"},
                        actor="test")
        session.commit()
        _number_field(sandbox, "LNAME")
        record, counts = push(mc_app, session)
        assert record.status == "synced"
        puts = [c for c in sandbox.state.calls if c.method == "PUT"]
        assert [c.status for c in puts] == [400]
        assert counts["errors"] == 1 and counts["failed"] == 0
        item = session.scalars(select(ReviewItem)).one()
        assert item.email == "ann.lee@example.org"
        assert set(members_by_email(sandbox)) == {"ann@example.org"}

