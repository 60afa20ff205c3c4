"""Reading uploads and checking rows: encodings, delimiters, line numbers, fast paths."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crm.imports import fast
from crm.imports.extras import parse_amount
from crm.imports.mapping import check, signature
from crm.imports.presets import detect, suggest
from crm.imports.reading import UnreadableFile, open_csv
from crm.imports.rejects import neutralise, write
from crm.validation import normalize_email, normalize_phone

DATA = Path(__file__).parent / "data" / "imports"


@pytest.mark.parametrize(("name", "encoding", "delimiter", "preset"), [
    ("actblue.csv", "utf-8", ",", "actblue"),
    ("mailchimp_subscribed.csv", "utf-8-sig", ",", "mailchimp"),
    ("mailchimp_unsubscribed.csv", "utf-8-sig", ",", "mailchimp"),
    ("roster.csv", "utf-8", ",", "roster"),
    ("roster_update_cp1252.csv", "cp1252", ";", "roster"),
    ("event_messy.csv", "utf-8", ",", "generic"),
    ("event_tab_cp1252.csv", "cp1252", "\t", "generic"),
    ("event_semicolon_bom.csv", "utf-8-sig", ";", "generic"),
])
def test_detects_encoding_delimiter_and_preset(name: str, encoding: str, delimiter: str,
                                               preset: str) -> None:
    source = open_csv(DATA / name)
    assert (source.encoding, source.delimiter, detect(source.header).name) == (
        encoding, delimiter, preset)
    assert not source.header[0].startswith("\ufeff")


def test_records_carry_their_physical_line() -> None:
    source = open_csv(DATA / "event_messy.csv")
    records = list(source.records())
    assert [r.line for r in records] == [3, 5, 6, 7, 9, 10, 11, 12, 13, 14]
    assert records[0].cells[7] == "Brought\ntwo friends"


def test_crlf_and_accents() -> None:
    records = list(open_csv(DATA / "event_tab_cp1252.csv").records())
    assert [r.cells[:2] for r in records] == [["José", "Müller"], ["Renée", "Faÿ"]]


@pytest.mark.parametrize("name", ["empty.csv", "binary.csv", "missing.csv"])
def test_unreadable_files(name: str) -> None:
    with pytest.raises(UnreadableFile):
        open_csv(DATA / name)


def test_unclosed_quote_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('Email,Notes\na@example.org,"never closed\n' + "x" * 1_100_000 + "\n")
    with pytest.raises(UnreadableFile, match="Line 2"):
        list(open_csv(path).records())


def test_suggestions_for_event_sheets() -> None:
    header = ["Name", "Surname", "E-mail", "Phone", "Zip", "Shirt size"]
    assert suggest(header, detect(header)) == {
        "Name": "full_name", "Surname": "last_name", "E-mail": "email", "Phone": "phone",
        "Zip": "zip", "Shirt size": "custom"}


def test_mapping_checks() -> None:
    from crm.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        check(["A", "B"], {"A": "email", "B": "email"})
    with pytest.raises(ValidationFailed):
        check(["A"], {"A": "first_name"})
    assert check(["A", "B"], {"A": "email", "B": "nonsense"} | {"B": ""}) == {"A": "email",
                                                                             "B": ""}
    assert signature(["Email ", "first  name"]) == signature(["email", "First Name"])


@pytest.mark.parametrize(("raw", "cents"), [("25", 2500), ("$1,000.50", 100050), ("0.5", 50)])
def test_amounts(raw: str, cents: int) -> None:
    assert parse_amount(raw) == cents


def test_rejects_csv_neutralises_formulas() -> None:
    out = io.StringIO()
    write(out, ["Email", "Name"], [(4, "invalid email '=1+1'",
                                    {"Email": "=1+1", "Name": "@SUM(A1)", "extra 1": "-2"})])
    assert out.getvalue().splitlines() == [
        "Email,Name,extra 1,line,reason", "'=1+1,'@SUM(A1),'-2,4,invalid email '=1+1'"]
    assert neutralise("+1 608") == "'+1 608" and neutralise("Ana") == "Ana"


LOCAL = st.text(st.sampled_from("abcXYZ019._%+'-!#"), min_size=1, max_size=70)
LABEL = st.text(st.sampled_from("abcQ09-"), min_size=1, max_size=12)
TLD = st.sampled_from(["org", "COM", "net", "io", "test", "local", "x", "c0m", "museum"])
EMAILS = st.builds(lambda local, labels, tld, pad: f"{pad}{local}@{'.'.join(labels)}.{tld}{pad}",
                   LOCAL, st.lists(LABEL, min_size=1, max_size=3), TLD,
                   st.sampled_from(["", " ", "\t"]))


@settings(max_examples=600, deadline=None)
@given(EMAILS)
@example("Ana.Lopez@Example.ORG")
@example("a..b@example.org")
@example("x@a--b.org")
def test_fast_email_equals_the_library(raw: str) -> None:
    found = fast.email(raw)
    if found is not None:
        assert normalize_email(raw) == found


PHONES = st.builds(
    lambda prefix, a, b, c, s1, s2: f"{prefix}{a}{s1}{b}{s2}{c}",
    st.sampled_from(["", "1", "+1", "+1 ", "1-", "(", " "]),
    st.text("0123456789", min_size=3, max_size=3).map(lambda a: a),
    st.text("0123456789", min_size=3, max_size=3),
    st.text("0123456789", min_size=4, max_size=4),
    st.sampled_from(["", "-", ".", " ", ") ", ")"]),
    st.sampled_from(["", "-", ".", " "]))


@settings(max_examples=1500, deadline=None)
@given(PHONES)
@example("(608) 555-0134")
@example("608.555.0134")
@example("+1 800 555 0134")
def test_fast_phone_equals_the_library(raw: str) -> None:
    found = fast.phone(raw, "US")
    if found is not None:
        assert normalize_phone(raw, "US") == found


def test_fast_paths_cover_the_common_shapes() -> None:
    assert fast.email(" Ana.Lopez@Example.ORG ") == ("Ana.Lopez@example.org",
                                                     "ana.lopez@example.org")
    assert fast.phone("(608) 555-0134", "US") == "+16085550134"
    assert fast.phone("(608) 555-0134", "CA") is None
