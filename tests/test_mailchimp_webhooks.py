"""Mailchimp's webhooks: the secret, the events, repeats, bad bodies; and reconciling."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from campaigns import connection, inbound, ledger, reconcile
from campaigns.models import WebhookEvent
from campaigns.sandbox import SandboxServer
from campaigns.webhooks import BadDelivery, parse_form
from crm import consent
from crm.models import ConsentEvent, Contact, utcnow
from tests.mailchimp_support import add, gateway_of, members_by_email, push
from wsgi import db


@pytest.fixture
def session(mc_app: Flask) -> Iterator[Any]:
    with mc_app.app_context():
        yield db.session


def hook(app: Flask) -> str:
    return f"/crm/hooks/mailchimp/{connection.webhook_secret(app)}"


def unsubscribe_form(email: str, list_id: str, fired: str = "2026-11-29 12:00:00",
                     **extra: str) -> dict[str, str]:
    return {"type": "unsubscribe", "fired_at": fired, "data[action]": "unsub",
            "data[reason]": "manual", "data[id]": "8a25ff1d98", "data[list_id]": list_id,
            "data[email]": email, "data[email_type]": "html",
            "data[merges][EMAIL]": email, "data[merges][FNAME]": "Ana", **extra}


def events(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(WebhookEvent)))


def test_form_keys_nest_like_mailchimp_sends_them() -> None:
    form = parse_form([("type", "profile"), ("data[merges][FNAME]", "Ana"),
                       ("data[email]", "a@union.org")])
    assert form == {"type": "profile", "data": {"email": "a@union.org",
                                                "merges": {"FNAME": "Ana"}}}
    for bad in ([("data[", "x")], [("data", "x"), ("data[email]", "y")], [("a]b", "x")]):
        with pytest.raises(BadDelivery):
            parse_form(bad)


def test_mailchimp_checks_the_url_with_a_get(mc_app: Flask) -> None:
    client = mc_app.test_client()
    assert client.get(hook(mc_app)).status_code == 200
    assert client.get("/crm/hooks/mailchimp/wrong-secret").status_code == 404


def test_without_the_secret_nothing_changes(mc_app: Flask, session: Any,
                                            sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org")
    session.commit()
    client = mc_app.test_client()
    response = client.post("/crm/hooks/mailchimp/not-the-secret",
                           data=unsubscribe_form("ana@union.org", sandbox.list_id))
    assert response.status_code == 404
    session.refresh(ana)
    assert ana.email_status == "subscribed" and events(session) == 0


def test_an_unsubscribe_applies_once_with_its_history(mc_app: Flask, session: Any,
                                                      sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org", first_name="Ana")
    session.commit()
    push(mc_app, session)
    client = mc_app.test_client()
    form = unsubscribe_form("ANA@union.org", sandbox.list_id, **{"data[campaign_id]": "c1"})
    first = client.post(hook(mc_app), data=form)
    assert first.status_code == 200 and first.json["outcome"] == "applied"
    repeat = client.post(hook(mc_app), data=form)
    assert repeat.status_code == 200 and repeat.json["repeat"] is True
    session.refresh(ana)
    assert ana.email_status == "unsubscribed"
    history = consent.history(session, ana.id)
    assert [(e.status, e.method) for e in history][:1] == [("unsubscribed", "mailchimp")]
    assert "campaign c1" in (history[0].note or "")
    assert len(history) == 2 and events(session) == 1
    # The ledger knows Mailchimp holds the opt-out, so the next sync sends nothing for Ana.
    assert ledger.entry(session, sandbox.list_id, ana.id).status == "unsubscribed"
    before = sandbox.state.call_count()
    _, counts = push(mc_app, session)
    assert sandbox.state.call_count() == before and counts["updated"] == 0


def test_webhook_csrf_exempt_and_bad_bodies_get_clear_answers(shared_app: Any,
                                                              sandbox: SandboxServer) -> None:
    app = shared_app(WTF_CSRF_ENABLED=True, CRM_MAILCHIMP_SANDBOX_URL=sandbox.url)
    client = app.test_client()
    # Exempt from CSRF, and a campaign webhook for no campaign of ours is kept as ignored.
    unknown_campaign = client.post(hook(app), data={"type": "campaign", "data[id]": "c1",
                                                    "data[status]": "sent"})
    assert unknown_campaign.status_code == 200
    assert unknown_campaign.json["outcome"] == "ignored"
    assert "'c1'" in unknown_campaign.json["detail"]
    assert client.post(hook(app), data={"data[email]": "x"}).status_code == 400
    bad = client.post(hook(app), data={"type": "unsubscribe", "data[": "x"})
    assert bad.status_code == 400 and "Unreadable" in bad.json["error"]
    unknown = client.post(hook(app), data={"type": "mystery", "data[email]": "a@union.org"})
    assert unknown.status_code == 200 and unknown.json["outcome"] == "ignored"
    stranger = client.post(hook(app), data=unsubscribe_form("who@union.org", sandbox.list_id))
    assert stranger.json["outcome"] == "unknown email"
    other = client.post(hook(app), data=unsubscribe_form("who@union.org", "otheraudience"))
    assert other.json["outcome"] == "ignored"
    assert client.post(hook(app), data="x" * 70_000,
                       content_type="application/x-www-form-urlencoded").status_code == 413
    with app.app_context():
        assert events(db.session) == 4  # bodies that are not deliveries are refused, not kept
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_subscribe_profile_upemail_and_cleaned(mc_app: Flask, session: Any,
                                               sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org", first_name="Ana")
    gone = add(session, "gone@union.org")
    consent.set_status(session, gone, "unsubscribed", method="staff", actor="test")
    session.commit()
    client = mc_app.test_client()
    base = {"fired_at": "2099-01-01 00:00:00", "data[list_id]": sandbox.list_id}
    new = client.post(hook(mc_app), data={**base, "type": "subscribe",
                                          "data[email]": "new@union.org",
                                          "data[merges][FNAME]": "Nia"})
    assert new.json["outcome"] == "created"
    nia = session.scalar(select(Contact).where(Contact.email == "new@union.org"))
    assert nia.first_name == "Nia" and nia.email_status == "subscribed"
    back = client.post(hook(mc_app), data={**base, "type": "subscribe",
                                           "data[email]": "gone@union.org"})
    assert back.json["outcome"] == "applied"
    session.refresh(gone)
    assert gone.email_status == "subscribed"
    assert "Opted in through Mailchimp" in (consent.history(session, gone.id)[0].note or "")
    profile = client.post(hook(mc_app), data={**base, "type": "profile",
                                              "data[email]": "ana@union.org",
                                              "data[merges][FNAME]": "Anita",
                                              "data[merges][LNAME]": ""})
    assert profile.json["outcome"] == "applied"
    moved = client.post(hook(mc_app), data={**base, "type": "upemail",
                                            "data[old_email]": "ana@union.org",
                                            "data[new_email]": "anita@union.org"})
    assert moved.json["outcome"] == "applied"
    session.refresh(ana)
    assert (ana.first_name, ana.email) == ("Anita", "anita@union.org")
    taken = client.post(hook(mc_app), data={**base, "type": "upemail",
                                            "data[old_email]": "anita@union.org",
                                            "data[new_email]": "new@union.org"})
    assert taken.json["outcome"] == "rejected"
    cleaned = client.post(hook(mc_app), data={**base, "type": "cleaned", "data[reason]": "hard",
                                              "data[email]": "anita@union.org"})
    assert cleaned.json["outcome"] == "applied"
    session.refresh(ana)
    assert ana.email_status == "cleaned" and ana.email == "anita@union.org"


def test_a_late_subscribe_webhook_does_not_undo_a_newer_opt_out_here(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org")
    consent.set_status(session, ana, "unsubscribed", method="staff", actor="test")
    session.commit()
    old = (utcnow() - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    answer = mc_app.test_client().post(hook(mc_app), data={
        "type": "subscribe", "fired_at": old, "data[email]": "ana@union.org",
        "data[list_id]": sandbox.list_id})
    assert answer.json["outcome"] == "no change"
    session.refresh(ana)
    assert ana.email_status == "unsubscribed"


@pytest.mark.parametrize("fired", [None, "", "yesterday", "2026-13-45 99:00:00",
                                   "2026-11-29T12:00:00Z"])
def test_a_subscribe_without_a_readable_time_never_undoes_an_opt_out(
        mc_app: Flask, session: Any, sandbox: SandboxServer, fired: str | None) -> None:
    ana = add(session, "ana@union.org")
    consent.set_status(session, ana, "unsubscribed", method="staff", actor="test")
    session.commit()
    form = {"type": "subscribe", "data[email]": "ana@union.org", "data[list_id]": sandbox.list_id}
    if fired is not None:
        form["fired_at"] = fired
    answer = mc_app.test_client().post(hook(mc_app), data=form)
    assert answer.status_code == 200
    assert (answer.json["outcome"], answer.json["detail"]) == ("no change",
                                                               "kept the opt-out made here")
    session.refresh(ana)
    assert ana.email_status == "unsubscribed"
    assert [e.status for e in consent.history(session, ana.id)][:1] == ["unsubscribed"]


@pytest.mark.parametrize("fired", [None, "2099-01-01 00:00:00"])
def test_a_subscribe_webhook_never_reopens_a_cleaned_address(
        mc_app: Flask, session: Any, sandbox: SandboxServer, fired: str | None) -> None:
    bo = add(session, "bo@union.org")
    consent.set_status(session, bo, "cleaned", method="mailchimp", actor="test")
    session.commit()
    form = {"type": "subscribe", "data[email]": "bo@union.org", "data[list_id]": sandbox.list_id}
    if fired is not None:
        form["fired_at"] = fired
    answer = mc_app.test_client().post(hook(mc_app), data=form)
    assert answer.json["outcome"] == "no change"
    assert "fixing it is a staff action" in answer.json["detail"]
    session.refresh(bo)
    assert bo.email_status == "cleaned"


def test_a_status_read_without_a_change_time_keeps_the_opt_out(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    # Reconciling hands over Mailchimp's last_changed; when Mailchimp gives none, an
    # opt-out here stays, even though the ledger saw Mailchimp's status change.
    ana = add(session, "ana@union.org")
    session.commit()
    push(mc_app, session)
    consent.set_status(session, ana, "unsubscribed", method="staff", actor="test")
    ledger.note_status(session, sandbox.list_id, ana.id, "unsubscribed")
    session.commit()
    outcome = inbound.apply_status(session, ana.id, "subscribed", audience_id=sandbox.list_id,
                                   note="Reconciled with Mailchimp.", when=None)
    assert outcome == "kept the opt-out made here"
    session.refresh(ana)
    assert ana.email_status == "unsubscribed"
    # With a time later than the opt-out, the same change is proven newer and applies.
    ledger.note_status(session, sandbox.list_id, ana.id, "unsubscribed")
    later = utcnow() + timedelta(minutes=5)
    assert inbound.apply_status(session, ana.id, "subscribed", audience_id=sandbox.list_id,
                                note="Reconciled with Mailchimp.", when=later) == "now subscribed"


def test_end_to_end_install_then_unsubscribe_in_mailchimp(make_app: Any) -> None:
    from campaigns.sandbox import SandboxState, serve

    sandbox = serve(SandboxState(validate_webhooks=True))
    app = make_app(CRM_MAILCHIMP_SANDBOX_URL=sandbox.url)
    web = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    try:
        with app.app_context():
            add(db.session, "ana@union.org", first_name="Ana")
            db.session.commit()
            push(app, db.session)
        runner = app.test_cli_runner()
        base = f"http://127.0.0.1:{web.server_port}"
        result = runner.invoke(args=["campaigns", "install-webhook", base])
        assert result.exit_code == 0, result.output
        assert "Registered" in result.output
        again = runner.invoke(args=["campaigns", "install-webhook", base])
        assert "already registered" in again.output
        deliveries = sandbox.fire_status_change("ana@union.org", "unsubscribed")
        assert deliveries and all(d["status_code"] == 200 for d in deliveries), deliveries
        with app.app_context():
            ana = db.session.scalar(select(Contact).where(Contact.email == "ana@union.org"))
            assert ana.email_status == "unsubscribed"
            assert db.session.scalar(select(ConsentEvent.method).where(
                ConsentEvent.contact_id == ana.id).order_by(ConsentEvent.id.desc())) == "mailchimp"
    finally:
        web.shutdown()
        web.server_close()
        thread.join(5)
        sandbox.stop()


def test_reconcile_applies_what_the_webhooks_missed(mc_app: Flask, session: Any,
                                                    sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org")
    ben = add(session, "ben@union.org")
    cara = add(session, "cara@union.org")
    session.commit()
    push(mc_app, session)
    sandbox.state.change_status(sandbox.list_id, "ana@union.org", "unsubscribed")
    sandbox.state.change_status(sandbox.list_id, "ben@union.org", "cleaned")
    gw = gateway_of(mc_app)
    assert reconcile.last_run(session, gw.config.audience_id) is None
    counts = reconcile.run(session, gw)
    session.commit()
    assert counts["applied"] == 2
    for contact, status in ((ana, "unsubscribed"), (ben, "cleaned"), (cara, "subscribed")):
        session.refresh(contact)
        assert contact.email_status == status
    assert reconcile.last_run(session, gw.config.audience_id) is not None
    again = reconcile.run(session, gw)
    assert again["applied"] == 0


def test_reconcile_never_resubscribes_an_opt_out_made_here(mc_app: Flask, session: Any,
                                                           sandbox: SandboxServer) -> None:
    ana = add(session, "ana@union.org")
    session.commit()
    # Mailchimp already had Ana subscribed (an old audience); she unsubscribed here.
    gateway_of(mc_app).batch_upsert([{"email_address": "ana@union.org", "status": "subscribed"}])
    consent.set_status(session, ana, "unsubscribed", method="staff", actor="test")
    session.commit()
    reconcile.run(session, gateway_of(mc_app))
    session.refresh(ana)
    assert ana.email_status == "unsubscribed"
    push(mc_app, session)  # and the sync tells Mailchimp
    assert members_by_email(sandbox)["ana@union.org"]["status"] == "subscribed"  # not in ledger


def test_reconcile_is_due_by_the_clock() -> None:
    now = utcnow()
    assert reconcile.due(None, now, 60)
    assert not reconcile.due(now - timedelta(minutes=30), now, 60)
    assert reconcile.due(now - timedelta(minutes=61), now, 60)
    assert not reconcile.due(None, now, 0)


def test_check_command_names_the_sandbox_and_reports_errors(mc_app: Flask,
                                                            make_app: Any) -> None:
    result = mc_app.test_cli_runner().invoke(args=["campaigns", "check"])
    assert result.exit_code == 0, result.output
    assert "sandbox" in result.output and "Sandbox audience" in result.output
    dead = make_app(CRM_MAILCHIMP_SANDBOX_URL="http://127.0.0.1:9/3.0", CRM_MAILCHIMP_RETRIES=0)
    failed = dead.test_cli_runner().invoke(args=["campaigns", "check"])
    assert failed.exit_code == 1 and "Could not reach" in failed.output
    keyed = make_app(CRM_MAILCHIMP_API_KEY="abc-us6")
    missing = keyed.test_cli_runner().invoke(args=["campaigns", "check"])
    assert missing.exit_code == 1 and "CRM_MAILCHIMP_AUDIENCE_ID" in missing.output


def test_sync_and_reconcile_commands(mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    add(session, "ana@union.org")
    add(session, "gone@union.org", email_status="unsubscribed")
    session.commit()
    runner = mc_app.test_cli_runner()
    dry = runner.invoke(args=["campaigns", "sync", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 to push" in dry.output and members_by_email(sandbox) == {}
    real = runner.invoke(args=["campaigns", "sync"])
    assert real.exit_code == 0 and "1 added" in real.output
    assert list(members_by_email(sandbox)) == ["ana@union.org"]
    assert runner.invoke(args=["campaigns", "sync", "--segment", "nope"]).exit_code == 1
    done = runner.invoke(args=["campaigns", "reconcile"])
    assert done.exit_code == 0 and "changes applied" in done.output


def test_the_timer_starts_a_reconcile_only_when_due(mc_app: Flask, session: Any) -> None:
    from campaigns import schedule
    from crm.models import Job

    mc_app.extensions["crm"].job_runner.dispatch = lambda app, job_id: None  # keep it queued
    first = schedule.tick(mc_app)
    assert first is not None and first.kind == "mailchimp_reconcile"
    assert schedule.tick(mc_app) is None  # one is already waiting
    with mc_app.app_context():
        db.session.get(Job, first.id).status = "succeeded"
        reconcile.run(db.session, gateway_of(mc_app))
        db.session.commit()
    assert schedule.tick(mc_app) is None  # just ran
    assert schedule.tick(mc_app, now=utcnow() + timedelta(minutes=61)) is not None
    mc_app.config["CRM_MAILCHIMP_RECONCILE_MINUTES"] = 0
    assert schedule.Timer().start(mc_app) is False
