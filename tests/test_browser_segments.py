"""Browser tests of segments: type a query and watch the count, build one by clicking, save it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Segment
from tests import test_browser as browser
from tests.test_browser import BrowserLog, LiveServer, assert_styled, log_in
from wsgi import db

pytestmark = pytest.mark.browser

# The fixtures of the contact browser tests: the served app with CSRF on and three
# Wisconsin contacts (Grace and Daniel Okafor are volunteers, Grace in Madison), the
# system's Chromium, a fresh tab and its console log.
live_server = browser.live_server
chromium = browser.chromium
tab = browser.tab
log = browser.log


def test_organizer_types_a_query_sees_the_count_saves_it_and_opens_the_list(
    live_server: LiveServer, tab: Page, log: BrowserLog, tmp_path: Path
) -> None:
    """Type a query, watch the live count and sample, fix a mistake, save, open the list."""
    log_in(tab, live_server, live_server.staff["organizer"])
    tab.get_by_role("link", name="Segments", exact=True).click()
    expect(tab).to_have_url(f"{live_server.url}/crm/segments")
    expect(tab.locator("main")).to_contain_text("No segments yet.")
    tab.get_by_role("link", name="New segment").click()
    expect(tab.get_by_role("heading", name="New segment")).to_be_visible()
    assert_styled(tab)

    query = tab.get_by_label("Query")
    count = tab.locator("#segment-count")
    expect(count).to_have_text("—")
    query.press_sequentially("tag:volunteer", delay=20)
    expect(count).to_have_text("2 contacts")
    sample = tab.locator("#segment-sample a")
    expect(sample).to_have_text(["Okafor, Daniel", "Okafor, Grace"])
    # The builder follows the text.
    expect(tab.get_by_label("Tag", exact=True)).to_have_value("volunteer")

    query.press_sequentially(" and citi = Madison", delay=20)
    error = tab.locator("#text-error")
    expect(error).to_contain_text('Unknown field "citi" at column 19; did you mean "city"?')
    expect(error.locator("pre")).to_have_text(
        "tag:volunteer and citi = Madison\n" + " " * 18 + "^")
    expect(query).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(count).to_have_text("—")

    query.fill("tag:volunteer and city = Madison")
    expect(count).to_have_text("1 contact")
    expect(error).to_have_text("")
    expect(sample).to_have_text(["Okafor, Grace"])
    expect(tab.locator("#text-canonical")).to_contain_text(
        'tag:"volunteer" and city = Madison')
    expect(tab.get_by_label("Field")).to_have_count(2)
    shot = tmp_path / "segment-editor.png"
    tab.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 0

    tab.get_by_label("Name").fill("Madison volunteers")
    tab.get_by_role("button", name="Save segment").click()
    expect(tab).to_have_url(re.compile(r"/crm/segments/\d+$"))
    segment_id = int(tab.url.rsplit("/", 1)[1])
    expect(tab.get_by_role("alert")).to_contain_text("Saved the segment Madison volunteers.")
    expect(tab.get_by_role("heading", name="Madison volunteers")).to_be_visible()
    expect(count).to_have_text("1 contact")

    tab.get_by_role("link", name="Open in contact list").click()
    expect(tab).to_have_url(f"{live_server.url}/crm/contacts?segment={segment_id}")
    rows = tab.locator("table.contact-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Okafor, Grace")
    expect(tab.locator("#applied-segment")).to_contain_text("Madison volunteers")
    expect(tab.get_by_label("Segment")).to_have_value(str(segment_id))
    tab.get_by_role("link", name="Clear segment").click()
    expect(rows).to_have_count(len(browser.SEED_CONTACTS))

    # The list counts each segment once the page is shown; deleting asks first.
    tab.get_by_role("link", name="Segments", exact=True).click()
    expect(tab.locator(f'[data-segment-count="{segment_id}"]')).to_have_text("1")
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.get_by_role("button", name="Delete").click()
    expect(tab.get_by_role("alert")).to_contain_text("Deleted the segment Madison volunteers.")
    with live_server.app.app_context():
        assert db.session.get(Segment, segment_id) is None
        db.session.remove()
    log.assert_clean()


def test_viewer_clicks_a_condition_together_and_the_text_follows(
    live_server: LiveServer, tab: Page, log: BrowserLog
) -> None:
    """Add conditions with the builder; the query box shows their canonical text, and back."""
    log_in(tab, live_server, live_server.staff["viewer"])
    tab.get_by_role("link", name="Segments", exact=True).click()
    tab.get_by_role("link", name="Try a query").click()
    expect(tab.get_by_role("heading", name="Try a query")).to_be_visible()
    expect(tab.get_by_role("button", name=re.compile("Save"))).to_have_count(0)

    query = tab.get_by_label("Query")
    count = tab.locator("#segment-count")
    tab.get_by_role("button", name="Add condition").click()
    field = tab.get_by_label("Field")
    expect(field).to_be_focused()
    field.select_option("state")
    expect(tab.get_by_label("Operator")).to_have_value("=")
    tab.get_by_label("Value").select_option("WI")
    expect(query).to_have_value("state = WI")
    expect(count).to_have_text("3 contacts")

    tab.get_by_role("button", name="Add condition").click()
    tab.get_by_label("Field").last.select_option("tag")
    tab.get_by_label("Tag", exact=True).fill("volunteer")
    expect(query).to_have_value('state = WI and tag:"volunteer"')
    expect(count).to_have_text("2 contacts")

    tab.get_by_label("Match").select_option("any")
    expect(query).to_have_value('state = WI or tag:"volunteer"')
    tab.get_by_role("button", name="Remove condition").first.click()
    expect(query).to_have_value('tag:"volunteer"')

    # A value the field cannot take is pointed out on its row; the text waits for a fix.
    tab.get_by_role("button", name="Add condition").click()
    tab.get_by_label("Field").last.select_option("donations.total")
    tab.get_by_label("Value").fill("lots")
    expect(tab.locator("#builder-error")).to_contain_text(
        '"lots" is not an amount in dollars for donations.total')
    expect(tab.locator(".segment-condition.segment-invalid select").first).to_have_value(
        "donations.total")
    expect(count).to_have_text("—")
    expect(query).to_have_value('tag:"volunteer"')
    tab.get_by_label("Value").fill("10")
    expect(query).to_have_value('tag:"volunteer" or donations.total = 10')
    expect(tab.locator(".segment-invalid")).to_have_count(0)
    expect(count).to_have_text("2 contacts")

    # Typing rebuilds the builder, a not included.
    query.fill("state = WI and not tag:volunteer")
    expect(count).to_have_text("1 contact")
    expect(tab.locator("#segment-builder .segment-not")).to_have_count(1)
    expect(tab.get_by_label("Tag", exact=True)).to_have_value("volunteer")
    expect(tab.locator("#segment-sample a")).to_have_text(["Ortega, Luis"])
    log.assert_clean()
