"""Import pages: upload a CSV file, preview and map it, dry-run or import, download rejects."""

from __future__ import annotations

import io
import json
import re
import secrets
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from . import access
from .access import require
from .current import db_session as _session
from .errors import ValidationFailed
from .import_forms import PreviewForm, UploadForm, mapping_form, read_mapping
from .imports import mapping as mappings
from .imports import rejects as reject_csv
from .imports import uploads
from .imports.presets import PRESETS
from .imports.reading import CsvSource, UnreadableFile, open_csv
from .imports.rows import Reject
from .imports.runner import handler, run_file
from .models import ImportReject, Job
from .panels import NavItem
from .validation import normalize_tag
from .views import bp

TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
PREVIEW_ROWS = 10
SAMPLE_REJECTS = 20



def upload_dir() -> Path:
    """Return the folder uploads wait in between upload and import."""
    folder = current_app.config.get("CRM_IMPORT_DIR") or Path(current_app.instance_path) / "imports"
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _upload(token: str) -> tuple[Path, dict[str, Any]]:
    """Return an upload's file and its details; 404 for a token we did not issue."""
    # Only our own token shape reaches the file system: no path can be smuggled in.
    if not TOKEN.fullmatch(token):
        abort(404)
    path = upload_dir() / f"{token}.csv"
    meta = upload_dir() / f"{token}.json"
    if not path.is_file() or not meta.is_file():
        abort(404)
    return path, json.loads(meta.read_text())


@bp.route("/imports/new", methods=["GET", "POST"])
@require("edit")
def import_start() -> ResponseReturnValue:
    """Upload a CSV file to import."""
    limit = int(current_app.config["CRM_IMPORT_MAX_BYTES"])
    # Refuse an oversized body before it is spooled to disk (a little room for the form).
    request.max_content_length = limit + 64 * 1024
    form = UploadForm(max_bytes=limit)
    if form.validate_on_submit():
        uploads.sweep(upload_dir(), float(current_app.config["CRM_IMPORT_KEEP_HOURS"]) * 3600,
                      keep=uploads.in_use(_session()))
        token = secrets.token_urlsafe(24)
        path = upload_dir() / f"{token}.csv"
        form.file.data.save(path)
        try:
            open_csv(path)
        except UnreadableFile as exc:
            path.unlink(missing_ok=True)
            flash(exc.message, "danger")
            return render_template("crm/imports/new.html", form=form), 422
        name = str(form.file.data.filename or "upload.csv")[:200]
        details = {"name": name, "uploaded_by": access.actor_label()}
        (upload_dir() / f"{token}.json").write_text(json.dumps(details))
        return redirect(url_for("crm.import_preview", token=token))
    status = 422 if request.method == "POST" else 200
    return render_template("crm/imports/new.html", form=form), status


@bp.route("/imports/<token>/preview", methods=["GET", "POST"])
@require("edit")
def import_preview(token: str) -> ResponseReturnValue:
    """Show what was detected, map the columns, then dry-run or import."""
    path, details = _upload(token)
    try:
        source = open_csv(path)
    except UnreadableFile as exc:
        flash(exc.message, "danger")
        return redirect(url_for("crm.import_start"))
    header = source.header
    session = _session()
    chosen = request.form.get("preset") if request.method == "POST" else None
    if chosen not in PRESETS:
        chosen = None
    suggestion = mappings.suggestion(session, header, chosen)
    result: dict[str, Any] | None = None
    samples: list[Reject] = []
    status = 200
    if request.method == "POST" and "apply_preset" in request.form:
        # A new kind of file: offer its mapping instead of what was posted.
        form = mapping_form(header, suggestion.mapping, formdata=None)
        form.preset.data = suggestion.preset.name
        form.tags.data = request.form.get("tags", "")
        form.union.data = request.form.get("union", "")
    else:
        form = mapping_form(header, suggestion.mapping)
        if request.method == "GET":
            form.preset.data = suggestion.preset.name
        if form.validate_on_submit():
            try:
                params = _params(form, source, path, details)
            except ValidationFailed as exc:
                session.rollback()
                for message in exc.errors.values():
                    flash(message, "danger")
                status = 422
            else:
                if form.start.data:
                    return _start(params)
                result, samples = _dry_run(path, params)
                if result is None:
                    return _start({**params, "dry_run": True})
        elif request.method == "POST":
            status = 422
    records = source.first_records(PREVIEW_ROWS)
    return render_template(
        "crm/imports/preview.html", form=form, source=source, details=details,
        records=records, header=header, suggestion=suggestion, result=result,
        samples=samples, column_fields=[form[f"col_{i}"] for i in range(len(header))],
    ), status


def _params(form: PreviewForm, source: CsvSource, path: Path,
            details: dict[str, Any]) -> dict[str, Any]:
    """Return the job parameters the form asks for; save the mapping if asked."""
    mapping = mappings.check(source.header, read_mapping(form, source.header))
    tags = [t for t in (form.tags.data or "").split(",") if t.strip()]
    for name in tags:
        try:
            normalize_tag(name)
        except ValueError as exc:
            raise ValidationFailed({"tags": str(exc)}) from None
    preset = form.preset.data or "generic"
    actor = access.actor_label()
    if form.save_mapping.data:
        mappings.save(_session(), source.header, mapping, preset=preset, actor=actor,
                      name=form.mapping_name.data or str(details.get("name", "")))
        _session().commit()
    config = current_app.config
    return {"path": str(path), "file_name": details.get("name"), "preset": preset,
            "mapping": mapping, "tags": tags, "union": (form.union.data or "").strip() or None,
            "region": config["CRM_PHONE_REGION"], "timezone": config["CRM_TIMEZONE"],
            "actor": actor, "header": source.header, "encoding": source.encoding}


def _dry_run(path: Path, params: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Reject]]:
    """Count what an import would do, here for a small file; None for a big one (a job)."""
    if path.stat().st_size > int(current_app.config["CRM_IMPORT_INLINE_DRY_RUN_BYTES"]):
        return None, []
    samples: list[Reject] = []

    def keep(rejects: list[Reject]) -> None:
        samples.extend(rejects[: SAMPLE_REJECTS - len(samples)])

    session = _session()
    session.commit()  # the dry run rolls back everything after this point
    counts = run_file(session, path, {**params, "dry_run": True}, on_rejects=keep)
    return counts.as_dict(), samples


def _start(params: dict[str, Any]) -> ResponseReturnValue:
    """Start the import job and show its progress."""
    from .job_runner import start_job

    job = start_job("import", params, started_by=access.actor_label())
    return redirect(url_for("crm.job_detail", job_id=job.id))


@bp.route("/imports/<int(max=2147483647):job_id>/rejects.csv")
@require("edit")
def import_rejects(job_id: int) -> ResponseReturnValue:
    """Download an import's refused rows with their line numbers and reasons."""
    session = _session()
    job = session.get(Job, job_id)
    if job is None or job.kind != "import":
        abort(404)
    stmt = (select(ImportReject.line_number, ImportReject.reason, ImportReject.row)
            .where(ImportReject.job_id == job.id)
            .order_by(ImportReject.line_number, ImportReject.id))
    rows = [(line, reason, row or {}) for line, reason, row in session.execute(stmt)]
    header = [str(h) for h in (job.params or {}).get("header") or []]
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    reject_csv.write(out, header, rows)
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{job.id}-rejects.csv"',
        "Cache-Control": "no-store"})


def install(app: Flask, state: Any) -> None:
    """Add the import pages, the "import" job kind, the header link and the CLI command."""
    from . import import_cli

    app.config.setdefault("CRM_IMPORT_MAX_BYTES", 200_000_000)
    app.config.setdefault("CRM_IMPORT_INLINE_DRY_RUN_BYTES", 5_000_000)
    app.config.setdefault("CRM_IMPORT_DIR", None)
    app.config.setdefault("CRM_IMPORT_KEEP_HOURS", 24)
    state.add_job_handler("import", handler)
    state.add_nav_item(NavItem("Import", "crm.import_start", "edit", 60))
    import_cli.register()
