"""CSV imports: ActBlue, Mailchimp, union rosters and any spreadsheet, a batch at a time."""

from __future__ import annotations

from .engine import Counts, Importer, Options
from .reading import CsvSource, UnreadableFile, open_csv
from .runner import build, handler, run_file

__all__ = ["Counts", "CsvSource", "Importer", "Options", "UnreadableFile", "build", "handler",
           "open_csv", "run_file"]
