"""Shared fixtures: apps on SQLite or, with CRM_TEST_DATABASE_URL, PostgreSQL.

Most tests share one app per set of config overrides, emptied and reset before each test
(see tests/databases.py); ``make_app`` builds apps of their own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

import crm.staff
from config import Config
from tests import databases
from tests.databases import database_url, dispose, fresh_tables
from wsgi import db

# The Mailchimp fixtures (a sandbox per module, an app on it) live beside these.
pytest_plugins = ["tests.mailchimp_support"]
__all__ = ["database_url", "dispose", "fresh_tables"]

PASSWORD = "correct horse battery"

ROLES = ("admin", "organizer", "viewer")

# Under pytest-xdist each worker gets a PostgreSQL database of its own, made at its start.
_WORKER_DATABASE: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _WORKER_DATABASE
    base, worker = os.environ.get(databases.ENV_URL), os.environ.get("PYTEST_XDIST_WORKER")
    if base and worker and _WORKER_DATABASE is None:
        _WORKER_DATABASE = databases.worker_database(base, worker)
        # Subprocesses the tests start inherit it too.
        os.environ[databases.ENV_URL] = _WORKER_DATABASE


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Under pytest-xdist (--dist loadgroup) the tests marked serial run one after another
    # in one worker, while the other workers share out the rest.
    for item in items:
        if item.get_closest_marker("serial") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("serial"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _WORKER_DATABASE is not None:
        databases.drop_worker_database(_WORKER_DATABASE)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    # Argon2's production cost (~50 ms a hash) would dominate the suite; the scheme
    # is the same, only cheaper.
    original = crm.staff._hasher
    crm.staff._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    crm.staff._DUMMY_HASH = crm.staff._hasher.hash("not-a-real-password")
    yield
    crm.staff._hasher = original


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = False
    # Fixed here so a developer's .env cannot change what the tests expect.
    CRM_ORG_NAME = "Test Org"
    CRM_URL_PREFIX = "/crm"
    CRM_PAGE_SIZE = 50
    CRM_PHONE_REGION = "US"
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    # The sandbox Mailchimp keeps its audience in memory, and retries wait milliseconds.
    CRM_MAILCHIMP_API_KEY = None
    CRM_MAILCHIMP_SANDBOX_DATA = ""
    CRM_MAILCHIMP_SANDBOX_URL = None
    CRM_MAILCHIMP_RETRY_SECONDS = 0.01
    CRM_MAILCHIMP_TIMEOUT = 5
    CRM_ORG_POSTAL_ADDRESS = "100 State St, Madison, WI 53703"
    CRM_DONATE_URL = "https://secure.actblue.com/donate/test-org"
    CRM_CAMPAIGN_REPLY_TO = "office@testorg.org"
    # The window the job tests were written with; the three-heartbeat default has its own.
    CRM_JOB_STALE_SECONDS = 600


@pytest.fixture(scope="session")
def app_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[databases.AppPool]:
    """The apps tests share, one per set of config overrides, all on one database."""
    pool = databases.AppPool(TestConfig, database_url(tmp_path_factory.mktemp("shared")))
    yield pool
    pool.close()


@pytest.fixture
def make_app(app_pool: databases.AppPool) -> Iterator[Callable[..., Flask]]:
    """Build standalone apps of their own, for a test that needs several apps or changes
    one past what a reset undoes; most tests take the shared ``app`` instead.

    Every app in a test is on the same database as the shared ones, and each build empties
    its tables, as a new app on a new database would find them.
    """
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = app_pool.build(**overrides)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        databases.dispose(app)


@pytest.fixture
def shared_app(app_pool: databases.AppPool) -> Callable[..., Flask]:
    """Return the shared app for some config overrides, reset as if it were new."""
    return app_pool.get


@pytest.fixture
def app(request: pytest.FixtureRequest, shared_app: Callable[..., Flask]) -> Flask:
    """The app with CSRF off (CSRF has its own tests), empty and as configured.

    ``@pytest.mark.app_config(KEY=value)`` on a test, class or module sets overrides.
    """
    marker = request.node.get_closest_marker("app_config")
    return shared_app(**(marker.kwargs if marker else {}))


@pytest.fixture
def csrf_app(shared_app: Callable[..., Flask]) -> Flask:
    """The app with CSRF on, as in production."""
    return shared_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for service tests."""
    with app.app_context():
        yield app


@pytest.fixture
def session(ctx: Flask) -> Any:
    """The SQLAlchemy session services take."""
    return db.session


def make_staff(session: Any) -> dict[str, str]:
    """Create one staff account per role; return role to email."""
    return {role: crm.staff.create_user(session, f"{role}@example.org", PASSWORD,
                                        role=role).email
            for role in ROLES}


@pytest.fixture
def staff_users(app: Flask) -> dict[str, str]:
    """One staff account per role; maps role to email."""
    with app.app_context():
        emails = make_staff(db.session)
        db.session.commit()
    return emails


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """Log a test client in through the real login form."""
    return client.post("/crm/login", data={"email": email, "password": password})


@pytest.fixture
def as_role(app: Flask, staff_users: dict[str, str]) -> Callable[[str], FlaskClient]:
    """Return a client logged in with the given role."""

    def make(role: str) -> FlaskClient:
        client = app.test_client()
        response = login(client, staff_users[role])
        assert response.status_code == 302, response.data
        return client

    return make


def csrf_from(html: bytes) -> str:
    """Pull the CSRF token out of a rendered page."""
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        rb'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1).decode()
