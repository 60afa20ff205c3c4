"""Jobs beat while they run, whatever their step; a job three beats silent has lost its worker.

A job killed with its process (or a restart) stops beating: within three heartbeats it
reads as failed, Stop ends it at once, and a campaign whose send job died reads as failed,
so Retry resumes it and sends exactly once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import jobs as campaign_jobs
from campaigns.campaign_models import Campaign
from campaigns.sandbox import SandboxServer
from crm import jobs
from crm.job_runner import run_now
from crm.job_views import reap_at_start
from crm.models import Job, utcnow
from tests import campaign_support
from tests.conftest import login, make_staff
from tests.test_campaign_web import Recorder
from wsgi import db

BEAT = {"CRM_JOB_HEARTBEAT_SECONDS": 10, "CRM_JOB_STALE_SECONDS": None}
RELEASE = threading.Event()


def slow(session: Session, job: Job, report: Any) -> dict[str, Any]:
    """A job with one long step that reports nothing until it is released."""
    assert RELEASE.wait(10)
    return {"done": True}


def running_job(app: Flask, silent_for: float) -> int:
    """A running job whose last heartbeat was ``silent_for`` seconds ago."""
    with app.app_context():
        job = jobs.create(db.session, "test.slow", {}, started_by="tester@example.org")
        assert jobs.mark_running(db.session, job)
        job.heartbeat_at = utcnow() - timedelta(seconds=silent_for)
        db.session.commit()
        return job.id


def test_a_long_step_keeps_beating(shared_app: Callable[..., Flask]) -> None:
    app = shared_app(CRM_JOB_HEARTBEAT_SECONDS=0.05)
    app.extensions["crm"].add_job_handler("test.slow", slow)
    with app.app_context():
        job_id = jobs.create(db.session, "test.slow", {}, started_by="t").id
        db.session.commit()
    RELEASE.clear()
    runner = threading.Thread(target=run_now, args=(app, job_id))
    runner.start()
    try:
        seen = set()
        with app.app_context():
            for _ in range(40):
                with db.engine.connect() as conn:
                    beat = conn.scalar(select(Job.heartbeat_at).where(Job.id == job_id))
                if beat is not None:
                    seen.add(beat)
                if len(seen) >= 3:
                    break
                threading.Event().wait(0.05)
        assert len(seen) >= 3, "the heartbeat did not move while the step ran"
    finally:
        RELEASE.set()
        runner.join(10)
    with app.app_context():
        assert jobs.get(db.session, job_id).status == "succeeded"


@pytest.mark.app_config(**BEAT)
def test_three_missed_beats_read_as_failed_and_two_do_not(
        app: Flask, as_role: Callable[[str], FlaskClient]) -> None:
    assert jobs.stale_seconds(app.config) == 30
    gone, alive = running_job(app, silent_for=31), running_job(app, silent_for=20)
    viewer = as_role("viewer")
    body = viewer.get(f"/crm/api/v1/jobs/{gone}").json
    assert body["status"] == "failed"
    assert body["error"] == "The worker stopped: no heartbeat for over 30 seconds."
    assert viewer.get(f"/crm/api/v1/jobs/{alive}").json["status"] == "running"


@pytest.mark.app_config(**BEAT)
def test_stop_ends_a_job_whose_worker_is_gone_at_once(
        app: Flask, as_role: Callable[[str], FlaskClient]) -> None:
    gone = running_job(app, silent_for=29)  # not yet reaped as failed
    alive = running_job(app, silent_for=1)
    with app.app_context():
        stopped = jobs.request_stop(db.session, gone, stale_after=25)
        db.session.commit()
        assert stopped.status == "stopped" and "no heartbeat" in stopped.message
    answer = as_role("organizer").post(f"/crm/api/v1/jobs/{alive}/stop")
    assert answer.status_code == 200
    assert answer.json["status"] == "running"  # a live worker reads the request and stops
    with app.app_context():
        assert jobs.stop_requested(db.session, alive)


@dataclass
class Send:
    """A campaign handed to its send job, which the test runs (or kills) itself."""

    app: Flask
    recorder: Recorder
    staff: dict[str, str]
    campaign_id: int
    job_id: int


def requested_send(app: Flask) -> Send:
    """A general email to the small organization, requested, with its send job queued."""
    recorder = Recorder()
    app.extensions["crm"].job_runner = recorder
    with app.app_context():
        session = db.session
        staff = make_staff(session)
        world = campaign_support.seed(session)
        campaign = campaign_support.new_campaign(session, app, world, kind="general")
        campaign_support.make_ready(session, app, campaign)
        campaign_support.approve_and_request(session, campaign)
        job = jobs.create(session, campaign_jobs.SEND, {"campaign_id": campaign.id},
                          started_by="test")
        campaign.job_id = job.id
        session.commit()
        return Send(app, recorder, staff, campaign.id, job.id)


def retry_sends_once(send: Send, sandbox: SandboxServer) -> None:
    """The dead send reads as failed with why; Retry finishes it, exactly once."""
    app, cid = send.app, send.campaign_id
    client = app.test_client()
    assert login(client, send.staff["organizer"]).status_code == 302
    shown = client.get(f"/crm/api/v1/campaigns/{cid}").json
    assert shown["status"] == "failed"
    assert shown["failure"].startswith("The send job failed before the send was done")
    assert "Retry resumes" in shown["failure"]
    page = client.get(f"/crm/campaigns/{cid}").get_data(as_text=True)
    assert "The send job failed before the send was done" in page
    assert client.post(f"/crm/campaigns/{cid}/retry").status_code == 302
    [again] = send.recorder.ids
    assert run_now(app, again).status == "succeeded"
    with app.app_context():
        sent = db.session.get(Campaign, cid)
        assert sent is not None and sent.status == "sent"
        mc_id = str(sent.mc_campaign_id)
    assert sandbox.state.send_calls(mc_id) == 1
    title = sandbox.state.campaigns[mc_id]["settings"]["title"]
    assert [c["id"] for c in sandbox.state.campaigns.values()
            if c["settings"]["title"] == title] == [mc_id]  # made once, not again by Retry
    inbox = sandbox.state.inbox_messages(mc_id)
    assert sorted(m["to"] for m in inbox) == ["ana@union.org", "ben@union.org",
                                              "cy@union.org", "dee@union.org"]


def test_a_send_whose_job_died_reads_as_failed_and_retry_sends_once(
        shared_app: Callable[..., Flask], sandbox: SandboxServer) -> None:
    app = shared_app(CRM_MAILCHIMP_SANDBOX_URL=sandbox.url, **BEAT)
    send = requested_send(app)
    with app.app_context():
        # The worker took it, then its process was killed: no more heartbeats.
        job = jobs.get(db.session, send.job_id)
        assert jobs.mark_running(db.session, job)
        job.heartbeat_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
    retry_sends_once(send, sandbox)


# A process of its own that runs one job, as a web process's thread or a worker would.
CHILD = """
import sys
from crm.job_runner import run_now
from crm.job_views import reap_at_start
from tests.conftest import TestConfig
from wsgi import create_app
app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=sys.argv[1],
                 CRM_MAILCHIMP_SANDBOX_URL=sys.argv[2])
run_now(app, int(sys.argv[3]))
"""
ROOT = Path(__file__).resolve().parent.parent


def test_a_send_killed_mid_sync_is_reaped_by_the_next_process_and_retried_once(
        shared_app: Callable[..., Flask], sandbox: SandboxServer) -> None:
    app = shared_app(CRM_MAILCHIMP_SANDBOX_URL=sandbox.url)
    send = requested_send(app)
    cid, job_id = send.campaign_id, send.job_id
    sandbox.faults.latency = 0.25  # every call takes a while: there is time to kill it
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, app.config["SQLALCHEMY_DATABASE_URI"], sandbox.url,
         str(job_id)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        step = None
        while time.monotonic() < deadline and step not in ("campaign", "content", "deliver"):
            with app.app_context(), db.engine.connect() as conn:
                step = conn.scalar(select(Campaign.send_step).where(Campaign.id == cid))
            time.sleep(0.02)
        assert step in ("campaign", "content", "deliver"), f"the send never got far: {step}"
        child.send_signal(signal.SIGKILL)  # mid-send, with segment and members in Mailchimp
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    sandbox.faults.latency = 0
    # A call the dead process had in flight still lands, as in Mailchimp: let it, so the
    # retry looks up what it made instead of racing it.
    deadline = time.monotonic() + 10
    while any(c.status is None for c in sandbox.state.calls) and time.monotonic() < deadline:
        time.sleep(0.02)
    with app.app_context():
        dead = jobs.get(db.session, job_id)
        assert dead.status == "running" and dead.worker == f"{socket.gethostname()}:{child.pid}"
        db.session.remove()
    reap_at_start(app, app.extensions["crm"])  # what a new web or worker process does
    with app.app_context():
        reaped = jobs.get(db.session, job_id)
        assert reaped.status == "failed"
        assert reaped.error == (f"The process running it (pid {child.pid}) ended before the "
                                "job did.")
    retry_sends_once(send, sandbox)
