"""Sending a campaign against the sandbox Mailchimp: the state machine, the snapshot, the
preview's bytes, and exactly once under a fault or a crash at every step."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from campaigns import audience, campaign_config, preview, sending
from campaigns.campaign_models import STATUSES, Campaign, Recipient
from campaigns.mailchimp_errors import MailchimpError
from campaigns.sandbox import SandboxServer
from campaigns.sandbox import campaign_model as sandbox_campaigns
from crm import contacts
from crm.errors import ValidationFailed
from crm.models import utcnow
from tests.campaign_support import (
    APPROVER,
    AUTHOR,
    approve_and_request,
    make_ready,
    new_campaign,
    seed,
    sender,
)
from tests.mailchimp_support import gateway_of, push
from wsgi import db


@pytest.fixture
def session(mc_app: Flask) -> Iterator[Any]:
    with mc_app.app_context():
        yield db.session


def sandbox_campaigns_of(sandbox: SandboxServer) -> list[dict[str, Any]]:
    """Return the sandbox's campaigns."""
    return list(sandbox.state.campaigns.values())


# -- the state machine --------------------------------------------------------------------

def test_only_the_moves_in_the_table_are_allowed() -> None:
    for start, end in itertools.product(STATUSES, STATUSES):
        campaign = Campaign(status=start, name="x", created_by=AUTHOR)
        if end in sending.MOVES[start]:
            sending.move(campaign, end)
            assert campaign.status == end
        else:
            with pytest.raises(sending.IllegalMove):
                sending.move(campaign, end)
            assert campaign.status == start


def test_approval_needs_a_second_organizer(mc_app: Flask, session: Any) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world)
    assert campaign.require_approval  # on by default for chip-in appeals
    make_ready(session, mc_app, campaign)
    with pytest.raises(sending.IllegalMove, match="approval"):
        sending.request_send(campaign, actor=AUTHOR)
    with pytest.raises(sending.ApprovalRefused, match="second organizer"):
        sending.approve(campaign, actor=AUTHOR, role="organizer")
    with pytest.raises(sending.ApprovalRefused, match="organizer or an admin"):
        sending.approve(campaign, actor="viewer@testorg.org", role="viewer")
    assert campaign.status == "ready"
    sending.approve(campaign, actor=APPROVER, role="organizer")
    assert (campaign.status, campaign.approved_by) == ("approved", APPROVER)


def test_ready_refuses_with_what_is_missing(mc_app: Flask, session: Any) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world, subject="",
                            body="Hi {{ frist_name }}, {{ interested_url }}")
    with pytest.raises(ValidationFailed) as refused:
        make_ready(session, mc_app, campaign)
    errors = refused.value.errors
    assert "subject" in errors
    assert "frist_name" in errors["body"]
    assert campaign.status == "draft"
    campaign.subject = "Chip in"
    campaign.body = ("Hi {{ first_name }}: {{ interested_url }}\n\n{{ postal_address }} "
                     "{{ unsubscribe_url }}")
    with pytest.raises(ValidationFailed) as refused:
        make_ready(session, mc_app, campaign)
    assert "interested_url" in refused.value.errors["body"]  # not in a chip-in appeal


def test_snapshot_counts_exclusions_by_reason(mc_app: Flask, session: Any) -> None:
    world = seed(session)
    earlier = new_campaign(session, mc_app, world)
    make_ready(session, mc_app, earlier)
    sending.approve(earlier, actor=APPROVER, role="organizer")
    sending.request_send(earlier, actor=APPROVER)
    sending.sent(earlier)  # as if it went out just now, to everyone included
    contacts.create(session, {"email": "eve@union.org"}, actor="seed")  # joined since
    session.commit()
    campaign = new_campaign(session, mc_app, world, skip_recent_days=3)
    counts = make_ready(session, mc_app, campaign)
    assert counts["included"] == 1
    assert counts["excluded"]["unsubscribed"] == 1
    assert counts["excluded"]["cleaned (the address bounced)"] == 1
    assert counts["excluded"]["in the suppression group Do not email"] == 1
    assert counts["excluded"]["emailed in the last 3 days"] == 4


def test_refused_when_nobody_can_be_emailed(mc_app: Flask, session: Any) -> None:
    world = seed(session)
    earlier = new_campaign(session, mc_app, world)
    make_ready(session, mc_app, earlier)
    sending.approve(earlier, actor=APPROVER, role="organizer")
    sending.request_send(earlier, actor=APPROVER)
    sending.sent(earlier)
    session.commit()
    campaign = new_campaign(session, mc_app, world, skip_recent_days=3)
    with pytest.raises(ValidationFailed, match="segment_id") as refused:
        make_ready(session, mc_app, campaign)
    assert "emailed in the last 3 days" in refused.value.errors["segment_id"]


def test_each_donor_gets_their_own_asks_and_links(mc_app: Flask, session: Any) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world)
    make_ready(session, mc_app, campaign)
    ana = audience.recipient(session, campaign.id, world.ids["ana"])
    ben = audience.recipient(session, campaign.id, world.ids["ben"])
    cy = audience.recipient(session, campaign.id, world.ids["cy"])
    assert ana is not None and ben is not None and cy is not None
    assert [ana.merge_values[f"ASK{i}"] for i in (1, 2, 3)] == ["20", "35", "50"]
    assert [ben.merge_values[f"ASK{i}"] for i in (1, 2, 3)] == ["100", "150", "200"]
    assert [cy.merge_values[f"ASK{i}"] for i in (1, 2, 3)] == ["10", "25", "50"]  # never gave
    link = ben.merge_values["DONATE2"]
    assert link.startswith("https://secure.actblue.com/donate/test-org?")
    assert "amount=150" in link and f"refcode={campaign.refcode}-a2" in link


# -- the full send ------------------------------------------------------------------------

def _send(mc_app: Flask, session: Any, kind: str = "chip_in", **fields: Any) -> Campaign:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world, kind=kind, **fields)
    make_ready(session, mc_app, campaign)
    approve_and_request(session, campaign)
    sender(session, mc_app, campaign).run()
    session.commit()
    return campaign


def test_full_send_reaches_exactly_the_snapshot(mc_app: Flask, session: Any,
                                                sandbox: SandboxServer) -> None:
    campaign = _send(mc_app, session)
    assert campaign.status == "sent" and campaign.send_calls == 1
    assert campaign.mc_campaign_id and campaign.mc_segment_id
    remote = sandbox.state.campaigns[campaign.mc_campaign_id]
    assert remote["send_calls"] == 1 and remote["status"] == "sent"
    included = session.scalars(select(Recipient.email).where(
        Recipient.campaign_id == campaign.id, Recipient.included.is_(True))).all()
    inbox = sandbox.state.inbox_messages(campaign.mc_campaign_id, full=True)
    assert sorted(m["to"] for m in inbox) == sorted(included)
    assert sorted(included) == ["ana@union.org", "ben@union.org", "cy@union.org",
                                "dee@union.org"]
    segment = [s for s in gateway_of(mc_app).static_segments() if s.id == campaign.mc_segment_id]
    assert segment[0].member_count == len(included)


@pytest.mark.parametrize("kind", ["chip_in", "run_for_office"])
def test_preview_is_the_bytes_mailchimp_sends(mc_app: Flask, session: Any,
                                             sandbox: SandboxServer, kind: str) -> None:
    campaign = _send(mc_app, session, kind=kind)
    html, text = gateway_of(mc_app).content(campaign.mc_campaign_id)
    assert (html, text) == (campaign.html, campaign.text)
    org, settings = campaign_config.org(mc_app), campaign_config.settings(mc_app, campaign)
    for message in sandbox.state.inbox_messages(campaign.mc_campaign_id, full=True):
        row = session.scalar(select(Recipient).where(Recipient.campaign_id == campaign.id,
                                                     Recipient.email == message["to"]))
        unsubscribe = sandbox_campaigns.unsubscribe_url(
            sandbox.state.public_url, sandbox.list_id, message["to"], campaign.mc_campaign_id)
        seen = preview.for_contact(session, campaign, row.contact_id, settings, org,
                                   unsubscribe_url=unsubscribe)
        assert seen.html == message["html"]
        assert seen.text == message["text"]
        assert seen.in_snapshot
    dee = next(m for m in sandbox.state.inbox_messages(campaign.mc_campaign_id, full=True)
               if m["to"] == "dee@union.org")
    assert "Dee &amp; &lt;Co&gt;" in dee["html"] and "Dee & <Co>" in dee["text"]


def test_schedule_then_cancel_unschedules_in_mailchimp(mc_app: Flask, session: Any,
                                                       sandbox: SandboxServer) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world, kind="general")
    make_ready(session, mc_app, campaign)
    now = utcnow()
    when = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    approve_and_request(session, campaign, when=when)
    sender(session, mc_app, campaign).run()
    session.commit()
    assert campaign.status == "scheduled"
    assert sandbox.state.campaigns[campaign.mc_campaign_id]["status"] == "schedule"
    sending.cancel(campaign, unschedule=gateway_of(mc_app).unschedule)
    session.commit()
    assert campaign.status == "cancelled"
    assert sandbox.state.campaigns[campaign.mc_campaign_id]["status"] == "save"
    assert sandbox.state.inbox_messages(campaign.mc_campaign_id) == []


def test_schedule_must_be_a_future_quarter_hour() -> None:
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    with pytest.raises(ValidationFailed, match="send_at"):
        sending.check_schedule(now + timedelta(hours=1, minutes=10), now)
    with pytest.raises(ValidationFailed, match="send_at"):
        sending.check_schedule(now + timedelta(minutes=0), now)
    assert sending.check_schedule(now + timedelta(hours=1, minutes=45), now).minute == 45


# -- exactly once -------------------------------------------------------------------------

# (method, whole-path pattern) of every Mailchimp call the send makes, in order.
_LIST = r"/3\.0/lists/[^/]+"
STEPS = [
    ("POST", _LIST + r"/segments", "segment create"),
    ("POST", _LIST, "batch upsert"),
    ("POST", _LIST + r"/segments/\d+", "segment join"),
    ("POST", r"/3\.0/campaigns", "campaign create"),
    ("PUT", r"/3\.0/campaigns/[^/]+/content", "content"),
    ("POST", r"/3\.0/campaigns/[^/]+/actions/send", "send"),
]
FAULTS = ["500", "drop", "drop_after", "429"]


def _retry_until_sent(mc_app: Flask, session: Any, campaign: Campaign) -> int:
    """Run the send job until the campaign is sent, as staff pressing Retry would."""
    for attempt in range(1, 5):
        try:
            sender(session, mc_app, campaign).run()
            session.commit()
        except (MailchimpError, Exception):
            session.rollback()
            campaign = session.get(Campaign, campaign.id)
            sending.failed(campaign, "test")
            session.commit()
            sending.request_send(campaign, actor=APPROVER)
            session.commit()
            continue
        if campaign.status == "sent":
            return attempt
    raise AssertionError("never sent")


def _assert_sent_once(session: Any, sandbox: SandboxServer, campaign: Campaign) -> None:
    session.refresh(campaign)
    assert campaign.status == "sent"
    mine = [c for c in sandbox_campaigns_of(sandbox)
            if f"[crm {campaign.id}-" in c["settings"]["title"]]
    assert len(mine) == 1, "a create whose answer was lost made a second campaign"
    assert mine[0]["send_calls"] == 1
    inbox = sandbox.state.inbox_messages(mine[0]["id"])
    assert len(inbox) == len({m["to"] for m in inbox}) == campaign.audience["included"] == 4


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method,path,step", STEPS, ids=[s[2] for s in STEPS])
def test_a_fault_at_any_step_still_sends_exactly_once(
        mc_app: Flask, session: Any, sandbox: SandboxServer, method: str, path: str,
        step: str, fault: str) -> None:
    world = seed(session)
    push(mc_app, session)  # members exist, so the segment join has someone to refuse
    campaign = new_campaign(session, mc_app, world, kind="general")
    make_ready(session, mc_app, campaign)
    approve_and_request(session, campaign)
    rule = sandbox.faults.add(fault, method=method, path_pattern=path,
                              times=1 if fault != "429" else 2)
    _retry_until_sent(mc_app, session, campaign)
    assert rule.fired >= 1, f"the {step} fault never fired"
    _assert_sent_once(session, sandbox, campaign)


class Crash(Exception):
    """A simulated crash of the worker."""


@pytest.mark.parametrize("step", ["segment", "sync", "campaign", "content", "deliver"])
def test_a_crash_after_any_step_resumes_without_sending_twice(
        mc_app: Flask, session: Any, sandbox: SandboxServer, step: str) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world, kind="general")
    make_ready(session, mc_app, campaign)
    approve_and_request(session, campaign)

    def crash(reached: str) -> None:
        if reached == step:
            raise Crash(reached)

    with pytest.raises(Crash):
        sender(session, mc_app, campaign, after_step=crash).run()
    session.rollback()
    campaign = session.get(Campaign, campaign.id)
    assert campaign.send_step == step
    sender(session, mc_app, campaign).run()
    session.commit()
    _assert_sent_once(session, sandbox, campaign)


def test_a_crash_right_after_the_send_call_never_sends_again(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world, kind="general")
    make_ready(session, mc_app, campaign)
    approve_and_request(session, campaign)
    gateway = gateway_of(mc_app)
    real_send = gateway.send

    def send_then_crash(campaign_id: str) -> None:
        real_send(campaign_id)
        raise Crash("after send")

    gateway.send = send_then_crash  # type: ignore[method-assign]
    try:
        with pytest.raises(Crash):
            sender(session, mc_app, campaign, gateway=gateway).run()
    finally:
        del gateway.send
    session.rollback()
    campaign = session.get(Campaign, campaign.id)
    assert campaign.status == "sending" and campaign.send_called_at is not None
    sender(session, mc_app, campaign).run()
    session.commit()
    assert campaign.send_calls == 1  # the retry looked Mailchimp up instead of calling again
    _assert_sent_once(session, sandbox, campaign)


def test_cancelled_while_sending_stops_before_the_send(mc_app: Flask, session: Any,
                                                       sandbox: SandboxServer) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world, kind="general")
    make_ready(session, mc_app, campaign)
    approve_and_request(session, campaign)

    def cancel_at_content(reached: str) -> None:
        if reached == "deliver":
            sending.cancel(campaign)
            session.commit()

    from campaigns.send_job import SendStopped

    with pytest.raises(SendStopped):
        sender(session, mc_app, campaign, after_step=cancel_at_content).run()
    assert campaign.status == "cancelled"
    assert all(c["send_calls"] == 0 for c in sandbox_campaigns_of(sandbox))


def test_a_lost_send_answer_and_a_failed_lookup_still_send_once(
        mc_app: Flask, session: Any, sandbox: SandboxServer) -> None:
    world = seed(session)
    campaign = new_campaign(session, mc_app, world, kind="general")
    make_ready(session, mc_app, campaign)
    approve_and_request(session, campaign)
    sandbox.faults.add_step("drop_after", "send")
    lookup = sandbox.faults.add_step("500", "get", times=6)  # more than the gateway retries
    attempts = _retry_until_sent(mc_app, session, campaign)
    assert attempts == 2 and lookup.fired == 6
    _assert_sent_once(session, sandbox, campaign)
