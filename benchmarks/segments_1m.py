"""Time segment counts at a million contacts next to hand-written SQL for the same sets.

    python benchmarks/segments_1m.py [--contacts N] [--database-url URL | --path FILE]
                                     [--reuse] [--repeat R]

Builds a database (a SQLite file in the temporary folder by default; with ``--database-url``
the CRM tables there are dropped and created again) of contacts with tags, gifts and their
giving summaries, union memberships, recruits at pipeline stages and groups. ``--reuse``
keeps a database this script built before, bringing its indexes in line with the models.
For each segment it checks that the engine (``crm.segments.count`` on the app's session)
and the hand-written query count the same contacts, prints both query plans, then times
the two alternately and prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from contact_list_1m import machine_facts
from segments_data import fill
from sqlalchemy import bindparam, event, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm import segments
from crm.donations import refresh_summaries
from crm.models import Base, Contact, DonationSummary
from crm.models.base import UTCDateTime
from crm.segments import Clock, RelativeWindow
from wsgi import create_app, db

LIVE = "c.deleted_at IS NULL AND c.merged_into_id IS NULL"
TAG_ID = "(SELECT id FROM crm_tags WHERE name_key = '{}')"
# Each case: a label, the rule as staff type it, and the query someone who knows the schema
# would write by hand for the same contacts (joins for one-row side tables, EXISTS or IN for
# many-row ones), with the moments of relative windows as parameters.
CASES: list[tuple[str, str, str]] = [
    ("union members in WI/MN who gave $50+, not unsubscribed",
     'tag:"union-member" and state in (WI, MN) and donations.total >= 50'
     " and not email_status = unsubscribed",
     "SELECT count(*) FROM crm_contacts c"
     " JOIN crm_contact_tags ct ON ct.contact_id = c.id"
     " JOIN crm_donation_summaries s ON s.contact_id = c.id"
     f" WHERE ct.tag_id = {TAG_ID.format('union-member')} AND s.total_cents >= 5000"
     f" AND c.state IN ('WI', 'MN') AND c.email_status <> 'unsubscribed' AND {LIVE}"),
    ("recruits at interested/in training who are union members, mailable",
     'recruitment.stage in (interested, in_training) and tag:"union-member"'
     " and not email_status in (unsubscribed, cleaned)",
     "SELECT count(*) FROM crm_contacts c JOIN crm_recruits r ON r.contact_id = c.id"
     " JOIN crm_contact_tags ct ON ct.contact_id = c.id"
     " WHERE r.stage IN ('interested', 'in_training')"
     f" AND ct.tag_id = {TAG_ID.format('union-member')}"
     f" AND c.email_status NOT IN ('unsubscribed', 'cleaned') AND {LIVE}"),
    ("Dane/Milwaukee, gave over $50 in a year, nothing in 30 days",
     "county in (Dane, Milwaukee) and donations.total_since(365d) > 50"
     " and not donations.last_at within 30d",
     "SELECT count(*) FROM crm_contacts c JOIN (SELECT contact_id FROM crm_donations"
     " WHERE received_at >= :year GROUP BY contact_id HAVING sum(amount_cents) > 5000) g"
     " ON g.contact_id = c.id JOIN crm_donation_summaries s ON s.contact_id = c.id"
     f" WHERE s.last_at < :month AND c.county IN ('Dane', 'Milwaukee') AND {LIVE}"),
    ("active SEIU/AFSCME members with 2+ gifts, mailable",
     "union.name in (SEIU, AFSCME) and union.status = active and donations.count >= 2"
     " and not email_status in (unsubscribed, cleaned)",
     "SELECT count(*) FROM crm_contacts c JOIN crm_donation_summaries s"
     " ON s.contact_id = c.id WHERE s.gift_count >= 2"
     " AND EXISTS (SELECT 1 FROM crm_union_memberships m WHERE m.contact_id = c.id"
     " AND m.union_name IN ('SEIU', 'AFSCME'))"
     " AND EXISTS (SELECT 1 FROM crm_union_memberships m WHERE m.contact_id = c.id"
     " AND m.status = 'active')"
     f" AND c.email_status NOT IN ('unsubscribed', 'cleaned') AND {LIVE}"),
    ("(interested/in training or Tax Fairness group), not declined",
     '(recruitment.stage in (interested, in_training) or group:"Tax Fairness Working Group")'
     ' and not tag:"declined"',
     "SELECT count(*) FROM crm_contacts c WHERE c.id IN ("
     "SELECT contact_id FROM crm_recruits WHERE stage IN ('interested', 'in_training')"
     " UNION SELECT gm.contact_id FROM crm_group_members gm JOIN crm_groups g"
     " ON g.id = gm.group_id WHERE g.name_key = 'tax fairness working group')"
     " AND NOT EXISTS (SELECT 1 FROM crm_contact_tags ct WHERE ct.contact_id = c.id"
     f" AND ct.tag_id = {TAG_ID.format('declined')}) AND {LIVE}"),
    ("lapsed big donors in WI: HPC $250+, no gift in 12 months",
     "donations.hpc >= 250 and donations.last_at before 12m and state = WI",
     "SELECT count(*) FROM crm_contacts c JOIN crm_donation_summaries s"
     " ON s.contact_id = c.id WHERE s.hpc_cents >= 25000 AND s.last_at < :months12"
     f" AND c.state = 'WI' AND {LIVE}"),
]


def sync_indexes(engine: Engine) -> bool:
    """Create the models' missing indexes and drop ``ix_`` ones they no longer have."""
    changed = False
    found = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            wanted = {index.name: index for index in table.indexes}
            have = {str(index["name"]) for index in found.get_indexes(table.name)}
            for name in sorted(have - set(wanted)):
                if name.startswith("ix_"):
                    conn.exec_driver_sql(f"DROP INDEX {name}")
                    changed = True
            for name, index in wanted.items():
                if name not in have:
                    index.create(conn)
                    changed = True
    return changed


def analyze(engine: Engine) -> None:
    """Give the planner fresh statistics."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE")


def build(engine: Engine, count: int) -> None:
    """Create the tables, load them without indexes, index, summarise giving, analyze."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                index.drop(conn)
    started = time.perf_counter()
    print(f"Filled {fill(engine, count)} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    sync_indexes(engine)
    with Session(engine) as session:
        refresh_summaries(session)  # the code path the app uses, over every contact at once
        session.commit()
    analyze(engine)
    print(f"Indexed, summarised giving and analyzed in {time.perf_counter() - started:.1f} s")


def reusable(engine: Engine, count: int) -> bool:
    """Tell whether the database holds a build of this size with giving summarised."""
    if not inspect(engine).has_table("crm_donation_summaries"):
        return False
    with Session(engine) as session:
        last = session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1))
        summary = session.scalar(select(DonationSummary.contact_id).limit(1))
    return last == count and summary is not None


def reference_statement(sql: str) -> Any:
    """Return hand-written SQL with its moments bound the way the models store them."""
    names = sorted(set(re.findall(r"(?<![:\w]):([a-z][a-z0-9]*)", sql)))
    return text(sql).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in names))


def timed(action: Callable[[], object]) -> float:
    """Return how long one call of ``action`` took, in milliseconds."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


class Recorder:
    """Keep the last statement a session ran, to explain it as it was run."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.last: tuple[str, Any] = ("", ())

    def __enter__(self) -> Recorder:
        event.listen(self.engine, "before_cursor_execute", self._keep)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._keep)

    def _keep(self, _conn: Any, _cursor: Any, statement: str, parameters: Any,
              *_rest: Any) -> None:
        self.last = (statement, parameters)


def explain(session: Session, statement: str, parameters: Any) -> str:
    """Return the plan of a statement as it was run."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    rows = session.connection().exec_driver_sql(prefix + statement, parameters).all()
    return "\n".join(f"    {row[-1]}" for row in rows)


def measure(session: Session, recorder: Recorder, clock: Clock, repeat: int,
            case: tuple[str, str, str]) -> tuple[int, float, float, str]:
    """Check one case, explain both queries, and time them alternately."""
    label, rule_text, sql = case
    rule = segments.parse_text(rule_text)
    params = {"year": clock.ago(RelativeWindow(365, "d")),
              "month": clock.ago(RelativeWindow(30, "d")),
              "months12": clock.ago(RelativeWindow(12, "m"))}
    reference = reference_statement(sql)
    params = {name: value for name, value in params.items() if f":{name}" in sql}

    def engine_count() -> int:
        return segments.count(session, rule, clock=clock)

    def reference_count() -> int:
        return int(session.scalar(reference, params) or 0)

    with recorder:
        matches = engine_count()
        engine_sql = recorder.last
        expected = reference_count()
        reference_sql = recorder.last
    assert matches == expected, f"{label}: engine {matches:,}, reference {expected:,}"
    plans = (f"-- {label}\n   {rule_text}\n  engine: {engine_sql[0]}\n"
             f"{explain(session, *engine_sql)}\n"
             f"  reference: {reference_sql[0]}\n{explain(session, *reference_sql)}")
    engine_ms, reference_ms = [], []
    for _ in range(repeat):
        engine_ms.append(timed(engine_count))
        reference_ms.append(timed(reference_count))
    session.rollback()
    return matches, statistics.median(engine_ms), statistics.median(reference_ms), plans


def run(url: str, count: int, repeat: int, reuse: bool) -> None:
    """Build or reuse the database, check every case, print plans, time and tabulate."""
    app = create_app(None, SQLALCHEMY_DATABASE_URI=url, TESTING=True,
                     SECRET_KEY="benchmark-only", SQLALCHEMY_ENGINE_OPTIONS={})
    with app.app_context():
        engine = db.engine
        print(facts := machine_facts(engine))
        if reuse and reusable(engine, count):
            if sync_indexes(engine):
                analyze(engine)
            print(f"Reusing the database of {count:,} contacts")
        else:
            build(engine, count)
        clock = Clock(datetime.now(UTC))
        recorder = Recorder(engine)
        results = [(case, measure(db.session, recorder, clock, repeat, case)) for case in CASES]
        db.session.remove()
    print("\nQuery plans, engine then reference:\n")
    print("\n\n".join(result[3] for _case, result in results))
    print(f"\nSegment counts at {count:,} contacts, median of {repeat} runs each, engine and"
          f" reference alternating. {facts}.\n")
    print("| segment | matching | engine median | reference median | engine / reference |")
    print("|---|---:|---:|---:|---:|")
    for (_label, rule_text, _sql), (matches, engine_ms, reference_ms, _plan) in results:
        print(f"| `{rule_text}` | {matches:,} | {engine_ms:.1f} ms | {reference_ms:.1f} ms"
              f" | {engine_ms / reference_ms:.2f}x |")


def main() -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000, help="contacts to generate")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a SQLite file)")
    parser.add_argument("--path", help="the SQLite file (default: one in the temporary folder)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep a database this script built, with as many contacts")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per case")
    args = parser.parse_args()
    if args.contacts < 10_000 or args.repeat < 1:
        parser.error("use at least 10,000 contacts and one run")
    path = args.path or os.path.join(tempfile.gettempdir(), f"crm-segments-{args.contacts}.sqlite")
    run(args.database_url or f"sqlite:///{os.path.abspath(path)}", args.contacts, args.repeat,
        args.reuse)


if __name__ == "__main__":
    main()
