"""Scheduled and sending campaigns become "sent" when Mailchimp says so, with its count.

Mailchimp says so on the ``campaign`` webhook and, for every campaign still in flight here,
when reconciling asks it. The sandbox delivers a scheduled campaign when told that its time
has come (``/_sandbox/campaigns/run-scheduled``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from campaigns import actions, connection, reconcile
from campaigns.campaign_models import Campaign
from campaigns.sandbox import SandboxServer
from crm.models import utcnow
from tests.campaign_support import approve_and_request, make_ready, new_campaign, seed, sender
from tests.conftest import login, make_staff
from tests.mailchimp_support import gateway_of
from wsgi import db


@pytest.fixture
def session(mc_app: Flask) -> Iterator[Any]:
    with mc_app.app_context():
        yield db.session


def scheduled(app: Flask, session: Any) -> Campaign:
    """A general email, scheduled in Mailchimp for two hours from now."""
    world = seed(session)
    campaign = new_campaign(session, app, world, kind="general")
    make_ready(session, app, campaign)
    when = (utcnow() + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    approve_and_request(session, campaign, when=when)
    sender(session, app, campaign).run()
    session.commit()
    assert campaign.status == "scheduled"
    return campaign


def let_time_pass(sandbox: SandboxServer) -> list[dict[str, Any]]:
    answer = requests.post(f"{sandbox.base_url}/_sandbox/campaigns/run-scheduled?all=true",
                           timeout=10)
    answer.raise_for_status()
    return answer.json()["delivered"]  # type: ignore[no-any-return]


def webhook(app: Flask, mc_id: str, status: str, fired: str = "2026-12-08 09:00:00") -> Any:
    return app.test_client().post(
        f"/crm/hooks/mailchimp/{connection.webhook_secret(app)}",
        data={"type": "campaign", "fired_at": fired, "data[id]": mc_id,
              "data[subject]": "Hello", "data[status]": status,
              "data[list_id]": "ignored-for-campaigns"})


def test_reconcile_marks_a_delivered_scheduled_campaign_sent_with_mailchimps_count(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    campaign = scheduled(mc_app, session)
    assert reconcile.run(session, gateway_of(mc_app))["campaigns_changed"] == 0
    session.commit()
    assert campaign.status == "scheduled"  # Mailchimp has not sent it yet
    [delivered] = let_time_pass(sandbox)
    counts = reconcile.run(session, gateway_of(mc_app))
    session.commit()
    assert (counts["campaigns"], counts["campaigns_changed"]) == (1, 1)
    session.refresh(campaign)
    inbox = sandbox.state.inbox_messages(campaign.mc_campaign_id)
    assert (campaign.status, campaign.mc_status) == ("sent", "sent")
    assert campaign.emails_sent == delivered["emails_sent"] == len(inbox) == 4
    assert campaign.sent_at is not None
    # Nothing is in flight any more: the next reconcile asks Mailchimp about no campaign.
    assert reconcile.run(session, gateway_of(mc_app))["campaigns"] == 0


def test_the_campaign_webhook_marks_it_sent_and_cancel_is_then_refused(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    campaign = scheduled(mc_app, session)
    let_time_pass(sandbox)
    answer = webhook(mc_app, str(campaign.mc_campaign_id), "sent")
    assert (answer.status_code, answer.json["outcome"]) == (200, "applied")
    session.expire_all()
    assert (campaign.status, campaign.mc_status) == ("sent", "sent")
    assert campaign.emails_sent is None  # the webhook carries no count: reconciling adds it
    assert webhook(mc_app, str(campaign.mc_campaign_id), "sent",
                   fired="2026-12-08 09:00:01").json["outcome"] == "no change"
    reconcile.run(session, gateway_of(mc_app))
    session.commit()
    session.refresh(campaign)
    assert campaign.emails_sent == 4
    with mc_app.app_context():
        staff = make_staff(db.session)
        db.session.commit()
    client = mc_app.test_client()
    assert login(client, staff["organizer"]).status_code == 302
    refused = client.post(f"/crm/campaigns/{campaign.id}/cancel")
    assert refused.status_code == 409  # a sent campaign cannot be cancelled, and it says so
    page = client.get(f"/crm/campaigns/{campaign.id}").get_data(as_text=True)
    assert "4 emails sent" in page and "(sending)" not in page


def test_a_campaign_cancelled_in_mailchimp_is_cancelled_here(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    campaign = scheduled(mc_app, session)
    answer = webhook(mc_app, str(campaign.mc_campaign_id), "canceled")
    assert answer.json["outcome"] == "applied"
    session.expire_all()
    assert campaign.status == "cancelled" and campaign.cancelled_at is not None


def test_a_send_now_campaign_learns_mailchimp_finished_and_its_count(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world, kind="general")
    make_ready(session, mc_app, campaign)
    approve_and_request(session, campaign)
    sender(session, mc_app, campaign).run()
    session.commit()
    assert (campaign.status, campaign.mc_status, campaign.emails_sent) == ("sent", "sending",
                                                                           None)
    counts = reconcile.run(session, gateway_of(mc_app))
    session.commit()
    assert counts["campaigns_changed"] == 1
    session.refresh(campaign)
    assert (campaign.status, campaign.mc_status, campaign.emails_sent) == ("sent", "sent", 4)


def test_campaign_webhooks_for_a_draft_change_nothing(mc_app: Flask, session: Any,
                                                      sandbox: SandboxServer) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world, kind="general")
    campaign.mc_campaign_id = "abc123"
    session.commit()
    answer = webhook(mc_app, "abc123", "sent")
    assert answer.json["outcome"] == "no change"
    session.expire_all()
    assert campaign.status == "draft"
    odd = webhook(mc_app, "abc123", "exploded")
    assert odd.json["outcome"] == "ignored"


def test_end_to_end_the_sandboxs_campaign_webhook_reaches_the_app(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    web = make_server("127.0.0.1", 0, mc_app, threaded=True)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    try:
        actions.install_webhook(mc_app, f"http://127.0.0.1:{web.server_port}")
        campaign = scheduled(mc_app, session)
        let_time_pass(sandbox)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            session.expire_all()
            if campaign.status == "sent":
                break
            time.sleep(0.02)
        assert (campaign.status, campaign.mc_status) == ("sent", "sent")
        while time.monotonic() < deadline and not any(
                d["type"] == "campaign" for d in sandbox.state.delivery_log):
            time.sleep(0.01)  # the sandbox logs a delivery once the answer is back
        [hook] = [d for d in sandbox.state.delivery_log if d["type"] == "campaign"]
        assert hook["status_code"] == 200
    finally:
        web.shutdown()
        web.server_close()
        thread.join()
