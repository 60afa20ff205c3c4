"""Browser test of campaigns: a chip-in appeal from the starter previewed as a donor, approved
by a second organizer and sent to the sandbox; then a run-for-office ask answered from the
sandbox inbox, which moves the recruit's pipeline stage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import crm.donations
import crm.pipeline
from crm.segments import service as segments
from tests import test_browser as browser
from tests.test_browser import BrowserLog, LiveServer, assert_styled, log_in
from wsgi import db

pytestmark = pytest.mark.browser

live_server = browser.live_server
chromium = browser.chromium
tab = browser.tab
log = browser.log


def _log_out(tab: Page) -> None:
    tab.get_by_role("button", name="Log out").click()


def _wait_for_status(tab: Page, status: str) -> None:
    # The campaign page follows the send job and reloads once it ends.
    expect(tab.locator("#campaign-status")).to_have_text(status, timeout=30_000)


def test_appeal_and_ask_from_compose_to_a_moved_recruit(
    live_server: LiveServer, tab: Page, log: BrowserLog, tmp_path: Path
) -> None:
    app = live_server.app
    app.config["CRM_PUBLIC_URL"] = live_server.url  # the response links point at this server
    ids = live_server.contact_ids
    with app.app_context():
        grace, luis = ids["grace"], ids["luis"]
        crm.donations.create(db.session, grace, {"amount_cents": 5000}, actor="seed")
        crm.pipeline.add_to_pipeline(db.session, luis, stage="contacted", actor="seed")
        segments.create(db.session, {"name": "Donors", "text": "donations.count >= 1"},
                        actor="seed")
        segments.create(db.session, {"name": "Recruits", "text": "recruitment.stage = contacted"},
                        actor="seed")
        db.session.commit()
        db.session.remove()

    # -- a chip-in appeal from the starter, previewed as the donor --------------------------
    log_in(tab, live_server, live_server.staff["organizer"])
    tab.get_by_role("link", name="Campaigns", exact=True).click()
    tab.get_by_role("link", name="New chip-in appeal").click()
    tab.get_by_role("textbox", name="Name").fill("Spring training appeal")
    tab.get_by_role("button", name="Start the draft").click()
    expect(tab).to_have_url(re.compile(r"/crm/campaigns/\d+$"))
    expect(tab.get_by_label("Body", exact=True)).to_have_value(re.compile(r"\{\{ ask_1 \}\}"))
    tab.get_by_label("Segment").select_option(label="Donors")
    tab.get_by_role("button", name="Save draft").click()
    tab.get_by_label("Preview as").select_option(value=str(grace))
    frame = tab.frame_locator("#preview-frame")
    # Grace's highest gift is $50: her ladder is 50, 75, 100.
    expect(frame.get_by_role("link", name="Chip in $50")).to_be_visible()
    expect(frame.get_by_role("link", name="Chip in $75")).to_be_visible()
    expect(frame.get_by_role("link", name="Chip in $100")).to_be_visible()
    expect(frame.locator("body")).to_contain_text("Hi Grace")
    assert_styled(tab)
    tab.screenshot(path=tmp_path / "composer.png", full_page=True)
    tab.get_by_role("button", name="Save and mark ready").click()
    _wait_for_status(tab, "ready")
    expect(tab.locator("#audience-included")).to_have_text("1")
    expect(tab.locator("#approval-why")).to_be_visible()  # the author cannot approve
    _log_out(tab)

    # -- a second organizer (here the admin) approves and sends -----------------------------
    log_in(tab, live_server, live_server.staff["admin"])
    tab.goto(f"{live_server.url}/crm/campaigns")
    tab.get_by_role("link", name="Spring training appeal").click()
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.get_by_role("button", name="Approve").click()
    _wait_for_status(tab, "approved")
    tab.get_by_role("button", name=re.compile(r"Send now to 1 people")).click()
    _wait_for_status(tab, "sent")
    tab.screenshot(path=tmp_path / "sent.png", full_page=True)

    # -- a run-for-office ask to the recruit, answered from the sandbox inbox ---------------
    tab.goto(f"{live_server.url}/crm/campaigns")
    tab.get_by_role("link", name="New run-for-office ask").click()
    tab.get_by_role("textbox", name="Name").fill("School board ask")
    tab.get_by_role("button", name="Start the draft").click()
    tab.get_by_label("Segment").select_option(label="Recruits")
    tab.get_by_role("button", name="Save and mark ready").click()
    _wait_for_status(tab, "ready")
    tab.get_by_role("button", name=re.compile(r"Send now to 1 people")).click()
    _wait_for_status(tab, "sent")
    tab.get_by_role("link", name="Open the sandbox inbox").click()
    expect(tab.locator("#inbox tbody tr")).to_have_count(1)
    expect(tab.locator("#inbox")).to_contain_text("luis.ortega@example.org")
    tab.locator("#inbox tbody tr").first.get_by_role("link").first.click()
    message = tab.frame_locator("#message-frame")
    expect(message.locator("body")).to_contain_text("Hi Luis")
    expect(message.get_by_role("link", name=re.compile("interested in running", re.I))
           ).to_be_visible()
    tab.screenshot(path=tmp_path / "inbox-message.png", full_page=True)
    with tab.context.expect_page() as opened:  # the email's own button, in a new tab
        message.get_by_role("link", name=re.compile("interested in running", re.I)).click()
    landing = opened.value
    expect(landing.get_by_role("heading", name="Will you run for office?")).to_be_visible()
    expect(landing.get_by_role("link", name="Contacts")).to_have_count(0)  # no staff nav
    with app.app_context():
        assert crm.pipeline.get(db.session, luis).stage == "contacted"  # opening changed nothing
        db.session.remove()
    landing.get_by_role("button", name="Yes, I'm interested in running").click()
    expect(landing.get_by_role("heading", name="Thank you!")).to_be_visible()
    landing.close()

    tab.goto(f"{live_server.url}/crm/contacts/{luis}")
    expect(tab.locator("#pipeline")).to_contain_text("Interested")
    with app.app_context():
        assert crm.pipeline.get(db.session, luis).stage == "interested"
        db.session.remove()
    assert app.extensions["crm"].job_runner.join(10)
    log.assert_clean()
