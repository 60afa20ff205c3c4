"""Shared fixtures: an app per test on SQLite or, with CRM_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, text

import crm.staff
from config import Config
from crm.models import Base
from wsgi import create_app, db

# The Mailchimp fixtures (a sandbox per test, an app on it) live beside these.
pytest_plugins = ["tests.mailchimp_support"]

PASSWORD = "correct horse battery"
ROLES = ("admin", "organizer", "viewer")


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    # Argon2's production cost (~50 ms a hash) would dominate the suite; the scheme
    # is the same, only cheaper.
    original = crm.staff._hasher
    crm.staff._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    crm.staff._DUMMY_HASH = crm.staff._hasher.hash("not-a-real-password")
    yield
    crm.staff._hasher = original


def database_url(tmp_path: Any) -> str:
    """Return the test database: PostgreSQL when asked, else a fresh SQLite file."""
    return os.environ.get("CRM_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite'}"


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


@pytest.fixture
def make_app(tmp_path: Any) -> Iterator[Callable[..., Flask]]:
    """Build standalone apps with overrides; their tables are made fresh and dropped after."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        overrides.setdefault("SQLALCHEMY_DATABASE_URI", database_url(tmp_path))
        app = create_app(TestConfig, **overrides)
        with app.app_context():
            fresh_tables(db.engine)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        dispose(app)


def dispose(app: Flask) -> None:
    """Stop a test app's sandbox, drop its SQLite tables and close its connections."""
    app.extensions["campaigns"].sandbox.stop()
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name != "postgresql":
            Base.metadata.drop_all(db.engine)
        db.engine.dispose()


def fresh_tables(engine: Any) -> None:
    """Give a test empty tables: emptied in one TRUNCATE on PostgreSQL, else made anew."""
    # Dropping and creating some forty tables cost PostgreSQL about a second per test;
    # emptying them when they are all there costs a few milliseconds. Ids restart at 1,
    # as in a new table.
    tables = [t.name for t in Base.metadata.sorted_tables]
    postgres = engine.dialect.name == "postgresql"
    if postgres and set(tables) <= set(inspect(engine).get_table_names()):
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE TABLE " + ", ".join(f'"{name}"' for name in tables)
                              + " RESTART IDENTITY CASCADE"))
        return
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The standalone app with CSRF off (CSRF has its own tests)."""
    return make_app()


@pytest.fixture
def csrf_app(make_app: Callable[..., Flask]) -> Flask:
    """The standalone app with CSRF on, as in production."""
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for service tests."""
    with app.app_context():
        yield app


@pytest.fixture
def session(ctx: Flask) -> Any:
    """The SQLAlchemy session services take."""
    return db.session


@pytest.fixture
def staff_users(app: Flask) -> dict[str, str]:
    """One staff account per role; maps role to email."""
    emails = {}
    with app.app_context():
        for role in ROLES:
            user = crm.staff.create_user(db.session, f"{role}@example.org", PASSWORD, role=role)
            emails[role] = user.email
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
