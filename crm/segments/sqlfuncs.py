"""SQL pieces that read the same on SQLite and PostgreSQL, with their Python twins.

SQLite's ``lower()`` folds ASCII letters only, PostgreSQL's follows the server's locale. A
rule must select the same contacts on both, so text without a key column is folded the
same narrow way everywhere (PostgreSQL's ``lower()`` under the C collation touches ASCII
letters only, and is several times faster than ``translate``), as the Python twin does.
Custom fields are JSON; both databases hand back the same text for strings, whole numbers
and booleans ("true"/"false"). ``contact_in`` writes "the contact has such a row" the way
each planner handles best, and ``contact_in_array`` the same for a list known to be short.
"""

from __future__ import annotations

import typing

from sqlalchemy import ColumnElement, Select, String, bindparam, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.functions import FunctionElement

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_FOLD = str.maketrans(UPPER, UPPER.lower())


def ascii_fold(value: str) -> str:
    """Lower the ASCII letters of a text and leave every other character as it is."""
    return value.translate(_ASCII_FOLD)


def custom_text(value: object) -> str | None:
    """Return a custom field's value as the text both databases compare (None when unset)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ascii_lower(FunctionElement[str]):
    """``lower()`` of ASCII letters only, on every database."""

    type = String()
    name = "ascii_lower"
    inherit_cache = True


@compiles(ascii_lower)
def _ascii_lower(element: ascii_lower, compiler: SQLCompiler, **kw: typing.Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(ascii_lower, "postgresql")
def _ascii_lower_pg(element: ascii_lower, compiler: SQLCompiler, **kw: typing.Any) -> str:
    return f'lower(({compiler.process(element.clauses, **kw)}) COLLATE "C")'


class json_text(FunctionElement[str]):
    """The text of one key of a JSON object column, NULL when the key is missing or null."""

    type = String()
    name = "json_text"
    inherit_cache = True

    def __init__(self, column: ColumnElement[typing.Any], key: str) -> None:
        # The key is a bound parameter, so it takes part in statement caching correctly.
        super().__init__(column, bindparam(None, key, type_=String(), unique=True))


@compiles(json_text)
def _json_text_sqlite(element: json_text, compiler: SQLCompiler, **kw: typing.Any) -> str:
    column, key = (compiler.process(c, **kw) for c in element.clauses)
    path = f"""('$."' || {key} || '"')"""
    # json_extract gives SQL integers and reals, and 1/0 for booleans; PostgreSQL's ->>
    # gives the JSON text, so booleans are spelled out and numbers cast to text here.
    return (f"CASE json_type({column}, {path}) WHEN 'true' THEN 'true' "
            f"WHEN 'false' THEN 'false' "
            f"ELSE CAST(json_extract({column}, {path}) AS TEXT) END")


@compiles(json_text, "postgresql")
def _json_text_pg(element: json_text, compiler: SQLCompiler, **kw: typing.Any) -> str:
    column, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} ->> {key})"


class contact_in(FunctionElement[bool]):
    """The contact's id is among the ids a side query lists.

    SQLite gets ``id IN (SELECT ...)``: its planner can drive the whole query from that
    list (a rare tag reads only its own contacts). PostgreSQL gets ``EXISTS (SELECT 1 FROM
    (...) WHERE contact_id = id)``, a semi-join, and an anti-join under NOT; there a NOT IN
    turns into a scan of the list per contact once the list outgrows ``work_mem``.
    """

    # Untyped on purpose: a Boolean type makes SQLite's rendering "(...) = 1", which hides the
    # IN from its planner; untyped, it stays a plain predicate and NOT renders as NOT (...).
    name = "contact_in"
    inherit_cache = True

    def __init__(self, ident: ColumnElement[int], rows: Select[typing.Any]) -> None:
        listed = rows.subquery()
        found = (select(literal_column("1")).select_from(listed)
                 .where(listed.c[0] == ident).exists())
        super().__init__(ident.in_(rows), found)


@compiles(contact_in)
def _contact_in(element: contact_in, compiler: SQLCompiler, **kw: typing.Any) -> str:
    return f"({compiler.process(element.clauses.clauses[0], **kw)})"


@compiles(contact_in, "postgresql")
def _contact_in_pg(element: contact_in, compiler: SQLCompiler, **kw: typing.Any) -> str:
    return f"({compiler.process(element.clauses.clauses[1], **kw)})"


class contact_in_array(FunctionElement[bool]):
    """The contact's id is among the ids of a list known to be short.

    PostgreSQL gets ``id = ANY(ARRAY(SELECT ...))``: the list runs once and its contacts are
    fetched through the primary key. Given ``id IN (SELECT ...)`` instead, it hashes the list
    and scans every contact whenever the list's estimate is above a few thousand rows, which
    on cached data is several times slower. SQLite gets ``id IN (SELECT ...)``, which it
    already reads that way.
    """

    name = "contact_in_array"
    inherit_cache = True

    def __init__(self, ident: ColumnElement[int], rows: Select[typing.Any]) -> None:
        super().__init__(ident.in_(rows), ident, rows.scalar_subquery())


@compiles(contact_in_array)
def _contact_in_array(element: contact_in_array, compiler: SQLCompiler,
                      **kw: typing.Any) -> str:
    return f"({compiler.process(element.clauses.clauses[0], **kw)})"


@compiles(contact_in_array, "postgresql")
def _contact_in_array_pg(element: contact_in_array, compiler: SQLCompiler,
                         **kw: typing.Any) -> str:
    _in, ident, rows = element.clauses.clauses
    listed = compiler.process(typing.cast(typing.Any, rows).element, **kw)
    return f"({compiler.process(ident, **kw)} = ANY(ARRAY({listed})))"


class estimated_rows(Executable, ClauseElement):
    """``EXPLAIN`` a query on PostgreSQL: its planner's guess of how many rows it returns."""

    inherit_cache = False

    def __init__(self, query: Select[typing.Any]) -> None:
        self.query = query


@compiles(estimated_rows, "postgresql")
def _estimated_rows_pg(element: estimated_rows, compiler: SQLCompiler,
                       **kw: typing.Any) -> str:
    return f"EXPLAIN (FORMAT JSON) {compiler.process(element.query, **kw)}"
