"""Run background jobs: one execution path, in a thread by default or on a Celery worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import jobs
from .models import Job, utcnow

logger = logging.getLogger(__name__)
TASK_NAME = "crm.run_job"


class Reporter:
    """What a job handler uses to report progress and to learn it should stop."""

    def __init__(self, session: Session, job: Job) -> None:
        self._session = session
        self._job = job
        self.job_id = job.id
        self.stop_seen = False
        # A handler may leave a one-line summary to end the job with instead of "Done.".
        self.summary: str | None = None

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress and commit, so the work done so far is kept whatever happens next."""
        jobs.record_progress(self._session, self._job, done, total, message)
        self._session.commit()

    def should_stop(self) -> bool:
        """Tell whether someone asked the job to stop (read fresh from the database)."""
        stop = jobs.stop_requested(self._session, self.job_id)
        self.stop_seen = self.stop_seen or stop
        return stop


Handler = Callable[[Session, Job, Reporter], Mapping[str, Any] | None]


def _error_line(exc: BaseException) -> str:
    """Return the traceback's closing line: the error's name and the first line of its text."""
    # Only the first line: database errors go on with the SQL and its values (contact data).
    cls = type(exc)
    name = cls.__qualname__
    if cls.__module__ != "builtins":
        name = f"{cls.__module__}.{name}"
    lines = str(exc).strip().splitlines()
    return f"{name}: {lines[0]}" if lines else name


class Heartbeat:
    """Beat for a running job from a thread of its own, so a long step never looks dead.

    Every ``seconds`` the job's heartbeat_at is set in a short transaction of its own; a
    beat that cannot get the database (SQLite busy) is skipped, and the next one tries again.
    """

    def __init__(self, engine: Any, job_id: int, seconds: float) -> None:
        self.engine, self.job_id, self.seconds = engine, job_id, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"crm-job-{job_id}-heartbeat")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(Job).where(Job.id == self.job_id,
                                                   Job.status == "running")
                                 .values(heartbeat_at=utcnow()))
            except SQLAlchemyError:
                logger.warning("Job %s: a heartbeat could not be written", self.job_id,
                               exc_info=True)


def execute(session: Session, job_id: int, handlers: Mapping[str, Handler], *,
            heartbeat_seconds: float | None = None) -> Job:
    """Run one queued job to a final status with the handler of its kind.

    With ``heartbeat_seconds`` a thread beats for the job while it runs.
    """
    job = jobs.get(session, job_id)
    if not jobs.mark_running(session, job):
        # Stopped before it started, or another worker already has it.
        session.commit()
        return job
    session.commit()
    if heartbeat_seconds:
        with Heartbeat(session.get_bind(), job_id, heartbeat_seconds):
            return _execute_running(session, job, handlers)
    return _execute_running(session, job, handlers)


def _execute_running(session: Session, job: Job, handlers: Mapping[str, Handler]) -> Job:
    job_id = job.id
    handler = handlers.get(job.kind)
    if handler is None:
        jobs.mark_failed(session, job, f"No handler for jobs of kind {job.kind!r}.",
                         message="Failed: this kind of job is unknown.")
        session.commit()
        return job
    reporter = Reporter(session, job)
    kind = job.kind  # read now: after a database error the session cannot load it
    try:
        result = handler(session, job, reporter)
        if reporter.stop_seen:
            jobs.mark_stopped(session, job, result, message=" ".join(
                filter(None, ["Stopped on request.", reporter.summary])))
        else:
            jobs.mark_succeeded(session, job, result, message=reporter.summary or "Done.")
        session.commit()
    except Exception as exc:
        logger.exception("Job %s (%s) failed", job_id, kind)
        session.rollback()
        job = jobs.get(session, job_id)
        jobs.mark_failed(session, job, _error_line(exc), message=f"Failed after {job.progress}"
                         + (f" of {job.total}." if job.total is not None else "."))
        session.commit()
    return job


def _run_in_context(app: Flask, job_id: int) -> Job:
    """Execute a job with the app's session and handlers; the caller holds an app context."""
    state = app.extensions["crm"]
    session = state.db.session
    try:
        job = execute(session, job_id, state.job_handlers,
                      heartbeat_seconds=float(app.config.get("CRM_JOB_HEARTBEAT_SECONDS")
                                              or jobs.HEARTBEAT_SECONDS))
        # Load every column now so the returned job can be read after the session closes.
        session.refresh(job)
        return job
    finally:
        session.remove()


def run_now(app: Flask, job_id: int) -> Job:
    """Run a job here and now in a fresh app context (tests and the command line)."""
    with app.app_context():
        return _run_in_context(app, job_id)


class Runner(Protocol):
    """Something that runs a committed job somewhere else."""

    def dispatch(self, app: Flask, job_id: int) -> None:
        """Hand the job over; return at once."""


class ThreadRunner:
    """Run each job in a daemon thread of this process, with its own app context and session."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def dispatch(self, app: Flask, job_id: int) -> None:
        """Start a thread that runs the job."""
        thread = threading.Thread(target=self._run, args=(app, job_id), daemon=True,
                                  name=f"crm-job-{job_id}")
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    @staticmethod
    def _run(app: Flask, job_id: int) -> None:
        try:
            run_now(app, job_id)
        except Exception:
            # Nothing above this thread would see the error; the job row tells staff.
            logger.exception("Job runner thread for job %s crashed", job_id)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the running jobs' threads; return True when all of them ended."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)


class CeleryRunner:
    """Send each job to a Celery worker as the task ``crm.run_job(job_id)``."""

    def __init__(self, app: Flask) -> None:
        self.celery = make_celery(app)

    def dispatch(self, app: Flask, job_id: int) -> None:
        """Queue the job on the broker."""
        self.celery.send_task(TASK_NAME, args=[job_id])


def make_celery(app: Flask) -> Any:
    """Build a Celery app whose tasks run inside this Flask app's context."""
    from celery import Celery, Task

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    backend = app.config.get("CRM_CELERY_RESULT_BACKEND")
    celery_app = Celery(app.import_name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=app.config["CRM_CELERY_BROKER_URL"],
        result_backend=backend,
        task_ignore_result=backend is None,
        broker_connection_retry_on_startup=True,
        # The job row is the record of a run; a lost message is caught as a stale job.
        task_acks_late=False,
    )

    # Not shared: other Celery apps in the process must not get a task bound to this app.
    @celery_app.task(name=TASK_NAME, shared=False)
    def run_job(job_id: int) -> None:
        _run_in_context(app, job_id)

    return celery_app


def start_job(kind: str, params: Mapping[str, Any], *, started_by: str) -> Job:
    """Create a job, commit it and hand it to this app's runner (needs an app context)."""
    state = current_app.extensions["crm"]
    session = state.db.session
    job = jobs.create(session, kind, params, started_by=started_by)
    session.commit()
    state.job_runner.dispatch(current_app._get_current_object(), job.id)
    return job
