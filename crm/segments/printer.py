"""The canonical printer of rules: text that the parser reads back to the same rule.

Printing, parsing and printing again gives the same text. Parentheses appear only where
precedence needs them (``not`` over ``and`` over ``or``); text values are quoted unless they
are plain words.
"""

from __future__ import annotations

import re
import typing
from datetime import date
from decimal import Decimal

from .ast import All, Any, Condition, HasTag, InGroup, Node, Not, RelativeWindow

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "between", "contains",
                      "starts_with", "before", "after", "within", "tag", "group", "true",
                      "false"})
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_PLAIN_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_\-]+)*(\(\w+\))?")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_value(value: object) -> str:
    """Print one value the way the parser reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else f"{value:.2f}"
    if isinstance(value, int | RelativeWindow):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if _BARE.fullmatch(text) and text.lower() not in KEYWORDS else _quote(text)


def format_field(name: str) -> str:
    """Print a field name, quoting a custom key that is not a plain word."""
    if _PLAIN_FIELD.fullmatch(name):
        return name
    base, _dot, key = name.partition(".")
    return f"{base}.{_quote(key)}"


def _condition_text(node: Condition) -> str:
    field = format_field(node.field)
    if node.value is None:
        return f"{field} {node.op}"
    if node.op == "between":
        low, high = typing.cast(tuple[object, object], node.value)
        return f"{field} between {format_value(low)} and {format_value(high)}"
    if isinstance(node.value, tuple):
        return f"{field} {node.op} ({', '.join(format_value(v) for v in node.value)})"
    return f"{field} {node.op} {format_value(node.value)}"


_OR_LEVEL, _AND_LEVEL, _NOT_LEVEL, _ATOM_LEVEL = range(4)


def to_text(node: Node) -> str:
    """Print a rule canonically, with parentheses only where precedence needs them."""
    return _print(node, _OR_LEVEL)


def _print(node: Node, outer: int) -> str:
    if isinstance(node, All | Any) and len(node.children) == 1:
        return _print(node.children[0], outer)
    if isinstance(node, All):
        text, level = " and ".join(_print(c, _AND_LEVEL) for c in node.children), _AND_LEVEL
    elif isinstance(node, Any):
        text, level = " or ".join(_print(c, _OR_LEVEL) for c in node.children), _OR_LEVEL
    elif isinstance(node, Not):
        text, level = f"not {_print(node.child, _NOT_LEVEL)}", _NOT_LEVEL
    elif isinstance(node, HasTag):
        text, level = f"tag:{_quote(node.name)}", _ATOM_LEVEL
    elif isinstance(node, InGroup):
        text, level = f"group:{_quote(node.name)}", _ATOM_LEVEL
    else:
        text, level = _condition_text(node), _ATOM_LEVEL
    return f"({text})" if level < outer else text
