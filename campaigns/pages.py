"""Mount the campaigns pages, the webhook and the API on the app, as part of the CRM."""

from __future__ import annotations

from typing import Any

from flask import Flask

from crm.blueprints import mount_pages
from crm.panels import NavItem


def register(app: Flask, crm_state: Any) -> None:
    """Register the campaign and Mailchimp pages, the webhook endpoint and the APIs."""
    from . import api, campaign_api, campaign_views, panel, respond_pages, views
    from .hook_views import hook_bp

    mount_pages(app, crm_state, views.bp)
    mount_pages(app, crm_state, campaign_views.bp)
    # Not a page: no layout, and its body is read (with its own size limit) by the view alone.
    app.register_blueprint(hook_bp, url_prefix=crm_state.url_prefix or None)
    crm_state.csrf.exempt(hook_bp)  # Mailchimp cannot send a CSRF token; the URL's secret guards
    crm_state.add_nav_item(NavItem("Campaigns", "campaign_pages.campaign_list", "view", 35))
    crm_state.add_nav_item(NavItem("Mailchimp", "campaigns.mailchimp_home", "view", 40))
    crm_state.add_panel_source(panel.mailchimp_panel)
    api.register(crm_state)
    campaign_api.register(crm_state)
    respond_pages.register(app, crm_state)
