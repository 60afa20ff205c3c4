"""Property: whatever staff, people and Mailchimp do, consent holds between here and Mailchimp.

A state machine over six addresses adds contacts (subscribed, unsubscribed or pending),
edits their names, unsubscribes them and re-opts them in (to pending) as staff, lets people
unsubscribe in Mailchimp with the webhook delivered over HTTP to the app, or with the
webhook lost, lets addresses bounce (cleaned) in Mailchimp, lets opted-out people subscribe
again in Mailchimp with a webhook whose time is missing, blank, garbled, old or new,
reconciles, and syncs. Every payload the gateway sends is captured. After each step:

* "subscribed" was never sent for a contact who was not subscribed here when it was sent;
* nobody who unsubscribed (here or in Mailchimp) is subscribed in Mailchimp, unless the
  consent history here has an opt-in (pending or subscribed) after that last unsubscribe;
* after a sync, the ledger says what Mailchimp holds, except for changes Mailchimp made
  that nobody told us about yet;
* a cleaned contact is opted in again only by staff, and a subscribe webhook without a time
  later than the opt-out here leaves an unsubscribed contact unsubscribed.

Each example has its own app (its tables made afresh), sandbox Mailchimp and app server.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from campaigns import members, reconcile
from campaigns.cli import EVENTS, hook_url
from campaigns.mailchimp import Gateway
from campaigns.models import LedgerEntry, SyncRun, WebhookEvent
from campaigns.sandbox import SandboxServer, SandboxState, serve
from campaigns.sync_plan import walk
from crm import consent, contacts
from crm.models import Base, ConsentEvent, Contact, utcnow
from tests.conftest import TestConfig, database_url, fresh_tables
from tests.mailchimp_support import add, gateway_of, members_by_email, push
from wsgi import create_app, db

POOL = ("ann@example.org", "bo.diaz@example.org", "cy@example.net", "dee@example.org",
        "eli@example.net", "fay@example.org")
NAMES = st.sampled_from(["Ann", "Bo", "Cy", "Zoë", "O'Neil", ""])
PICK = st.integers(min_value=0, max_value=len(POOL) - 1)
OPT_INS = ("pending", "subscribed")
OPT_OUTS = ("unsubscribed", "cleaned")
RULES_RUN: Counter[str] = Counter()
# A subscribe webhook's fired_at: missing, blank, garbled, long ago, or after anything here.
FIRED = st.sampled_from(["missing", "blank", "garbled", "old", "new"])


class PayloadSpy:
    """Wraps the gateway's member writes: records each payload with the status the contact
    had here (committed) at the moment it was sent, then makes the real call."""

    def __init__(self, gateway: Gateway, engine: Engine) -> None:
        self.engine = engine
        self.sent: list[tuple[str, str, str | None]] = []  # (email, status sent, status here)
        self._lock = threading.Lock()
        batch_upsert, upsert_member = gateway.batch_upsert, gateway.upsert_member

        def spy_batch(payloads: list[dict[str, Any]]) -> Any:
            for body in payloads:
                self.note(body["email_address"], body["status"])
            return batch_upsert(payloads)

        def spy_one(email: str, **kwargs: Any) -> Any:
            self.note(email, kwargs.get("status") or kwargs["status_if_new"])
            return upsert_member(email, **kwargs)

        gateway.batch_upsert = spy_batch  # type: ignore[method-assign]
        gateway.upsert_member = spy_one  # type: ignore[method-assign]

    def status_here(self, email: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.scalar(select(Contact.email_status).where(
                Contact.email_normalized == email.strip().lower()))

    def note(self, email: str, status: str) -> None:
        here = self.status_here(email)
        with self._lock:
            self.sent.append((email.lower(), status, here))


class QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without a log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


def counted(fn: Callable[..., None]) -> Callable[..., None]:
    """Count the rule's runs (over all examples), so the test can tell each one ran."""

    def run(self: ConsentMachine, *args: Any, **kwargs: Any) -> None:
        RULES_RUN[fn.__name__] += 1
        fn(self, *args, **kwargs)

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


class ConsentMachine(RuleBasedStateMachine):
    """Contacts here, members in the sandbox, and the consent rules between them."""

    database_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.server: SandboxServer = serve(SandboxState(validate_webhooks=False))
        self.app: Flask = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=self.database_url,
                                     CRM_MAILCHIMP_SANDBOX_URL=self.server.url)
        self.context = self.app.app_context()
        self.context.push()
        # The app answers Mailchimp's webhook over HTTP, as in production.
        self.web: BaseWSGIServer = make_server("127.0.0.1", 0, self.app, threaded=False,
                                               request_handler=QuietHandler)
        self.web_thread = threading.Thread(target=self.web.serve_forever,
                                           kwargs={"poll_interval": 0.05}, daemon=True)
        self.web_thread.start()
        try:
            fresh_tables(db.engine)
        except BaseException:
            self.teardown()
            raise
        self.session = db.session
        self.gateway = gateway_of(self.app)
        self.spy = PayloadSpy(self.gateway, db.engine)
        # People's and admins' changes are delivered; changes made through the API are not,
        # which is how a lost webhook is played here.
        self.gateway.add_webhook(hook_url(f"http://127.0.0.1:{self.web.server_port}",
                                          self.app), EVENTS, ["user", "admin"])
        self.ids: dict[str, int] = {}
        # Per address, the newest consent event id when Mailchimp unsubscribed them.
        self.unsubscribed_there: dict[str, int] = {}
        # Addresses the person subscribed again in Mailchimp while they stay opted out here:
        # Mailchimp holds "subscribed" by their own hand until a sync sends the opt-out.
        self.resubscribed_there: set[str] = set()
        self.hook = hook_url(f"http://127.0.0.1:{self.web.server_port}", self.app)
        self.deliveries = 0
        # Addresses Mailchimp changed without telling us (until a reconcile or a sync).
        self.unheard: set[str] = set()
        # The newest consent event id when the last sync started: opt-outs made here up to
        # it have had their chance to reach Mailchimp.
        self.seen_by_sync = 0
        self.edits = 0

    def teardown(self) -> None:
        self.web.shutdown()
        self.web.server_close()
        self.web_thread.join()
        self.server.stop()
        try:
            db.session.rollback()
            db.session.remove()
            if db.engine.dialect.name != "postgresql":
                Base.metadata.drop_all(db.engine)
        finally:
            db.engine.dispose()
            self.context.pop()

    # -- looking around ---------------------------------------------------------------------
    def contact(self, email: str) -> Contact:
        found = self.session.get(Contact, self.ids[email])
        assert found is not None
        return found

    def with_status(self, *statuses: str) -> list[str]:
        return [e for e in sorted(self.ids) if self.contact(e).email_status in statuses]

    def reachable_there(self) -> list[str]:
        held = members_by_email(self.server)
        return [e for e in sorted(self.ids)
                if e in held and held[e]["status"] in ("subscribed", "pending")]

    def newest_event(self) -> int:
        return int(self.session.scalar(select(func.max(ConsentEvent.id))) or 0)

    def opted_in(self) -> list[str]:
        return self.with_status(*OPT_INS)

    def unsubscribed(self) -> list[str]:
        return self.with_status("unsubscribed")

    def staff_status(self, email: str, status: str) -> None:
        consent.set_status(self.session, self.contact(email), status, method="staff",
                           actor="test")

    # -- rules ------------------------------------------------------------------------------
    @initialize(first=NAMES, last=NAMES)
    def audience_already_synced(self, first: str, last: str) -> None:
        """Start from a small audience already in Mailchimp: one subscribed, one pending."""
        for email, status in ((POOL[0], "subscribed"), (POOL[1], "pending")):
            self.ids[email] = add(self.session, email, email_status=status, first_name=first,
                                  last_name=last).id
        self.session.commit()
        self.push()

    @precondition(lambda self: len(self.ids) < len(POOL))
    @rule(pick=PICK, status=st.sampled_from(["subscribed", "unsubscribed", "pending"]),
          first=NAMES, last=NAMES)
    @counted
    def add_contact(self, pick: int, status: str, first: str, last: str) -> None:
        """Staff add (or an import brings) a contact."""
        free = [e for e in POOL if e not in self.ids]
        email = free[pick % len(free)]
        contact = add(self.session, email, email_status=status, first_name=first,
                      last_name=last)
        self.session.commit()
        self.ids[email] = contact.id

    @precondition(lambda self: bool(self.ids))
    @rule(pick=PICK, first=NAMES, last=NAMES,
          status=st.sampled_from(["unsubscribed", "pending", None]))
    @counted
    def edit_contact(self, pick: int, first: str, last: str, status: str | None) -> None:
        """Staff edit a contact's names, and with them its status when asked and allowed:
        unsubscribe someone opted in, or re-opt-in (pending) someone unsubscribed."""
        may_change = {"unsubscribed": self.opted_in(), "pending": self.unsubscribed(),
                      None: []}[status]
        chosen = may_change or sorted(self.ids)
        email = chosen[pick % len(chosen)]
        self.edits += 1  # numbered, so every edit changes what a sync would send
        contacts.update(self.session, self.ids[email],
                        {"first_name": first, "last_name": f"{last} {self.edits}".strip()},
                        actor="test")
        if may_change:
            assert status is not None
            self.staff_status(email, status)
            RULES_RUN[f"edit_contact:{status}"] += 1
        self.session.commit()

    @precondition(lambda self: bool(self.reachable_there()))
    @rule(pick=PICK)
    @counted
    def unsubscribe_in_mailchimp(self, pick: int) -> None:
        """The person unsubscribes in Mailchimp; the webhook reaches the app."""
        chosen = self.reachable_there()
        email = chosen[pick % len(chosen)]
        self.session.commit()
        events_before = self.session.scalar(select(func.count()).select_from(WebhookEvent))
        deliveries = self.server.fire_status_change(email, "unsubscribed")
        assert [d["status_code"] for d in deliveries] == [200], deliveries
        self.session.expire_all()
        self.unsubscribed_there[email] = self.newest_event()
        if self.session.scalar(select(func.count()).select_from(WebhookEvent)) == events_before:
            # The same form in the same second reads as a retry of the first: not applied.
            self.unheard.add(email)
        else:
            self.unheard.discard(email)

    @precondition(lambda self: bool(self.reachable_there()))
    @rule(pick=PICK)
    @counted
    def unsubscribe_in_mailchimp_webhook_lost(self, pick: int) -> None:
        """The person unsubscribes in Mailchimp and the webhook never arrives."""
        chosen = self.reachable_there()
        email = chosen[pick % len(chosen)]
        deliveries = self.server.state.change_status(self.server.list_id, email,
                                                     "unsubscribed", source="api")
        assert deliveries == []
        self.unsubscribed_there[email] = self.newest_event()
        self.unheard.add(email)

    @precondition(lambda self: bool(self.reachable_there()))
    @rule(pick=PICK)
    @counted
    def cleaned_in_mailchimp(self, pick: int) -> None:
        """The address bounces for good; Mailchimp cleans it and the webhook reaches the app."""
        chosen = self.reachable_there()
        email = chosen[pick % len(chosen)]
        self.session.commit()
        deliveries = self.server.fire_status_change(email, "cleaned")
        assert [d["status_code"] for d in deliveries] == [200], deliveries
        self.session.expire_all()
        self.unsubscribed_there[email] = self.newest_event()
        if self.contact(email).email_status == "cleaned":
            self.unheard.discard(email)
        else:  # the same form in the same second reads as a retry: not applied
            self.unheard.add(email)

    @precondition(lambda self: bool(self.with_status(*OPT_OUTS)))
    @rule(pick=PICK, fired=FIRED)
    @counted
    def subscribe_webhook(self, pick: int, fired: str) -> None:
        """Someone opted out here subscribes again in Mailchimp's own form, and the webhook
        arrives with its time missing, blank, garbled, long ago, or after the opt-out."""
        chosen = self.with_status(*OPT_OUTS)
        email = chosen[pick % len(chosen)]
        self.session.commit()
        before = self.contact(email).email_status
        held = members_by_email(self.server).get(email)
        if held is not None and held["status"] != "subscribed":
            # Their own doing in Mailchimp, which delivers it as the webhook below.
            self.server.state.change_status(self.server.list_id, email, "subscribed",
                                            source="api")
            self.resubscribed_there.add(email)
        self.deliveries += 1
        form = {"type": "subscribe", "data[email]": email, "data[list_id]": self.server.list_id,
                "data[id]": f"delivery-{self.deliveries}"}
        moment = {"old": utcnow() - timedelta(days=365),
                  "new": utcnow() + timedelta(days=1)}.get(fired)
        if moment is not None:
            form["fired_at"] = moment.strftime("%Y-%m-%d %H:%M:%S")
        elif fired != "missing":
            form["fired_at"] = {"blank": "", "garbled": "29/11/2026 noon"}[fired]
        answer = requests.post(self.hook, data=form, timeout=10)
        assert answer.status_code == 200, answer.text
        self.session.expire_all()
        after = self.contact(email).email_status
        RULES_RUN[f"subscribe_webhook:{before}"] += 1
        if before == "cleaned":
            assert after == "cleaned", f"a subscribe webhook ({fired}) reopened {email}"
        elif fired != "new":
            assert after == before, f"a subscribe webhook ({fired}) undid {email}'s opt-out"
        else:
            assert after == "subscribed", f"{email} opted in again later and stayed {after}"
        if after == "subscribed":
            self.resubscribed_there.discard(email)

    @precondition(lambda self: bool(self.unsubscribed_there))
    @rule()
    @counted
    def reconcile(self) -> None:
        """Pull the status changes Mailchimp made."""
        reconcile.run(self.session, self.gateway)
        self.session.commit()
        self.unheard.clear()

    @rule()
    @counted
    def sync(self) -> None:
        """Push everyone emailable to Mailchimp."""
        self.push()

    def push(self) -> None:
        """Sync, then check the ledger against what Mailchimp holds."""
        self.seen_by_sync = self.newest_event()
        sent_before = len(self.spy.sent)
        record, _ = push(self.app, self.session, gateway=self.gateway)
        assert record.status == "synced"
        self.session.expire_all()
        sent = {email for email, _, _ in self.spy.sent[sent_before:]}
        # What this sync sent (or learned from a refusal) is what Mailchimp now holds.
        self.unheard -= sent
        self.resubscribed_there -= sent
        held = members_by_email(self.server)
        for row in self.session.scalars(select(LedgerEntry)):
            key = row.email.lower()
            if key in self.unheard:
                continue
            member = held.get(key)
            assert member is not None, f"the ledger has {key}, Mailchimp does not"
            assert member["status"] == row.status, key
            for tag, value in row.payload.get("merge_fields", {}).items():
                assert member["merge_fields"].get(tag) == value, (key, tag)
            assert members.payload_hash(row.payload) == row.payload_hash, key

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def subscribed_is_only_sent_for_contacts_subscribed_here(self) -> None:
        wrong = [(email, here) for email, status, here in self.spy.sent
                 if status == "subscribed" and here != "subscribed"]
        assert not wrong, f"'subscribed' was sent for contacts who were not: {wrong}"

    @invariant()
    def a_sync_now_would_send_subscribed_only_for_contacts_subscribed_here(self) -> None:
        plan = SyncRun(audience_id=self.gateway.config.audience_id, scope="emailable",
                       created_by="test")
        for item in walk(self.session, plan):
            if item.action in ("add", "update") and item.payload["status"] == "subscribed":
                here = self.contact(item.email.lower()).email_status
                assert here == "subscribed", (
                    f"a sync would send 'subscribed' for {item.email}, {here} here")

    @invariant()
    def nobody_who_unsubscribed_is_subscribed_there_without_a_new_opt_in(self) -> None:
        self.session.expire_all()
        held = members_by_email(self.server)
        for email, contact_id in self.ids.items():
            member = held.get(email)
            if (member is None or member["status"] != "subscribed"
                    or email in self.resubscribed_there):
                continue
            history = list(self.session.execute(
                select(ConsentEvent.id, ConsentEvent.status)
                .where(ConsentEvent.contact_id == contact_id).order_by(ConsentEvent.id)))
            # The last opt-out: in Mailchimp, or here and since seen by a sync.
            last_out = max([i for i, status in history
                            if status in OPT_OUTS and i <= self.seen_by_sync]
                           + [self.unsubscribed_there.get(email, 0)])
            if last_out:
                assert any(i > last_out and status in OPT_INS for i, status in history), (
                    f"{email} unsubscribed, has no opt-in since, and is subscribed in "
                    f"Mailchimp: {history}")


    @invariant()
    def a_cleaned_contact_is_opted_in_again_only_by_staff(self) -> None:
        for email, contact_id in self.ids.items():
            history = list(self.session.execute(
                select(ConsentEvent.status, ConsentEvent.method)
                .where(ConsentEvent.contact_id == contact_id).order_by(ConsentEvent.id)))
            cleaned = [i for i, (status, _) in enumerate(history) if status == "cleaned"]
            if cleaned:
                later = history[cleaned[0] + 1:]
                wrong = [(status, method) for status, method in later
                         if status in OPT_INS and method != "staff"]
                assert not wrong, f"{email} was cleaned, then opted in by {wrong}"


@pytest.fixture
def machine_database(tmp_path: Path) -> Iterator[None]:
    """Point the machine at this test's database (its tables are made per example)."""
    ConsentMachine.database_url = database_url(tmp_path)
    yield
    ConsentMachine.database_url = ""


RULE_NAMES = ("add_contact", "edit_contact", "edit_contact:unsubscribed", "edit_contact:pending",
              "unsubscribe_in_mailchimp", "unsubscribe_in_mailchimp_webhook_lost",
              "subscribe_webhook", "reconcile", "sync")
# Rarer branches: they may not come up in every run, so they are also run by hand below.
RARER_NAMES = ("cleaned_in_mailchimp", "subscribe_webhook:unsubscribed",
               "subscribe_webhook:cleaned")


def test_consent_holds_whatever_happens_here_and_in_mailchimp(machine_database: None) -> None:
    RULES_RUN.clear()
    run_state_machine_as_test(ConsentMachine, settings=settings(
        max_examples=15, stateful_step_count=15, deadline=None, database=None,
        # Each step talks HTTP, so shrinking a failure could take minutes: a failure is
        # reported with its steps as found.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow]))
    assert set(RULE_NAMES) <= set(RULES_RUN) <= set(RULE_NAMES + RARER_NAMES), RULES_RUN


def test_a_pending_re_opt_in_is_never_sent_as_subscribed(machine_database: None) -> None:
    """The sequence the machine can find, run by hand: subscribed and synced, unsubscribed
    and re-opted in (pending) by staff before the next sync, whose edit sends them again."""
    machine = ConsentMachine()
    try:
        machine.add_contact(0, "subscribed", "Ann", "Lee")
        machine.sync()
        machine.edit_contact(0, "Ann", "Lee", "unsubscribed")
        machine.edit_contact(0, "Annie", "Lee", "pending")
        machine.a_sync_now_would_send_subscribed_only_for_contacts_subscribed_here()
        machine.sync()
        machine.subscribed_is_only_sent_for_contacts_subscribed_here()
        machine.nobody_who_unsubscribed_is_subscribed_there_without_a_new_opt_in()
    finally:
        machine.teardown()


@pytest.mark.parametrize("fired", ["missing", "garbled", "old", "new"])
def test_a_bounced_address_stays_cleaned_whatever_the_subscribe_webhook_says(
        machine_database: None, fired: str) -> None:
    """The machine's rarer path, by hand: subscribed and synced, cleaned in Mailchimp (a
    bounce), then a subscribe webhook for it with its time missing, garbled, old or new."""
    machine = ConsentMachine()
    try:
        machine.add_contact(0, "subscribed", "Ann", "Lee")
        machine.sync()
        email = machine.with_status("subscribed")[0]
        machine.cleaned_in_mailchimp(machine.reachable_there().index(email))
        assert machine.contact(email).email_status == "cleaned"
        machine.subscribe_webhook(machine.with_status(*OPT_OUTS).index(email), fired)
        assert machine.contact(email).email_status == "cleaned"
        machine.a_cleaned_contact_is_opted_in_again_only_by_staff()
        machine.sync()
        machine.nobody_who_unsubscribed_is_subscribed_there_without_a_new_opt_in()
        machine.subscribed_is_only_sent_for_contacts_subscribed_here()
    finally:
        machine.teardown()
