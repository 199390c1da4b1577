"""Bulk writes for the audit projection: few round trips, no per-row statements.

``executemany`` cost a bind/execute per row (~30 µs per row here, more than everything else
together), and on a busy host every round trip waits for the server to be scheduled. So:

* the two big append-only tables (``au_events``, ``au_leaves``) are written with COPY, the
  batch's rows formatted as one text (``copy_text``) and sent with one write;
* every other table gets one ``INSERT … SELECT FROM unnest(<arrays>)`` whose columns travel as
  PostgreSQL array literals (built with ``str.join``: the server parses them far faster than
  psycopg adapts a list element by element), and all of them are sent in one pipeline: one
  round trip per batch whatever the number of tables.
* ``ON CONFLICT`` (a speculative insertion: about twice the server's work per row) is kept
  for when it is needed: rows whose key repeats in the batch are dropped first (the first one
  is kept, as a row-by-row insert would have it), then the rows go as plain INSERTs under a
  savepoint; only if a stored row holds one of their keys are they sent again as
  ``INSERT … ON CONFLICT`` in batch order (``WITH ORDINALITY … ORDER BY``). Either way the
  stored rows are the same.

Everything runs in the caller's transaction. Table, column and type names are this package's
constants, never input; values are data (escaped), never SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

import psycopg

Rows = Sequence[tuple[Any, ...]]
Statement = tuple[str, Sequence[Any]]
T = TypeVar("T")


class Table(NamedTuple):
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    key: int = 0
    """How many leading columns are the primary key (0: none declared)."""


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


def copy_statement(table: str, columns: Sequence[str]) -> str:
    """A COPY into a table (plain INSERT semantics: a duplicate key fails)."""
    return f"COPY {table} ({_quoted(columns)}) FROM STDIN"


def copy_text(
    items: Sequence[T],
    line: Callable[[T], str],
    row: Callable[[T], tuple[Any, ...]],
    nulls: int = 0,
) -> str:
    """The COPY text of ``items``: ``line`` formats one as it is (values tab-separated, NULL
    as ``\\N``, booleans ``t``/``f``, a newline at the end), with no escaping, as ids, codes,
    times and numbers need none. The text is then checked as a whole - one tab fewer than
    ``row``'s values per line, one newline per line, a backslash only in each of the ``nulls``
    NULLs, no carriage return - and only if that fails is every value of ``row`` escaped.
    One scan per batch instead of one per value."""
    if not items:
        return ""
    text = "".join(map(line, items))
    width = len(row(items[0]))
    if (
        text.count("\t") == len(items) * (width - 1)
        and text.count("\n") == len(items)
        and text.count("\\") == nulls
        and "\r" not in text
    ):
        return text
    return "".join("\t".join(map(_copy_field, row(item))) + "\n" for item in items)


def _copy_field(v: Any) -> str:
    if v is None:
        return "\\N"
    if v is True or v is False:
        return "t" if v else "f"
    return (
        str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


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


def plain_insert_statement(table: Table) -> str:
    """``INSERT … SELECT FROM unnest(…)`` without a conflict clause: a stored key fails it."""
    names = [f"c{i}" for i in range(len(table.columns))]
    arrays = ", ".join(f"%s::{t}[]" for t in table.types)
    return (
        f"INSERT INTO {table.name} ({_quoted(table.columns)})"  # noqa: S608 - constants
        f" SELECT {', '.join(names)} FROM unnest({arrays}) AS u({', '.join(names)})"
    )


def update_statement(table: Table, update: Sequence[str]) -> str:
    """``UPDATE … FROM unnest(…)``: set ``update`` on the rows keyed by the first column."""
    names = [f"c{i}" for i in range(len(table.columns))]
    arrays = ", ".join(f"%s::{t}[]" for t in table.types)
    sets = ", ".join(f'"{c}" = u.c{table.columns.index(c)}' for c in update)
    return (
        f"UPDATE {table.name} AS t SET {sets}"  # noqa: S608 - constants
        f" FROM unnest({arrays}) AS u({', '.join(names)})"
        f' WHERE t."{table.columns[0]}" = u.c0'
    )


def columns_of(table: Table, rows: Rows) -> list[str]:
    """The rows as one array literal per column."""
    return [
        column_literal(sql_type, column)
        for sql_type, column in zip(table.types, zip(*rows, strict=True), strict=True)
    ]


def first_of_each_key(table: Table, rows: Rows) -> Rows:
    """The rows without those whose key an earlier row of the batch already has."""
    if table.key == 0:
        raise ValueError(f"{table.name}: no key declared")
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for row in rows:
        key = row[: table.key]
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def insert_new(
    cur: psycopg.Cursor[Any],
    writes: Iterable[tuple[Table, Rows, Sequence[str]]],
) -> None:
    """Send every (table, rows, update columns) ``INSERT … ON CONFLICT`` in one pipeline: one
    round trip. Rows keep batch order, so the first of two rows with one key wins."""
    send(
        cur,
        [
            (insert_statement(table, update), columns_of(table, rows))
            for table, rows, update in writes
            if rows
        ],
    )


def insert_plain_or_new(
    cur: psycopg.Cursor[Any],
    plain: Sequence[Statement],
    writes: Sequence[tuple[Table, Rows, Sequence[str]]],
) -> bool:
    """Try ``plain`` (statements that fail on a stored key) as ONE statement under a savepoint;
    if a key is taken, roll it back and send ``writes`` with ``insert_new`` instead. True when
    the plain statements went through.

    One statement (each write a data-modifying ``WITH`` part) instead of one per table: every
    statement of a pipeline is a wait for the socket, and each wait hands the GIL to the
    polling thread, which may keep it for a whole switch interval."""
    if not plain:
        return True
    conn = cur.connection
    try:
        with conn.transaction():
            cur.execute(*combined(plain))
    except psycopg.errors.UniqueViolation:
        insert_new(cur, writes)
        return False
    return True


def combined(statements: Sequence[Statement]) -> Statement:
    """Statements without results as one: ``WITH w0 AS (…), w1 AS (…) SELECT``. They run on
    one snapshot, so none may touch a row another one writes."""
    if len(statements) == 1:
        return statements[0]
    parts = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(statements))
    return f"WITH {parts} SELECT", [p for _, params in statements for p in params]


def send(cur: psycopg.Cursor[Any], statements: Sequence[Statement]) -> None:
    """Send statements in one pipeline: one round trip."""
    if not statements:
        return
    with cur.connection.pipeline():
        for sql, params in statements:
            cur.execute(sql, params)
