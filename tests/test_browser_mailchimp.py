"""Browser test of a Mailchimp sync: dry run a segment, push it, follow it, open a refusal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import crm.contacts
from crm.segments import service as segments
from tests import test_browser as browser
from tests.test_browser import BrowserLog, LiveServer, assert_styled, log_in
from wsgi import db

pytestmark = pytest.mark.browser

# The contact browser tests' fixtures: the app served with CSRF on and the real thread
# runner, three Wisconsin contacts (Grace and Daniel Okafor are volunteers), the system's
# Chromium, a fresh tab and its console log.
live_server = browser.live_server
chromium = browser.chromium
tab = browser.tab
log = browser.log


def test_organizer_syncs_a_segment_and_opens_a_refused_contact(
    live_server: LiveServer, tab: Page, log: BrowserLog, tmp_path: Path
) -> None:
    """Dry run the volunteers, push them, watch the push finish, open the refused contact."""
    app = live_server.app
    with app.app_context():
        tess = crm.contacts.create(db.session, {
            "email": "test@example.com", "first_name": "Tess", "last_name": "Fake",
            "tags": ["volunteer"]}, actor="seed")
        segments.create(db.session, {"name": "Volunteers", "text": "tag:volunteer"},
                        actor="seed")
        db.session.commit()
        tess_id = tess.id
        db.session.remove()

    log_in(tab, live_server, live_server.staff["organizer"])
    tab.get_by_role("link", name="Mailchimp", exact=True).click()
    expect(tab).to_have_url(f"{live_server.url}/crm/mailchimp")
    expect(tab.locator("#sandbox-notice")).to_contain_text(
        "Sandbox Mailchimp: nothing leaves this machine.")
    expect(tab.locator("#audience-name")).to_have_text("Sandbox audience")
    assert_styled(tab)
    tab.screenshot(path=tmp_path / "mailchimp-home.png", full_page=True)

    tab.get_by_role("link", name="New sync", exact=True).click()
    tab.get_by_label("Segment").select_option(label="Volunteers")
    tab.get_by_role("button", name="Dry run").click()
    expect(tab).to_have_url(re.compile(r"/crm/mailchimp/syncs/\d+$"))
    # The page follows the job and reloads with the plan once it is done.
    expect(tab.locator("#plan-add")).to_have_text("3")
    expect(tab.locator("#plan-skip")).to_have_text("0")
    expect(tab.locator("#sync-status")).to_have_text("dry run done")
    expect(tab.locator("#sample-adds")).to_contain_text("grace.okafor@example.org")
    tab.screenshot(path=tmp_path / "mailchimp-dry-run.png", full_page=True)

    # Slow the sandbox down so the push can be watched while it runs.
    app.extensions["campaigns"].sandbox.server.faults.latency = 0.25
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.get_by_role("button", name="Push 3 members to Mailchimp").click()
    expect(tab.get_by_role("alert")).to_contain_text("Pushing to Mailchimp")
    expect(tab.locator("#job-progress")).to_be_visible()
    expect(tab.get_by_role("button", name="Stop")).to_be_visible()
    tab.screenshot(path=tmp_path / "mailchimp-pushing.png", full_page=True)
    expect(tab.locator("#push-added")).to_have_text("2", timeout=30_000)
    app.extensions["campaigns"].sandbox.server.faults.latency = 0
    expect(tab.locator("#sync-status")).to_have_text("pushed")
    expect(tab.locator("#push-errors")).to_have_text("1")
    expect(tab.locator("#job-progress")).to_have_count(0)
    expect(tab.get_by_role("button", name="Stop")).to_have_count(0)
    tab.screenshot(path=tmp_path / "mailchimp-pushed.png", full_page=True)

    refused = tab.locator("#review-items tbody tr")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("looks fake or invalid")
    refused.get_by_role("link", name="Tess Fake").click()
    expect(tab).to_have_url(f"{live_server.url}/crm/contacts/{tess_id}")
    expect(tab.get_by_role("heading", name="Tess Fake")).to_be_visible()
    expect(tab.locator("#mailchimp-review")).to_contain_text("Mailchimp refused test@example.com")

    state = app.extensions["campaigns"].sandbox.server.state
    emails = {m["email_address"] for m in state.all_members(state.default_list_id)}
    assert emails == {"grace.okafor@example.org", "daniel.okafor@example.org"}
    assert app.extensions["crm"].job_runner.join(10)
    log.assert_clean()
