"""The import pages and the ``flask crm import`` command."""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from crm import jobs
from crm.job_runner import run_now
from crm.models import Contact, ImportMapping, Job
from wsgi import db

DATA = Path(__file__).parent / "data" / "imports"


class Recorder:
    """A job runner that only remembers what it was given."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def dispatch(self, app: Flask, job_id: int) -> None:
        self.ids.append(job_id)


@pytest.fixture
def organizer(app: Flask, tmp_path: Path, as_role: Callable[[str], FlaskClient]) -> FlaskClient:
    app.config["CRM_IMPORT_DIR"] = str(tmp_path / "uploads")
    app.extensions["crm"].job_runner = Recorder()
    return as_role("organizer")


def upload(client: FlaskClient, name: str, data: bytes | None = None) -> str:
    body = data if data is not None else (DATA / name).read_bytes()
    response = client.post("/crm/imports/new", data={"file": (io.BytesIO(body), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    match = re.fullmatch(r"/crm/imports/([A-Za-z0-9_-]{32})/preview", response.headers["Location"])
    assert match
    return match.group(1)


def contacts_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Contact)))


def test_upload_preview_dry_run_and_import(app: Flask, organizer: FlaskClient,
                                           tmp_path: Path) -> None:
    token = upload(organizer, "event_messy.csv")
    stored = list((tmp_path / "uploads").iterdir())
    assert sorted(p.name for p in stored) == [f"{token}.csv", f"{token}.json"]
    page = organizer.get(f"/crm/imports/{token}/preview").get_data(as_text=True)
    for text in ("UTF-8", "comma", "Other spreadsheet", "event_messy.csv", "Brought",
                 'selected value="full_name"', "Save this mapping"):
        assert text in page, text
    form = {f"col_{i}": field for i, field in enumerate(
        ["full_name", "last_name", "email", "phone", "city", "state", "zip", "custom", ""])}
    form |= {"preset": "generic", "tags": "event:2026-05-rally"}
    response = organizer.post(f"/crm/imports/{token}/preview", data={**form, "dry_run": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Dry run: nothing was written" in page
    assert "Line 9: invalid email" in page
    assert contacts_count(app) == 0
    response = organizer.post(f"/crm/imports/{token}/preview",
                              data={**form, "start": "1", "save_mapping": "y",
                                    "mapping_name": "Rally sheet"})
    assert response.status_code == 302
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert app.extensions["crm"].job_runner.ids == [job_id]
    job = run_now(app, job_id)
    assert job.status == "succeeded" and job.result["created"] == 3
    assert contacts_count(app) == 3
    with app.app_context():
        saved = db.session.scalars(select(ImportMapping)).one()
        assert saved.name == "Rally sheet" and saved.mapping["columns"]["Notes"] == "custom"
        job = db.session.get(Job, job_id)
        assert job is not None and job.started_by == "organizer@example.org"
    rejects = organizer.get(f"/crm/imports/{job_id}/rejects.csv")
    assert rejects.status_code == 200 and rejects.mimetype == "text/csv"
    lines = rejects.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "Name,Surname,E-mail,Phone,City,State,Zip,Notes,Shirt size,extra 1," \
                       "extra 2,line,reason"
    assert lines[1] == "Vic,Wong,vic@example.org,12,Madison,WI,53703,,S,,,7," \
                       "invalid phone number '12'"
    assert len(lines) == 6
    # The saved mapping is offered for the next file with the same columns.
    page = organizer.get(f"/crm/imports/{upload(organizer, 'event_messy.csv')}/preview")
    assert "(saved mapping)" in page.get_data(as_text=True)


def test_bad_uploads(organizer: FlaskClient, app: Flask) -> None:
    response = organizer.post("/crm/imports/new", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a CSV file" in response.get_data(as_text=True)
    response = organizer.post("/crm/imports/new",
                              data={"file": (io.BytesIO(b"\x00\x01PK"), "x.xlsx")},
                              content_type="multipart/form-data")
    assert response.status_code == 422 and "binary data" in response.get_data(as_text=True)
    app.config["CRM_IMPORT_MAX_BYTES"] = 10
    response = organizer.post("/crm/imports/new",
                              data={"file": (io.BytesIO(b"Email\n" + b"a" * 50), "x.csv")},
                              content_type="multipart/form-data")
    assert response.status_code == 422 and "larger than" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", ["../../etc/passwd", "..%2F..%2Fwsgi", "A" * 32, "short",
                                   "A" * 31 + "."])
def test_forged_tokens_are_not_found(organizer: FlaskClient, token: str) -> None:
    assert organizer.get(f"/crm/imports/{token}/preview").status_code == 404


def test_mapping_errors_are_shown(organizer: FlaskClient) -> None:
    token = upload(organizer, "event_semicolon_bom.csv")
    response = organizer.post(f"/crm/imports/{token}/preview",
                              data={"preset": "generic", "col_0": "first_name",
                                    "col_1": "first_name", "dry_run": "1"})
    assert response.status_code == 422
    assert "already taken" in response.get_data(as_text=True)


def test_rejects_of_another_kind_of_job_are_not_found(organizer: FlaskClient, app: Flask) -> None:
    with app.app_context():
        job = Job(kind="sync", params={})
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    assert organizer.get(f"/crm/imports/{job_id}/rejects.csv").status_code == 404
    assert organizer.get("/crm/imports/999999/rejects.csv").status_code == 404


def test_cli_preview_dry_run_and_import(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    path = str(DATA / "actblue.csv")
    result = runner.invoke(args=["crm", "import", path, "--dry-run"])
    assert result.exit_code == 0, result.output
    for text in ("Encoding:  UTF-8", "Delimiter: comma", "ActBlue contributions (actblue)",
                 "Receipt ID -> Donation receipt id", "line 2: AB1001", "Dry run",
                 "created: 4", "rejected: 2", "line 6: amount is not a number"):
        assert text in result.output, text
    assert contacts_count(app) == 0
    out = tmp_path / "rejects.csv"
    result = runner.invoke(args=["crm", "import", path, "--tag", "donor", "--rejects", str(out)])
    assert result.exit_code == 0, result.output
    assert "created: 4" in result.output and "donations_created: 5" in result.output
    assert contacts_count(app) == 4
    assert out.read_text().splitlines()[1].endswith(",6,amount is not a number ('abc')")
    again = runner.invoke(args=["crm", "import", path])
    assert "created: 0" in again.output and "donations_created: 0" in again.output


@pytest.mark.parametrize("name", ["empty.csv", "binary.csv", "nowhere.csv"])
def test_cli_unreadable_file(app: Flask, name: str) -> None:
    result = app.test_cli_runner().invoke(args=["crm", "import", str(DATA / name)])
    assert result.exit_code != 0 and "Cannot read" in result.output


def test_nav_link_for_editors(as_role: Callable[[str], FlaskClient]) -> None:
    assert 'href="/crm/imports/new"' in as_role("organizer").get("/crm/contacts").get_data(
        as_text=True)
    assert 'href="/crm/imports/new"' not in as_role("viewer").get("/crm/contacts").get_data(
        as_text=True)


def test_csrf_is_required(csrf_app: Flask, tmp_path: Path) -> None:
    from tests.conftest import csrf_from

    uploads = tmp_path / "uploads"
    csrf_app.config["CRM_IMPORT_DIR"] = str(uploads)
    with csrf_app.app_context():
        import crm.staff

        crm.staff.create_user(db.session, "o@example.org", "correct horse battery",
                              role="organizer")
        db.session.commit()
    client = csrf_app.test_client()
    page: Any = client.get("/crm/login")
    client.post("/crm/login", data={"email": "o@example.org", "csrf_token": csrf_from(page.data),
                                    "password": "correct horse battery"})
    response = client.post("/crm/imports/new",
                           data={"file": (io.BytesIO(b"Email\na@example.org\n"), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (400, 422)
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_uploads_nobody_came_back_for_are_deleted(app: Flask, organizer: FlaskClient,
                                                   tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    old = upload(organizer, "roster.csv")
    needed = upload(organizer, "actblue.csv")
    with app.app_context():
        jobs.create(db.session, "import", {"path": str(folder / f"{needed}.csv")},
                    started_by="tester")
        db.session.commit()
    two_days_ago = time.time() - 48 * 3600
    for token in (old, needed):
        for suffix in (".csv", ".json"):
            os.utime(folder / f"{token}{suffix}", (two_days_ago, two_days_ago))
    fresh = upload(organizer, "event_messy.csv")
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(f"{t}{s}" for t in (needed, fresh) for s in (".csv", ".json"))
    assert organizer.get(f"/crm/imports/{old}/preview").status_code == 404


def test_sweep_keeps_recent_uploads_and_other_files(tmp_path: Path) -> None:
    from crm.imports import uploads

    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("x")
    now = time.time()
    assert uploads.sweep(tmp_path, 3600, now=now) == []
    assert uploads.sweep(tmp_path, 3600, now=now + 7200) == ["a.csv", "a.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
