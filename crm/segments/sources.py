"""Where a field's value lives: each source knows its SQL and how the evaluator reads it.

A source turns a test of one value (``status = 'active'``) into a condition on the contact:
a column of the contact row, the one row a contact may have in a side table (with a default
for contacts that have none), any of the many rows a contact may have, a windowed sum, or a
custom field. The same source reads the value from a ``ContactRecord`` for the reference
evaluator, so the two cannot drift apart. Side tables name the contact in ``contact_id``;
``match`` keeps only the side rows whose columns equal the given values (say, one kind of
campaign activity).

Side-table sources also describe their condition as a ``Membership``: the query of the
contact ids that have a matching row, and whether the contact must be among them or not. The
planner uses it to let the most selective list drive a rule and to test the other conditions
against that list's ids before any contact row is read.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    Table,
    and_,
    column,
    func,
    not_,
    select,
    table,
)
from sqlalchemy.sql.selectable import NamedFromClause

from ..models import Contact
from .ast import RelativeWindow
from .dates import Clock
from .sqlfuncs import ascii_fold, ascii_lower, contact_in, custom_text, json_text

CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
Param = str | RelativeWindow | None


@dataclass(frozen=True)
class ContactRecord:
    """One contact as plain data, with its rows in related tables by table name."""

    contact: Mapping[str, typing.Any]
    rows: Mapping[str, Sequence[Mapping[str, typing.Any]]] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()


class ValueTest(typing.Protocol):
    """A positive test of one value: its SQL form, and whether a source's default passes."""

    op: str

    def sql(self, value: ColumnElement[typing.Any]) -> ColumnElement[bool]:
        """Return a condition that is true or false, never NULL."""
        ...

    def matches_default(self, default: object) -> bool:
        """Tell whether a contact with no row, and so the default value, passes."""
        ...


def _fold(value: typing.Any) -> typing.Any:
    return ascii_fold(value) if isinstance(value, str) else value


def side_alias(source: Table, *names: str) -> NamedFromClause:
    """Return a fresh alias of a side table that carries only the columns named.

    Each list reads its own alias, so a list can be probed from another list of the same
    table; a light alias of the few columns needed keeps building rules cheap.
    """
    wanted = dict.fromkeys(("contact_id", *names))
    return table(source.name, *(column(name, source.c[name].type) for name in wanted)).alias()


def _matching(record: ContactRecord, table: Table,
              match: Mapping[str, object]) -> list[Mapping[str, typing.Any]]:
    rows = record.rows.get(table.name, ())
    return [row for row in rows if all(row[name] == want for name, want in match.items())]


# How well a side list drives a rule when its size is unknown. Tag and group lists, and
# equality on an indexed column, come from an index in contact order, so the probes that
# follow walk the other indexes in order too; a range comes from an index in value order;
# anything else scans its table; a windowed sum aggregates gifts.
RANK_LIST, RANK_EQUAL, RANK_RANGE, RANK_SCAN, RANK_SUM = 0, 1, 2, 3, 4
_EQUAL = frozenset({"=", "in"})
_RANGE = frozenset({">", ">=", "<", "<=", "between", "before", "after", "within"})


def list_rank(column: Column[typing.Any], op: str, *, fold: bool) -> int:
    """Return the rank of the list of rows whose ``column`` passes ``op``."""
    owner = typing.cast(Table, column.table)
    indexed = any(next(iter(index.columns)).name == column.name for index in owner.indexes)
    if fold or not indexed:
        return RANK_SCAN
    return RANK_EQUAL if op in _EQUAL else RANK_RANGE if op in _RANGE else RANK_SCAN


@dataclass(frozen=True)
class Membership:
    """A condition as "the contact is (``negated``: is not) among the ids ``rows`` lists".

    ``rows`` selects the ids from its own alias of the side table, so it can be correlated to
    any other list's ids, even one read from the same table. ``key`` is that alias's contact
    id column. ``rank`` orders lists of unknown size as drivers; ``probe`` says a capped
    count of ``rows`` is cheap enough to measure one (not so for sums over a window, whose
    ``rows`` are ``grouped`` by contact).
    """

    rows: Select[typing.Any]
    key: ColumnElement[typing.Any]
    negated: bool = False
    rank: int = RANK_EQUAL
    probe: bool = True
    grouped: bool = False

    def negate(self) -> Membership:
        """Return the exact complement."""
        return replace(self, negated=not self.negated)

    def on(self, ident: ColumnElement[typing.Any], *,
           correlated: bool = False) -> ColumnElement[bool]:
        """Return the condition on the contact ``ident``.

        Correlated, it is an EXISTS probe of the side table for that one contact, the cheap
        form once a few contacts are known; else the dialect's best form for a whole list.
        """
        found = (self.rows.where(self.key == ident).exists() if correlated
                 else contact_in(ident, self.rows))
        return not_(found) if self.negated else found


class Source:
    """How a field is read; subclasses implement ``condition`` and ``read``."""

    def tables(self) -> tuple[Table, ...]:
        """Return the related tables the evaluator must load for this source."""
        return ()

    def condition(self, test: ValueTest, param: Param, clock: Clock) -> ColumnElement[bool]:
        """Return the condition on a contact row that some value of theirs passes ``test``."""
        raise NotImplementedError

    def membership(self, test: ValueTest, param: Param, clock: Clock) -> Membership | None:
        """Return the condition as a side list, or None when it reads the contact row."""
        return None

    def read(self, record: ContactRecord, param: Param, clock: Clock) -> list[typing.Any]:
        """Return the contact's values (one for single-valued sources, any number else)."""
        raise NotImplementedError


class ContactColumn(Source):
    """A column of the contact row; ``fold`` compares its text ASCII-case-insensitively."""

    def __init__(self, name: str, *, fold: bool = False) -> None:
        self.column = CONTACTS.c[name]
        self.fold = fold

    def condition(self, test: ValueTest, param: Param, clock: Clock) -> ColumnElement[bool]:
        return test.sql(ascii_lower(self.column) if self.fold else self.column)

    def read(self, record: ContactRecord, param: Param, clock: Clock) -> list[typing.Any]:
        value = record.contact[self.column.name]
        return [_fold(value) if self.fold else value]


class _Related(Source):
    def __init__(self, column: Column[typing.Any], *, fold: bool = False,
                 match: Mapping[str, object] | None = None) -> None:
        self.column = column
        self.table: Table = column.table  # type: ignore[assignment]
        self.key = self.table.c.contact_id
        self.fold = fold
        self.match = dict(match or {})

    def tables(self) -> tuple[Table, ...]:
        return (self.table,)

    def _list(self, test: ValueTest, *, passing: bool) -> Membership:
        """Return the ids of contacts with a row that passes (or fails) ``test``."""
        return _rows_passing([(self, test)], passing=passing)

    def _value(self, side: NamedFromClause) -> ColumnElement[typing.Any]:
        value: ColumnElement[typing.Any] = side.c[self.column.name]
        return ascii_lower(value) if self.fold else value

    def _rank(self, test: ValueTest) -> int:
        return list_rank(typing.cast(Column[typing.Any], self.column), test.op, fold=self.fold)

    def membership(self, test: ValueTest, param: Param, clock: Clock) -> Membership:
        raise NotImplementedError

    def condition(self, test: ValueTest, param: Param, clock: Clock) -> ColumnElement[bool]:
        return self.membership(test, param, clock).on(CONTACTS.c.id)


def _rows_passing(parts: Sequence[tuple[_Related, ValueTest]], *, passing: bool) -> Membership:
    """Return the ids of contacts with a row that passes (or fails) every test."""
    first = parts[0][0]
    side = side_alias(first.table, *(source.column.name for source, _ in parts), *first.match)
    keep = and_(*(test.sql(source._value(side)) for source, test in parts))
    filters = [side.c[name] == want for name, want in first.match.items()]
    rows = select(side.c.contact_id).where(*filters, keep if passing else not_(keep))
    rank = min(source._rank(test) for source, test in parts)
    # Counting a scan to learn its size would cost what driving from it costs.
    return Membership(rows, side.c.contact_id, rank=rank, probe=rank < RANK_SCAN)


class Related(_Related):
    """A column of a side table with at most one row per contact, such as the giving summary.

    Contacts without a row have ``default``. When the default passes the test, the condition
    is "no row fails it", so it still reads only the side table's matching rows.
    """

    def __init__(self, column: Column[typing.Any], *, default: object = None,
                 fold: bool = False, match: Mapping[str, object] | None = None) -> None:
        super().__init__(column, fold=fold, match=match)
        self.default = default

    def membership(self, test: ValueTest, param: Param, clock: Clock) -> Membership:
        if test.matches_default(self.default):
            return self._list(test, passing=False).negate()
        return self._list(test, passing=True)

    def row_key(self) -> tuple[str, tuple[tuple[str, object], ...]]:
        """Return what identifies the one row this source reads: table and match."""
        return self.table.name, tuple(sorted(self.match.items(), key=lambda item: item[0]))

    @staticmethod
    def all_of(parts: Sequence[tuple[Related, ValueTest]]) -> Membership:
        """Return the contacts whose one row passes every test (sources of one ``row_key``).

        With one row per contact, "a row passes A and a row passes B" is "the row passes A
        and B", so one read of the side table answers both.
        """
        return _rows_passing(parts, passing=True)

    def read(self, record: ContactRecord, param: Param, clock: Clock) -> list[typing.Any]:
        rows = _matching(record, self.table, self.match)
        if not rows:
            return [self.default]
        value = rows[0][self.column.name]
        return [_fold(value) if self.fold else value]


class Many(_Related):
    """A column of a side table with any number of rows per contact: any row may match."""

    def membership(self, test: ValueTest, param: Param, clock: Clock) -> Membership:
        return self._list(test, passing=True)

    def read(self, record: ContactRecord, param: Param, clock: Clock) -> list[typing.Any]:
        values = [row[self.column.name] for row in _matching(record, self.table, self.match)]
        return [_fold(v) for v in values] if self.fold else values


class WindowSum(Source):
    """The sum of an amount over a contact's rows dated within a window; 0 when none are."""

    def __init__(self, amount: Column[typing.Any], when: Column[typing.Any]) -> None:
        self.amount = amount
        self.when = when
        self.table: Table = amount.table  # type: ignore[assignment]
        self.key = self.table.c.contact_id

    def tables(self) -> tuple[Table, ...]:
        return (self.table,)

    def _since(self, param: Param, clock: Clock) -> datetime:
        if not isinstance(param, RelativeWindow):
            raise TypeError("A windowed sum needs a window such as 365d.")
        return clock.ago(param)

    def membership(self, test: ValueTest, param: Param, clock: Clock) -> Membership:
        side = side_alias(self.table, self.amount.name, self.when.name)
        key = side.c[self.key.name]
        totals = (select(key).where(side.c[self.when.name] >= self._since(param, clock))
                  .group_by(key))
        keep = test.sql(func.sum(side.c[self.amount.name]))
        if test.matches_default(0):
            return Membership(totals.having(not_(keep)), key, negated=True, rank=RANK_SUM,
                              probe=False, grouped=True)
        return Membership(totals.having(keep), key, rank=RANK_SUM, probe=False, grouped=True)

    def condition(self, test: ValueTest, param: Param, clock: Clock) -> ColumnElement[bool]:
        return self.membership(test, param, clock).on(CONTACTS.c.id)

    def read(self, record: ContactRecord, param: Param, clock: Clock) -> list[typing.Any]:
        since = self._since(param, clock)
        rows = record.rows.get(self.table.name, ())
        return [sum(row[self.amount.name] for row in rows if row[self.when.name] >= since)]


class CustomField(Source):
    """One key of the contact's custom fields, compared as text, ASCII-case-insensitively."""

    def __init__(self, name: str = "custom_fields") -> None:
        self.column = CONTACTS.c[name]

    def condition(self, test: ValueTest, param: Param, clock: Clock) -> ColumnElement[bool]:
        return test.sql(ascii_lower(json_text(self.column, str(param))))

    def read(self, record: ContactRecord, param: Param, clock: Clock) -> list[typing.Any]:
        values = record.contact[self.column.name] or {}
        return [_fold(custom_text(values.get(str(param))))]
