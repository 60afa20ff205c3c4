"""The import pages in the authorization matrix: only organizers and admins may import."""

from __future__ import annotations

import json
import secrets
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app

from crm.models import ImportReject, Job

# One folder for the whole test run, removed when the interpreter exits.
_UPLOADS = tempfile.TemporaryDirectory(prefix="crm-authz-imports-")

ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("crm.import_start", "GET"): ("edit", {}, None),
    ("crm.import_start", "POST"): ("edit", {}, {}),
    ("crm.import_preview", "GET"): ("edit", {"token": "IMPORT_TOKEN"}, None),
    ("crm.import_preview", "POST"): ("edit", {"token": "IMPORT_TOKEN"},
                                     {"preset": "generic", "col_0": "email",
                                      "col_1": "first_name", "dry_run": "Dry run"}),
    ("crm.import_rejects", "GET"): ("edit", {"job_id": "IMPORT_JOB"}, None),
}


def seed(session: Any, ids: dict[str, Any]) -> None:
    """Leave an upload to preview and an import job with a rejected row."""
    current_app.config["CRM_IMPORT_DIR"] = _UPLOADS.name
    token = secrets.token_urlsafe(24)
    folder = Path(_UPLOADS.name)
    (folder / f"{token}.csv").write_text("Email,First Name\nnew.person@example.org,Nia\n")
    (folder / f"{token}.json").write_text(json.dumps({"name": "list.csv"}))
    job = Job(kind="import", params={"header": ["Email", "First Name"]}, status="succeeded")
    session.add(job)
    session.flush()
    session.add(ImportReject(job_id=job.id, line_number=2, reason="invalid email 'x'",
                             row={"Email": "x", "First Name": "=HYPERLINK()"}))
    ids["IMPORT_TOKEN"] = token
    ids["IMPORT_JOB"] = job.id
