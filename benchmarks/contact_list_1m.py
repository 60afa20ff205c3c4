"""Time the contact list page at a million contacts, next to hand-written SQL for the same rows.

    python benchmarks/contact_list_1m.py [--contacts N] [--database-url URL] [--repeat R]

Builds a fresh database (a temporary SQLite file by default; with ``--database-url`` the CRM
tables there are dropped and created again), fills it with generated contacts, then times
whole GET requests to ``/crm/contacts`` through Flask's test client (login, query, templates)
and, as the reference, the same page's rows fetched with plain SQL on the same engine; for
search and tag, also the app's own list statement re-run alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

import crm.staff
from crm.listing import decode_cursor
from crm.models import Base
from crm.validation import search_key
from wsgi import create_app, db

# Contacts pick uniformly from these; a few names and cities start with the searched "gar".
LAST_NAMES = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Lopez
    Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
    Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
    Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Evans Diaz
    Cooper Kelly Ramos Kim Ward Chavez Patel Myers Garza Gardner Schmidt Kowalski Olson Nowak"""
FIRST_NAMES = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William
    Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
    Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Paul Emily Andrew Jose
    Maria Gary Rebecca Jason Ryan Laura Luis Ana Nicole Juan Rosa Tyler Emma Omar Fatima Priya"""
CITIES = """Milwaukee WI|Madison WI|Green Bay WI|Kenosha WI|Racine WI|Appleton WI|Waukesha WI
    |Eau Claire WI|Oshkosh WI|Janesville WI|La Crosse WI|Sheboygan WI|Wausau WI|Beloit WI
    |Superior WI|Chicago IL|Rockford IL|Minneapolis MN|Duluth MN|Dubuque IA|Garland TX|Gary IN"""
STATUSES = ["subscribed"] * 14 + ["unsubscribed", "unsubscribed", "cleaned", "pending"]
COLUMNS = ("id", "email", "email_normalized", "first_name", "last_name", "first_name_key",
           "last_name_key", "phone", "city", "city_key", "state", "email_status",
           "custom_fields", "created_at", "updated_at", "deleted_at")
TAG, SEARCH, DEEP_PAGES, PASSWORD = "union-member", "gar", 20, "benchmark password"
SURNAME, RARE_TAG, RARE_COUNT = "nowak", "steering-committee", 30  # a late name; a rare tag
ROW_LINK = re.compile(rb'href="/crm/contacts/(\d+)"')
NEXT_LINK = re.compile(rb'rel="next" href="[^"]*after=([A-Za-z0-9_-]+)"')
# The reference's conditions after "deleted_at IS NULL", per case; the app builds its own.
REFERENCE_WHERE = {
    "first": "",
    "deep": " AND (last_name_key, first_name_key, id) > (:a, :b, :c)",
    "search": " AND (" + " OR ".join(
        f"({col} >= :lo AND {col} < :hi)"
        for col in ("email_normalized", "first_name_key", "last_name_key", "city_key")) + ")",
    "tag": " AND EXISTS (SELECT 1 FROM crm_contact_tags ct JOIN crm_tags t ON t.id = ct.tag_id"
           " WHERE ct.contact_id = crm_contacts.id AND t.name_key = :tag)",
}


class BenchConfig:
    """The standalone app's production engine options; the rest comes from overrides."""

    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}


def contact_rows(count: int, stamp: Callable[[datetime], object]) -> Iterator[tuple[Any, ...]]:
    """Yield ``count`` contacts in COLUMNS order from the lists above and a seeded random."""
    rng = random.Random(2026)
    firsts, lasts = FIRST_NAMES.split(), LAST_NAMES.split()
    cities = [tuple(item.strip().rsplit(" ", 1)) for item in CITIES.split("|")]
    keys = {name: search_key(name) for name in [*firsts, *lasts, *(c for c, _s in cities)]}
    start = datetime(2021, 1, 1, tzinfo=UTC)
    for ident in range(1, count + 1):
        first, last = rng.choice(firsts), rng.choice(lasts)
        city, state = rng.choice(cities)
        email = f"{first}.{last}{ident}@example.org"
        phone = f"+1608{rng.randrange(2_000_000, 10_000_000)}" if rng.random() < 0.7 else None
        when = stamp(start + timedelta(seconds=ident * 61))
        yield (ident, email, email.lower(), first, last, keys[first], keys[last], phone, city,
               keys[city], state, rng.choice(STATUSES), "{}", when, when, None)


def fill(engine: Engine, count: int) -> None:
    """Insert the contacts, tag about 10% of them and 30 with a rare tag, by bulk paths."""
    rng = random.Random(7)
    tagged = [(ident, 1) for ident in range(1, count + 1) if rng.random() < 0.1]
    tagged += [(ident, 2) for ident in rng.sample(range(1, count + 1), RARE_COUNT)]
    names = ", ".join(COLUMNS)
    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # bulk-load settings for this connection only (it is closed afterwards)
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")
        for tag_id, tag in enumerate((TAG, RARE_TAG), start=1):
            cur.execute("INSERT INTO crm_tags (id, name, name_key)"
                        f" VALUES ({tag_id}, '{tag}', '{tag}')")
        if sqlite:
            rows = contact_rows(count, lambda when: when.strftime("%Y-%m-%d %H:%M:%S.%f"))
            marks = ", ".join("?" * len(COLUMNS))
            cur.executemany(f"INSERT INTO crm_contacts ({names}) VALUES ({marks})", rows)
            cur.executemany("INSERT INTO crm_contact_tags VALUES (?, ?)", tagged)
        else:
            with cur.copy(f"COPY crm_contacts ({names}) FROM STDIN") as copy:
                for row in contact_rows(count, lambda when: when):
                    copy.write_row(row)
            with cur.copy("COPY crm_contact_tags (contact_id, tag_id) FROM STDIN") as copy:
                for pair in tagged:
                    copy.write_row(pair)
        raw.commit()
    finally:
        raw.detach()  # close it rather than pass the bulk-load settings on to the app
        raw.close()


def build(engine: Engine, count: int) -> None:
    """Create the tables, load them with the contacts' indexes off, then index and analyze."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    indexes = list(Base.metadata.tables["crm_contacts"].indexes)
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    print(f"Filled {count:,} contacts in {timed(partial(fill, engine, count)) / 1000:.1f} s")
    started = time.perf_counter()
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE")
    print(f"Indexed and analyzed in {time.perf_counter() - started:.1f} s")


def reference_sql(kind: str, *, count: bool = False) -> str:
    """Return plain SQL for a case's page (50 rows plus one), or for its matching rows' count."""
    where = f"FROM crm_contacts WHERE deleted_at IS NULL{REFERENCE_WHERE[kind]}"
    if count:
        return f"SELECT count(*) {where}"
    columns = ", ".join(column.name for column in Base.metadata.tables["crm_contacts"].columns)
    return f"SELECT {columns} {where} ORDER BY last_name_key, first_name_key, id LIMIT 51"


def prefix_range(text: str) -> dict[str, str]:
    """Return the bounds of the key range that starts with ``text``, as the app searches."""
    return {"lo": text, "hi": text[:-1] + chr(ord(text[-1]) + 1)}


def fetch(engine: Engine, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run plain SQL on its own pooled connection and return every row."""
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def replay(engine: Engine, statement: str, parameters: Any) -> list[Any]:
    """Run a statement the app ran, as it ran it, on its own pooled connection."""
    with engine.connect() as conn:
        return list(conn.exec_driver_sql(statement, parameters).all())


def timed(action: Callable[[], object]) -> float:
    """Return how long one call of ``action`` took, in milliseconds."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def median_ms(action: Callable[[], object], repeat: int) -> float:
    """Return the median of ``repeat`` timed calls of ``action``, in milliseconds."""
    return statistics.median(timed(action) for _ in range(repeat))


def explain(engine: Engine, statement: str, parameters: Any) -> str:
    """Return the plan of a statement the app ran, with the parameters it ran with."""
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    return "\n".join(f"    {row[-1]}" for row in rows)


def machine_facts(engine: Engine) -> str:
    """Return the Python, database and CPU facts that go with the numbers."""
    if engine.dialect.name == "sqlite":
        database = f"SQLite {sqlite3.sqlite_version}"
    else:
        with engine.connect() as conn:
            database = "PostgreSQL " + str(conn.exec_driver_sql("SHOW server_version").scalar())
    return (f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
            f"{database}, {os.cpu_count()} CPUs")


def run(url: str, count: int, repeat: int) -> None:
    """Build the database, log in, check each case, time it, print the plans and the table."""
    app = create_app(BenchConfig, SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False,
                     TESTING=True, SECRET_KEY="benchmark-only")
    with app.app_context():
        engine = db.engine
        print(facts := machine_facts(engine))
        build(engine, count)
        crm.staff.create_user(db.session, "bench@example.org", PASSWORD, role="viewer")
        db.session.commit()
    client = app.test_client()
    login = client.post("/crm/login", data={"email": "bench@example.org", "password": PASSWORD})
    assert login.status_code == 302, login.data

    deep = "/crm/contacts"
    for _ in range(DEEP_PAGES):
        found = NEXT_LINK.search(client.get(deep).data)
        assert found, "the list has no next page link"
        deep = f"/crm/contacts?after={found.group(1).decode()}"
    last, first, ident = decode_cursor(deep.rsplit("=", 1)[1])
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("first", "first page", "/crm/contacts", {}),
        ("deep", f"deep page ({DEEP_PAGES} pages in)", deep, {"a": last, "b": first, "c": ident}),
        ("search", f"search q={SEARCH}", f"/crm/contacts?q={SEARCH}", prefix_range(SEARCH)),
        ("tag", f"tag={TAG}", f"/crm/contacts?tag={TAG}", {"tag": TAG}),
        ("search", f"search q={SURNAME}", f"/crm/contacts?q={SURNAME}", prefix_range(SURNAME)),
        ("tag", f"tag={RARE_TAG}", f"/crm/contacts?tag={RARE_TAG}", {"tag": RARE_TAG}),
    ]
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if "FROM crm_contacts" in statement and "LIMIT" in statement:
            captured.append((statement, parameters))

    results: list[tuple[str, int, float, float, str]] = []
    plans: list[str] = []
    for kind, case, path, params in cases:
        matches = fetch(engine, reference_sql(kind, count=True), params)[0][0]
        reference = partial(fetch, engine, reference_sql(kind), params)
        captured.clear()
        event.listen(engine, "before_cursor_execute", grab)
        response = client.get(path)
        event.remove(engine, "before_cursor_execute", grab)
        assert response.status_code == 200, (case, response.status_code)
        page_ids = [int(found) for found in ROW_LINK.findall(response.data)]
        assert page_ids, f"{case}: the page shows no contact row"
        assert page_ids == [row.id for row in reference()][:50], f"{case}: rows differ from SQL"
        statement = re.sub(r"^SELECT .*?\s+FROM", "SELECT <all columns> FROM", captured[0][0],
                           flags=re.DOTALL)
        plans.append(f"-- {case}: GET {path}\n{statement}\n{explain(engine, *captured[0])}")
        page_ms = median_ms(partial(client.get, path), repeat)
        alone = partial(replay, engine, *captured[0])
        app_sql = f"{median_ms(alone, repeat):.2f}" if kind in ("search", "tag") else "-"
        results.append((case, matches, page_ms, median_ms(reference, repeat), app_sql))

    print("\nQuery plans of the app's list statements:\n\n" + "\n\n".join(plans))
    print(f"\nContact list at {count:,} contacts, median of {repeat} runs. {facts}.\n")
    print("| Case | Matching contacts | Page median (ms) | Reference SQL median (ms) | Page / SQL"
          " | App's list SQL alone (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for case, matches, page_ms, sql_ms, app_sql in results:
        print(f"| {case} | {matches:,} | {page_ms:.1f} | {sql_ms:.2f} | {page_ms / sql_ms:.3g}x"
              f" | {app_sql} |")
    print("\nReference: the same rows by hand-written SQL (OR of prefix ranges; EXISTS for tags)."
          " App's list SQL: the page's main statement re-run directly, without the request.")


def main() -> None:
    """Parse the arguments and run the benchmark on a fresh database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000, help="contacts to generate")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per case")
    args = parser.parse_args()
    if args.contacts < 2000 or args.repeat < 1:
        parser.error("use at least 2000 contacts (the deep page is 20 pages in) and one run")
    if args.database_url:
        run(args.database_url, args.contacts, args.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        run(f"sqlite:///{folder}/contacts.sqlite", args.contacts, args.repeat)


if __name__ == "__main__":
    main()
