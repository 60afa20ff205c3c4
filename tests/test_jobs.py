"""Background jobs: the service, the runner, the thread and Celery runners, pages and API."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from celery import _state as celery_state
from celery.contrib.testing.worker import TestWorkController
from celery.worker import state as worker_state
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import wsgi
from crm import contacts, jobs, staff
from crm.errors import NotFound, ValidationFailed
from crm.job_runner import CeleryRunner, Reporter, ThreadRunner, run_now, start_job
from crm.models import Contact, Job, utcnow
from crm.security import CSP
from tests.conftest import PASSWORD, csrf_from
from wsgi import db

REDIS_URL = "redis://127.0.0.1:6379/0"
GATES: dict[str, threading.Event] = {}
WAIT = 20.0  # seconds any background run may take before a test gives up


def count(session: Session, job: Job, report: Reporter) -> dict[str, Any]:
    """Count to n in batches, adding one contact per step, as a long job would."""
    params = dict(job.params)
    n, batch = int(params["n"]), int(params.get("batch", 2))
    done = 0
    while done < n:
        for i in range(done, min(done + batch, n)):
            contacts.create(session, {"email": f"job{job.id}-{i}@example.org"}, actor="job")
        if params.get("fail_at") == done + batch:
            raise RuntimeError(f"boom at {done + batch}")
        if params.get("clash_at") == done + batch:
            # A duplicate key the database itself refuses (PostgreSQL then aborts the
            # transaction, so the runner must roll back before it records the failure).
            session.add(Contact(email="dup@example.org",
                                email_normalized=f"job{job.id}-0@example.org"))
            session.flush()
        done = min(done + batch, n)
        report.progress(done, n, f"Counted {done}.")
        if params.get("stop_at") == done:
            # Another request asks for the stop, in its own session, as the page would.
            with Session(session.get_bind()) as other:
                jobs.request_stop(other, job.id)
                other.commit()
        if gate := params.get("gate"):
            assert GATES[gate].wait(WAIT)
        if report.should_stop():
            break
    return {"counted": done}


@pytest.fixture
def jobs_app(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """Build apps that know the test job kind."""

    def build(**overrides: Any) -> Flask:
        app = make_app(**overrides)
        app.extensions["crm"].add_job_handler("test.count", count)
        return app

    return build


@pytest.fixture
def app(shared_app: Callable[..., Flask]) -> Flask:
    """The shared app, knowing the test job kind until the next test's reset."""
    found = shared_app()
    found.extensions["crm"].add_job_handler("test.count", count)
    return found


def new_job(app: Flask, kind: str = "test.count", **params: Any) -> int:
    with app.app_context():
        job = jobs.create(db.session, kind, params, started_by="tester@example.org")
        db.session.commit()
        return job.id


def emails(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Contact.email)))


def wait_for(client: FlaskClient, job_id: int, done: Callable[[dict[str, Any]], bool]) -> Any:
    """Poll the API until done(job) holds, for at most WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        body = client.get(f"/crm/api/v1/jobs/{job_id}").json
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_create_get_recent_and_errors(session: Session) -> None:
    first = jobs.create(session, "test.count", {"n": 1}, started_by="a@example.org")
    second = jobs.create(session, "test.count", {"n": 2}, started_by="b@example.org")
    assert (first.status, first.progress, first.total) == ("queued", 0, None)
    assert jobs.get(session, first.id) is first
    assert [j.id for j in jobs.recent(session)] == [second.id, first.id]
    assert [j.id for j in jobs.recent(session, limit=1)] == [second.id]
    with pytest.raises(NotFound):
        jobs.get(session, 999)
    with pytest.raises(ValidationFailed):
        jobs.create(session, "", {}, started_by="a@example.org")


def test_a_job_counts_commits_and_succeeds(app: Flask) -> None:
    job = run_now(app, new_job(app, n=5))
    assert (job.status, job.progress, job.total, job.percent) == ("succeeded", 5, 5, 100)
    assert job.result == {"counted": 5}
    assert job.error is None
    assert job.started_at and job.finished_at and job.heartbeat_at
    assert job.started_at <= job.finished_at
    assert len(emails(app)) == 5


def test_a_failure_keeps_the_committed_batch_and_the_error(app: Flask) -> None:
    job_id = new_job(app, n=6, fail_at=4)
    job = run_now(app, job_id)
    assert job.status == "failed"
    assert job.error == "RuntimeError: boom at 4"
    assert "Traceback" not in job.error
    assert job.message == "Failed after 2 of 6."
    assert job.finished_at is not None
    # The first batch was committed by progress(); the failing batch was rolled back.
    assert emails(app) == [f"job{job_id}-0@example.org", f"job{job_id}-1@example.org"]


def test_a_database_error_fails_the_job_and_keeps_earlier_work(app: Flask) -> None:
    job = run_now(app, new_job(app, n=6, clash_at=4))
    assert job.status == "failed"
    assert job.error and job.error.startswith("sqlalchemy.exc.IntegrityError: ")
    assert "[SQL" not in job.error and "job" not in job.error  # no statement, no values
    assert job.message == "Failed after 2 of 6."
    assert len(emails(app)) == 2


def test_a_stop_request_is_honoured_between_batches(app: Flask) -> None:
    job = run_now(app, new_job(app, n=10, stop_at=4))
    assert job.status == "stopped"
    assert (job.progress, job.result) == (4, {"counted": 4})
    assert len(emails(app)) == 4


def test_a_job_stopped_before_it_starts_never_runs(app: Flask) -> None:
    job_id = new_job(app, n=4)
    with app.app_context():
        assert jobs.request_stop(db.session, job_id).status == "stopped"
        db.session.commit()
    job = run_now(app, job_id)
    assert (job.status, job.started_at) == ("stopped", None)
    assert emails(app) == []


def test_an_unknown_kind_fails_clearly(app: Flask) -> None:
    job = run_now(app, new_job(app, "test.nothing"))
    assert job.status == "failed"
    assert job.error == "No handler for jobs of kind 'test.nothing'."


def test_a_job_runs_only_once(app: Flask) -> None:
    job_id = new_job(app, n=2)
    run_now(app, job_id)
    again = run_now(app, job_id)
    assert again.status == "succeeded"
    assert len(emails(app)) == 2


def test_stale_running_jobs_read_as_failed(app: Flask, as_role: Callable[[str], FlaskClient]
                                           ) -> None:
    stale, fresh = new_job(app, n=1), new_job(app, n=1)
    with app.app_context():
        for job_id, age in ((stale, 601), (fresh, 30)):
            job = jobs.get(db.session, job_id)
            assert jobs.mark_running(db.session, job)
            job.heartbeat_at = utcnow() - timedelta(seconds=age)
        db.session.commit()
    body = as_role("viewer").get(f"/crm/api/v1/jobs/{stale}").json
    assert body["status"] == "failed"
    assert body["error"] == "The worker stopped: no heartbeat for over 10 minutes."
    with app.app_context():
        assert jobs.get(db.session, fresh).status == "running"
        later = utcnow() + timedelta(seconds=600)
        assert jobs.reap_stale(db.session, later, stale_seconds=600) == 1
        assert jobs.get(db.session, fresh).status == "failed"


def test_the_page_shows_a_live_progress_bar(app: Flask,
                                            as_role: Callable[[str], FlaskClient]) -> None:
    job_id = new_job(app, n=8)
    with app.app_context():
        job = jobs.get(db.session, job_id)
        jobs.mark_running(db.session, job)
        jobs.record_progress(db.session, job, 2, 8, "Counted 2.")
        db.session.commit()
    response = as_role("viewer").get(f"/crm/jobs/{job_id}")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP
    page = response.get_data(as_text=True)
    assert 'role="progressbar"' in page and 'aria-valuenow="25"' in page
    assert f'data-job-api="/crm/api/v1/jobs/{job_id}"' in page
    assert "progress-bar-animated" in page and "2 of 8 (25%)" in page
    assert "/crm/static/jobs.js" in page
    assert "style=" not in page
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert ">Stop</button>" not in page  # viewers may watch, not stop
    script = as_role("viewer").get("/crm/static/jobs.js")
    script.close()
    assert script.status_code == 200
    listing = as_role("viewer").get("/crm/jobs").get_data(as_text=True)
    assert f"/crm/jobs/{job_id}" in listing and ">Jobs</a>" in listing


def test_a_finished_job_shows_its_result_and_error(app: Flask,
                                                   as_role: Callable[[str], FlaskClient]) -> None:
    done = run_now(app, new_job(app, n=3)).id
    failed = run_now(app, new_job(app, n=4, fail_at=2)).id
    client = as_role("organizer")
    page = client.get(f"/crm/jobs/{done}").get_data(as_text=True)
    assert "Counted" in page and ">3<" in page and "progress-bar-animated" not in page
    assert ">Stop</button>" not in page
    page = client.get(f"/crm/jobs/{failed}").get_data(as_text=True)
    assert "RuntimeError: boom at 2" in page and "bg-danger" in page
    assert "w-100" in page  # nothing was counted before the failure: size unknown


def test_the_api_shows_a_job_and_answers_404_as_json(app: Flask,
                                                     as_role: Callable[[str], FlaskClient]
                                                     ) -> None:
    job_id = run_now(app, new_job(app, n=3)).id
    client = as_role("viewer")
    body = client.get(f"/crm/api/v1/jobs/{job_id}").json
    assert set(body) == {"id", "kind", "status", "progress", "total", "percent", "message",
                         "error", "result", "started_by", "created_at", "started_at",
                         "finished_at"}
    assert (body["status"], body["percent"], body["result"]) == ("succeeded", 100,
                                                                 {"counted": 3})
    assert body["started_by"] == "tester@example.org"
    assert body["created_at"].endswith("+00:00")
    assert [j["id"] for j in client.get("/crm/api/v1/jobs").json["items"]] == [job_id]
    missing = client.get("/crm/api/v1/jobs/999")
    assert missing.status_code == 404
    assert missing.json == {"status": 404, "detail": "No job #999."}
    assert client.get("/crm/api/v1/jobs?limit=0").status_code == 422


def test_staff_stop_a_job_with_csrf(jobs_app: Callable[..., Flask]) -> None:
    app = jobs_app(WTF_CSRF_ENABLED=True)
    job_id = new_job(app, n=3)
    with app.app_context():
        staff.create_user(db.session, "organizer@example.org", PASSWORD, role="organizer")
        db.session.commit()
    client = app.test_client()
    login_page = client.get("/crm/login").data
    client.post("/crm/login", data={"email": "organizer@example.org", "password": PASSWORD,
                                    "csrf_token": csrf_from(login_page)})
    client.post(f"/crm/jobs/{job_id}/stop")  # no token: refused
    with app.app_context():
        assert jobs.get(db.session, job_id).status == "queued"
    page = client.get(f"/crm/jobs/{job_id}").data
    assert b">Stop</button>" in page
    response = client.post(f"/crm/jobs/{job_id}/stop", data={"csrf_token": csrf_from(page)},
                           follow_redirects=True)
    assert b"Stopped before it started." in response.data
    api_stop = client.post(f"/crm/api/v1/jobs/{job_id}/stop",
                           headers={"X-CSRFToken": csrf_from(page)})
    assert api_stop.status_code == 200 and api_stop.json["status"] == "stopped"


def test_the_thread_runner_runs_a_job_live(app: Flask,
                                           as_role: Callable[[str], FlaskClient]) -> None:
    runner = app.extensions["crm"].job_runner
    assert isinstance(runner, ThreadRunner)
    gate_name = uuid.uuid4().hex
    gate = GATES[gate_name] = threading.Event()
    with app.test_request_context():
        job_id = start_job("test.count", {"n": 6, "gate": gate_name},
                           started_by="organizer@example.org").id
    client = as_role("viewer")
    try:
        midway = wait_for(client, job_id, lambda j: j["progress"] >= 2)
        assert (midway["status"], midway["progress"], midway["percent"]) == ("running", 2, 33)
    finally:
        gate.set()
    final = wait_for(client, job_id, lambda j: j["status"] in jobs.FINAL)
    assert runner.join(WAIT)
    assert (final["status"], final["progress"], final["result"]) == ("succeeded", 6,
                                                                     {"counted": 6})
    assert len(emails(app)) == 6
    del GATES[gate_name]


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")


@pytest.fixture
def celery_app(jobs_app: Callable[..., Flask]) -> Iterator[Flask]:
    """An app whose jobs go through Redis to a real Celery worker in this process."""
    _redis_or_skip()
    app = jobs_app(CRM_CELERY_BROKER_URL=REDIS_URL)
    celery = app.extensions["crm"].job_runner.celery
    # A queue of its own, so no other worker on this Redis takes the test's tasks.
    queue = f"crm-test-{uuid.uuid4().hex}"
    celery.conf.update(task_default_queue=queue, worker_hijack_root_logger=False)
    worker = TestWorkController(app=celery, pool="solo", concurrency=1, without_heartbeat=True,
                                without_mingle=True, without_gossip=True, without_control=True,
                                ready_callback=None,
                                hostname=f"{queue}@localhost", loglevel="ERROR")
    # The embedded worker finds its tasks through Celery's default app, as a real one would.
    previous = celery_state.default_app
    celery.set_default()
    thread = threading.Thread(target=worker.start, daemon=True)
    thread.start()
    worker._on_started.wait(WAIT)
    try:
        yield app
    finally:
        worker_state.should_stop = 0  # a warm shutdown after the current task
        thread.join(WAIT)
        worker_state.should_stop = None
        celery_state.set_default_app(previous)
        celery.close()
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()
        assert not thread.is_alive(), "the Celery worker did not stop"


def test_a_celery_worker_runs_the_job(celery_app: Flask,
                                      as_role: Callable[[str], FlaskClient]) -> None:
    assert isinstance(celery_app.extensions["crm"].job_runner, CeleryRunner)
    with celery_app.test_request_context():
        job_id = start_job("test.count", {"n": 4}, started_by="organizer@example.org").id
    final = wait_for(as_role("viewer"), job_id, lambda j: j["status"] in jobs.FINAL)
    assert (final["status"], final["progress"], final["result"]) == ("succeeded", 4,
                                                                     {"counted": 4})
    assert len(emails(celery_app)) == 4


def test_wsgi_builds_the_celery_app_only_when_asked(jobs_app: Callable[..., Flask],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert "celery" not in vars(wsgi)
    monkeypatch.setattr(wsgi, "create_app", lambda: jobs_app())
    with pytest.raises(RuntimeError, match="CRM_CELERY_BROKER_URL"):
        _ = wsgi.celery
    with_broker = jobs_app(CRM_CELERY_BROKER_URL=REDIS_URL)
    monkeypatch.setattr(wsgi, "create_app", lambda: with_broker)
    try:
        assert "crm.run_job" in wsgi.celery.tasks
        assert wsgi.celery is with_broker.extensions["crm"].job_runner.celery
    finally:
        vars(wsgi).pop("celery", None)


def test_the_command_runs_a_queued_job(app: Flask) -> None:
    job_id = new_job(app, n=2)
    result = app.test_cli_runner().invoke(args=["crm", "run-job", str(job_id)])
    assert result.exit_code == 0, result.output
    assert f"Job #{job_id} succeeded: Done." in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 2
    missing = app.test_cli_runner().invoke(args=["crm", "run-job", "999"])
    assert missing.exit_code != 0 and "No job #999." in missing.output
