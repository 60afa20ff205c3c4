"""The ``flask crm segment-count`` command and the caret under a query's mistake."""

from __future__ import annotations

import pytest
from flask import Flask

from crm.formatting import pointer
from crm.models import Segment
from tests.test_segments_web import add_people, save
from wsgi import db


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    return add_people(app)


def run(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(args=["crm", "segment-count", *args])
    return result.exit_code, result.stdout, result.stderr


def test_counts_a_text_query_and_prints_it_canonically(app: Flask,
                                                       people: dict[str, int]) -> None:
    code, out, _err = run(app, "TAG:union-member and State in (wi, mn) and not "
                               "email_status = unsubscribed")
    assert code == 0
    assert out.splitlines() == [
        "Count: 3",
        'Query: tag:"union-member" and state in (WI, MN) and not email_status = unsubscribed']
    code, out, _err = run(app, "donations.total >= 50 or donations.count = 0")
    assert code == 0 and out.splitlines()[0] == "Count: 4"


def test_counts_a_saved_segment_by_name_or_id(app: Flask, people: dict[str, int]) -> None:
    donors = save(app, "Donors", "donations.count >= 1")
    code, out, _err = run(app, "--segment", "donors")
    assert code == 0
    assert out.splitlines() == [f"Segment: #{donors} Donors", "Count: 2",
                                "Query: donations.count >= 1"]
    code, out, _err = run(app, "--segment", str(donors))
    assert code == 0 and "Count: 2" in out
    code, _out, err = run(app, "--segment", "Nobody")
    assert code == 1 and "No segment is called or numbered Nobody." in err
    code, _out, err = run(app, "--segment", "99999999999")
    assert code == 1 and "No segment" in err


def test_a_bad_query_prints_the_error_with_a_caret_and_fails(app: Flask) -> None:
    code, out, err = run(app, "state = WI and stat = 1")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        'Error: Unknown field "stat" at column 16; did you mean "state"?',
        "  state = WI and stat = 1",
        "                 ^",
    ]
    code, _out, err = run(app, "(state = WI")
    assert code == 1
    assert err.splitlines()[1:] == ["  (state = WI", "  ^"]
    assert 'Unbalanced "(" at column 1' in err


def test_a_saved_rule_that_no_longer_reads_is_an_error(app: Flask) -> None:
    with app.app_context():
        db.session.add(Segment(name="Old", name_key="old", text="gone = 1", created_by="seed",
                               rules={"field": "gone", "op": "=", "value": "1"}))
        db.session.commit()
    code, out, err = run(app, "--segment", "Old")
    assert code == 1 and "Count" not in out
    assert 'The saved rule no longer reads: Unknown field "gone"' in err


def test_asks_for_exactly_one_of_a_query_and_a_segment(app: Flask) -> None:
    code, _out, err = run(app)
    assert code == 2 and "--segment NAME_OR_ID" in err
    code, _out, err = run(app, "state = WI", "--segment", "x")
    assert code == 2 and "one of the two" in err


@pytest.mark.parametrize(("text", "position", "line", "caret"), [
    ("state = WI", 0, "state = WI", "^"),
    ("state = WI", 10, "state = WI", "          ^"),
    ("state = WI\nand\tstat = 1", 15, "and\tstat = 1", "   \t^"),
    ("x" * 100 + "!" + "y" * 100, 100, "…" + "x" * 36 + "!" + "y" * 35 + "…", " " * 37 + "^"),
    ("ab", 99, "ab", "  ^"),
])
def test_pointer_puts_the_caret_under_the_position(text: str, position: int, line: str,
                                                   caret: str) -> None:
    assert pointer(text, position) == (line, caret)
