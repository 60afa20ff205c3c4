"""Browser test of an import: upload, preview and map, dry run, import job, rejects, result."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import test_browser as browser
from tests.test_browser import BrowserLog, LiveServer, assert_styled, log_in

pytestmark = pytest.mark.browser

# The fixtures of the contact browser tests, reused here: the served app with CSRF on,
# the system's Chromium (skipped when it is missing), a fresh tab and its console log.
live_server = browser.live_server
chromium = browser.chromium
tab = browser.tab
log = browser.log

# An event sign-in sheet as volunteers type it: three good rows, one bad email, one
# unknown state. "Workplace" is suggested as the employer; staff remap it to occupation.
HEADER = ["Name", "Email", "Phone", "City", "State", "Zip", "Workplace", "Notes"]
GOOD = [
    ["Rosa Alvarez", "rosa.alvarez@example.org", "608-555-0171", "Madison", "WI", "53703",
     "Madison Public Library", "Brought a friend"],
    ["Theo Brandt", "theo.brandt@example.org", "", "Milwaukee", "wi", "53202",
     "Harley Davidson", ""],
    ["Priya Chandra", "PRIYA.CHANDRA@example.org", "(414) 555-0172", "Racine", "WI", "53403",
     "", "Wants to phonebank"],
]
BAD = [
    (4, "invalid email 'sam.doyle.example.org'",
     ["Sam Doyle", "sam.doyle.example.org", "608-555-0173", "Madison", "WI", "53704",
      "UW Hospital", ""]),
    (6, "unknown state 'ZZ'",
     ["Lena Ekdahl", "lena.ekdahl@example.org", "", "Duluth", "ZZ", "55802", "", "Late"]),
]
# How long a small import may take in the server's job thread, with room for a slow CI.
JOB_TIMEOUT_MS = 30_000


def sign_in_sheet(folder: Path) -> Path:
    """Write the sign-in sheet as a spreadsheet program saves it (UTF-8, commas, CRLF)."""
    path = folder / "rally-sign-in.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows([*GOOD[:2], BAD[0][2], GOOD[2], BAD[1][2]])
    return path


def result_cell(name: str) -> str:
    """Return the selector of a dry-run count's value, by the count's name."""
    return f"#dry-run-result tr:has(th:text-is('{name}')) td"


def test_organizer_imports_a_sign_in_sheet(
    live_server: LiveServer, tab: Page, log: BrowserLog, tmp_path: Path
) -> None:
    """Upload, map, dry-run and import a sheet, follow the job, then fetch the rejects."""
    # Uploads wait in a folder of the test, never the instance folder of the checkout.
    live_server.app.config["CRM_IMPORT_DIR"] = str(tmp_path / "uploads")
    sheet = sign_in_sheet(tmp_path)

    log_in(tab, live_server, live_server.staff["organizer"])
    expect(tab).to_have_url(f"{live_server.url}/crm/contacts")
    tab.get_by_role("link", name="Import", exact=True).click()
    expect(tab).to_have_url(f"{live_server.url}/crm/imports/new")
    expect(tab.get_by_role("heading", name="Import a CSV file")).to_be_visible()
    assert_styled(tab)
    tab.get_by_label("CSV file").set_input_files(sheet)
    tab.get_by_role("button", name="Upload and preview").click()

    # The preview: what was detected, the suggested mapping and the first rows.
    expect(tab).to_have_url(re.compile(r"/crm/imports/[A-Za-z0-9_-]{32}/preview$"))
    preview_url = tab.url
    expect(tab.get_by_role("heading", name="Import rally-sign-in.csv")).to_be_visible()
    detected = tab.locator("dl").first
    expect(detected.locator("dt:has-text('Encoding') + dd")).to_have_text("UTF-8")
    expect(detected.locator("dt:has-text('Delimiter') + dd")).to_have_text("comma")
    expect(detected.locator("dt:has-text('Looks like') + dd")).to_have_text("Other spreadsheet")
    expect(tab.get_by_label("Kind of file")).to_have_value("generic")
    suggested = {"Name": "full_name", "Email": "email", "Phone": "phone", "City": "city",
                 "State": "state", "Zip": "zip", "Workplace": "employer", "Notes": "custom"}
    for column, chosen in suggested.items():
        expect(tab.get_by_label(f"Field for column {column}", exact=True)).to_have_value(chosen)
    first_rows = tab.locator("table.table-bordered tbody tr")
    expect(first_rows).to_have_count(len(GOOD) + len(BAD))
    expect(first_rows.first).to_contain_text("Rosa Alvarez")
    tab.get_by_label("Field for column Workplace", exact=True).select_option(label="Occupation")
    tab.get_by_label("Tags for everyone in the file").fill("event:2026-05-rally")

    # A dry run counts without writing, and keeps the choices made above.
    tab.get_by_role("button", name="Dry run").click()
    expect(tab).to_have_url(preview_url)
    dry = tab.locator("#dry-run-result")
    expect(dry.get_by_role("heading", name="Dry run: nothing was written")).to_be_visible()
    for name, count in {"rows": 5, "created": 3, "updated": 0, "rejected": 2}.items():
        expect(tab.locator(result_cell(name))).to_have_text(str(count))
    expect(dry.locator("li")).to_have_text(
        [f"Line {line}: {reason}" for line, reason, _cells in BAD])
    expect(tab.get_by_label("Field for column Workplace", exact=True)).to_have_value("occupation")
    expect(tab.get_by_label("Tags for everyone in the file")).to_have_value("event:2026-05-rally")

    # The import runs as a job in the server's job thread; its page follows it live.
    tab.get_by_role("button", name="Import", exact=True).click()
    expect(tab).to_have_url(re.compile(r"/crm/jobs/\d+$"))
    job_id = int(tab.url.rsplit("/", 1)[1])
    expect(tab.get_by_role("heading", name=re.compile(rf"Job #{job_id} · import"))).to_be_visible()
    expect(tab.get_by_role("progressbar", name="Job progress")).to_have_attribute(
        "aria-valuenow", "100", timeout=JOB_TIMEOUT_MS)
    expect(tab.locator("#job-status")).to_have_text("succeeded", timeout=JOB_TIMEOUT_MS)
    # The page reloads itself once the job ends and then shows the result it recorded.
    result = tab.locator("#job-result")
    expect(result).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(result.locator("dt:text-is('Created') + dd")).to_have_text("3")
    expect(result.locator("dt:text-is('Rejected') + dd")).to_have_text("2")
    expect(tab.locator("#job-count")).to_have_text("5 of 5 (100%)")

    # The refused rows come back as CSV: the sheet's columns, then line and reason.
    with tab.expect_download() as download_info:
        tab.get_by_role("link", name="Download rejected rows").click()
    download = download_info.value
    assert download.suggested_filename == f"import-{job_id}-rejects.csv"
    saved = tmp_path / "rejects.csv"
    download.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*HEADER, "line", "reason"]
    assert rows[1:] == [[*cells, str(line), reason] for line, reason, cells in BAD]

    # The imported people are contacts now, with the column mapped as chosen.
    tab.get_by_role("link", name="Contacts", exact=True).click()
    search = tab.get_by_label("Search", exact=True)
    search.fill("alvarez")
    search.press("Enter")
    expect(tab).to_have_url(re.compile(r"/crm/contacts\?(.*&)?q=alvarez"))
    expect(tab.locator("table.contact-table tbody tr")).to_have_count(1)
    tab.get_by_role("link", name="Alvarez, Rosa").click()
    expect(tab.get_by_role("heading", name="Rosa Alvarez")).to_be_visible()
    fields = tab.locator("dl.contact-fields").first
    expect(fields.locator("dt:has-text('Occupation') + dd")).to_have_text("Madison Public Library")
    expect(tab.locator("#tags")).to_contain_text("event:2026-05-rally")

    # Nothing is left running in the server when the test's database goes away.
    assert live_server.app.extensions["crm"].job_runner.join(timeout=10)
    log.assert_clean()
