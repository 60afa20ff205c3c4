"""Contact export to CSV: chosen fields, list filters, formula neutralising and streaming."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from crm import contacts, exports, listing
from crm.errors import ValidationFailed
from crm.models import Contact, UnionMembership
from crm.validation import search_key
from wsgi import db

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def parse(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


@pytest.mark.parametrize(("cell", "expected"), [
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
    ("+1 608 555 0134", "'+1 608 555 0134"),
    ("-2+3", "'-2+3"),
    ("@cmd", "'@cmd"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("Ana", "Ana"),
    ("a=b", "a=b"),
    ("", ""),
    ("'quoted", "'quoted"),
])
def test_neutralise_examples(cell: str, expected: str) -> None:
    assert exports.neutralise(cell) == expected


@given(st.text())
def test_no_neutralised_cell_starts_a_formula(cell: str) -> None:
    out = exports.neutralise(cell)
    assert not out.startswith(DANGEROUS)
    assert out == ("'" + cell if cell.startswith(DANGEROUS) else cell)


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    with app.app_context():
        s = db.session
        ids = {
            "ana": contacts.create(s, {"email": "ana@example.org", "first_name": "Ána",
                                       "last_name": "López", "phone": "608-555-0134",
                                       "city": "Madison", "state": "WI",
                                       "tags": ["union-member", "donor"]}, actor="t").id,
            "bo": contacts.create(s, {"email": "bo@example.org", "first_name": "=HYPERLINK(\"x\")",
                                      "last_name": "Baker", "city": "@Milwaukee",
                                      "tags": ["donor"]}, actor="t").id,
            "cy": contacts.create(s, {"email": "cy@example.org", "first_name": "Cy",
                                      "last_name": "Adams", "state": "MN",
                                      "email_status": "unsubscribed"}, actor="t").id,
        }
        gone = contacts.create(s, {"email": "gone@example.org", "last_name": "Gone"}, actor="t")
        contacts.delete(s, gone.id, actor="t")
        db.session.commit()
    return ids


def test_service_rows_follow_the_filter_and_fields(session: Any, people: dict[str, int]) -> None:
    flt = listing.ContactFilter(tag="donor")
    rows = list(exports.rows(session, flt, ["last_name", "first_name", "tags", "city"]))
    assert rows == [["Baker", "'=HYPERLINK(\"x\")", "donor", "'@Milwaukee"],
                    ["López", "Ána", "donor; union-member", "Madison"]]
    with pytest.raises(ValidationFailed) as caught:
        exports.rows(session, listing.ContactFilter(), ["email", "password_hash"])
    assert "password_hash" in caught.value.errors["fields"]
    with pytest.raises(ValidationFailed):
        exports.rows(session, listing.ContactFilter(email_status="gone"), ["email"])


def test_export_all_with_chosen_fields_streams_with_bom(
        as_role: Callable[[str], FlaskClient], people: dict[str, int]) -> None:
    response = as_role("viewer").get(
        "/crm/contacts/export?fields=email&fields=first_name&fields=phone&fields=email_status")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="contacts-') and disposition.endswith(
        '.csv"')
    rows = parse(response.get_data())
    assert rows[0] == ["Email", "First name", "Phone", "Email status"]
    assert rows[1:] == [["cy@example.org", "Cy", "", "unsubscribed"],
                        ["bo@example.org", "'=HYPERLINK(\"x\")", "", "subscribed"],
                        ["ana@example.org", "Ána", "(608) 555-0134", "subscribed"]]
    assert response.get_data().startswith(b"\xef\xbb\xbf")


def test_export_a_tag_and_a_search(as_role: Callable[[str], FlaskClient],
                                   people: dict[str, int]) -> None:
    client = as_role("viewer")
    tagged = parse(client.get("/crm/contacts/export?tag=union-member&fields=id&fields=tags"
                              "&download=1").get_data())
    assert tagged == [["ID", "Tags"], [str(people["ana"]), "donor; union-member"]]
    found = parse(client.get("/crm/contacts/export?q=bak&fields=email").get_data())
    assert found == [["Email"], ["bo@example.org"]]
    by_state = parse(client.get("/crm/contacts/export?state=mn&status=unsubscribed"
                                "&fields=email&fields=state").get_data())
    assert by_state == [["Email", "State"], ["cy@example.org", "MN"]]
    nobody = parse(client.get("/crm/contacts/export?tag=no-such-tag&fields=email").get_data())
    assert nobody == [["Email"]]


def test_bad_fields_and_filters_answer_400_with_the_reason(
        as_role: Callable[[str], FlaskClient], people: dict[str, int]) -> None:
    client = as_role("viewer")
    bad = client.get("/crm/contacts/export?fields=email&fields=<b>secret</b>")
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "Unknown field: &lt;b&gt;secret&lt;/b&gt;" in page and "<b>secret" not in page
    empty = client.get("/crm/contacts/export?download=1&q=ana")
    assert empty.status_code == 400
    assert "Pick at least one field" in empty.get_data(as_text=True)
    assert 'value="ana"' in empty.get_data(as_text=True)
    status = client.get("/crm/contacts/export?fields=email&status=nope")
    assert status.status_code == 400 and "Must be one of" in status.get_data(as_text=True)


def test_the_form_carries_the_list_filters(as_role: Callable[[str], FlaskClient],
                                           app: Flask) -> None:
    page = as_role("viewer").get("/crm/contacts/export?q=ana&tag=donor&state=WI"
                                 "&status=subscribed").get_data(as_text=True)
    assert 'name="q" value="ana"' in page and 'name="tag" value="donor"' in page
    assert 'name="state" value="WI"' in page
    assert '<option value="subscribed" selected>' in page
    assert 'value="email" id="field-email" checked' in page
    assert 'value="county" id="field-county" >' in page
    assert "Union memberships" not in page  # offered once there are memberships
    assert " style=" not in page


def test_union_membership_summary(as_role: Callable[[str], FlaskClient], app: Flask,
                                  people: dict[str, int]) -> None:
    with app.app_context():
        db.session.add_all([
            UnionMembership(contact_id=people["ana"], union_name="AFT", local="3220",
                            status="active"),
            UnionMembership(contact_id=people["ana"], union_name="SEIU", status="retired"),
        ])
        db.session.commit()
    client = as_role("viewer")
    assert "Union memberships" in client.get("/crm/contacts/export").get_data(as_text=True)
    rows = parse(client.get("/crm/contacts/export?q=ana&fields=email"
                            "&fields=union_memberships").get_data())
    assert rows[1] == ["ana@example.org", "AFT Local 3220 (active); SEIU (retired)"]


def test_thousands_of_contacts_export_across_batches(
        as_role: Callable[[str], FlaskClient], app: Flask) -> None:
    total = 2500
    with app.app_context():
        # Few distinct names, so batches split inside runs of equal names (ties go by id).
        db.session.add_all(
            Contact(email=f"p{i}@example.org", email_normalized=f"p{i}@example.org",
                    first_name=f"F{i % 3}", last_name=f"L{i % 5}",
                    first_name_key=search_key(f"F{i % 3}"), last_name_key=search_key(f"L{i % 5}"),
                    custom_fields={})
            for i in range(total))
        db.session.commit()
    response = as_role("viewer").get("/crm/contacts/export?fields=email&fields=last_name")
    assert response.is_streamed
    chunks = list(response.response)
    assert len(chunks) > total // exports.BATCH  # one piece per batch, not one big string
    rows = parse("".join(c.decode() if isinstance(c, bytes) else c
                         for c in chunks).encode())[1:]
    emails = [row[0] for row in rows]
    assert len(emails) == total and len(set(emails)) == total
    assert set(emails) == {f"p{i}@example.org" for i in range(total)}
    assert [row[1] for row in rows] == sorted(row[1] for row in rows)


def test_a_segment_export_compiles_the_segment_once_for_all_batches(
        session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import crm.segments
    from crm.segments import service as segment_service

    session.add_all(
        Contact(email=f"s{i}@example.org", email_normalized=f"s{i}@example.org",
                first_name="S", last_name=f"L{i:04d}", first_name_key="s",
                last_name_key=f"l{i:04d}", city="Madison" if i % 2 else "Milwaukee",
                city_key="madison" if i % 2 else "milwaukee", custom_fields={})
        for i in range(3 * exports.BATCH + 10))
    segment = segment_service.create(session, {"name": "Madison", "text": "city = Madison"},
                                     actor="tester")
    session.flush()
    compiled = []
    original = crm.segments.compile_rule

    def counting(*args: Any, **kwargs: Any) -> Any:
        compiled.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(crm.segments, "compile_rule", counting)
    flt = listing.ContactFilter(segment=str(segment.id))
    rows = list(exports.rows(session, flt, ["email"]))
    assert len(rows) == (3 * exports.BATCH + 10) // 2  # several batches of Madison
    assert len(compiled) == 1
