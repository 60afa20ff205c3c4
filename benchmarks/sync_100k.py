"""Sync 100,000 contacts to the sandbox Mailchimp with a fixed latency per call.

Prints the number of calls against the limit ceil(N/500), the wall time against the
limit's time (limit calls / 10 connections x latency), and the calls an immediate re-sync
makes (the goal is none). The sandbox runs in a process of its own, as Mailchimp would,
so its work does not share this process's interpreter lock.

    python benchmarks/sync_100k.py [--contacts 100000] [--latency-ms 100] [--connections 10]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from campaigns import sync
from campaigns.mailchimp import Gateway
from crm.models import Base, ConsentEvent, Contact
from tests.conftest import TestConfig
from wsgi import create_app, db

FIRST = "Ana Ben Cara Dev Emma Femi Gus Hana Ivan Jada Kai Lena Marco Nia Omar Priya".split()
LAST = "Smith Garcia Nowak Olson Schmidt Nguyen Patel Berg Larson Moore Jackson Lee".split()
CITIES = [("Madison", "53703"), ("Milwaukee", "53202"), ("Green Bay", "54301"),
          ("Eau Claire", "54701"), ("Kenosha", "53140")]


class CountingGateway(Gateway):
    """The real gateway, counting each domain call by name."""

    counted: Counter[str]

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if callable(attr) and not name.startswith("_") and name in {
                "batch_upsert", "merge_fields", "create_merge_field", "static_segments",
                "create_static_segment", "change_static_segment", "member", "upsert_member"}:
            counter = super().__getattribute__("counted")

            def counted(*args: Any, **kwargs: Any) -> Any:
                counter[name] += 1
                return attr(*args, **kwargs)

            return counted
        return attr


class Quiet:
    """A progress sink that commits, as the job runner's reporter does."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Commit the work so far."""
        self.session.commit()

    def should_stop(self) -> bool:
        """Never stop."""
        return False


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    """Run the sandbox Mailchimp in its own process and wait until it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "campaigns.sandbox", "--port", str(port),
                             "--latency-ms", str(latency_ms)],
                            cwd=Path(__file__).resolve().parent.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}/3.0"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("The sandbox did not start.")


def fill(count: int) -> None:
    """Insert ``count`` subscribed contacts with names, phones and most with an address."""
    now = datetime.now(UTC)
    rows = []
    for i in range(count):
        first, last = FIRST[i % len(FIRST)], LAST[(i // 7) % len(LAST)]
        city, zip_code = CITIES[i % len(CITIES)]
        has_address = i % 4 != 0
        email = f"{first.lower()}.{last.lower()}.{i}@members.example.org"
        rows.append({"id": i + 1, "email": email, "email_normalized": email,
                     "first_name": first, "last_name": last, "first_name_key": first.lower(),
                     "last_name_key": last.lower(), "phone": f"+1608555{i % 10000:04d}",
                     "street": f"{100 + i % 900} Main St" if has_address else None,
                     "city": city, "city_key": city.lower(), "state": "WI", "zip": zip_code,
                     "email_status": "subscribed", "custom_fields": {}, "created_at": now,
                     "updated_at": now})
    session = db.session
    for start in range(0, count, 10_000):
        session.execute(insert(Contact), rows[start:start + 10_000])
    session.execute(insert(ConsentEvent), [
        {"contact_id": r["id"], "status": "subscribed", "method": "import", "actor": "bench",
         "created_at": now} for r in rows])
    session.commit()


def cpu_seconds(pid: int | None = None) -> float:
    """Return CPU time (user + system) used so far by this process or another one (Linux)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_sync(gateway: CountingGateway, connections: int,
             sandbox_pid: int) -> tuple[float, dict[str, int], float, float]:
    """Push everyone subscribed; return wall time, counts, and this and the sandbox's CPU."""
    session = db.session
    record = sync.create(session, audience_id=gateway.config.audience_id, actor="bench")
    session.commit()
    started, cpu, other = time.perf_counter(), cpu_seconds(), cpu_seconds(sandbox_pid)
    counts = sync.push(session, gateway, record, Quiet(session), connections=connections)
    session.commit()
    return (time.perf_counter() - started, counts, cpu_seconds() - cpu,
            cpu_seconds(sandbox_pid) - other)


def main() -> None:
    """Build the data, sync twice and print the figures with their references."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    limit_calls = math.ceil(args.contacts / 500)
    limit_seconds = limit_calls / args.connections * args.latency_ms / 1000
    proc, url = start_sandbox(args.latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/bench.sqlite",
                             CRM_MAILCHIMP_SANDBOX_URL=url)
            with app.app_context():
                Base.metadata.create_all(db.engine)
                t = time.perf_counter()
                fill(args.contacts)
                print(f"{args.contacts:,} contacts written in {time.perf_counter() - t:.1f} s; "
                      f"sandbox latency {args.latency_ms:.0f} ms per call, "
                      f"{args.connections} connections, {os.cpu_count()} CPUs")
                config = app.extensions["campaigns"].gateway(app).config
                gateway = CountingGateway(config)
                gateway.counted = Counter()
                seconds, counts, cpu, sandbox_cpu = run_sync(gateway, args.connections, proc.pid)
                batches = gateway.counted["batch_upsert"]
                setup = dict(gateway.counted - Counter(batch_upsert=batches))
                print(f"first sync: {counts['added']:,} added, {counts['errors']} refused")
                print(f"  member calls: {batches} (limit ceil(N/500) = {limit_calls}); "
                      f"setup calls: {sum(setup.values())} {setup}")
                print(f"  wall time: {seconds:.2f} s against the limit's "
                      f"{limit_calls} / {args.connections} x {args.latency_ms / 1000:.2f} s = "
                      f"{limit_seconds:.2f} s ({seconds / limit_seconds:.2f}x; goal <= 1.5x)")
                print(f"  CPU: {cpu:.2f} s in the app (reading, planning, ledger, SDK), "
                      f"{sandbox_cpu:.2f} s in the sandbox")
                again = CountingGateway(config)
                again.counted = Counter()
                seconds2, counts2, _, _ = run_sync(again, args.connections, proc.pid)
                print(f"re-sync: {counts2['unchanged']:,} unchanged, "
                      f"{sum(again.counted.values())} calls (goal 0), {seconds2:.2f} s")
                db.session.remove()
                db.engine.dispose()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
