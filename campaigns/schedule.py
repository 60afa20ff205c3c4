"""Reconcile on a clock: a light timer in the web process starts the job when it is due."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from flask import Flask
from sqlalchemy import select

from crm.job_runner import start_job
from crm.models import Job, utcnow

from . import connection, jobs, reconcile

logger = logging.getLogger(__name__)
TICK_SECONDS = 60


def tick(app: Flask, now: datetime | None = None) -> Job | None:
    """Start a reconcile job if one is due and none is waiting or running; return it."""
    minutes = int(app.config["CRM_MAILCHIMP_RECONCILE_MINUTES"])
    with app.app_context():
        session = app.extensions["crm"].db.session
        try:
            busy = session.scalar(select(Job.id).where(
                Job.kind == jobs.RECONCILE, Job.status.in_(("queued", "running"))).limit(1))
            last = reconcile.last_run(session, connection.audience_id(app))
            if busy is not None or not reconcile.due(last, now or utcnow(), minutes):
                return None
            return start_job(jobs.RECONCILE, {}, started_by="schedule")
        finally:
            session.remove()


class Timer:
    """A daemon thread that calls ``tick`` every minute, started once per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self, app: Flask) -> bool:
        """Start ticking for this app; False when already started or switched off."""
        if int(app.config["CRM_MAILCHIMP_RECONCILE_MINUTES"]) <= 0 or app.testing:
            return False
        with self._lock:
            if self._thread is not None:
                return False
            self._thread = threading.Thread(target=self._run, args=(app,), daemon=True,
                                            name="mailchimp-reconcile-timer")
            self._thread.start()
            return True

    def _run(self, app: Flask) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                tick(app)
            except Exception:  # the next tick tries again; the job page shows failures
                logger.exception("Could not start the periodic Mailchimp reconcile")

    def stop(self) -> None:
        """Stop ticking."""
        self._stop.set()
