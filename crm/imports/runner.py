"""Run an import of a stored file, from a job, the command line or a dry run on a page."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from . import mapping as mappings
from .bulk import page_cache
from .checking import checked
from .engine import BATCH_SIZE, COMMIT_SECONDS, Counts, Importer, Options, RejectSink
from .presets import PRESETS, detect
from .reading import CsvSource, count_lines, open_csv
from .rows import Spec

PAGE_CACHE_MB = 128


class Reporter(Protocol):
    """What the job runner hands a handler to report progress and ask about stopping."""

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Store progress and commit."""

    def should_stop(self) -> bool:
        """Tell whether staff asked the job to stop."""


def build(source: CsvSource, params: dict[str, Any]) -> tuple[Spec, Options]:
    """Turn job parameters into the row checker's spec and the importer's options."""
    preset = PRESETS.get(str(params.get("preset") or ""), None) or detect(source.header)
    columns = params.get("mapping") or mappings.suggest_for(source.header, preset)
    spec = Spec(source.header, mappings.check(source.header, columns),
                region=str(params.get("region") or "US"),
                timezone=str(params.get("timezone") or "UTC"),
                union=(str(params["union"]).strip() or None) if params.get("union") else None,
                file_status="subscribed" if preset.name == "mailchimp" else None)
    options = Options(actor=str(params.get("actor") or "system"),
                      tags=[str(t) for t in params.get("tags") or []],
                      dry_run=bool(params.get("dry_run")),
                      new_status=str(params.get("new_status") or "subscribed"),
                      donation_source=preset.donation_source,
                      batch_size=int(params.get("batch_size") or BATCH_SIZE),
                      commit_seconds=float(params.get("commit_seconds", COMMIT_SECONDS)),
                      parallel=params.get("parallel"))
    return spec, options


def run_file(session: Session, path: Path, params: dict[str, Any], *,
             job_id: int | None = None, reporter: Reporter | None = None,
             on_rejects: RejectSink | None = None) -> Counts:
    """Import one stored file with these parameters (see ``build``)."""
    source = open_csv(path)
    spec, options = build(source, params)
    options.job_id = job_id
    total = max(count_lines(path) - 1, 1) if reporter is not None else None

    def progress(done: int) -> None:
        if reporter is not None:
            reporter.progress(done, max(total or 0, done), f"{done:,} rows read")

    stop = reporter.should_stop if reporter is not None else None
    importer = Importer(session, spec, options, on_rejects)
    # closing(): a stopped or failed import ends the checker process at once.
    with page_cache(session, PAGE_CACHE_MB), \
            closing(checked(source, spec, options.batch_size, options.parallel)) as batches:
        return importer.run(batches, progress, stop)


def handler(session: Session, job: Any, report: Reporter) -> dict[str, Any]:
    """Do the work of an "import" job; the result is the counts."""
    params = dict(job.params or {})
    path = Path(str(params["path"]))
    counts = run_file(session, path, params, job_id=job.id, reporter=report)
    if not counts.dry_run and not counts.stopped:
        # The rows are in the database now; the upload holds personal data, so it goes.
        path.unlink(missing_ok=True)
    return counts.as_dict()
