"""Bulk writes for the audit projection: few round trips, no per-row statements.

``executemany`` cost a bind/execute per row (~30 µs per row here, more than everything else
together), and on a busy host every round trip waits for the server to be scheduled. So:

* the two big append-only tables (``au_events``, ``au_leaves``) are written with COPY;
* every other table gets one ``INSERT … SELECT FROM unnest(<arrays>) … ON CONFLICT`` whose
  columns travel as PostgreSQL array literals (built with ``str.join``: the server parses them
  far faster than psycopg adapts a list element by element), and all of them are sent in one
  pipeline: one round trip per batch whatever the number of tables. Rows keep batch order
  (``WITH ORDINALITY … ORDER BY``), so the first of two rows with one key wins, as a
  row-by-row insert would have it.

Everything runs in the caller's transaction. Table, column and type names are this package's
constants, never input; values are data (escaped), never SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

import psycopg

Rows = Sequence[tuple[Any, ...]]


class Table(NamedTuple):
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]


def _quoted(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of texts, integers, booleans and NULLs (texts escaped)."""
    parts = []
    for v in values:
        if v is None:
            parts.append("NULL")
        elif v is True:
            parts.append("t")
        elif v is False:
            parts.append("f")
        elif type(v) is int:
            parts.append(str(v))
        else:
            parts.append('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


_UNQUOTED_TYPES = frozenset({"uuid", "int", "bigint", "timestamptz", "date"})
"""Types whose values the audit holds as canonical text or integers: nothing to quote."""


def column_literal(sql_type: str, values: Iterable[Any]) -> str:
    """The array literal of one column: checked ids, times and numbers are joined as they
    are (the common case, and the cheap one); texts are escaped."""
    if sql_type in _UNQUOTED_TYPES:
        return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"
    return array_literal(values)


def plain_array_literal(values: Iterable[str | int]) -> str:
    """An array literal of values that need no quoting (canonical UUID texts, integers); for
    anything else use ``array_literal``."""
    return "{" + ",".join(map(str, values)) + "}"


def copy(
    cur: psycopg.Cursor[Any], table: str, columns: Sequence[str]
) -> AbstractContextManager[psycopg.Copy]:
    """A COPY into a table (plain INSERT semantics: a duplicate key fails); write rows with
    ``write_row`` inside the ``with`` block."""
    return cur.copy(f"COPY {table} ({_quoted(columns)}) FROM STDIN")


def insert_statement(table: Table, update: Sequence[str] = ()) -> str:
    """``INSERT … SELECT FROM unnest(…)``: skip rows whose key is stored, or with ``update``
    set those columns (the conflict target is then the first column: au_streams' key)."""
    names = [f"c{i}" for i in range(len(table.columns))]
    arrays = ", ".join(f"%s::{t}[]" for t in table.types)
    if update:
        target = f'("{table.columns[0]}") DO UPDATE SET ' + ", ".join(
            f'"{c}" = excluded."{c}"' for c in update
        )
    else:
        target = "DO NOTHING"
    return (
        f"INSERT INTO {table.name} ({_quoted(table.columns)})"  # noqa: S608 - constants
        f" SELECT {', '.join(names)} FROM unnest({arrays})"
        f" WITH ORDINALITY AS u({', '.join(names)}, n) ORDER BY n ON CONFLICT {target}"
    )


def insert_new(
    cur: psycopg.Cursor[Any],
    writes: Iterable[tuple[Table, Rows, Sequence[str]]],
) -> None:
    """Send every (table, rows, update columns) insert in one pipeline: one round trip."""
    statements = [
        (
            insert_statement(table, update),
            [
                column_literal(sql_type, column)
                for sql_type, column in zip(table.types, zip(*rows, strict=True), strict=True)
            ],
        )
        for table, rows, update in writes
        if rows
    ]
    if not statements:
        return
    with cur.connection.pipeline():
        for sql, params in statements:
            cur.execute(sql, params)
