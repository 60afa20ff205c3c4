"""The segment rule tree: one immutable AST that the text form and the JSON form both produce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# Every operator, in the order the builder and the error hints list them.
OPERATORS = ("=", "!=", "in", "not in", "contains", "starts_with", ">", ">=", "<", "<=",
             "between", "is empty", "is not empty", "before", "after", "within")
# Each negative operator is the exact complement of a positive one; compilers and the
# evaluator handle only the positive side and negate.
NEGATIVE = {"!=": "=", "not in": "in", "is empty": "is not empty"}
LIST_OPERATORS = frozenset({"in", "not in"})
PAIR_OPERATORS = frozenset({"between"})
NO_VALUE_OPERATORS = frozenset({"is empty", "is not empty"})
UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}


@dataclass(frozen=True, order=True)
class RelativeWindow:
    """A span back from now, written like 30d, 6w, 12m or 2y."""

    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


Scalar = str | int | Decimal | date | bool | RelativeWindow
Value = Scalar | tuple[Scalar, ...] | None


@dataclass(frozen=True)
class Condition:
    """``field op value``: money values are Decimal dollars, lists and pairs are tuples."""

    field: str
    op: str
    value: Value = None

    def __post_init__(self) -> None:
        if isinstance(self.value, list):
            object.__setattr__(self, "value", tuple(self.value))


@dataclass(frozen=True)
class HasTag:
    """The contact carries this tag (names match case-insensitively)."""

    name: str


@dataclass(frozen=True)
class InGroup:
    """The contact is in this named group (names match case-insensitively)."""

    name: str


@dataclass(frozen=True)
class Not:
    """The exact complement of the child among live contacts."""

    child: Node


@dataclass(frozen=True)
class All:
    """Every child matches."""

    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", tuple(self.children))


@dataclass(frozen=True)
class Any:
    """At least one child matches."""

    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", tuple(self.children))


Node = All | Any | Not | Condition | HasTag | InGroup


def flatten(node: Node) -> Node:
    """Return the rule with nested and/and, or/or and one-child groups merged (same meaning)."""
    if isinstance(node, Not):
        return Not(flatten(node.child))
    if isinstance(node, All | Any):
        kind = type(node)
        merged: list[Node] = []
        for child in (flatten(c) for c in node.children):
            merged.extend(child.children if isinstance(child, kind) else (child,))
        return merged[0] if len(merged) == 1 else kind(tuple(merged))
    return node
