"""The importer on real-looking files: exact counts, consent, idempotence, dry runs, jobs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import String, cast, func, select

from crm import consent, contacts, jobs
from crm.imports import run_file
from crm.imports.rows import Reject
from crm.job_runner import run_now
from crm.models import (
    AuditEntry,
    ConsentEvent,
    Contact,
    Donation,
    DonationSummary,
    ImportReject,
    Job,
    Tag,
    UnionMembership,
)

DATA = Path(__file__).parent / "data" / "imports"
ZERO = {"rows": 0, "created": 0, "updated": 0, "unchanged": 0, "rejected": 0, "duplicates": 0,
        "skipped_resubscribe": 0, "donations_created": 0, "donations_existing": 0,
        "memberships_created": 0, "memberships_updated": 0, "stopped": False, "dry_run": False}


def run(session: Any, name: str | Path, **params: Any) -> tuple[dict[str, Any], list[Reject]]:
    """Import a fixture and commit; return the counts and the rejected rows."""
    rejects: list[Reject] = []
    path = name if isinstance(name, Path) else DATA / name
    counts = run_file(session, path, {"actor": "tester", **params}, on_rejects=rejects.extend)
    session.commit()
    return counts.as_dict(), rejects


def expect(**counts: Any) -> dict[str, Any]:
    return {**ZERO, **counts}


def count(session: Any, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)))


def contact(session: Any, email: str) -> Contact:
    found = contacts.find_by_email(session, email)
    assert found is not None, email
    return found


def test_actblue_creates_donors_and_donations(session: Any) -> None:
    counts, rejects = run(session, "actblue.csv")
    assert counts == expect(rows=7, created=4, rejected=2, duplicates=1, donations_created=5)
    assert [(r.line, r.reason) for r in rejects] == [
        (6, "amount is not a number ('abc')"), (7, "unknown state 'XX'")]
    ana = contact(session, "ana.lopez@example.org")
    assert (ana.first_name, ana.phone, ana.employer, ana.zip) == (
        "Ana", "+16085550134", "UW Health", "53703")
    gifts = session.scalars(select(Donation).order_by(Donation.external_id)).all()
    assert [(g.external_id, g.amount_cents, g.recurring, g.refcode, g.source) for g in gifts] == [
        ("AB1001", 2500, False, "email-march", "actblue"),
        ("AB1002", 1000, True, "monthly", "actblue"),
        ("AB1003", 100000, False, None, "actblue"),
        ("AB1004", 5000, False, None, "actblue"),
        ("AB1007", 1500, False, "fb", "actblue")]
    assert {g.contact_id for g in gifts if g.external_id in ("AB1001", "AB1004")} == {ana.id}
    summary = session.get(DonationSummary, ana.id)
    assert summary is not None and (summary.total_cents, summary.gift_count) == (7500, 2)


def test_reimport_changes_nothing(session: Any) -> None:
    run(session, "actblue.csv")
    audit_before = count(session, AuditEntry)
    counts, _ = run(session, "actblue.csv")
    assert counts == expect(rows=7, unchanged=4, rejected=2, duplicates=1, donations_existing=5)
    assert count(session, Donation) == 5
    assert count(session, AuditEntry) == audit_before


def test_donations_match_on_receipt_id_not_on_the_donor(session: Any, tmp_path: Path) -> None:
    run(session, "actblue.csv")
    # The same receipt under another email is still the same gift.
    text = (DATA / "actblue.csv").read_text().replace("ana.lopez@example.org", "ana2@example.org")
    changed = tmp_path / "actblue2.csv"
    changed.write_text(text)
    counts, _ = run(session, changed)
    assert counts["donations_created"] == 0 and counts["donations_existing"] == 5
    assert counts["created"] == 1  # ana2 is a new contact, but gets no second gift
    assert count(session, Donation) == 5


def test_mailchimp_exports_keep_opt_outs(session: Any) -> None:
    counts, rejects = run(session, "mailchimp_subscribed.csv")
    assert counts == expect(rows=4, created=3, rejected=1)
    assert [(r.line, r.reason) for r in rejects] == [(5, "invalid email 'not-an-email'")]
    gus = contact(session, "gus@example.org")
    assert (gus.street, gus.city, gus.state, gus.zip) == ("44 River Rd Apt 2", "La Crosse",
                                                          "WI", "54601")
    assert [t.name for t in gus.tags] == ["Tax Fairness", "Volunteer"]

    assert run(session, "mailchimp_unsubscribed.csv")[0] == expect(rows=2, created=1, updated=1)
    assert run(session, "mailchimp_cleaned.csv")[0] == expect(rows=2, created=1, updated=1)
    statuses = {e: contact(session, e).email_status for e in (
        "hana@example.org", "kim@example.org", "ivan@example.org", "lou@example.org")}
    assert statuses == {"hana@example.org": "unsubscribed", "kim@example.org": "unsubscribed",
                        "ivan@example.org": "cleaned", "lou@example.org": "cleaned"}
    hana = contact(session, "hana@example.org")
    events = consent.history(session, hana.id)
    assert [(e.status, e.previous_status, e.method, e.actor) for e in events] == [
        ("unsubscribed", "subscribed", "import", "tester"),
        ("subscribed", None, "import", "tester")]

    # The subscribed export again: the opt-out and the bounce stay as they are.
    counts, _ = run(session, "mailchimp_subscribed.csv")
    assert counts == expect(rows=4, unchanged=3, rejected=1, skipped_resubscribe=2)
    assert contact(session, "hana@example.org").email_status == "unsubscribed"
    assert contact(session, "ivan@example.org").email_status == "cleaned"
    assert len(consent.history(session, hana.id)) == 2


def test_import_after_unsubscribe_is_skipped(session: Any) -> None:
    ana = contacts.create(session, {"email": "gus@example.org", "first_name": "Gus"},
                          actor="staff@example.org")
    consent.set_status(session, ana, "unsubscribed", method="staff", actor="staff@example.org")
    session.commit()
    counts, _ = run(session, "mailchimp_subscribed.csv")
    assert counts["skipped_resubscribe"] == 1 and counts["updated"] == 1  # the address, tags
    assert contact(session, "gus@example.org").email_status == "unsubscribed"


def test_roster_matches_members_by_id(session: Any) -> None:
    counts, rejects = run(session, "roster.csv")
    assert counts == expect(rows=5, created=3, rejected=2, memberships_created=3)
    assert [(r.line, r.reason) for r in rejects] == [
        (5, "unknown member status 'On strike'"),
        (6, "email is missing (no member with this id yet)")]
    maria = contact(session, "maria.g@example.org")
    # A month later Maria has a new email: the member id finds her, the email follows.
    counts, rejects = run(session, "roster_update_cp1252.csv", union="AFSCME")
    assert rejects == []
    assert counts == expect(rows=3, created=1, updated=1, unchanged=1, memberships_created=1,
                            memberships_updated=1)
    moved = contact(session, "maria.new@example.org")
    assert moved.id == maria.id and moved.first_name == "María"
    assert contacts.find_by_email(session, "maria.g@example.org") is None
    members = {m.member_id: m for m in session.scalars(select(UnionMembership))}
    assert set(members) == {"M-100", "M-101", "M-102", "M-105"}
    assert (members["M-101"].status, members["M-101"].worksite) == ("active", "Streets Dept")
    assert members["M-105"].local == "Local 60"
    assert contact(session, "soren@example.org").last_name == "Ångström"


def test_member_id_and_email_of_two_contacts_is_refused(session: Any, tmp_path: Path) -> None:
    run(session, "roster.csv")
    path = tmp_path / "clash.csv"
    path.write_text("Member ID,Union,Local,Home Email\nM-100,AFSCME,Local 60,omar@example.org\n")
    counts, rejects = run(session, path)
    assert counts["rejected"] == 1 and counts["updated"] == 0
    assert "belongs to contact" in rejects[0].reason


def test_messy_event_sheet(session: Any) -> None:
    counts, rejects = run(session, "event_messy.csv", tags=["event:2026-05-rally"])
    assert counts == expect(rows=10, created=3, rejected=5, duplicates=2)
    assert [(r.line, r.reason) for r in rejects] == [
        (7, "invalid phone number '12'"),
        (9, "invalid email 'wes@example'"),
        (10, "unknown state 'ZZ'"),
        (11, "invalid ZIP '5370'"),
        (12, "row has 11 cells but the header has 9 (a value with an unquoted delimiter?)")]
    assert rejects[-1].row["extra 2"] == "cells"
    tess = contact(session, "tess@example.org")
    assert (tess.first_name, tess.last_name, tess.phone, tess.state) == (
        "Tess", "Young", "+16085550120", "WI")
    assert tess.custom_fields == {"Notes": "Brought\ntwo friends", "Shirt size": "M"}
    assert contact(session, "uma@example.org").email == "UMA@example.org"
    assert contact(session, "cal@example.org").city == "Fitchburg"
    rally = session.scalar(select(Tag).where(Tag.name_key == "event:2026-05-rally"))
    assert rally is not None
    assert count(session, Contact) == 3
    assert all([t.name for t in c.tags] == ["event:2026-05-rally"]
               for c in session.scalars(select(Contact)))


@pytest.mark.parametrize(("name", "first", "last"), [
    ("event_tab_cp1252.csv", "José", "Müller"),
    ("event_semicolon_bom.csv", "Sam", "Lind"),
])
def test_delimiters_and_encodings(session: Any, name: str, first: str, last: str) -> None:
    counts, _ = run(session, name)
    assert counts == expect(rows=2, created=2)
    found = session.scalar(select(Contact).order_by(Contact.id))
    assert (found.first_name, found.last_name) == (first, last)


def test_import_never_blanks_a_field(session: Any, tmp_path: Path) -> None:
    contacts.create(session, {"email": "tess@example.org", "first_name": "Tess",
                              "city": "Verona", "phone": "608-555-0177"}, actor="staff")
    session.commit()
    path = tmp_path / "sparse.csv"
    path.write_text("Email,City,Phone,First Name\nTESS@example.org,,,Tessa\n")
    counts, _ = run(session, path)
    assert counts == expect(rows=1, updated=1)
    tess = contact(session, "tess@example.org")
    assert (tess.first_name, tess.city, tess.phone) == ("Tessa", "Verona", "+16085550177")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert entry.actor == "tester" and entry.changes == {"first_name": ["Tess", "Tessa"]}


def test_deleted_contact_comes_back_with_its_opt_out(session: Any) -> None:
    gus = contacts.create(session, {"email": "gus@example.org", "email_status": "unsubscribed"},
                          actor="staff")
    contacts.delete(session, gus.id, actor="staff")
    session.commit()
    counts, _ = run(session, "mailchimp_subscribed.csv")
    assert counts["skipped_resubscribe"] == 1
    gus = contact(session, "gus@example.org")
    assert gus.deleted_at is None and gus.email_status == "unsubscribed"


def test_dry_run_writes_nothing(session: Any) -> None:
    for name in ("actblue.csv", "roster.csv", "event_messy.csv", "mailchimp_subscribed.csv"):
        counts, _ = run(session, name, dry_run=True, tags=["x"])
        assert counts["dry_run"] is True and counts["created"] > 0
    for model in (Contact, Donation, UnionMembership, Tag, ConsentEvent, AuditEntry,
                  ImportReject):
        assert count(session, model) == 0, model


def test_dry_run_counts_match_the_real_run(session: Any) -> None:
    run(session, "mailchimp_subscribed.csv")
    dry, _ = run(session, "mailchimp_unsubscribed.csv", dry_run=True)
    real, _ = run(session, "mailchimp_unsubscribed.csv")
    assert {**dry, "dry_run": False} == real


def test_batches_and_repeats_across_batches(session: Any, tmp_path: Path) -> None:
    lines = ["Email,First Name"] + [f"p{i}@example.org,P{i}" for i in range(25)]
    lines += ["P3@EXAMPLE.ORG,P3", "bad,X"]
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n")
    counts, _ = run(session, path, batch_size=10)
    assert counts == expect(rows=27, created=25, duplicates=1, rejected=1)
    assert count(session, Contact) == 25


def _job(session: Any, path: Path, **params: Any) -> int:
    job = jobs.create(session, "import", {"path": str(path), "actor": "tester",
                                          "header": ["Email", "First Name"], **params},
                      started_by="tester")
    session.commit()
    return job.id


def test_a_job_imports_and_keeps_rejects(app: Flask, session: Any, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("Email,First Name\nann@example.org,Ann\n=cmd,Bob\n")
    job = run_now(app, _job(session, path))
    assert job.status == "succeeded", job.error
    assert job.result["created"] == 1 and job.result["rejected"] == 1
    rejects = session.scalars(select(ImportReject)).all()
    assert [(r.line_number, r.reason, r.row) for r in rejects] == [
        (3, "invalid email '=cmd'", {"Email": "=cmd", "First Name": "Bob"})]
    assert not path.exists()  # the upload is removed once imported


def test_a_failing_job_keeps_committed_batches(app: Flask, session: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from crm.imports import writer

    path = tmp_path / "big.csv"
    path.write_text("Email,First Name\n" + "".join(f"m{i}@example.org,M\n" for i in range(2500)))
    original = writer.BatchWriter.write
    calls = []

    def flaky(self: Any, people: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return original(self, people)

    monkeypatch.setattr(writer.BatchWriter, "write", flaky)
    # Commit after every batch (a large file commits every few seconds instead).
    job = run_now(app, _job(session, path, commit_seconds=0))
    assert job.status == "failed" and "disk full" in (job.error or "")
    assert count(session, Contact) == 2000
    assert path.exists()  # kept so the import can be run again


def test_a_dry_run_job_writes_nothing(app: Flask, session: Any) -> None:
    job = run_now(app, _job(session, DATA / "roster.csv", dry_run=True))
    assert job.status == "succeeded" and job.result["created"] == 3
    assert count(session, Contact) == 0 and count(session, Job) == 1
    assert (DATA / "roster.csv").exists()


def test_bulk_written_rows_read_back_like_orm_rows(session: Any, tmp_path: Path) -> None:
    """Timestamps written in bulk compare in SQL exactly like those the ORM writes."""
    from datetime import timedelta

    from crm.models import utcnow

    before = utcnow() - timedelta(seconds=1)
    path = tmp_path / "two.csv"
    path.write_text("Email,First Name,Shirt size\nann@example.org,Ann,M\nbo@example.org,Bo,\n")
    run(session, path, tags=["event:rally"])
    after = utcnow() + timedelta(seconds=1)
    for model in (Contact, ConsentEvent, AuditEntry):
        between = select(func.count()).select_from(model).where(
            model.created_at > before, model.created_at < after)
        assert session.scalar(between) == 2, model.__name__
    # Stored in the same shape as the ORM stores it (SQLite keeps datetimes as text).
    contacts.create(session, {"email": "orm@example.org"}, actor="tester")
    session.flush()
    stored = dict(session.execute(select(Contact.email, cast(Contact.created_at, String))).all())
    # PostgreSQL prints fractions of a second without trailing zeros (and none at all for
    # a whole second), so the fraction's length varies by row there: compare the rest.
    shape = {email: re.sub(r"\d", "9", re.sub(r"\.\d+", "", value))
             for email, value in stored.items()}
    assert shape["ann@example.org"] == shape["orm@example.org"], shape
    ann = contact(session, "ann@example.org")
    assert ann.custom_fields == {"Shirt size": "M"} and [t.name for t in ann.tags] == [
        "event:rally"]
    assert session.scalar(select(func.count()).select_from(Contact).where(
        Contact.custom_fields["Shirt size"].as_string() == "M")) == 1
