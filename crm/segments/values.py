"""Check one condition against the registry and type its value; both rule forms use this.

The text parser hands over token text and the JSON reader hands over JSON values. Either way
the result is the same Condition, or a Problem that names the part that is wrong (field, op
or value, and which item of a list) so each form can say where it is.
"""

from __future__ import annotations

import difflib
import re
import typing
from datetime import date
from decimal import Decimal, InvalidOperation

from .. import groups
from ..errors import ValidationFailed
from ..money import MAX_CENTS
from ..validation import normalize_tag
from .ast import (
    LIST_OPERATORS,
    NO_VALUE_OPERATORS,
    OPERATORS,
    PAIR_OPERATORS,
    Condition,
    HasTag,
    InGroup,
    Scalar,
)
from .dates import parse_window
from .errors import Problem, did_you_mean
from .fields import Field, FieldRegistry

MISSING: typing.Any = object()
TEXT_MAX = 1000
LIST_MAX = 1000
NUMBER_MAX = 1_000_000_000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DOLLARS = re.compile(r"\d{1,12}(\.\d{1,2})?")
_WHOLE = re.compile(r"\d{1,12}")


def operator(raw: object, field: Field) -> str:
    """Return the canonical operator, or raise Problem if it is unknown or wrong for the field."""
    op = " ".join(str(raw).split()).lower() if isinstance(raw, str) else ""
    allowed = ", ".join(field.operators)
    if op not in OPERATORS:
        shown = raw if isinstance(raw, str) else repr(raw)
        hint = did_you_mean(op, OPERATORS) or f"; use one of {allowed}"
        raise Problem("bad_operator", f'Unknown operator "{shown}"', hint, part="op")
    if op not in field.operators:
        raise Problem("bad_operator", f'"{op}" does not apply to {field.name} ({field.type})',
                      f"; use one of {allowed}", part="op")
    return op


def build_condition(registry: FieldRegistry, field_name: str, raw_op: object,
                    raw: object = MISSING) -> Condition:
    """Return the typed Condition for a field, operator and raw value, or raise Problem."""
    resolved = registry.resolve(field_name)
    field, op = resolved.field, operator(raw_op, resolved.field)
    if op in NO_VALUE_OPERATORS:
        if raw is not MISSING and raw is not None:
            raise Problem("bad_value", f'"{op}" takes no value')
        return Condition(resolved.name, op, None)
    if raw is MISSING or raw is None:
        raise Problem("bad_value", f'"{op}" needs a value')
    if op in LIST_OPERATORS or op in PAIR_OPERATORS:
        items = _items(raw, op)
        values = tuple(_scalar(field, op, item, index) for index, item in enumerate(items))
        if op in PAIR_OPERATORS and values[0] > values[1]:  # type: ignore[operator]
            raise Problem("bad_value", "between needs the smaller value first, not "
                          f"{show(values[0])} and {show(values[1])}", index=0)
        return Condition(resolved.name, op, values)
    return Condition(resolved.name, op, _scalar(field, op, raw, None))


def show(value: object) -> str:
    """Show a typed value in a message, money as dollars."""
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else f"{value:.2f}"
    return str(value)


def raw_text(raw: object) -> str:
    """Show a raw value in a message."""
    if isinstance(raw, list | tuple):
        return "(" + ", ".join(raw_text(item) for item in raw) + ")"
    return f'"{raw}"' if isinstance(raw, str) else str(raw).lower()


def _items(raw: object, op: str) -> list[object]:
    if not isinstance(raw, list | tuple):
        want = "two values" if op in PAIR_OPERATORS else "a list of values"
        raise Problem("bad_value", f'"{op}" needs {want}, not {raw_text(raw)}')
    if op in PAIR_OPERATORS and len(raw) != 2:
        raise Problem("bad_value", f"between needs exactly two values, not {len(raw)}")
    if not raw:
        raise Problem("bad_value", f'"{op}" needs at least one value')
    if len(raw) > LIST_MAX:
        raise Problem("bad_value", f'"{op}" takes at most {LIST_MAX} values')
    return list(raw)


def _scalar(field: Field, op: str, raw: object, index: int | None) -> Scalar:
    try:
        return _CONVERT[field.type](field, op, raw)
    except Problem as problem:
        problem.index = index
        raise


def _text(field: Field, op: str, raw: object) -> Scalar:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise Problem("bad_value", f"{raw_text(raw)} is not text for {field.name}")
    if not field.key_text(raw).strip():
        raise Problem("bad_value", f"An empty value for {field.name}",
                      "; use is empty or is not empty")
    if len(raw) > TEXT_MAX:
        raise Problem("bad_value", f"A value for {field.name} is longer than {TEXT_MAX} "
                      "characters")
    return raw


def _enum(field: Field, op: str, raw: object) -> Scalar:
    by_key = {value.lower(): value for value in field.allowed}
    found = by_key.get(raw.strip().lower()) if isinstance(raw, str) else None
    if found is None:
        close = difflib.get_close_matches(str(raw).strip().lower(), list(by_key), n=1)
        hint = f'; did you mean "{by_key[close[0]]}"?' if close else ""
        if not hint:
            shown = ", ".join(field.allowed[:8]) + (", …" if len(field.allowed) > 8 else "")
            hint = f"; use one of {shown}"
        raise Problem("bad_value", f"{raw_text(raw)} is not a value of {field.name}", hint)
    return found


def _number(field: Field, op: str, raw: object) -> Scalar:
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not _WHOLE.fullmatch(text.strip()) or int(text) > NUMBER_MAX:
        raise Problem("bad_value", f"{raw_text(raw)} is not a whole number for {field.name}",
                      "; write it like 3")
    return int(text)


def _money(field: Field, op: str, raw: object) -> Scalar:
    text = ""
    if isinstance(raw, int | float | str | Decimal) and not isinstance(raw, bool):
        text = (raw if isinstance(raw, str) else str(raw)).strip().removeprefix("$")
    try:
        if not (_DOLLARS.fullmatch(text) or isinstance(raw, int | float | Decimal)):
            raise InvalidOperation
        amount = Decimal(text)
        cents = amount * 100
        if cents != cents.to_integral_value() or not 0 <= cents <= MAX_CENTS:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise Problem("bad_value", f"{raw_text(raw)} is not an amount in dollars for "
                      f"{field.name}", "; write it like 50 or 50.25") from None
    return (cents.to_integral_value() / 100).quantize(Decimal("0.01"))


def _date(field: Field, op: str, raw: object) -> Scalar:
    text = raw.strip() if isinstance(raw, str) else ""
    if op in ("before", "after", "within") and re.fullmatch(r"\d+\s*[A-Za-z]+", text):
        try:
            return parse_window(text)
        except ValueError as exc:
            raise Problem("bad_value", f"{raw_text(raw)} is not a window", f"; {exc}") from None
    if op == "within":
        raise Problem("bad_value", f"{raw_text(raw)} is not a window for within",
                      "; write it like 30d, 6w, 12m or 2y")
    if _DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise Problem("bad_value", f"{raw_text(raw)} is not a real date") from None
    also = " or a window like 30d" if op in ("before", "after") else ""
    raise Problem("bad_value", f"{raw_text(raw)} is not a date for {field.name}",
                  f"; write it like 2026-01-31{also}")


def _boolean(field: Field, op: str, raw: object) -> Scalar:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise Problem("bad_value", f"{raw_text(raw)} is not true or false for {field.name}")


_CONVERT: dict[str, typing.Callable[[Field, str, object], Scalar]] = {
    "text": _text, "enum": _enum, "number": _number, "money": _money, "date": _date,
    "boolean": _boolean,
}


def make_tag(raw: object) -> HasTag:
    """Return the tag test for a raw name, or raise Problem."""
    try:
        display, _key = normalize_tag(raw if isinstance(raw, str) else "")
    except ValueError as exc:
        raise Problem("bad_value", str(exc).rstrip(".")) from None
    return HasTag(display)


def make_group(raw: object) -> InGroup:
    """Return the group test for a raw name, or raise Problem."""
    try:
        display, _key = groups.clean_name(raw if isinstance(raw, str) else "")
    except ValidationFailed as exc:
        raise Problem("bad_value", exc.errors["name"].rstrip(".")) from None
    return InGroup(display)


def tag_key(name: str) -> str:
    """Return the key a tag name is matched by."""
    return normalize_tag(name)[1]


def group_key(name: str) -> str:
    """Return the key a group name is matched by."""
    return groups.clean_name(name)[1]

