"""Turn an uploaded file into rows: detect the encoding and delimiter, keep line numbers."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import CRMError

DELIMITERS = ",;\t"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
SAMPLE_CHARS = 64 * 1024
CHUNK = 1 << 20
# The stdlib default (128 KiB) is too small for long free-text cells; a cell beyond this is
# certainly a broken quote swallowing the rest of the file.
FIELD_LIMIT = 1 << 20


class UnreadableFile(CRMError):
    """The upload is not a CSV file we can read (empty, binary or broken quoting)."""

    status_code = 422


@dataclass(frozen=True)
class Record:
    """One CSV record: the physical line it starts on and its cells."""

    line: int
    cells: list[str]


def detect_encoding(path: Path) -> str:
    """Return "utf-8-sig", "utf-8" or "cp1252" ("latin-1" if cp1252 cannot map a byte)."""
    with path.open("rb") as fh:
        head = fh.read(3)
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            pass
        else:
            return "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
        # Not UTF-8: spreadsheets on Windows save cp1252; five bytes are unmapped there.
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")("strict")
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"


def encoding_label(encoding: str) -> str:
    """Return how staff see an encoding name."""
    return {"utf-8-sig": "UTF-8 (with BOM)", "utf-8": "UTF-8", "cp1252": "Windows-1252",
            "latin-1": "Latin-1"}.get(encoding, encoding)


def sniff_delimiter(sample: str) -> str:
    """Return the delimiter of a text sample: comma, semicolon or tab."""
    # Cut at the last complete line so a half record does not confuse the sniffer.
    cut = sample.rfind("\n")
    text = sample[: cut + 1] if cut > 0 else sample
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = next((line for line in text.splitlines() if line.strip()), "")
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


@dataclass
class CsvSource:
    """An uploaded CSV file with what was detected about it."""

    path: Path
    encoding: str
    delimiter: str
    header: list[str]

    @property
    def encoding_label(self) -> str:
        """Return the encoding as staff see it."""
        return encoding_label(self.encoding)

    @property
    def delimiter_label(self) -> str:
        """Return the delimiter's name."""
        return DELIMITER_NAMES[self.delimiter]

    def records(self) -> Iterator[Record]:
        """Yield the data records after the header, skipping blank lines."""
        return self._read(skip_header=True)

    def _read(self, *, skip_header: bool) -> Iterator[Record]:
        csv.field_size_limit(FIELD_LIMIT)
        with self.path.open(encoding=self.encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter, strict=False)
            previous = 0
            header_seen = not skip_header
            try:
                for cells in reader:
                    start, previous = previous + 1, reader.line_num
                    if not any(cell.strip() for cell in cells):
                        continue
                    if not header_seen:
                        header_seen = True
                        continue
                    yield Record(start, cells)
            except csv.Error as exc:
                raise UnreadableFile(
                    f"Line {previous + 1} cannot be read ({exc}); "
                    "check for a quote that is never closed."
                ) from None

    def first_records(self, count: int) -> list[Record]:
        """Return the first data records (for the preview)."""
        out: list[Record] = []
        for record in self.records():
            out.append(record)
            if len(out) >= count:
                break
        return out


def open_csv(path: Path) -> CsvSource:
    """Detect a file's encoding, delimiter and header; raise UnreadableFile if it is not CSV."""
    if not path.is_file() or path.stat().st_size == 0:
        raise UnreadableFile("The file is empty.")
    with path.open("rb") as fh:
        if b"\x00" in fh.read(8192):
            raise UnreadableFile("This is not a CSV text file (it holds binary data).")
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        sample = fh.read(SAMPLE_CHARS)
    if not sample.strip():
        raise UnreadableFile("The file is empty.")
    source = CsvSource(path, encoding, sniff_delimiter(sample), [])
    first = next(source._read(skip_header=False), None)
    if first is None:
        raise UnreadableFile("The file has no header row.")
    source.header = clean_header(first.cells)
    return source


def clean_header(cells: list[str]) -> list[str]:
    """Trim header names, name blank columns and make repeated names unique."""
    out: list[str] = []
    seen: set[str] = set()
    for number, cell in enumerate(cells, start=1):
        name = " ".join(cell.split()) or f"Column {number}"
        base, n = name, 1
        while name.casefold() in seen:
            n += 1
            name = f"{base} ({n})"
        seen.add(name.casefold())
        out.append(name)
    return out


def count_lines(path: Path) -> int:
    """Return the number of physical lines, a quick estimate of the row count."""
    lines = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            lines += chunk.count(b"\n")
    return lines
