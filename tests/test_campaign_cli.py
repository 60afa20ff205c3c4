"""The ``flask campaigns list`` and ``flask campaigns send`` commands."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from campaigns import composing, connection, sandbox_inbox, sending
from crm.models import utcnow
from tests import campaign_support
from wsgi import db


def seeded(app: Flask, *, approve: bool = False, **fields: object) -> int:
    """Return the id of a ready chip-in appeal (approved when asked)."""
    with app.app_context():
        world = campaign_support.seed(db.session)
        campaign = campaign_support.new_campaign(db.session, app, world, **fields)
        campaign_support.make_ready(db.session, app, campaign)
        if approve:
            sending.approve(campaign, actor=campaign_support.APPROVER, role="organizer")
            db.session.commit()
        campaign_id = campaign.id
        db.session.remove()
    return campaign_id


def status_of(app: Flask, campaign_id: int) -> str:
    with app.app_context():
        return composing.get(db.session, campaign_id).status


def test_list_shows_each_campaign_with_its_audience(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["campaigns", "list"]).output == "No campaigns.\n"
    campaign_id = seeded(app)
    with app.app_context():
        world = campaign_support.World(segment_id=1)
        campaign_support.new_campaign(db.session, app, world, kind="run_for_office",
                                      name="Run for school board")
    result = runner.invoke(args=["campaigns", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "KIND", "AUDIENCE", "SENT", "NAME"]
    assert lines[1].split()[:4] == [str(campaign_id + 1), "draft", "run_for_office", "—"]
    assert lines[1].endswith("Run for school board")
    assert lines[2].split()[:4] == [str(campaign_id), "ready", "chip_in", "4"]
    only = runner.invoke(args=["campaigns", "list", "--status", "ready"]).output
    assert "Run for school board" not in only and "Test chip_in" in only


def test_send_refuses_a_move_the_status_does_not_allow(app: Flask) -> None:
    campaign_id = seeded(app)  # a chip-in needs approval first
    runner = app.test_cli_runner()
    result = runner.invoke(args=["campaigns", "send", str(campaign_id)])
    assert result.exit_code == 1
    assert "needs a second organizer's approval" in result.output
    assert "Traceback" not in result.output and result.exception is not None
    assert status_of(app, campaign_id) == "ready"
    missing = runner.invoke(args=["campaigns", "send", "999999"])
    assert missing.exit_code == 1 and "No campaign #999999." in missing.output


def test_send_runs_the_job_now_and_prints_the_outcome(app: Flask) -> None:
    campaign_id = seeded(app, approve=True)
    result = app.test_cli_runner().invoke(args=["campaigns", "send", str(campaign_id)])
    assert result.exit_code == 0, result.output
    assert "Sent to 4 recipients (Mailchimp campaign " in result.output
    assert status_of(app, campaign_id) == "sent"
    with app.app_context():
        mc_id = composing.get(db.session, campaign_id).mc_campaign_id
    base = connection.inbox_url(app)
    assert base is not None and mc_id
    assert len(sandbox_inbox.messages(base, mc_id)) == 4
    again = app.test_cli_runner().invoke(args=["campaigns", "send", str(campaign_id)])
    assert again.exit_code == 1 and "A sent campaign cannot be sent." in again.output


def test_send_at_schedules_on_a_quarter_hour(app: Flask) -> None:
    campaign_id = seeded(app, require_approval=False)
    runner = app.test_cli_runner()
    later = (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    off = runner.invoke(args=["campaigns", "send", str(campaign_id), "--at",
                              later.replace(minute=20).strftime("%Y-%m-%dT%H:%M")])
    assert off.exit_code == 1 and "quarter hour" in off.output
    garbage = runner.invoke(args=["campaigns", "send", str(campaign_id), "--at", "friday"])
    assert garbage.exit_code == 2 and "ISO 8601" in garbage.output
    assert status_of(app, campaign_id) == "ready"
    slot = later.replace(minute=15)
    result = runner.invoke(args=["campaigns", "send", str(campaign_id), "--at",
                                 slot.strftime("%Y-%m-%dT%H:%MZ")])
    assert result.exit_code == 0, result.output
    assert f"Scheduled for {slot:%Y-%m-%d %H:%M} UTC, to 4 recipients" in result.output
    assert status_of(app, campaign_id) == "scheduled"
