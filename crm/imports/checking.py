"""Read and check a file's rows a batch at a time, here or in a second process.

Reading and checking (CSV parsing, email and phone validation) is about half of an import's
work and needs no database, so a large file is checked in a child process while this one
writes the previous batch. A small file, or a process that may not start children (a
daemonic worker), checks in line; both give the same batches in the same order.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Generator
from typing import Any, BinaryIO

from .reading import CsvSource, UnreadableFile
from .rows import Reject, Row, Spec, check

# (records read, valid rows, refused rows)
Batch = tuple[int, list[Row], list[Reject]]
Batches = Generator[Batch, None, None]
# Below this size the child's start-up (about half a second) costs more than it saves.
PARALLEL_BYTES = 4 << 20
_LENGTH = struct.Struct("!I")


def batches(source: CsvSource, spec: Spec, size: int) -> Batches:
    """Yield the file's checked rows in batches of ``size`` records."""
    rows: list[Row] = []
    rejects: list[Reject] = []
    read = 0
    for record in source.records():
        read += 1
        result = check(spec, record.line, record.cells)
        if isinstance(result, Reject):
            rejects.append(result)
        else:
            rows.append(result)
        if read >= size:
            yield read, rows, rejects
            rows, rejects, read = [], [], 0
    yield read, rows, rejects


def checked(source: CsvSource, spec: Spec, size: int,
            parallel: bool | None = None) -> Batches:
    """Return the batches, checked in a child process when that pays off and is possible.

    ``parallel`` forces the choice; None decides by the file's size.
    """
    if parallel is None:
        parallel = source.path.stat().st_size >= PARALLEL_BYTES
    if parallel:
        child = _start_child(source, spec, size)
        if child is not None:
            return _receive(child)
    return batches(source, spec, size)


def _row(row: Row) -> tuple[Any, ...]:
    return (row.line, row.cells, row.email, row.email_key, row.fields, row.custom, row.status,
            row.tags, row.donation, row.membership)


def _write(out: BinaryIO, frame: tuple[Any, ...]) -> None:
    data = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data)))
    out.write(data)
    out.flush()


def _read(stream: BinaryIO) -> tuple[Any, ...] | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        return None
    return pickle.loads(data)  # written by our own child process


def _start_child(source: CsvSource, spec: Spec, size: int) -> subprocess.Popen[bytes] | None:
    """Start the checker; None when it cannot run here (then the caller checks in line)."""
    # A plain child interpreter rather than multiprocessing: it does not re-import the host's
    # main module, and a daemonic worker (Celery's prefork pool) may start it.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        child = subprocess.Popen([sys.executable, "-m", f"{__package__}.child"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    except OSError:
        return None
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write(pickle.dumps((source, spec, size), protocol=pickle.HIGHEST_PROTOCOL))
        child.stdin.close()
        hello = _read(child.stdout)
    except OSError:
        hello = None
    if hello != ("ready",):
        _stop(child)
        return None
    return child


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.stdout is not None:
        child.stdout.close()
    if child.poll() is None:
        child.terminate()
    child.wait()


def _receive(child: subprocess.Popen[bytes]) -> Batches:
    assert child.stdout is not None
    try:
        while True:
            frame = _read(child.stdout)
            if frame is None:
                raise RuntimeError("The file checker stopped unexpectedly.")
            kind = frame[0]
            if kind == "done":
                return
            if kind == "unreadable":
                raise UnreadableFile(frame[1])
            if kind == "error":
                raise RuntimeError(f"Checking the file failed: {frame[1]}")
            yield (frame[1], [Row(*values) for values in frame[2]],
                   [Reject(*values) for values in frame[3]])
    finally:
        _stop(child)


def child_main() -> None:
    """The child's work: check every batch and send it to stdout as plain tuples."""
    # Frames go to the real stdout; anything printed by accident goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    source, spec, size = pickle.loads(sys.stdin.buffer.read())  # written by our parent
    try:
        _write(out, ("ready",))
        for read, rows, rejects in batches(source, spec, size):
            _write(out, ("batch", read, [_row(r) for r in rows],
                         [(r.line, r.reason, r.row) for r in rejects]))
        _write(out, ("done",))
    except BrokenPipeError:
        pass  # the importer stopped listening (stopped or failed)
    except UnreadableFile as exc:
        _write(out, ("unreadable", str(exc)))
    except Exception as exc:  # anything else is reported, not lost
        _write(out, ("error", f"{type(exc).__name__}: {exc}"))
