"""Contact services against a real database, with no HTTP client."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crm import audit, consent, contacts, timeline
from crm.errors import ConsentError, DuplicateEmail, NotFound, ValidationFailed
from crm.models import Contact, Tag

ANA = {"email": "Ana.Lopez@Example.org", "first_name": "Ana", "last_name": "Lopez",
       "phone": "(608) 555-0134", "city": "Madison", "state": "wi", "zip": "53703",
       "tags": ["union-member", "Tax Fairness"]}


def make(session: Any, **overrides: Any) -> Contact:
    contact = contacts.create(session, {**ANA, **overrides}, actor="staff@example.org")
    session.commit()
    return contact


def test_create_normalises_and_records_consent_and_audit(session: Any) -> None:
    contact = make(session)
    assert contact.email == "Ana.Lopez@example.org"
    assert contact.email_normalized == "ana.lopez@example.org"
    assert contact.phone == "+16085550134"
    assert contact.state == "WI"
    assert sorted(t.name for t in contact.tags) == ["Tax Fairness", "union-member"]
    [event] = consent.history(session, contact.id)
    assert (event.status, event.method, event.actor) == ("subscribed", "staff", "staff@example.org")
    [entry] = audit.entries_for(session, "contact", contact.id)
    assert entry.action == "create"
    assert entry.changes["phone"] == [None, "+16085550134"]


def test_duplicate_email_in_any_case_is_refused_not_duplicated(session: Any) -> None:
    first = make(session)
    with pytest.raises(DuplicateEmail) as info:
        contacts.create(session, {"email": " ANA.LOPEZ@example.org "}, actor="x")
    assert info.value.existing_id == first.id
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Contact)) == 1


def test_all_field_errors_come_back_together(session: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        contacts.create(session, {"email": "nope", "phone": "12", "state": "ZZ", "zip": "1",
                                  "city": "x" * 101, "favourite_color": "red"}, actor="x")
    assert set(info.value.errors) == {"email", "phone", "state", "zip", "city", "favourite_color"}
    assert info.value.errors["favourite_color"] == "Unknown field."


def test_update_audits_before_and_after_of_changed_fields_only(session: Any) -> None:
    contact = make(session)
    contacts.update(session, contact.id, {"city": "Milwaukee", "first_name": "Ana"}, actor="ed")
    session.commit()
    latest = audit.entries_for(session, "contact", contact.id)[0]
    assert latest.action == "update"
    assert latest.actor == "ed"
    assert latest.changes == {"city": ["Madison", "Milwaukee"]}


def test_update_without_changes_writes_no_audit(session: Any) -> None:
    contact = make(session)
    contacts.update(session, contact.id, {"city": "Madison"}, actor="ed")
    assert len(audit.entries_for(session, "contact", contact.id)) == 1


def test_update_to_an_email_someone_else_has_is_a_conflict(session: Any) -> None:
    make(session)
    other = make(session, email="ben@example.org")
    with pytest.raises(DuplicateEmail):
        contacts.update(session, other.id, {"email": "ANA.lopez@example.org"}, actor="x")


def test_unsubscribed_contact_cannot_be_resubscribed(session: Any) -> None:
    contact = make(session)
    contacts.update(session, contact.id, {"email_status": "unsubscribed"}, actor="x")
    session.commit()
    with pytest.raises(ConsentError, match="fresh opt-in"):
        contacts.update(session, contact.id, {"email_status": "subscribed"}, actor="x")
    session.rollback()
    assert contacts.get(session, contact.id).email_status == "unsubscribed"
    # A fresh double opt-in is the way back.
    contacts.update(session, contact.id, {"email_status": "pending"}, actor="x")
    statuses = [e.status for e in consent.history(session, contact.id)]
    assert statuses == ["pending", "unsubscribed", "subscribed"]


def test_cleaned_contact_cannot_be_resubscribed_or_made_pending(session: Any) -> None:
    contact = make(session, email_status="cleaned")
    for status in ("subscribed", "pending"):
        with pytest.raises(ConsentError):
            contacts.update(session, contact.id, {"email_status": status}, actor="x")
        session.rollback()


def test_upsert_updates_by_email_and_never_blanks_fields(session: Any) -> None:
    contact = make(session)
    same, created = contacts.upsert(session, {"email": "ana.LOPEZ@example.org", "city": "",
                                              "employer": "Madison Schools"}, actor="api")
    assert not created
    assert same.id == contact.id
    assert same.city == "Madison"
    assert same.employer == "Madison Schools"


def test_upsert_keeps_an_opt_out(session: Any) -> None:
    contact = make(session, email_status="unsubscribed")
    with pytest.raises(ConsentError):
        contacts.upsert(session, {"email": ANA["email"], "email_status": "subscribed"}, actor="a")
    session.rollback()
    assert contacts.get(session, contact.id).email_status == "unsubscribed"


def test_delete_hides_but_keeps_email_and_consent(session: Any) -> None:
    contact = make(session, email_status="unsubscribed")
    contacts.delete(session, contact.id, actor="x")
    session.commit()
    with pytest.raises(NotFound):
        contacts.get(session, contact.id)
    with pytest.raises(DuplicateEmail) as info:
        contacts.create(session, {"email": ANA["email"]}, actor="x")
    assert info.value.deleted
    session.rollback()
    restored, created = contacts.upsert(session, {"email": ANA["email"], "city": "Verona"},
                                        actor="api")
    assert not created
    assert restored.id == contact.id
    assert restored.email_status == "unsubscribed"
    actions = [e.action for e in audit.entries_for(session, "contact", contact.id)]
    assert actions[:3] == ["update", "restore", "delete"]


def test_tags_are_shared_and_case_insensitive(session: Any) -> None:
    ana = make(session)
    ben = make(session, email="ben@example.org", tags=["UNION-MEMBER"])
    assert session.scalar(select(func.count()).select_from(Tag)) == 2
    assert [t.name for t in ben.tags] == ["union-member"]
    contacts.change_tags(session, ana.id, add=["Public Education"], remove=["tax fairness"],
                         actor="x")
    assert sorted(t.name for t in ana.tags) == ["Public Education", "union-member"]
    assert audit.entries_for(session, "contact", ana.id)[0].changes["tags"][1] == [
        "Public Education", "union-member"]


def test_custom_fields_must_be_simple_values(session: Any) -> None:
    contact = make(session, custom_fields={"shirt_size": "L", "shifts": 3})
    assert contact.custom_fields == {"shirt_size": "L", "shifts": 3}
    with pytest.raises(ValidationFailed):
        contacts.update(session, contact.id, {"custom_fields": {"nested": {"a": 1}}}, actor="x")
    with pytest.raises(ValidationFailed):
        contacts.update(session, contact.id, {"custom_fields": ["not", "a", "dict"]}, actor="x")


def test_timeline_merges_audit_and_notes_newest_first(session: Any) -> None:
    contact = make(session)
    contacts.add_note(session, contact.id, "Wants to run for school board.", actor="org")
    contacts.update(session, contact.id, {"occupation": "Teacher"}, actor="org")
    entries = timeline.build(session, contact.id, list(timeline.DEFAULT_SOURCES))
    assert [e.kind for e in entries] == ["audit", "note", "audit"]
    assert entries[1].body == "Wants to run for school board."
    with pytest.raises(ValidationFailed):
        contacts.add_note(session, contact.id, "   ", actor="org")


def test_services_never_import_flask_nor_commit() -> None:
    package = Path(__file__).parent.parent / "crm"
    services = ["audit", "consent", "contacts", "listing", "staff", "tags", "timeline",
                "validation", "errors", "demo", "formatting", "merge", "panels",
                "pipeline", "exports", "donations", "memberships", "groups", "money",
                "giving_timeline", "demo_related"]
    paths = [package / f"{name}.py" for name in [*services, "jobs"]]
    paths += sorted(package.glob("models/*.py")) + sorted(package.glob("imports/*.py"))
    paths += sorted(package.glob("segments/*.py"))
    assert any(path.parent.name == "segments" for path in paths)
    for path in paths:
        name = path.name
        source = path.read_text()
        assert ".commit(" not in source, f"{name} commits; the edge should"
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("flask") for a in node.names), name
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("flask"), name
