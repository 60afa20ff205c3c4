"""Browser tests: staff use the real pages in headless Chromium, with CSRF and the strict CSP on."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)
from werkzeug.serving import BaseWSGIServer, make_server

import crm.contacts
from tests.conftest import PASSWORD
from wsgi import db

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Seeded contacts, keyed by a short name the tests use. Two share a last name so the
# search has to narrow to the right one; the third must not match the search at all.
SEED_CONTACTS: dict[str, dict[str, Any]] = {
    "grace": {
        "email": "grace.okafor@example.org", "first_name": "Grace", "last_name": "Okafor",
        "phone": "608-555-0134", "street": "12 Willy St", "city": "Madison", "state": "WI",
        "zip": "53703", "employer": "Madison Metropolitan School District",
        "occupation": "Teacher", "source": "rally sign-in sheet",
        "tags": ["union-member", "volunteer"],
    },
    "daniel": {
        "email": "daniel.okafor@example.org", "first_name": "Daniel", "last_name": "Okafor",
        "city": "Green Bay", "state": "WI", "occupation": "Nurse", "tags": ["volunteer"],
    },
    "luis": {
        "email": "luis.ortega@example.org", "first_name": "Luis", "last_name": "Ortega",
        "city": "Milwaukee", "state": "WI", "occupation": "Electrician",
    },
}


@dataclass
class LiveServer:
    """The standalone app served over HTTP, with what was seeded into its database."""

    url: str
    app: Flask
    staff: dict[str, str]
    contact_ids: dict[str, int]


@dataclass
class BrowserLog:
    """Everything a page reported while a test drove it."""

    console: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Start recording console messages, uncaught errors and failed loads of the page."""
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        line = f"{message.type}: {message.text}"
        self.console.append(line)
        # Chromium also logs every 4xx answer here ("Failed to load resource"), including
        # the 401/403 pages a test asks for and its own favicon probe; asset loads are
        # checked through the response events instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(line)

    def _on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}")

    def _on_request_failed(self, request: Request) -> None:
        # Leaving a page cancels its late loads; only a load that really failed counts.
        if request.failure != "net::ERR_ABORTED":
            self.failed_requests.append(f"{request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        # Pages may answer 401/422 on purpose; the files they load must not fail.
        if response.request.resource_type != "document" and response.status >= 400:
            self.failed_requests.append(f"{response.url}: HTTP {response.status}")

    def csp_violations(self) -> list[str]:
        """Return the console lines where Chromium reported a Content-Security-Policy block."""
        return [line for line in self.console if "Content Security Policy" in line]

    def assert_clean(self) -> None:
        """Fail on any CSP violation, JS error, console error or failed asset load."""
        assert self.csp_violations() == [], self.csp_violations()
        assert self.page_errors == [], self.page_errors
        assert self.console_errors == [], self.console_errors
        assert self.failed_requests == [], self.failed_requests


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve the app on a free local port in a background thread; yield its base URL."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def live_server(csrf_app: Flask, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """The app with CSRF on, seeded with staff and contacts, served over HTTP."""
    # Both apps share one database and each one builds its tables afresh, so the staff
    # accounts must be made after the served app exists, not before.
    staff: dict[str, str] = request.getfixturevalue("staff_users")
    contact_ids: dict[str, int] = {}
    with csrf_app.app_context():
        for key, data in SEED_CONTACTS.items():
            contact = crm.contacts.create(db.session, data, actor="seed")
            contact_ids[key] = contact.id
        db.session.commit()
        db.session.remove()
    with serve(csrf_app) as url:
        yield LiveServer(url=url, app=csrf_app, staff=staff, contact_ids=contact_ids)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Chromium from the system, shared by the tests of this module."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def tab(chromium: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context (own cookies), 1280 pixels wide."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def log(tab: Page) -> BrowserLog:
    """The console, errors and failed loads of ``tab``."""
    recorder = BrowserLog()
    recorder.attach(tab)
    return recorder


def log_in(page: Page, server: LiveServer, email: str, password: str = PASSWORD) -> None:
    """Log in through the login page as a person would."""
    response = page.goto(f"{server.url}/crm/login")
    assert response is not None and response.ok
    # The policy is really sent, so a page breaking it would show up as a violation.
    assert "script-src 'self'" in (response.header_value("content-security-policy") or "")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def assert_styled(page: Page) -> None:
    """Check Bootstrap's stylesheet applied (a primary button is blue, not a grey default)."""
    color = page.locator(".btn-primary").first.evaluate(
        "element => getComputedStyle(element).backgroundColor"
    )
    assert color == "rgb(13, 110, 253)", color


def test_organizer_searches_edits_and_sees_the_audit_entry(
    live_server: LiveServer, tab: Page, log: BrowserLog, tmp_path: Path
) -> None:
    """An organizer logs in, finds a contact by search, edits a field and sees it audited."""
    log_in(tab, live_server, live_server.staff["organizer"])
    expect(tab).to_have_url(f"{live_server.url}/crm/contacts")
    expect(tab.locator(".navbar")).to_contain_text("organizer@example.org")
    assert_styled(tab)

    search = tab.get_by_label("Search", exact=True)
    search.click()
    search.press_sequentially("okafor")
    search.press("Enter")
    expect(tab).to_have_url(re.compile(r"/crm/contacts\?(.*&)?q=okafor"))
    rows = tab.locator("table.contact-table tbody tr")
    expect(rows).to_have_count(2)
    expect(tab.locator("table.contact-table")).not_to_contain_text("Ortega")
    tab.get_by_role("link", name="Okafor, Grace").click()

    grace_url = f"{live_server.url}/crm/contacts/{live_server.contact_ids['grace']}"
    expect(tab).to_have_url(grace_url)
    expect(tab.get_by_role("heading", name="Grace Okafor")).to_be_visible()
    tab.get_by_role("link", name="Edit", exact=True).click()

    expect(tab).to_have_url(f"{grace_url}/edit")
    occupation = tab.get_by_label("Occupation")
    expect(occupation).to_have_value("Teacher")
    occupation.fill("School librarian")
    tab.get_by_role("button", name="Save").click()

    expect(tab).to_have_url(grace_url)
    expect(tab.get_by_role("alert")).to_contain_text("Saved.")
    fields = tab.locator("dl.contact-fields")
    expect(fields.locator("dt:has-text('Occupation') + dd")).to_have_text("School librarian")
    edited = tab.locator("#timeline li.timeline-audit").filter(has_text="Contact edited")
    expect(edited).to_have_count(1)
    expect(edited).to_contain_text("organizer@example.org")
    changed = edited.locator("table.changes tbody tr")
    # Saving the whole form changed one field only: no blank-versus-missing noise.
    expect(changed).to_have_count(1)
    expect(changed.locator("td")).to_have_text(["Occupation", "Teacher", "School librarian"])

    shot = tmp_path / "contact.png"
    tab.screenshot(path=shot, full_page=True)
    assert shot.exists() and shot.stat().st_size > 0

    # The server thread wrote to the same database the test reads.
    with live_server.app.app_context():
        contact = crm.contacts.get(db.session, live_server.contact_ids["grace"])
        assert contact.occupation == "School librarian"
        db.session.remove()
    log.assert_clean()


def test_viewer_sees_no_edit_controls(live_server: LiveServer, tab: Page, log: BrowserLog) -> None:
    """A viewer can read a contact but gets no button or form that would change anything."""
    log_in(tab, live_server, live_server.staff["viewer"])
    expect(tab).to_have_url(f"{live_server.url}/crm/contacts")
    expect(tab.locator("table.contact-table tbody tr")).to_have_count(len(SEED_CONTACTS))
    expect(tab.get_by_role("link", name="New contact")).to_have_count(0)
    expect(tab.get_by_role("link", name="Staff")).to_have_count(0)

    tab.get_by_role("link", name="Okafor, Grace").click()
    expect(tab.get_by_role("heading", name="Grace Okafor")).to_be_visible()
    expect(tab.locator("#tags")).to_contain_text("union-member")
    expect(tab.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    expect(tab.get_by_role("button", name="Delete")).to_have_count(0)
    expect(tab.get_by_role("button", name="Add note")).to_have_count(0)
    expect(tab.get_by_placeholder("Add a tag")).to_have_count(0)
    expect(tab.locator("#tags button")).to_have_count(0)
    expect(tab.locator("main form")).to_have_count(0)

    # Typing the edit address is refused as well.
    tab.wait_for_load_state("load")
    response = tab.goto(f"{tab.url}/edit")
    assert response is not None and response.status == 403
    expect(tab.locator("main")).to_contain_text("Your role cannot do this.")
    log.assert_clean()


def test_wrong_password_stays_on_login(
    live_server: LiveServer, tab: Page, log: BrowserLog
) -> None:
    """A wrong password shows the error and leaves the person on the login page."""
    log_in(tab, live_server, live_server.staff["organizer"], password="not the password")
    expect(tab.get_by_role("alert")).to_contain_text("Wrong email or password.")
    expect(tab).to_have_url(f"{live_server.url}/crm/login")
    expect(tab.get_by_role("heading", name="Log in")).to_be_visible()
    expect(tab.get_by_label("Email")).to_have_value(live_server.staff["organizer"])
    expect(tab.get_by_label("Password")).to_have_value("")
    expect(tab.get_by_role("button", name="Log out")).to_have_count(0)
    log.assert_clean()
