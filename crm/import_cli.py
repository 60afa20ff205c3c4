"""The ``flask crm import`` command: preview a CSV file, then import it (or dry-run it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import current_app

from .cli import crm_cli
from .errors import ValidationFailed
from .imports import mapping as mappings
from .imports import rejects as reject_csv
from .imports.presets import FIELDS, PRESETS
from .imports.reading import UnreadableFile, open_csv
from .imports.rows import Reject
from .imports.runner import run_file

PREVIEW_ROWS = 5


class _Echo:
    """Commit after each batch and show how far the import got."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Keep the batch and print the row count."""
        self.session.commit()
        click.echo(f"  {done:,} rows", err=True)

    def should_stop(self) -> bool:
        """Never: stop the command with Ctrl-C; committed batches stay."""
        return False


@crm_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--preset", type=click.Choice(list(PRESETS)), help="Kind of file (detected).")
@click.option("--tag", "tags", multiple=True, help="Tag everyone in the file (repeatable).")
@click.option("--union", default=None, help="Union name for a roster without a Union column.")
@click.option("--dry-run", is_flag=True, help="Count what would happen; write nothing.")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write refused rows with line and reason to this CSV file.")
@click.option("--actor", default="command line", show_default=True,
              help="Who the audit log and consent history name.")
def import_command(path: Path, preset: str | None, tags: tuple[str, ...], union: str | None,
                   dry_run: bool, rejects_path: Path | None, actor: str) -> None:
    """Import contacts, donations and memberships from the CSV file PATH."""
    session = current_app.extensions["crm"].db.session
    try:
        source = open_csv(path)
    except (UnreadableFile, OSError) as exc:
        message = exc.message if isinstance(exc, UnreadableFile) else exc.strerror
        raise click.ClickException(f"Cannot read {path}: {message}") from None
    suggestion = mappings.suggestion(session, source.header, preset)
    click.echo(f"Encoding:  {source.encoding_label}")
    click.echo(f"Delimiter: {source.delimiter_label}")
    click.echo(f"Preset:    {suggestion.preset.label} ({suggestion.preset.name})"
               + (" with a saved mapping" if suggestion.saved else ""))
    click.echo("Mapping:")
    for column, target in suggestion.mapping.items():
        click.echo(f"  {column} -> {FIELDS.get(target, 'ignored')}")
    click.echo("First rows:")
    for record in source.first_records(PREVIEW_ROWS):
        click.echo(f"  line {record.line}: " + " | ".join(record.cells))
    refused: list[Reject] = []
    params = {"preset": suggestion.preset.name, "mapping": suggestion.mapping,
              "tags": list(tags), "union": union, "dry_run": dry_run, "actor": actor,
              "region": current_app.config["CRM_PHONE_REGION"],
              "timezone": current_app.config["CRM_TIMEZONE"]}
    try:
        counts = run_file(session, path, params, reporter=None if dry_run else _Echo(session),
                          on_rejects=refused.extend)
    except ValidationFailed as exc:
        session.rollback()
        raise click.ClickException("; ".join(exc.errors.values())) from None
    except UnreadableFile as exc:
        session.rollback()
        raise click.ClickException(f"Cannot read {path}: {exc.message}") from None
    except Exception:
        session.rollback()
        raise
    session.commit()
    click.echo("Dry run: nothing was written." if dry_run else "Done.")
    for name, value in counts.as_dict().items():
        if name not in ("stopped", "dry_run"):
            click.echo(f"  {name}: {value}")
    if rejects_path is not None:
        with rejects_path.open("w", encoding="utf-8", newline="") as out:
            reject_csv.write(out, source.header, [(r.line, r.reason, r.row) for r in refused])
        click.echo(f"Rejected rows written to {rejects_path}.")
    elif refused:
        for reject in refused[:10]:
            click.echo(f"  line {reject.line}: {reject.reason}")


def register() -> None:
    """Nothing to do: importing this module adds the command to ``flask crm``."""
