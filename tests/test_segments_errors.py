"""Every way a segment rule can be wrong: the kind, the exact message and where it points."""

from __future__ import annotations

from typing import Any

import pytest

from crm.segments import Condition, SegmentError, compile_rule, from_json, parse_text
from crm.segments.limits import MAX_DEPTH, MAX_TEXT

OPS = ("=, !=, in, not in, contains, starts_with, >, >=, <, <=, between, is empty, "
       "is not empty, before, after, within")
STATES = "AK, AL, AR, AS, AZ, CA, CO, CT, …"
JOIN = ("after a complete condition; join conditions with and / or, and put text with spaces "
        "in double quotes")

TEXT_ERRORS = [
    # empty
    ("", "empty", "The query is empty; write a condition such as state = WI", 0),
    ("  \n ", "empty", "The query is empty; write a condition such as state = WI", 0),
    # unknown field, with a did-you-mean when one is close
    ("stat in (WI)", "unknown_field", 'Unknown field "stat" at column 1; did you mean "state"?', 0),
    ("state = WI and donation.total >= 5", "unknown_field",
     'Unknown field "donation.total" at column 16; did you mean "donations.total"?', 15),
    ("custm.shirt = L", "unknown_field",
     'Unknown field "custm.shirt" at column 1; did you mean "custom.shirt"?', 0),
    ("xyz = 1", "unknown_field", 'Unknown field "xyz" at column 1', 0),
    ("donations.total_since > 1", "bad_value", "donations.total_since needs a window at "
     "column 1; write it like donations.total_since(365d)", 0),
    # operators: unknown, or wrong for the field's type
    ("state like WI", "bad_operator", f'Unknown operator "like" at column 7; use one of {OPS}', 6),
    ("donations.total contains 5", "bad_operator",
     '"contains" does not apply to donations.total (money) at column 17; use one of =, !=, in, '
     "not in, >, >=, <, <=, between, is empty, is not empty", 16),
    ("email_status > pending", "bad_operator", '">" does not apply to email_status (enum) at '
     "column 14; use one of =, !=, in, not in, is empty, is not empty", 13),
    # values
    ("donations.total >= abc", "bad_value", '"abc" is not an amount in dollars for '
     "donations.total at column 20; write it like 50 or 50.25", 19),
    ("donations.total >= 50.255", "bad_value", '"50.255" is not an amount in dollars for '
     "donations.total at column 20; write it like 50 or 50.25", 19),
    ("state = Wsi", "bad_value", '"Wsi" is not a value of state at column 9; did you mean '
     '"WI"?', 8),
    ("state in (WI, XX)", "bad_value",
     f'"XX" is not a value of state at column 15; use one of {STATES}', 14),
    ("created_at = 2026-02-30", "bad_value", '"2026-02-30" is not a real date at column 14', 13),
    ("created_at = 30d", "bad_value", '"30d" is not a date for created_at at column 14; write '
     "it like 2026-01-31", 13),
    ("created_at within 2026-01-01", "bad_value", '"2026-01-01" is not a window for within at '
     "column 19; write it like 30d, 6w, 12m or 2y", 18),
    ("donations.total between 100 and 50", "bad_value",
     "between needs the smaller value first, not 100 and 50 at column 25", 24),
    ("donations.count = 1.5", "bad_value", '"1.5" is not a whole number for donations.count at '
     "column 19; write it like 3", 18),
    ("donations.recurring = maybe", "bad_value",
     '"maybe" is not true or false for donations.recurring at column 23', 22),
    ("donations.total_since(0d) > 5", "bad_value", '"0d" is not a window for '
     "donations.total_since at column 23; windows run from 1d to 36500d", 22),
    ("state in ()", "bad_value", "An empty list at column 11; write lists like (WI, MN)", 10),
    ('first_name = "  "', "bad_value", "An empty value for first_name at column 14; use is "
     "empty or is not empty", 13),
    ('tag:"   "', "bad_value", "Tag names cannot be blank at column 5", 4),
    # parentheses: the column of the one that has no partner
    ("(state = WI", "unbalanced", 'Unbalanced "(" at column 1; it is never closed', 0),
    ("state = WI)", "unbalanced", 'Unbalanced ")" at column 11; no "(" comes before it', 10),
    ("state = WI and ((county = Dane) or zip = 1", "unbalanced",
     'Unbalanced "(" at column 16; it is never closed', 15),
    ('state = ")" )', "unbalanced", 'Unbalanced ")" at column 13; no "(" comes before it', 12),
    # everything else that does not parse
    ("state = WI foo", "syntax", f'Unexpected "foo" at column 12 {JOIN}', 11),
    ("state = Eau Claire", "syntax", f'Unexpected "Claire" at column 13 {JOIN}', 12),
    ('city = "Eau', "syntax",
     'A quoted value is not closed at column 8; end it with a double quote (")', 7),
    ("state = WI and", "syntax", "The query ends at column 15 where a condition should follow",
     14),
    ("state =", "syntax", "The query ends at column 8 where a value should follow", 7),
    ("and state = WI", "syntax", '"and" cannot start a condition at column 1; start with a '
     'field, tag:, group:, not or "("', 0),
    ("state = WI $", "syntax", 'Unexpected character "$" at column 12', 11),
    ("state in WI", "syntax", 'Expected "(" at column 10, not "WI"; write lists like (WI, MN)',
     9),
    ("state in (WI MN)", "syntax",
     'Unexpected "MN" at column 14 in a list; separate values with commas', 13),
]


@pytest.mark.parametrize(("text", "kind", "message", "position"), TEXT_ERRORS)
def test_text_errors(text: str, kind: str, message: str, position: int) -> None:
    with pytest.raises(SegmentError) as caught:
        parse_text(text)
    error = caught.value
    assert (error.kind, error.message, error.position) == (kind, message, position)
    assert error.as_dict() == {"kind": kind, "message": message, "position": position}
    assert isinstance(error, ValueError)


RULE_SHAPES = "use all, any, not, field/op/value, tag or group"
JSON_ERRORS: list[tuple[Any, str, str, str]] = [
    ("state = WI", "syntax", f"Expected a rule object at the top of the rule; {RULE_SHAPES}", ""),
    ({}, "syntax", f"Expected a rule object at the top of the rule; {RULE_SHAPES}", ""),
    ({"all": []}, "syntax", '"all" needs a list of at least one rule at all', "all"),
    ({"any": [{"tag": "x"}, 5]}, "syntax", f"Expected a rule object at any[1]; {RULE_SHAPES}",
     "any[1]"),
    ({"feild": "state", "op": "=", "value": "WI"}, "syntax",
     'Unknown key "feild" at the top of the rule; did you mean "field"?', ""),
    ({"field": "state", "op": "=", "value": "WI", "tag": "x"}, "syntax",
     "A rule is one of all, any, not, field/op/value, tag or group, not field, op, tag, value, "
     "at the top of the rule", ""),
    ({"field": "state", "value": "WI"}, "syntax", 'A condition needs "op" as text at op', "op"),
    ({"all": [{"tag": "x"}, {"field": "stat", "op": "=", "value": "WI"}]}, "unknown_field",
     'Unknown field "stat" at all[1].field; did you mean "state"?', "all[1].field"),
    ({"not": {"field": "donations.total", "op": ">=", "value": "abc"}}, "bad_value",
     '"abc" is not an amount in dollars for donations.total at not.value; write it like 50 or '
     "50.25", "not.value"),
    ({"field": "donations.total", "op": ">=", "value": True}, "bad_value",
     "true is not an amount in dollars for donations.total at value; write it like 50 or 50.25",
     "value"),
    ({"field": "state", "op": "in", "value": ["WI", "XX"]}, "bad_value",
     f'"XX" is not a value of state at value[1]; use one of {STATES}', "value[1]"),
    ({"field": "state", "op": "in", "value": "WI"}, "bad_value",
     '"in" needs a list of values, not "WI" at value', "value"),
    ({"field": "state", "op": "=="}, "bad_operator", 'Unknown operator "==" at op; did you '
     'mean "="?', "op"),
    ({"field": "state", "op": "="}, "bad_value", '"=" needs a value at value', "value"),
    ({"field": "state", "op": "is empty", "value": "WI"}, "bad_value",
     '"is empty" takes no value at value', "value"),
    ({"any": [{"tag": ""}]}, "bad_value", "Tag names cannot be blank at any[0].tag",
     "any[0].tag"),
    ({"field": "donations.total_since(3x)", "op": ">=", "value": 5}, "bad_value",
     '"3x" is not a window for donations.total_since at field; write it like 30d, 6w, 12m or '
     "2y", "field"),
]


@pytest.mark.parametrize(("rule", "kind", "message", "position"), JSON_ERRORS)
def test_json_errors_carry_their_path(rule: Any, kind: str, message: str, position: str) -> None:
    with pytest.raises(SegmentError) as caught:
        from_json(rule)
    assert (caught.value.kind, caught.value.message, caught.value.position) == (
        kind, message, position)


def test_rules_too_large_are_refused_before_any_work() -> None:
    with pytest.raises(SegmentError) as caught:
        parse_text("state = WI or " * (MAX_TEXT // 10))
    assert caught.value.kind == "too_large"
    deep = "(" * (MAX_DEPTH + 1) + "state = WI" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(SegmentError) as caught:
        parse_text(deep)
    assert (caught.value.kind, caught.value.position) == ("too_large", MAX_DEPTH)
    with pytest.raises(SegmentError) as caught:
        parse_text("not " * 200 + "state = WI")
    assert caught.value.kind == "too_large"
    nested: dict[str, Any] = {"tag": "x"}
    for _ in range(MAX_DEPTH + 1):
        nested = {"not": nested}
    with pytest.raises(SegmentError) as caught:
        from_json(nested)
    assert caught.value.kind == "too_large"
    assert caught.value.position == ".".join(["not"] * MAX_DEPTH)
    within = parse_text("not " * (MAX_DEPTH - 1) + "state = WI")
    assert within is not None


def test_a_hand_built_rule_with_an_unknown_field_fails_to_compile() -> None:
    with pytest.raises(SegmentError) as caught:
        compile_rule(Condition("nope", "=", "x"))
    assert caught.value.kind == "unknown_field"
    assert caught.value.message == 'Unknown field "nope" at field'
    assert caught.value.position == "field"
