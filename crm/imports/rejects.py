"""Write refused rows back out as CSV so staff can fix them and import again."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

# A spreadsheet runs a cell starting with these as a formula; a quote makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Return a cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write(out: TextIO, header: list[str], rejects: Iterable[tuple[int, str, dict[str, str]]]
          ) -> int:
    """Write the original columns plus ``line`` and ``reason``; return the rows written."""
    items = list(rejects)
    extra = sorted({k for _l, _r, row in items for k in row if k not in header},
                   key=lambda k: (len(k), k))
    columns = [*header, *extra]
    writer = csv.writer(out)
    writer.writerow([neutralise(c) for c in [*columns, "line", "reason"]])
    for line, reason, row in items:
        writer.writerow([neutralise(row.get(c, "")) for c in columns]
                        + [str(line), neutralise(reason)])
    return len(items)
