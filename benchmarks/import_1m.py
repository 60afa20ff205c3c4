"""Import a generated CSV of N rows (default 1,000,000) into a fresh SQLite database.

Prints rows per second and peak memory for the importer, and for a reference that inserts
the same valid rows with plain sqlite3.executemany and no checks at all.

    python benchmarks/import_1m.py [ROWS] [--keep]
"""

from __future__ import annotations

import csv
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm.imports import run_file
from crm.models import Base

FIRST = ["Ana", "Ben", "Cara", "Dee", "Eli", "Fay", "Gus", "Hana", "Ivan", "José", "Mai", "Tou"]
LAST = ["Lopez", "Okafor", "Nguyen", "Smith", "Brown", "Green", "Hale", "Ito", "Vang", "Müller"]
CITIES = [("Madison", "WI", "537"), ("Milwaukee", "WI", "532"), ("Eau Claire", "WI", "547"),
          ("Chicago", "IL", "606"), ("Minneapolis", "MN", "554")]
AREAS = ["608", "414", "715", "312", "612"]
HEADER = ["Email", "First Name", "Last Name", "Phone", "Street", "City", "State", "Zip",
          "Employer", "Shirt size"]


def generate(path: Path, valid_path: Path, rows: int, seed: int = 2026) -> int:
    """Write the file, and the valid rows as the reference inserts them; return their count."""
    rng = random.Random(seed)
    valid = 0
    with path.open("w", encoding="utf-8", newline="") as fh, \
            valid_path.open("w", encoding="utf-8", newline="") as good:
        out = csv.writer(fh)
        keep = csv.writer(good)
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
                keep.writerow((email, first, last, row[6], row[5]))
                valid += 1
            out.writerow(row)
    return valid


def peak_mb() -> float:
    """Return this process's peak resident memory in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Commit:
    """Commit after each batch, as the job runner does."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        self.session.commit()

    def should_stop(self) -> bool:
        return False


def main() -> None:
    rows = int(next((a for a in sys.argv[1:] if a.isdigit()), "1000000"))
    work = Path(tempfile.mkdtemp(prefix="crm-import-bench-"))
    path = work / "contacts.csv"
    started = time.perf_counter()
    valid_path = work / "valid.csv"
    valid = generate(path, valid_path, rows)
    print(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) "
          f"in {time.perf_counter() - started:.1f}s")

    engine = create_engine(f"sqlite:///{work / 'crm.sqlite'}")

    @event.listens_for(engine, "connect")
    def pragmas(conn: sqlite3.Connection, _record: object) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")

    Base.metadata.create_all(engine)
    rss_before = peak_mb()
    with Session(engine) as session:
        started = time.perf_counter()
        counts = run_file(session, path, {"actor": "benchmark", "tags": ["bench"]},
                          reporter=Commit(session))
        session.commit()
        took = time.perf_counter() - started
    print(f"importer: {rows / took:,.0f} rows/s ({took:.1f}s) created={counts.created:,} "
          f"rejected={counts.rejected:,} peak RSS {peak_mb():.0f} MB "
          f"(before import {rss_before:.0f} MB)")

    ref_db = work / "reference.sqlite"
    Base.metadata.create_all(create_engine(f"sqlite:///{ref_db}"))
    conn = sqlite3.connect(ref_db)
    conn.execute("PRAGMA journal_mode=WAL")
    started = time.perf_counter()
    with conn, valid_path.open(encoding="utf-8", newline="") as good:
        conn.executemany(
            "INSERT INTO crm_contacts (email, email_normalized, first_name, last_name, "
            "first_name_key, last_name_key, state, city, custom_fields, email_status, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, '', '', ?, ?, '{}', 'subscribed', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            ((e, e, f, la, s, c) for e, f, la, s, c in csv.reader(good)))
    took = time.perf_counter() - started
    print(f"reference (sqlite3.executemany, no checks): {valid / took:,.0f} rows/s "
          f"({took:.1f}s)")
    if "--keep" not in sys.argv:
        for item in work.iterdir():
            item.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
