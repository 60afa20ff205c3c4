"""Checking rows in a second process gives exactly what checking in line gives."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.imports import UnreadableFile, checking, open_csv, run_file
from crm.imports.bulk import BulkInsert
from crm.imports.runner import build
from crm.models import AuditEntry, ConsentEvent, Contact, Donation, UnionMembership

DATA = Path(__file__).parent / "data" / "imports"
FIXTURES = ["actblue.csv", "event_messy.csv", "event_semicolon_bom.csv", "event_tab_cp1252.csv",
            "mailchimp_subscribed.csv", "roster.csv"]


def batches(path: Path, parallel: bool, size: int = 3) -> list[Any]:
    source = open_csv(path)
    spec, _ = build(source, {})
    return [(read, [(r.line, r.email_key, r.fields, r.custom, r.status, r.tags, r.donation,
                     r.membership, r.cells) for r in rows], rejects)
            for read, rows, rejects in checking.checked(source, spec, size, parallel)]


@pytest.mark.parametrize("name", FIXTURES)
def test_the_child_process_checks_like_the_importer_does(name: str) -> None:
    inline = batches(DATA / name, parallel=False)
    assert inline and sum(read for read, _, _ in inline) > 0
    assert batches(DATA / name, parallel=True) == inline


def test_a_broken_file_fails_the_same_way_in_the_child(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("Email,First Name\n" + "a@example.org,A\n" * 5 + 'b@example.org,"B\n'
                    + ("x" * 200 + "\n") * 6000)
    messages = []
    for parallel in (False, True):
        with pytest.raises(UnreadableFile) as caught:
            batches(path, parallel)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "Line 7 cannot be read" in messages[0]


def test_without_a_child_process_the_import_checks_in_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(DATA / "no-such-python"))
    source = open_csv(DATA / "roster.csv")
    spec, _ = build(source, {})
    got = checking.checked(source, spec, 1000, parallel=True)
    assert got.__qualname__ == "batches"  # type: ignore[attr-defined]
    assert sum(read for read, _, _ in got) == 5


def stored(session: Any) -> list[Any]:
    """Everything an import writes, without ids and times."""
    people = session.execute(select(
        Contact.email_normalized, Contact.first_name, Contact.last_name, Contact.phone,
        Contact.city, Contact.state, Contact.zip, Contact.custom_fields, Contact.email_status,
        Contact.first_name_key, Contact.last_name_key, Contact.city_key,
    ).order_by(Contact.email_normalized)).all()
    audit = sorted(str(e.changes) for e in session.scalars(select(AuditEntry)))
    events = sorted((e.status, e.method) for e in session.scalars(select(ConsentEvent)))
    gifts = sorted((g.external_id, g.amount_cents) for g in session.scalars(select(Donation)))
    members = sorted((m.union_name, m.member_id, m.status)
                     for m in session.scalars(select(UnionMembership)))
    tags = sorted((c.email_normalized, tuple(t.name for t in c.tags))
                  for c in session.scalars(select(Contact)))
    return [people, audit, events, gifts, members, tags]


@pytest.mark.parametrize("name", ["actblue.csv", "roster.csv", "event_messy.csv"])
def test_a_parallel_import_stores_what_an_inline_one_stores(make_app: Any, name: str) -> None:
    results = []
    for parallel in (False, True):
        app = make_app()
        with app.app_context():
            from crm.current import db_session

            session = db_session()
            counts = run_file(session, DATA / name, {"actor": "tester", "tags": ["batch:1"],
                                                     "parallel": parallel})
            session.commit()
            results.append((counts.as_dict(), stored(session)))
    assert results[0][0]["created"] > 0
    assert results[1] == results[0]


def test_bulk_inserts_refuse_to_skip_python_defaults(session: Any) -> None:
    with pytest.raises(ValueError, match=r"give a value for .*created_at"):
        BulkInsert(session, Contact.__table__, ["email", "email_normalized"])


def test_closing_the_batches_ends_the_child_process(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("Email\n" + "".join(f"p{i}@example.org\n" for i in range(5000)))
    source = open_csv(path)
    spec, _ = build(source, {})
    got = checking.checked(source, spec, 100, parallel=True)
    assert next(got)[0] == 100
    child = got.gi_frame.f_locals["child"]
    assert child.poll() is None  # still checking the rest
    got.close()
    assert child.poll() is not None
