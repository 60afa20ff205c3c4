"""Audience sync against the sandbox: plan, push, ledger, review queue and consent rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from campaigns import ledger, members, merge_setup, review, sync
from campaigns.connection import NotConfigured
from campaigns.members import outgoing_status
from campaigns.models import ReviewItem
from campaigns.sandbox import SandboxServer
from crm import consent, contacts
from crm.models import ConsentEvent, Contact
from crm.segments import service as segments
from tests.mailchimp_support import (
    Reporter,
    add,
    gateway_of,
    ledger_rows,
    members_by_email,
    push,
)
from wsgi import db


@pytest.fixture
def session(mc_app: Flask) -> Iterator[Any]:
    with mc_app.app_context():
        yield db.session


def test_subscribed_is_only_ever_sent_for_contacts_subscribed_here() -> None:
    for here in ("subscribed", "pending", "unsubscribed", "cleaned", "transactional"):
        for known in (None, "subscribed", "pending", "unsubscribed", "cleaned", "transactional"):
            status, reason = outgoing_status(here, known)
            if status == "subscribed":
                assert here == "subscribed"
            if here == "pending":
                assert status == ("pending" if known != "cleaned" else None)
            if here in ("unsubscribed", "cleaned", "transactional"):
                assert status in (None, "unsubscribed"), (here, known)
            assert (status is None) == bool(reason)
    # An existing member's status is kept; an opt-out in Mailchimp is never argued with.
    assert outgoing_status("subscribed", "pending") == ("pending", "")
    assert outgoing_status("subscribed", "unsubscribed")[0] is None


def test_blank_fields_are_left_out_so_mailchimp_keeps_its_values() -> None:
    row = members.ContactRow(1, "a@union.org", "subscribed", "Ana", "", None, "1 Main", "Madison",
                             None, "53703")
    assert members.merge_values(row) == {"FNAME": "Ana"}
    full = members.ContactRow(1, "a@union.org", "subscribed", "Ana", "Ruiz", "+16085550100",
                              "1 Main", "Madison", "WI", "53703")
    assert members.merge_values(full)["ADDRESS"] == {
        "addr1": "1 Main", "city": "Madison", "state": "WI", "zip": "53703", "country": "US"}


def test_dry_run_counts_reasons_and_changes_without_calls(mc_app: Flask, session: Any,
                                                          sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org", first_name="Ana", tags=["member"])
    add(session, "ben@union.org", first_name="Ben")
    add(session, "gone@union.org", email_status="unsubscribed")
    session.commit()
    push(mc_app, session)
    contacts.update(session, ana.id, {"first_name": "Anita"}, actor="test")
    add(session, "cara@union.org", first_name="Cara")
    session.commit()
    calls = sandbox.state.call_count()
    gw = gateway_of(mc_app)
    record = sync.create(session, audience_id=gw.config.audience_id, actor="test")
    plan = sync.dry_run(session, gw, record, Reporter(session))
    assert plan["counts"] == {"add": 1, "update": 1, "unchanged": 1, "skip": 0}
    assert plan["to_push"] == 2
    change = plan["sample_updates"][0]
    assert change["email"] == "ana@union.org"
    assert {"field": "FNAME", "before": "Ana", "after": "Anita"} in change["changes"]
    assert plan["sample_adds"][0]["email"] == "cara@union.org"
    # Only the merge-field check talks to Mailchimp.
    assert sandbox.state.call_count() == calls + 1
    assert record.status == "planned"
    # The segment of everyone including opt-outs names the reason it skips them.
    everyone = segments.create(session, {"name": "All", "text": 'email contains "@"'}, actor="test")
    record = sync.create(session, audience_id=gw.config.audience_id, actor="test",
                         segment_id=everyone.id)
    plan = sync.dry_run(session, None, record, Reporter(session))
    assert plan["reasons"] == {"unsubscribed": 1}


def test_push_then_an_unchanged_resync_makes_no_calls(mc_app: Flask, session: Any,
                                                      sandbox: SandboxServer) -> None:
    for i in range(1203):
        add(session, f"member{i}@union.org", first_name=f"M{i}", last_name="Olson",
            phone="608-555-0100", street="1 Main St", city="Madison", state="WI", zip="53703")
    session.commit()
    _, counts = push(mc_app, session)
    assert counts["added"] == 1203 and counts["errors"] == 0
    assert sandbox.state.call_count(method="POST", path_contains=f"/lists/{sandbox.list_id}") >= 3
    held = members_by_email(sandbox)
    assert len(held) == 1203
    first = held["member0@union.org"]
    assert first["status"] == "subscribed"
    assert first["merge_fields"]["FNAME"] == "M0"
    assert first["merge_fields"]["ADDRESS"]["city"] == "Madison"
    assert len(ledger_rows(session)) == 1203
    before = sandbox.state.call_count()
    _, again = push(mc_app, session)
    assert again["unchanged"] == 1203 and sandbox.state.call_count() == before
    # One edit costs one batch call and changes only that member.
    contact = session.scalar(select(Contact).where(Contact.email == "member7@union.org"))
    contacts.update(session, contact.id, {"last_name": "Berg"}, actor="test")
    session.commit()
    _, third = push(mc_app, session)
    assert (third["updated"], third["unchanged"]) == (1, 1202)
    assert sandbox.state.call_count() == before + 1
    assert members_by_email(sandbox)["member7@union.org"]["merge_fields"]["LNAME"] == "Berg"


def test_an_unsubscribe_here_reaches_mailchimp_whatever_the_scope(mc_app: Flask, session: Any,
                                                                  sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org", first_name="Ana", state="WI")
    add(session, "ben@union.org", state="MN")
    session.commit()
    push(mc_app, session)
    consent.set_status(session, ana, "unsubscribed", method="staff", actor="test")
    session.commit()
    minnesota = segments.create(session, {"name": "MN", "text": "state = MN"}, actor="test")
    _, counts = push(mc_app, session, segment_id=minnesota.id)
    assert members_by_email(sandbox)["ana@union.org"]["status"] == "unsubscribed"
    assert counts["updated"] == 1
    assert ledger_rows(session)[ana.id].status == "unsubscribed"
    # Mailchimp now holds the opt-out; the next sync leaves Ana alone.
    _, again = push(mc_app, session)
    assert again["updated"] == 0


def test_mailchimp_opt_out_wins_over_a_stale_subscribed_here(mc_app: Flask, session: Any,
                                                             sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org", first_name="Ana")
    session.commit()
    push(mc_app, session)
    # She unsubscribed in Mailchimp and the webhook never came; then staff edit her here.
    sandbox.state.change_status(sandbox.list_id, "ana@union.org", "unsubscribed")
    ledger.entry(session, sandbox.list_id, ana.id).status = "subscribed"
    contacts.update(session, ana.id, {"first_name": "Anita"}, actor="test")
    session.commit()
    _, counts = push(mc_app, session)
    assert counts["opted_out"] == 1 and counts["errors"] == 0
    session.refresh(ana)
    assert ana.email_status == "unsubscribed"
    event = session.scalar(select(ConsentEvent).where(ConsentEvent.contact_id == ana.id)
                           .order_by(ConsentEvent.id.desc()))
    assert (event.method, event.status) == ("mailchimp", "unsubscribed")
    assert members_by_email(sandbox)["ana@union.org"]["status"] == "unsubscribed"


def test_refused_members_wait_in_the_review_queue_once(mc_app: Flask, session: Any,
                                                       sandbox: SandboxServer) -> None:
    fake = add(session, "test@example.com", first_name="Fake")
    add(session, "real@union.org")
    session.commit()
    record, counts = push(mc_app, session)
    assert counts["errors"] == 1
    items, total = review.open_items(session, sync_id=record.id)
    assert total == 1 and items[0].contact_id == fake.id and "fake" in items[0].message
    before = sandbox.state.call_count()
    _, again = push(mc_app, session)
    assert again["skipped"] == 1 and sandbox.state.call_count() == before
    assert session.scalar(select(ReviewItem.id).where(ReviewItem.id != items[0].id)) is None
    # Fixing the address sends it again, and the new address lands.
    contacts.update(session, fake.id, {"email": "fixed@union.org"}, actor="test")
    session.commit()
    push(mc_app, session)
    assert "fixed@union.org" in members_by_email(sandbox)
    review.resolve(session, items[0].id, actor="test", resolution="Fixed the address.")
    assert review.open_items(session)[1] == 0


def test_a_changed_address_moves_the_member_instead_of_adding_one(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org", first_name="Ana")
    session.commit()
    push(mc_app, session)
    contacts.update(session, ana.id, {"email": "ana.ruiz@union.org"}, actor="test")
    session.commit()
    _, counts = push(mc_app, session)
    held = members_by_email(sandbox)
    assert list(held) == ["ana.ruiz@union.org"] and counts["updated"] == 1
    assert ledger_rows(session)[ana.id].email == "ana.ruiz@union.org"


def test_tags_become_mailchimp_tags_and_follow_removals(mc_app: Flask, session: Any,
                                                        sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org", tags=["donor", "union member"])
    add(session, "ben@union.org", tags=["donor"])
    session.commit()
    push(mc_app, session)
    gw = gateway_of(mc_app)
    by_name = {s.name: s for s in gw.static_segments()}
    assert by_name["donor"].member_count == 2 and by_name["union member"].member_count == 1
    contacts.change_tags(session, ana.id, remove=["donor"], actor="test")
    session.commit()
    push(mc_app, session)
    by_name = {s.name: s for s in gw.static_segments()}
    assert by_name["donor"].member_count == 1
    assert ledger_rows(session)[ana.id].tags == ["union member"]


def test_merge_fields_are_created_and_the_budget_is_watched(mc_app: Flask, session: Any,
                                                            sandbox: SandboxServer) -> None:
    gw = gateway_of(mc_app)
    check = merge_setup.check(gw, limit=30)
    assert "ASK1" in check["missing"] and check["warnings"] == []
    assert merge_setup.check(gw, limit=8)["warnings"]
    warnings = merge_setup.ensure(gw, limit=9)
    tags = {f.tag for f in gw.merge_fields()}
    assert {"FNAME", "LNAME", "PHONE", "ADDRESS"} <= tags and len(tags) == 9
    assert len(warnings) == len(members.NEEDED_FIELDS) - 4 - (9 - 5)
    assert merge_setup.ensure(gw, limit=30) == [] and merge_setup.check(gw, 30)["missing"] == []


def test_stop_then_resume_sends_each_member_once(mc_app: Flask, session: Any,
                                                 sandbox: SandboxServer) -> None:
    for i in range(2600):
        add(session, f"p{i}@union.org")
    session.commit()
    gw = gateway_of(mc_app)
    # One connection: batches settle one by one, so the stop lands between them.
    record, counts = push(mc_app, session, reporter=Reporter(session, stop_after=2),
                          connections=1)
    assert record.status == "stopped" and record.cursor > 0
    assert counts["added"] < 2600
    sync.push(session, gw, record, Reporter(session))
    session.commit()
    assert record.status == "synced" and record.counts["added"] == 2600
    batches = sandbox.state.call_count(method="POST", path_contains=f"/lists/{sandbox.list_id}")
    segment_posts = sandbox.state.call_count(method="POST", path_contains="/segments")
    merge_posts = sandbox.state.call_count(method="POST", path_contains="/merge-fields")
    assert batches - segment_posts - merge_posts == 6  # ceil(2600 / 500), none sent twice
    assert len(members_by_email(sandbox)) == 2600


def test_the_ledger_line_round_trips_a_payload() -> None:
    row = members.ContactRow(1, "Ana@union.org", "subscribed", "Ana", "Ruiz", "+16085550100",
                             "1 Main St", "Madison", "WI", "53703")
    body = members.payload(row, "subscribed")
    line = members.flatten(body)
    assert members.flatten_row(row, "subscribed") == line
    assert members.unflatten(line) == body
    assert members.flatten(members.unflatten(line)) == line
    bare_row = members.ContactRow(2, "b@union.org", "pending", "", "Ruiz", None, "1 Main St")
    bare = members.payload(bare_row, "pending")
    assert members.unflatten(members.flatten(bare)) == bare
    assert members.flatten_row(bare_row, "pending") == members.flatten(bare)
    assert members.payload_hash(body) != members.payload_hash(bare)
    assert members.unflatten("not a ledger line") == {}


def test_the_batch_size_is_a_setting_of_the_sync(shared_app: Callable[..., Flask],
                                                 sandbox: SandboxServer) -> None:
    app = shared_app(CRM_MAILCHIMP_SANDBOX_URL=sandbox.url, CRM_MAILCHIMP_BATCH_SIZE=2)
    with app.app_context():
        for i in range(5):
            add(db.session, f"member{i}@union.org")
        db.session.commit()
        _, counts = push(app, db.session)
    assert counts["added"] == 5
    batch_path = f"/3.0/lists/{sandbox.list_id}"
    batches = [c for c in sandbox.state.calls if c.method == "POST" and c.path == batch_path]
    assert len(batches) == 3  # 2 + 2 + 1


@pytest.mark.parametrize("size", [0, 501])
def test_a_batch_size_mailchimp_would_refuse_is_a_clear_error(
        shared_app: Callable[..., Flask], size: int) -> None:
    app = shared_app(CRM_MAILCHIMP_BATCH_SIZE=size)
    with app.app_context(), pytest.raises(NotConfigured, match="1 to 500 members"):
        gateway_of(app)
