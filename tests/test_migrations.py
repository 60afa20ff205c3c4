"""Alembic migrations build the schema from empty and match the models (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

import campaigns.models  # noqa: F401  (the campaigns' tables join the metadata)
from crm.models import Base
from tests.conftest import TestConfig, database_url
from wsgi import create_app, db


def _clean(app: Flask) -> None:
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url(tmp_path))
    _clean(app)
    yield app
    _clean(app)
    with app.app_context():
        db.engine.dispose()


def crm_tables(app: Flask) -> set[str]:
    with app.app_context():
        return {name for name in inspect(db.engine).get_table_names() if name.startswith("crm_")}


def test_upgrade_from_empty_matches_the_models(empty_app: Flask) -> None:
    assert crm_tables(empty_app) == set()
    with empty_app.app_context():
        upgrade(revision="heads")
    assert crm_tables(empty_app) == set(Base.metadata.tables)
    with empty_app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diffs: list[Any] = compare_metadata(context, Base.metadata)
        # Only type-rendering noise would be acceptable; there should be none at all.
        assert diffs == []
        # The campaigns branch depends on the CRM's head (crm0004), so its head stands for both.
        assert set(context.get_current_heads()) == {"mc0004"}


def test_downgrade_removes_every_crm_table(empty_app: Flask) -> None:
    with empty_app.app_context():
        upgrade(revision="heads")
        downgrade(revision="base")
    assert crm_tables(empty_app) == set()


def test_cli_upgrade(empty_app: Flask) -> None:
    result = empty_app.test_cli_runner().invoke(args=["db", "upgrade", "heads"])
    assert result.exit_code == 0, result.output
    assert "crm_contacts" in crm_tables(empty_app)
