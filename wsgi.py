"""The standalone app: the first host of the CRM (``flask --app wsgi run``)."""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, Response, redirect, url_for
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event

import crm
from campaigns import Campaigns
from campaigns.migrations_path import VERSIONS_DIR as CAMPAIGN_VERSIONS
from crm.security import add_security_headers

db = SQLAlchemy()
csrf = CSRFProtect()
migrate = Migrate()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL and a busy timeout let a background writer and the web process share the file.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@migrate.configure
def _both_branches(config: Any) -> Any:
    # The campaigns' migrations are a branch of their own that depends on the CRM's.
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations",
                           os.pathsep.join([crm.migrations_path.VERSIONS_DIR, CAMPAIGN_VERSIONS]))
    return config


def _instance_secret(instance_path: str) -> str:
    # No SECRET_KEY configured: keep a random one in instance/ so sessions survive restarts.
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: object | None = None, **overrides: Any) -> Flask:
    """Build the standalone app from a config object and keyword overrides."""
    app = Flask(__name__, instance_relative_config=True)
    if config is None:
        from config import Config

        config = Config
    app.config.from_object(config)
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    csrf.init_app(app)
    LoginManager(app)  # one per app: the CRM registers its staff loader on it
    migrate.init_app(app, db, directory=crm.MIGRATIONS_DIR, render_as_batch=True)
    crm.CRM(app, db=db)
    Campaigns(app)

    @app.route("/")
    def home() -> Any:
        return redirect(url_for("crm.contact_list"))

    @app.after_request
    def _headers(response: Response) -> Response:
        return add_security_headers(response)

    return app


def __getattr__(name: str) -> Any:
    """Build ``celery`` on first use, so ``celery -A wsgi.celery worker`` runs the jobs."""
    # Lazy: importing this module must start nothing and need no broker.
    if name != "celery":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    runner = create_app().extensions["crm"].job_runner
    celery_app = getattr(runner, "celery", None)
    if celery_app is None:
        raise RuntimeError("Set CRM_CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to run "
                           "jobs on a Celery worker.")
    globals()["celery"] = celery_app
    return celery_app
