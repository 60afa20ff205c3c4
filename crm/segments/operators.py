"""The positive test of one condition: its SQL form and whether a source's default passes.

Every SQL form is true or false, never NULL: a missing value is tested explicitly, so a
``not`` around it is the exact complement. Values are always bound parameters.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, true

from .ast import RelativeWindow, Value
from .dates import Clock
from .fields import Field

_ORDERED = {">": "__gt__", ">=": "__ge__", "<": "__lt__", "<=": "__le__"}


@dataclass(frozen=True)
class OperatorTest:
    """The positive test of one condition, as SQL and against a source's default."""

    field: Field
    op: str
    value: Value
    clock: Clock

    def stored(self, value: typing.Any) -> typing.Any:
        """Return a typed rule value in the form the database holds."""
        if self.field.type == "text":
            return self.field.key_text(value)
        if self.field.type == "money":
            return int(value * 100)
        return value

    def sql(self, value: ColumnElement[typing.Any]) -> ColumnElement[bool]:
        """Return the test of a column or expression: true or false, never NULL."""
        return and_(value.is_not(None), self._compare(value))

    def _compare(self, value: ColumnElement[typing.Any]) -> ColumnElement[bool]:
        op, rule = self.op, self.value
        if op == "is not empty":
            return value != "" if self.field.type == "text" else true()
        if self.field.type == "date":
            return self._date(value)
        if op == "in":
            return value.in_([self.stored(v) for v in typing.cast(tuple[object], rule)])
        if op == "between":
            low, high = (self.stored(v) for v in typing.cast(tuple[object, object], rule))
            return and_(value >= low, value <= high)
        if op == "contains":
            return value.contains(self.stored(rule), autoescape=True)
        if op == "starts_with":
            return value.startswith(self.stored(rule), autoescape=True)
        if op in _ORDERED:
            return typing.cast(ColumnElement[bool],
                               getattr(value, _ORDERED[op])(self.stored(rule)))
        return value == self.stored(rule)

    def _date(self, value: ColumnElement[typing.Any]) -> ColumnElement[bool]:
        op, rule, clock = self.op, self.value, self.clock
        if isinstance(rule, RelativeWindow):
            moment = clock.ago(rule)
            if op == "before":
                return value < moment
            return value > moment if op == "after" else value >= moment
        if op == "between":
            low, high = typing.cast(tuple[typing.Any, typing.Any], rule)
            return and_(value >= clock.day_start(low), value < clock.day_end(high))
        day = typing.cast(typing.Any, rule)
        if op in ("<", "before"):
            return value < clock.day_start(day)
        if op == "<=":
            return value < clock.day_end(day)
        if op in (">", "after"):
            return value >= clock.day_end(day)
        if op == ">=":
            return value >= clock.day_start(day)
        return and_(value >= clock.day_start(day), value < clock.day_end(day))

    def matches_default(self, default: object) -> bool:
        """Tell whether a contact with no side row, and so ``default``, passes."""
        if default is None:
            return False
        op, rule = self.op, self.value
        if op == "is not empty":
            return default != ""
        if op == "in":
            return default in [self.stored(v) for v in typing.cast(tuple[object], rule)]
        if op == "between":
            low, high = (self.stored(v) for v in typing.cast(tuple[object, object], rule))
            return bool(low <= default <= high)
        if op in _ORDERED:
            return bool(getattr(default, _ORDERED[op])(self.stored(rule)))
        if op == "=":
            return bool(default == self.stored(rule))
        return False
