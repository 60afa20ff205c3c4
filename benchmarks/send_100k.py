"""Send a 100,000-recipient chip-in appeal through the sandbox Mailchimp with fixed latency.

Timed from "send" (the campaign handed to the send job) to the end of the send call: the
snapshot taken again, the campaign's static segment, the sync of every recipient's merge
values (each batch then joins the segment), the campaign, its content and the send. The
figure is printed next to the sync limit of the Mailchimp work: ceil(N/500) calls over 10
connections at the given latency. The sandbox runs in its own process, as Mailchimp would.

    python benchmarks/send_100k.py [--contacts 100000] [--latency-ms 100] [--connections 10]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sync_100k as base
from sqlalchemy import insert

from campaigns import campaign_config, composing, send_job, sending
from crm.models import Base, DonationSummary
from crm.segments import service as segments
from tests.conftest import TestConfig
from wsgi import create_app, db

CALLS = ("batch_upsert", "change_static_segment", "create_static_segment", "merge_fields",
         "create_merge_field", "static_segments", "create_campaign", "set_content", "send",
         "campaign", "member")


class Counting(base.CountingGateway):
    """The real gateway, counting the send's calls by name too."""

    def __getattribute__(self, name: str) -> object:
        attr = object.__getattribute__(self, name)
        if name in CALLS and callable(attr):
            counter = object.__getattribute__(self, "counted")

            def counted(*args: object, **kwargs: object) -> object:
                counter[name] += 1
                return attr(*args, **kwargs)

            return counted
        return attr


def give(count: int) -> None:
    """Give every third contact a giving history, so asks differ."""
    rows = [{"contact_id": i, "total_cents": 500 * (i % 40 + 1), "gift_count": 1 + i % 3,
             "hpc_cents": 500 * (i % 40 + 1), "last_cents": 500 * (i % 20 + 1),
             "recurring": False} for i in range(1, count + 1, 3)]
    for start in range(0, len(rows), 10_000):
        db.session.execute(insert(DonationSummary), rows[start:start + 10_000])
    db.session.commit()


def main() -> None:
    """Build the data, mark a chip-in appeal ready, send it and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    limit_calls = math.ceil(args.contacts / 500)
    limit_seconds = limit_calls / args.connections * args.latency_ms / 1000
    proc, url = base.start_sandbox(args.latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/bench.sqlite",
                             CRM_MAILCHIMP_SANDBOX_URL=url)
            with app.app_context():
                Base.metadata.create_all(db.engine)
                base.fill(args.contacts)
                give(args.contacts)
                session = db.session
                everyone = segments.create(session, {"name": "All", "text": 'email contains "@"'},
                                           actor="bench")
                campaign = composing.create(
                    session, {"kind": "chip_in", "name": "Bench appeal",
                              "segment_id": everyone.id}, actor="writer",
                    defaults=campaign_config.defaults(app))
                session.commit()
                t = time.perf_counter()
                sending.mark_ready(session, campaign, actor="writer",
                                   org=campaign_config.org(app),
                                   settings=campaign_config.settings(app, campaign),
                                   rules=campaign_config.rules(app))
                session.commit()
                ready_seconds = time.perf_counter() - t
                sending.approve(campaign, actor="approver", role="organizer")
                session.commit()
                gateway = Counting(app.extensions["campaigns"].gateway(app).config)
                gateway.counted = Counter()
                print(f"{args.contacts:,} contacts ({campaign.audience['included']:,} "
                      f"recipients); marking ready (checks, content, snapshot) took "
                      f"{ready_seconds:.2f} s; sandbox latency {args.latency_ms:.0f} ms per "
                      f"call, {args.connections} connections, {os.cpu_count()} CPUs")
                started, cpu, other = (time.perf_counter(), base.cpu_seconds(),
                                       base.cpu_seconds(proc.pid))
                sending.request_send(campaign, actor="approver")
                session.commit()
                reached: dict[str, float] = {}
                worker = send_job.Sender(
                    session=session, gateway=gateway, campaign=campaign,
                    progress=base.Quiet(session), settings=campaign_config.settings(app, campaign),
                    rules=campaign_config.rules(app), connections=args.connections,
                    after_step=lambda step: reached.setdefault(step, time.perf_counter()))
                result = worker.run()
                session.commit()
                seconds = time.perf_counter() - started
                cpu, other = base.cpu_seconds() - cpu, base.cpu_seconds(proc.pid) - other
                print(f"status: {result['status']}, {result['recipients']:,} recipients, "
                      f"send calls {result['send_calls']}")
                print(f"  calls: {dict(gateway.counted)}")
                print(f"  send to send call: {seconds:.2f} s against the sync limit's "
                      f"{limit_calls} / {args.connections} x {args.latency_ms / 1000:.2f} s = "
                      f"{limit_seconds:.2f} s ({seconds / limit_seconds:.2f}x; goal <= 1.5x)")
                print(f"  CPU: {cpu:.2f} s in the app, {other:.2f} s in the sandbox")
                marks = [("snapshot", "segment"), ("segment", "sync"),
                         ("sync of merge values", "campaign"), ("campaign", "content"),
                         ("content", "deliver"), ("send call", "done")]
                last = started
                for label, step in marks:
                    at = reached.get(step, last)
                    print(f"  {label}: {at - last:.2f} s")
                    last = at
                db.session.remove()
                db.engine.dispose()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
