"""Import a generated CSV of N rows (default 1,000,000) into a fresh database.

Prints the importer's rows per second and peak memory (its own process and the checker
process), and in the same run a reference that inserts exactly the contact rows the importer
stored, with no checks at all: plain sqlite3.executemany on SQLite, COPY on PostgreSQL.

    python benchmarks/import_1m.py [ROWS] [--postgres URL] [--keep]

URL names a PostgreSQL server (for example postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
the script creates, uses and drops its own database there.
"""

from __future__ import annotations

import csv
import json
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm.imports import run_file
from crm.models import Base, Contact

FIRST = ["Ana", "Ben", "Cara", "Dee", "Eli", "Fay", "Gus", "Hana", "Ivan", "José", "Mai", "Tou"]
LAST = ["Lopez", "Okafor", "Nguyen", "Smith", "Brown", "Green", "Hale", "Ito", "Vang", "Müller"]
CITIES = [("Madison", "WI", "537"), ("Milwaukee", "WI", "532"), ("Eau Claire", "WI", "547"),
          ("Chicago", "IL", "606"), ("Minneapolis", "MN", "554")]
AREAS = ["608", "414", "715", "312", "612"]
HEADER = ["Email", "First Name", "Last Name", "Phone", "Street", "City", "State", "Zip",
          "Employer", "Shirt size"]
BENCH_DB = "crm_import_bench"
# Every stored column of a contact but its id: what the reference inserts.
COLUMNS = [c.name for c in Contact.__table__.columns if c.name != "id"]


def generate(path: Path, rows: int, seed: int = 2026) -> int:
    """Write the file; return how many of its rows are valid."""
    rng = random.Random(seed)
    valid = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            city, state, zip3 = rng.choice(CITIES)
            email = f"{first.lower()[:3]}.{last.lower()[:4]}{i}@example.org"
            shape = rng.choice(("({a}) 555-{n}", "{a}-555-{n}", "{a}.555.{n}", "+1 {a} 555 {n}",
                                "", ""))
            phone = shape.format(a=rng.choice(AREAS), n=f"{rng.randrange(10000):04d}")
            row = [email, first, last, phone, f"{rng.randint(1, 9999)} Main St", city, state,
                   f"{zip3}{rng.randrange(100):02d}", rng.choice(("UW", "", "City", "")),
                   rng.choice("SMLX")]
            roll = rng.random()
            if roll < 0.005:
                row[0] = email.replace("@", "")  # no @
            elif roll < 0.01:
                row[6] = "XX"
            elif roll < 0.015:
                row[3] = "12"
            elif roll < 0.02:
                row[7] = "123"
            else:
                if roll < 0.10:
                    row[0] = f"  {email.upper()} "  # spaces and capitals, still valid
                valid += 1
            out.writerow(row)
    return valid


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Return the peak resident memory in MB of this process (or of its finished children)."""
    return resource.getrusage(who).ru_maxrss / 1024


class Commit:
    """Report progress as the job runner does: each call commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        self.session.commit()

    def should_stop(self) -> bool:
        return False


def sqlite_engine(path: Path) -> Engine:
    """An engine with the pragmas the app uses."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def pragmas(conn: sqlite3.Connection, _record: object) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")

    return engine


def fresh_postgres(url: str) -> tuple[Engine, Any]:
    """Create an empty benchmark database on the server; return its engine and admin URL."""
    admin = make_url(url).set(database="postgres")
    with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB}"))
        conn.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    return create_engine(admin.set(database=BENCH_DB)), admin


def dump_contacts(engine: Engine, path: Path) -> int:
    """Write the stored contact rows (as the driver returns them) to a CSV; return the count."""
    count = 0
    with engine.connect() as conn, path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        query = text(f"SELECT {', '.join(COLUMNS)} FROM crm_contacts ORDER BY id")
        for row in conn.execution_options(stream_results=True).execute(query):
            out.writerow(["\\N" if value is None else
                          json.dumps(value) if isinstance(value, dict) else value
                          for value in row])
            count += 1
    return count


def stored_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """Read the dumped rows back, NULLs included."""
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            yield tuple(None if value == "\\N" else value for value in row)


def reference_sqlite(db: Path, rows_path: Path) -> float:
    """Insert the stored rows with one plain executemany; return the seconds taken."""
    Base.metadata.create_all(sqlite_engine(db))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    marks = ", ".join("?" * len(COLUMNS))
    started = time.perf_counter()
    with conn:
        conn.executemany(f"INSERT INTO crm_contacts ({', '.join(COLUMNS)}) VALUES ({marks})",
                         stored_rows(rows_path))
    took = time.perf_counter() - started
    conn.close()
    return took


def reference_postgres(engine: Engine, rows_path: Path) -> float:
    """COPY the stored rows into freshly created tables; return the seconds taken."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        started = time.perf_counter()
        with driver.cursor() as cursor, cursor.copy(
                f"COPY crm_contacts ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in stored_rows(rows_path):
                copy.write_row(row)
        driver.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def main() -> None:
    args = sys.argv[1:]
    rows = int(next((a for a in args if a.isdigit()), "1000000"))
    postgres = args[args.index("--postgres") + 1] if "--postgres" in args else None
    work = Path(tempfile.mkdtemp(prefix="crm-import-bench-"))
    path = work / "contacts.csv"
    started = time.perf_counter()
    valid = generate(path, rows)
    print(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB, {rows - valid:,} bad) "
          f"in {time.perf_counter() - started:.1f}s")

    admin = None
    if postgres:
        engine, admin = fresh_postgres(postgres)
        where = "PostgreSQL"
    else:
        engine = sqlite_engine(work / "crm.sqlite")
        where = "SQLite"
    Base.metadata.create_all(engine)
    rss_before = peak_mb()
    with Session(engine) as session:
        started = time.perf_counter()
        counts = run_file(session, path, {"actor": "benchmark", "tags": ["bench"]},
                          reporter=Commit(session))
        session.commit()
        took = time.perf_counter() - started
        stored = session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1))
    importer_rate = rows / took
    print(f"{where} importer: {importer_rate:,.0f} rows/s ({took:.1f}s) "
          f"created={counts.created:,} rejected={counts.rejected:,} (last id {stored}); "
          f"peak RSS {peak_mb():.0f} MB in the importer (before import {rss_before:.0f} MB), "
          f"{peak_mb(resource.RUSAGE_CHILDREN):.0f} MB in the checker process")

    dumped = dump_contacts(engine, work / "stored.csv")
    if postgres:
        ref = reference_postgres(engine, work / "stored.csv")
        name = "COPY"
    else:
        ref = reference_sqlite(work / "reference.sqlite", work / "stored.csv")
        name = "sqlite3.executemany, one transaction"
    engine.dispose()
    print(f"{where} reference ({name}, the same {dumped:,} contact rows, no checks): "
          f"{dumped / ref:,.0f} rows/s ({ref:.1f}s)")
    print(f"importer time / reference time: {took / ref:.1f}x")
    if admin is not None:
        with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB}"))
    if "--keep" not in args:
        for item in work.iterdir():
            item.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
