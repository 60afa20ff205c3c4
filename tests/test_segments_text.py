"""Segment rules as text and JSON: parsing, the canonical printer and round trips."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.segments import (
    REGISTRY,
    All,
    Condition,
    HasTag,
    InGroup,
    Node,
    Not,
    RelativeWindow,
    from_json,
    parse,
    parse_text,
    to_json,
    to_text,
)
from crm.segments import Any as AnyOf
from crm.segments.ast import LIST_OPERATORS, NO_VALUE_OPERATORS, PAIR_OPERATORS, flatten
from crm.segments.fields import Field

# (what staff type, the canonical text)
SHAPES = [
    ('tag:"union-member" and state in (WI, mn) and donations.total >= 50 and not '
     "email_status = unsubscribed",
     'tag:"union-member" and state in (WI, MN) and donations.total >= 50 and not '
     "email_status = unsubscribed"),
    ("STATE = wi OR State = mn", "state = WI or state = MN"),
    ("(state = WI or state = MN) and county in (Dane, Milwaukee)",
     "(state = WI or state = MN) and county in (Dane, Milwaukee)"),
    ("state = WI or (state = MN and county = Dane)", "state = WI or state = MN and county = Dane"),
    ("((state = WI))", "state = WI"),
    ("(custom.a_and = 1)", 'custom.a_and = "1"'),
    ("state = WI and (county = Dane and zip = 53703)",
     'state = WI and county = Dane and zip = "53703"'),
    ("not (state = WI or state = MN)", "not (state = WI or state = MN)"),
    ("not not tag:x", 'not not tag:"x"'),
    ("NOT state = WI AND NOT state = MN", "not state = WI and not state = MN"),
    ("donations.total_since( 365D ) >= 100", "donations.total_since(365d) >= 100"),
    ("donations.total >= 50.5", "donations.total >= 50.50"),
    ("donations.total between 0 and 25.00", "donations.total between 0 and 25"),
    ("donations.total in (5, 10.25)", "donations.total in (5, 10.25)"),
    ("donations.count >= 3", "donations.count >= 3"),
    ("donations.hpc is empty", "donations.hpc is empty"),
    ("donations.recurring = TRUE", "donations.recurring = true"),
    ("donations.last_at within 30d and not donations.last_at within 1W",
     "donations.last_at within 30d and not donations.last_at within 1w"),
    ("donations.first_at before 12m", "donations.first_at before 12m"),
    ("created_at between 2026-01-01 and 2026-01-31",
     "created_at between 2026-01-01 and 2026-01-31"),
    ("created_at after 2025-12-31", "created_at after 2025-12-31"),
    ("created_at <= 2025-12-31", "created_at <= 2025-12-31"),
    ("email = Ana@Example.org", 'email = "Ana@Example.org"'),
    ('first_name starts_with "an"', "first_name starts_with an"),
    ('employer contains "50% off_now"', 'employer contains "50% off_now"'),
    (r'occupation = "say \"hi\" \\ bye"', r'occupation = "say \"hi\" \\ bye"'),
    ('city = "Eau Claire"', 'city = "Eau Claire"'),
    ("city = and", 'city = "and"'),
    ("zip = 53703-1234", 'zip = "53703-1234"'),
    ("county is not empty", "county is not empty"),
    ('custom."Shirt size" = XL', 'custom."Shirt size" = XL'),
    ("custom.shirt-size != xl", "custom.shirt-size != xl"),
    ('group:"Tax  Fairness   Working Group"', 'group:"Tax Fairness Working Group"'),
    ("tag : volunteer", 'tag:"volunteer"'),
    ("union.name = SEIU and union.status != lapsed",
     "union.name = SEIU and union.status != lapsed"),
    ("recruitment.stage not in (declined, prospect)",
     "recruitment.stage not in (declined, prospect)"),
    ("recruitment.office = SCHOOL_BOARD", "recruitment.office = school_board"),
    ("source = 1 or occupation = 2", 'source = "1" or occupation = "2"'),
]


@pytest.mark.parametrize(("written", "canonical"), SHAPES)
def test_text_to_ast_to_json_to_ast_to_text(written: str, canonical: str) -> None:
    rule = parse_text(written)
    as_json = to_json(rule)
    again = from_json(as_json)
    assert again == rule
    assert to_text(again) == canonical
    assert parse_text(canonical) == rule
    assert to_json(from_json(as_json)) == as_json


def test_the_issue_example_becomes_this_ast_and_json() -> None:
    rule = parse_text('tag:"union-member" and state in (WI, MN) and donations.total >= 50 '
                      "and not email_status = unsubscribed")
    assert rule == All((
        HasTag("union-member"),
        Condition("state", "in", ("WI", "MN")),
        Condition("donations.total", ">=", Decimal("50.00")),
        Not(Condition("email_status", "=", "unsubscribed")),
    ))
    assert to_json(rule) == {"all": [
        {"tag": "union-member"},
        {"field": "state", "op": "in", "value": ["WI", "MN"]},
        {"field": "donations.total", "op": ">=", "value": 50},
        {"not": {"field": "email_status", "op": "=", "value": "unsubscribed"}},
    ]}


def test_precedence_is_not_then_and_then_or() -> None:
    rule = parse_text("not state = WI and county = Dane or tag:x")
    assert rule == AnyOf((
        All((Not(Condition("state", "=", "WI")), Condition("county", "=", "Dane"))),
        HasTag("x"),
    ))


def test_typed_values() -> None:
    assert parse_text("created_at = 2026-02-03") == Condition("created_at", "=", date(2026, 2, 3))
    assert parse_text("created_at within 6W") == Condition("created_at", "within",
                                                           RelativeWindow(6, "w"))
    assert parse_text("donations.count in (1, 2)") == Condition("donations.count", "in", (1, 2))
    assert parse_text("donations.hpc < 19.99") == Condition("donations.hpc", "<",
                                                            Decimal("19.99"))
    assert parse_text("donations.recurring != false") == Condition("donations.recurring", "!=",
                                                                   False)
    assert parse_text("county is empty") == Condition("county", "is empty", None)
    assert parse_text("donations.total between 1 and 2").value == (Decimal(1), Decimal(2))


def test_json_and_text_name_the_same_rule() -> None:
    text_rule = parse_text('(group:"Steering" or union.local in (150, "40")) and not '
                           "created_at within 30d")
    json_rule = from_json({"all": [
        {"any": [{"group": "Steering"},
                 {"field": "union.local", "op": "in", "value": [150, "40"]}]},
        {"not": {"field": "created_at", "op": "within", "value": "30d"}},
    ]})
    assert text_rule == json_rule
    assert parse("state = WI") == parse({"field": "state", "op": "=", "value": "wi"})


def test_json_keeps_its_nesting_and_prints_flat() -> None:
    rule = from_json({"all": [{"all": [{"tag": "a"}, {"tag": "b"}]}, {"tag": "c"}]})
    assert rule == All((All((HasTag("a"), HasTag("b"))), HasTag("c")))
    assert to_text(rule) == 'tag:"a" and tag:"b" and tag:"c"'
    assert parse_text(to_text(rule)) == flatten(rule) == All((HasTag("a"), HasTag("b"),
                                                               HasTag("c")))
    single = from_json({"any": [{"tag": "a"}]})
    assert to_text(single) == 'tag:"a"'
    assert flatten(single) == HasTag("a")


# Random rules: every field, every operator it takes, values of the right type.

_TEXT = st.text(alphabet='abcXYZé ß"\\%_(),-@.:\'İ019', min_size=1, max_size=12)
_WINDOWS = st.builds(RelativeWindow, st.integers(1, 100), st.sampled_from("dwmy"))
_DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2035, 12, 31))
_MONEY = st.integers(0, 10_000_000).map(lambda cents: (Decimal(cents) / 100).quantize(
    Decimal("0.01")))
_KEYS = st.text(alphabet="abcXY_- .19é", min_size=1, max_size=8).map(str.strip).filter(bool)


def _scalar(field: Field, op: str) -> st.SearchStrategy[Any]:
    if field.type == "text":
        return _TEXT.filter(lambda text: field.key_text(text).strip())
    if field.type == "enum":
        return st.sampled_from(field.allowed)
    if field.type == "number":
        return st.integers(0, 10_000)
    if field.type == "money":
        return _MONEY
    if field.type == "boolean":
        return st.booleans()
    if op == "within":
        return _WINDOWS
    if op in ("before", "after"):
        return st.one_of(_DATES, _WINDOWS)
    return _DATES


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    field = draw(st.sampled_from(REGISTRY.fields()))
    op = draw(st.sampled_from(field.operators))
    name = field.name
    if field.param == "key":
        name = f"{field.name}.{draw(_KEYS)}"
    elif field.param == "window":
        name = f"{field.name}({draw(_WINDOWS)})"
    if op in NO_VALUE_OPERATORS:
        return Condition(name, op, None)
    if op in LIST_OPERATORS:
        return Condition(name, op, tuple(draw(st.lists(_scalar(field, op), min_size=1,
                                                       max_size=3))))
    if op in PAIR_OPERATORS:
        pair = sorted(draw(st.lists(_scalar(field, op), min_size=2, max_size=2)))
        return Condition(name, op, tuple(pair))
    return Condition(name, op, draw(_scalar(field, op)))


_NAMES = st.text(alphabet='ab Z"\\é-', min_size=1, max_size=8).map(
    lambda text: " ".join(text.split())).filter(bool)
_LEAVES = st.one_of(conditions(), _NAMES.map(HasTag), _NAMES.map(InGroup))
RULES = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3).map(lambda c: All(tuple(c))),
    st.lists(inner, min_size=1, max_size=3).map(lambda c: AnyOf(tuple(c))),
    inner.map(Not),
), max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RULES)
def test_printing_is_a_fixed_point_and_parsing_gives_the_rule_back(rule: Node) -> None:
    text = to_text(rule)
    parsed = parse_text(text)
    assert to_text(parsed) == text
    assert parsed == flatten(rule)
    assert from_json(to_json(rule)) == rule
    assert to_text(from_json(to_json(parsed))) == text
