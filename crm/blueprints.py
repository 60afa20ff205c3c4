"""Register the CRM's pages, accounts and API on a host app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request
from flask_bootstrap import Bootstrap5

from . import access, formatting
from .security import add_security_headers, reject_nul_bytes

if TYPE_CHECKING:
    from .extension import CRMState


def register(app: Flask, state: CRMState) -> None:
    """Mount the blueprints under the configured prefix and wire templates and headers."""
    from .account_views import accounts_bp
    from .api import api_bp, init_api
    from .views import bp

    if "bootstrap" not in app.extensions:
        # Bootstrap's files come from the installed package: no CDN, works offline.
        app.config.setdefault("BOOTSTRAP_SERVE_LOCAL", True)
        Bootstrap5(app)

    prefix = state.url_prefix
    app.register_blueprint(bp, url_prefix=prefix or None)
    if state.builtin_accounts:
        app.register_blueprint(accounts_bp, url_prefix=prefix or None)
    state.csrf.exempt(api_bp)  # the API checks CSRF itself for cookie sessions
    state.api = init_api(app, f"{prefix}/api/v1")

    def crm_context() -> dict[str, Any]:
        return {
            "crm_base": app.config["CRM_BASE_TEMPLATE"],
            "crm_org_name": app.config["CRM_ORG_NAME"],
            "crm_can": access.can,
            "crm_user": access.current_staff,
            "crm_role": lambda: access.role_of(access.current_staff()),
            "crm_builtin_accounts": state.builtin_accounts,
            "crm_nav": state.nav_items,
        }

    zone = app.config["CRM_TIMEZONE"]
    app.add_template_filter(formatting.phone, "crm_phone")
    app.add_template_filter(lambda v, fmt="%Y-%m-%d %H:%M": formatting.local_time(v, zone, fmt),
                            "crm_time")
    app.add_template_filter(formatting.audit_value, "crm_value")
    app.add_template_filter(formatting.field_label, "crm_label")

    for blueprint in (bp, accounts_bp):
        app.template_context_processors.setdefault(blueprint.name, []).append(crm_context)

    crm_blueprint_names = {bp.name, accounts_bp.name, api_bp.name}
    # Another package's pages (campaigns) join these through ``mount_pages``.
    state.page_context = crm_context
    state.page_blueprint_names = crm_blueprint_names

    @app.before_request
    def _crm_input_guard() -> None:
        if request.blueprint in crm_blueprint_names:
            reject_nul_bytes()

    if app.config["CRM_SECURITY_HEADERS"]:

        @app.after_request
        def _crm_headers(response: Response) -> Response:
            if request.blueprint in crm_blueprint_names:
                add_security_headers(response)
            return response


def mount_pages(app: Flask, state: CRMState, blueprint: Any, url_prefix: str = "") -> None:
    """Register another package's page blueprint under the CRM prefix, as a CRM page.

    Its templates get the CRM's layout context, and its requests the same input guard
    and security headers.
    """
    app.register_blueprint(blueprint, url_prefix=(state.url_prefix + url_prefix) or None)
    if state.page_context is not None:
        app.template_context_processors.setdefault(blueprint.name, []).append(
            state.page_context)
    state.page_blueprint_names.add(blueprint.name)
