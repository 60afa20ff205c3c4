"""Insert many rows through the database driver: executemany on SQLite, COPY on PostgreSQL.

A SQLAlchemy Core executemany spends about half of an import's write time turning each row
into a parameter dict and running it through the type processors. The importer's bulk tables
(contacts, consent events, audit entries, tag links) go through here instead: plain tuples,
the columns' own bind processors applied once per distinct value, and the driver's fastest
bulk path. The statement text is built from the table's metadata only; values are always
passed as parameters (or COPY data), never spliced into SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

Processor = Callable[[Any], Any]


class BulkInsert:
    """Insert tuples in ``columns`` order into ``table`` on the session's connection."""

    def __init__(self, session: Session, table: Table, columns: Sequence[str]) -> None:
        self.session = session
        dialect = session.get_bind().dialect
        # Raw inserts skip Python-side defaults, so every column that has one must be given.
        missing = [c.name for c in table.columns
                   if c.default is not None and not c.primary_key and c.name not in columns]
        if missing:
            raise ValueError(f"{table.name}: give a value for {', '.join(missing)}")
        self.processors: list[tuple[int, Processor]] = []
        self.by_name: dict[str, Processor] = {}
        for index, name in enumerate(columns):
            processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors.append((index, processor))
                self.by_name[name] = processor
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in columns)
        target = dialect.identifier_preparer.format_table(table)
        self.copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        if self.copy:
            self.sql = f"COPY {target} ({names}) FROM STDIN"
        else:
            mark = "?" if dialect.paramstyle == "qmark" else "%s"
            self.sql = f"INSERT INTO {target} ({names}) VALUES ({', '.join([mark] * len(columns))})"

    def convert(self, column: str, value: Any) -> Any:
        """Return ``value`` as the driver takes it for ``column`` (for ``insert(ready=True)``)."""
        processor = self.by_name.get(column)
        return value if processor is None or value is None else processor(value)

    def insert(self, rows: list[tuple[Any, ...]], *, ready: bool = False) -> None:
        """Insert the rows inside the session's current transaction.

        With ``ready`` the caller has passed every value through ``convert`` already.
        """
        if not rows:
            return
        if self.processors and not ready:
            rows = self._process(rows)
        driver = self.session.connection().connection.driver_connection
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            if self.copy:
                with cursor.copy(self.sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.sql, rows)
        finally:
            cursor.close()

    def _process(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        out = []
        # Many rows share one value (the batch's timestamp): convert it once.
        memo: dict[int, tuple[Any, Any]] = {}
        for row in rows:
            values = list(row)
            for index, processor in self.processors:
                value = values[index]
                if value is None:
                    continue
                seen = memo.get(index)
                if seen is not None and seen[0] is value:
                    values[index] = seen[1]
                else:
                    values[index] = converted = processor(value)
                    memo[index] = (value, converted)
            out.append(tuple(values))
        return out


@contextmanager
def page_cache(session: Session, megabytes: int) -> Iterator[None]:
    """Give a SQLite connection a larger page cache for a bulk load, then restore it."""
    # SQLite's default cache is 2 MB; a million-row import rewrites index pages it keeps
    # evicting. Other databases size their buffers server-side, so this does nothing there.
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    connection = session.connection()
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{int(megabytes) * 1024}")
    try:
        yield
    finally:
        session.connection().exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``, sent as one array parameter on PostgreSQL.

    Rendering and converting a thousand separate parameters costs about 8 ms a batch there;
    one array costs almost nothing and the planner still uses the column's index.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
