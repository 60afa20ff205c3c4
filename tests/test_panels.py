"""Features add sections to the contact page and links to the header through registries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from crm import contacts
from crm.panels import ContactPanel, NavItem
from wsgi import db


def test_a_registered_panel_and_link_appear(app: Flask, as_role: Callable[[str], FlaskClient],
                                            tmp_path: Path) -> None:
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "_test_panel.html").write_text(
        '<div class="test-panel">{{ panel.context.greeting }} {{ contact.first_name }}</div>')
    app.jinja_loader.searchpath.append(str(tmp_path))  # type: ignore[union-attr]
    state = app.extensions["crm"]

    def source(_session: Any, contact: Any) -> ContactPanel | None:
        return ContactPanel("crm/_test_panel.html", {"greeting": "Hello"}, column="main")

    state.add_panel_source(source)
    state.add_nav_item(NavItem("Staff only link", "crm_accounts.users", "manage_users"))
    with app.app_context():
        cid = contacts.create(db.session, {"email": "ana@example.org", "first_name": "Ana"},
                              actor="t").id
        db.session.commit()
    page = as_role("viewer").get(f"/crm/contacts/{cid}").get_data(as_text=True)
    assert '<div class="test-panel">Hello Ana</div>' in page
    assert "Staff only link" not in page
    assert "Staff only link" in as_role("admin").get("/crm/contacts").get_data(as_text=True)
