"""Test databases and the apps on them: made once, copied or emptied, never dropped.

SQLite: the schema is created once per process in a template file, and each new app gets
a copy of it (a file copy costs about a millisecond; creating forty tables cost about a
hundred). PostgreSQL: one database per process (per xdist worker). Either way a test sees
empty tables, emptied with DELETE, with ids starting at 1.

Shared apps are built once per set of config overrides and reset before each test: the
tables emptied, the config and the extensions' state put back as they were when built,
rate limits and the in-process sandbox forgotten.
"""

from __future__ import annotations

import atexit
import copy
import itertools
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import Engine, create_engine, event, inspect, make_url
from sqlalchemy.orm import Session

from crm.models import Base
from wsgi import create_app, db

T = TypeVar("T")

ENV_URL = "CRM_TEST_DATABASE_URL"
_numbers = itertools.count(1)
_template: Path | None = None


@event.listens_for(Engine, "connect")
def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
    # A test database need not survive a power cut, and the suite otherwise waits on fsync
    # more than it computes. The product's WAL journal stays: background writers and the
    # web process share the file in some tests, as they do in production; with
    # synchronous=OFF the WAL is written but never synced.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def _template_file() -> Path:
    """Return this process's template SQLite file with every table, made on first use."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="crm-test-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.sqlite"
        engine = create_engine(f"sqlite:///{path}")
        Base.metadata.create_all(engine)
        engine.dispose()
        _template = path
    return _template


def database_url(folder: Any) -> str:
    """Return a new test database: PostgreSQL's when asked, else a new SQLite file.

    The SQLite file already holds the schema, empty; each call gives a file of its own.
    """
    url = os.environ.get(ENV_URL)
    if url:
        return url
    target = Path(folder) / f"test-{next(_numbers)}.sqlite"
    shutil.copyfile(_template_file(), target)
    return f"sqlite:///{target}"


def fresh_tables(engine: Engine) -> None:
    """Give a test empty tables (ids restart at 1): emptied if there, else created."""
    tables = Base.metadata.sorted_tables
    present = set(inspect(engine).get_table_names())
    if not {t.name for t in tables} <= present:
        Base.metadata.create_all(engine)
    # DELETE, child tables first: on tables of a test's size it costs PostgreSQL about
    # 4 ms for them all, where one TRUNCATE of them all cost about 80 ms.
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        for table in reversed(tables):
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")
        elif "sqlite_sequence" in present:
            conn.exec_driver_sql("DELETE FROM sqlite_sequence")


def build_app(config: type, **overrides: Any) -> Flask:
    """Build an app and empty its database's tables."""
    app = create_app(config, **overrides)
    with app.app_context():
        fresh_tables(db.engine)
    return app


def dispose(app: Flask) -> None:
    """Stop an app's in-process sandbox and close its connections (its file is left)."""
    app.extensions["campaigns"].sandbox.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# How long a reset waits for jobs a test left running in threads.
JOB_WAIT_SECONDS = 30.0
# The extensions' own state that tests may change: put back before each test.
_STATEFUL_EXTENSIONS = ("crm", "campaigns")


def _copied(values: dict[str, Any]) -> dict[str, Any]:
    # Containers are copied one level deep (a test may append a panel or a job handler);
    # the objects in them are shared, as in one app.
    return {key: copy.copy(value) if isinstance(value, list | dict | set) else value
            for key, value in values.items()}


class _Shared:
    """One shared app and what it looked like when built."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = dict(app.config)
        self.extensions = {name: _copied(vars(app.extensions[name]))
                           for name in _STATEFUL_EXTENSIONS}

    def reset(self) -> None:
        """Empty the tables and put the app back as it was when built."""
        app = self.app
        # A job a test started in a thread must not write into the next test's tables.
        join = getattr(app.extensions["crm"].job_runner, "join", None)
        if callable(join):
            join(timeout=JOB_WAIT_SECONDS)
        app.config.clear()
        app.config.update(self.config)
        for name, values in self.extensions.items():
            state = vars(app.extensions[name])
            state.clear()
            state.update(_copied(values))
        holder = app.extensions["campaigns"].sandbox
        if holder.server is not None:
            holder.server.reset()
        app.extensions["campaigns_limiter"].reset()
        with app.app_context():
            db.session.remove()
            fresh_tables(db.engine)


class AppPool:
    """Apps shared across tests, one per set of config overrides, all on one database.

    One test runs at a time in a process, and each test's apps share its database, as
    they did when every app of a test was built on that test's own file.
    """

    def __init__(self, config: type, url: str) -> None:
        self.config = config
        self.url = url
        self._apps: dict[str, _Shared] = {}
        # Counts the times the database was handed to a test, so a read-only seed can
        # tell whether anyone else has had it since.
        self._handed_out = 0
        self._seed: tuple[Callable[..., Any], int, Any] | None = None

    def build(self, **overrides: Any) -> Flask:
        """Build a new app (not shared) on the pool's database, its tables emptied."""
        self._handed_out += 1
        overrides.setdefault("SQLALCHEMY_DATABASE_URI", self.url)
        return build_app(self.config, **overrides)

    def seeded(self, seed: Callable[[Session], T]) -> tuple[Flask, T]:
        """Return the default shared app holding what ``seed`` made, and what it returned.

        For read-only cases of one matrix: the seed runs again only when another test has
        had the database since it last ran, so consecutive cases share one seeding.
        """
        if self._seed is not None and self._seed[0] is seed and self._seed[1] == self._handed_out:
            return self._apps[repr([])].app, self._seed[2]
        app = self.get()
        with app.app_context():
            value = seed(db.session)
            db.session.commit()
            db.session.remove()
        self._seed = (seed, self._handed_out, value)
        return app, value

    def spoil(self) -> None:
        """Say that the test now running may change the seeded rows: the next seeds again."""
        self._handed_out += 1

    def get(self, **overrides: Any) -> Flask:
        """Return the shared app for these overrides, reset as if new."""
        self._handed_out += 1
        key = repr(sorted(overrides.items()))
        shared = self._apps.get(key)
        if shared is None:
            shared = _Shared(self.build(**overrides))
            self._apps[key] = shared
        else:
            shared.reset()
        return shared.app

    def close(self) -> None:
        """Dispose every shared app."""
        for shared in self._apps.values():
            dispose(shared.app)
        self._apps.clear()


def worker_database(base_url: str, worker: str) -> str:
    """Create (anew) and return this xdist worker's own PostgreSQL database."""
    url = make_url(base_url)
    name = f"{url.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_worker_database(url: str) -> None:
    """Drop a worker's database (connections still open are closed by force)."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    admin.dispose()
