"""The ``CRM`` Flask extension: mounts the contact CRM on a host app's db, CSRF and login."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from . import access, panels, timeline
from .models import StaffUser


class SetupError(RuntimeError):
    """The host app is missing something the CRM needs, or set it up in the wrong order."""


@dataclass
class CRMState:
    """Per-app state, kept in ``app.extensions["crm"]``."""

    db: SQLAlchemy
    csrf: Any
    url_prefix: str
    builtin_accounts: bool
    role_loader: Callable[[Any], str | None]
    user_loader: Callable[[str], Any]
    timeline_sources: list[timeline.TimelineSource] = field(default_factory=list)
    panel_sources: list[panels.PanelSource] = field(default_factory=list)
    nav_items: list[panels.NavItem] = field(default_factory=list)
    job_handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    job_runner: Any = None
    api: Any = None
    page_context: Callable[[], dict[str, Any]] | None = None
    page_blueprint_names: set[str] = field(default_factory=set)

    def add_timeline_source(self, source: timeline.TimelineSource) -> None:
        """Let another package (campaigns) add entries to every contact's timeline."""
        self.timeline_sources.append(source)

    def add_panel_source(self, source: panels.PanelSource) -> None:
        """Add a section to the contact page."""
        self.panel_sources.append(source)

    def add_nav_item(self, item: panels.NavItem) -> None:
        """Add a link to the page header."""
        self.nav_items.append(item)
        self.nav_items.sort(key=lambda i: i.order)

    def add_job_handler(self, kind: str, handler: Callable[..., Any]) -> None:
        """Name the function that does the work of jobs of this kind."""
        self.job_handlers[kind] = handler


class CRM:
    """The contact CRM as a Flask extension: ``CRM(app, db=db)`` or ``CRM(db=db).init_app(app)``."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: SQLAlchemy,
        role_loader: Callable[[Any], str | None] | None = None,
        user_loader: Callable[[str], Any] | None = None,
    ) -> None:
        self.db = db
        self.role_loader = role_loader
        self.user_loader = user_loader
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Mount the CRM on ``app``.

        Needs, set up first on the host: Flask-SQLAlchemy (the ``db`` given here),
        Flask-WTF's ``CSRFProtect`` and Flask-Login's ``LoginManager``.

        Config keys read (defaults in brackets):
        - ``CRM_URL_PREFIX`` ["/crm"]: where the pages and ``/api/v1`` live.
        - ``CRM_BUILTIN_ACCOUNTS`` [True]: provide staff accounts, login and user admin.
          Set False to use the host's users and a ``role_loader`` hook.
        - ``CRM_ENABLE_BLUEPRINTS`` [True]: register pages and API (CLI is always registered).
        - ``CRM_BASE_TEMPLATE`` ["crm/base.html"]: the layout every CRM page extends.
        - ``CRM_ORG_NAME`` ["Our organization"]: shown in the page header.
        - ``CRM_PHONE_REGION`` ["US"]: region for phone numbers written without a country code.
        - ``CRM_TIMEZONE`` ["UTC"]: the time zone pages show times in (e.g. America/Chicago).
        - ``CRM_PAGE_SIZE`` [50]: contacts per list page.
        - ``CRM_SECURITY_HEADERS`` [True]: add CSP, frame and sniffing headers to CRM pages.
        - ``CRM_CELERY_BROKER_URL`` [None]: run jobs on Celery workers through this broker
          (e.g. redis://127.0.0.1:6379/0); unset, each job runs in a thread of the web process.
        - ``CRM_CELERY_RESULT_BACKEND`` [None]: Celery result backend (jobs keep their results
          in crm_jobs, so none is needed).
        - ``CRM_JOB_HEARTBEAT_SECONDS`` [10]: a running job's heartbeat, written by a thread
          beside it whatever the job is doing.
        - ``CRM_JOB_STALE_SECONDS`` [three heartbeats]: a running job whose heartbeat is this
          old is shown as failed ("the worker stopped"), and Stop ends it at once.
        - ``CRM_IMPORT_MAX_BYTES`` [200000000], ``CRM_IMPORT_INLINE_DRY_RUN_BYTES`` [5000000],
          ``CRM_IMPORT_DIR`` [instance/imports]: CSV imports.
        - ``CRM_API_TITLE`` ["CRM API"], ``CRM_API_VERSION`` ["v1"],
          ``CRM_OPENAPI_VERSION`` ["3.0.3"]: the OpenAPI document's header.
        """
        if "crm" in app.extensions:
            raise SetupError("CRM.init_app was already called for this app.")
        if app.extensions.get("sqlalchemy") is not self.db:
            raise SetupError(
                "CRM needs the host's Flask-SQLAlchemy: call db.init_app(app) with the same "
                "SQLAlchemy object you pass as CRM(db=...) before CRM.init_app(app)."
            )
        csrf = app.extensions.get("csrf")
        if csrf is None:
            raise SetupError(
                "CRM needs the host's CSRFProtect: call CSRFProtect(app) before CRM.init_app(app)."
            )
        login_manager = getattr(app, "login_manager", None)
        if login_manager is None:
            raise SetupError(
                "CRM needs the host's Flask-Login: call LoginManager().init_app(app) before "
                "CRM.init_app(app)."
            )

        config = app.config
        config.setdefault("CRM_URL_PREFIX", "/crm")
        config.setdefault("CRM_BUILTIN_ACCOUNTS", True)
        config.setdefault("CRM_ENABLE_BLUEPRINTS", True)
        config.setdefault("CRM_BASE_TEMPLATE", "crm/base.html")
        config.setdefault("CRM_ORG_NAME", "Our organization")
        config.setdefault("CRM_PHONE_REGION", "US")
        config.setdefault("CRM_TIMEZONE", "UTC")
        config.setdefault("CRM_PAGE_SIZE", 50)
        config.setdefault("CRM_SECURITY_HEADERS", True)
        config.setdefault("CRM_API_TITLE", "CRM API")
        config.setdefault("CRM_API_VERSION", "v1")
        config.setdefault("CRM_OPENAPI_VERSION", "3.0.3")
        prefix = "/" + config["CRM_URL_PREFIX"].strip("/") if config["CRM_URL_PREFIX"] else ""

        builtin = bool(config["CRM_BUILTIN_ACCOUNTS"])
        if builtin:
            if login_manager.user_callback is not None:
                raise SetupError(
                    "The host already loads its own users. Set CRM_BUILTIN_ACCOUNTS = False and "
                    "pass CRM(role_loader=...) to map your users to CRM roles."
                )
            db = self.db

            def load_staff(user_id: str) -> StaffUser | None:
                user = db.session.get(StaffUser, int(user_id)) if user_id.isdigit() else None
                return user if user is not None and user.active else None

            login_manager.user_loader(load_staff)
            login_manager.login_view = "crm_accounts.login"
            login_manager.login_message_category = "warning"
            role_loader = self.role_loader or access.builtin_role
            user_loader: Callable[[str], Any] = self.user_loader or load_staff
        else:
            role_loader = self.role_loader or access.host_role
            host_loader = self.user_loader or login_manager.user_callback
            if host_loader is None:
                raise SetupError(
                    "CRM needs a way to load the host's users for API tokens: register "
                    "login_manager.user_loader first or pass CRM(user_loader=...)."
                )
            user_loader = host_loader

        state = CRMState(
            db=self.db,
            csrf=csrf,
            url_prefix=prefix,
            builtin_accounts=builtin,
            role_loader=role_loader,
            user_loader=user_loader,
            timeline_sources=list(timeline.DEFAULT_SOURCES),
        )
        app.extensions["crm"] = state

        from . import cli, features

        features.install(app, state)

        cli.register(app)
        if config["CRM_ENABLE_BLUEPRINTS"]:
            from . import blueprints

            blueprints.register(app, state)
