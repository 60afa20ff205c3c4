"""The standalone app: the first host of the CRM (``flask --app wsgi run``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, Response, redirect, url_for
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

import crm
from campaigns import Campaigns
from crm.security import add_security_headers

db = SQLAlchemy()
csrf = CSRFProtect()
migrate = Migrate()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL and a busy timeout let a background writer and the web process share the file.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_app(config: object | None = None, **overrides: Any) -> Flask:
    """Build the standalone app from a config object and keyword overrides."""
    app = Flask(__name__, instance_relative_config=True)
    if config is None:
        from config import Config

        config = Config
    app.config.from_object(config)
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
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
