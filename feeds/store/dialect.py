"""What differs between the two backends' SQL, in one small object, and a transaction that speaks it.

The table modules (:mod:`.sources`, :mod:`.posts`, :mod:`.articles`,
:mod:`.neardup`) write each statement once, with ``?`` placeholders and the SQL
both databases accept: upserts (``INSERT … ON CONFLICT … DO UPDATE`` / ``DO
NOTHING``), ``CAST``, ``substr`` (not ``GLOB``, ``LIKE`` or ``~``),
``EXISTS``, recursive CTEs.  What cannot be written once is a :class:`Dialect`:

============================  ==========================================  =======================================
                              SQLite (:data:`SQLITE`)                     PostgreSQL (:data:`POSTGRES`)
============================  ==========================================  =======================================
placeholders                  ``?``                                       ``%s`` (and ``%`` doubled)
a list of values              ``IN (?, ?, …)``, 500 at a time             one ``= ANY(?)``
many rows                     ``executemany``                             one statement over ``unnest(?::t[], …)``
a key twice in one upsert     the last row counts (one after another)     rows made unique first (else an error)
ids of new rows               ``max + 1``… (one writer at a time)         ``nextval`` of the column's sequence
float to integer (floor)      ``CAST(x AS INTEGER) - (x < CAST(x …))``    ``floor(x)::bigint``
a big first load              indexes dropped and rebuilt, more cache     nothing
bulk writes                   in parts of at most 64 MiB (its WAL)        one transaction
============================  ==========================================  =======================================

New ids are taken before the insert (:meth:`Tx.new_ids`), so no statement needs
``RETURNING`` or ``lastrowid``.  Locks and notifications are a backend's, not a
statement's: :meth:`Tables.lock` (PostgreSQL's advisory locks; SQLite has one
writer) and :meth:`Tables.notify` (PostgreSQL's NOTIFY; SQLite has no one to tell).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

# purposes of PostgreSQL's advisory locks (the second key; the first is the schema's)
LOCK_MIGRATE, LOCK_ARTICLES, LOCK_LEADER, LOCK_HOST, LOCK_NEARDUP = 1, 2, 3, 4, 5

Row = Sequence[Any]

CACHE_KIB = 1024  # SQLite's page cache per connection (KiB): the daemon keeps one connection per thread
BULK_CACHE_KIB = 8192  # while one transaction writes tens of thousands of rows (32 MiB: no faster, +35 MB)


class Dialect:
    """SQLite's SQL (the base); :class:`PgDialect` overrides what PostgreSQL says otherwise."""

    name = "sqlite"
    chunk = 500  # values per IN list (SQLite binds at most 32,766, old builds 999)
    # The bytes one bulk write may put in a transaction, or None: no bound.  SQLite's WAL holds
    # every page a transaction writes until it commits, and must stay small (see sqlite.py): a
    # bulk write larger than this is made in parts, each a transaction (estimated with the
    # measured bytes per row of each kind: posts.ENTRY_BYTES, neardup.SKETCH_BYTES, …).
    write_budget: int | None = 64 << 20

    def sql(self, text: str) -> str:
        return text

    def each_in(self, values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        """``(condition, parameters)`` for ``column <condition>`` over ``values``, as many as it takes
        (none for no values)."""
        for start in range(0, len(values), self.chunk):
            chunk = list(values[start : start + self.chunk])
            yield f"IN ({','.join('?' * len(chunk))})", chunk

    def executemany(self, raw: Any, sql: str, rows: Iterable[Row]) -> None:
        raw.executemany(sql, rows)

    def insert(self, raw: Any, table: str, columns: Sequence[str], rows: Sequence[Row],
               key: Sequence[str] | None, ignore: bool) -> None:  # fmt: skip
        marks = ",".join("?" * len(columns))
        raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){_conflict(columns, key, ignore)}",
                        rows)  # fmt: skip

    def update(self, raw: Any, table: str, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Row],
               also: str) -> None:  # fmt: skip
        sets = ", ".join([f"{c} = ?" for c in columns] + ([also] if also else []))
        raw.executemany(f"UPDATE {table} SET {sets} WHERE {' AND '.join(f'{k} = ?' for k in keys)}", rows)

    def new_ids(self, raw: Any, table: str, column: str, count: int) -> list[int]:
        # what SQLite gives an INTEGER PRIMARY KEY by itself; the store's one writer holds the lock
        last = raw.execute(f"SELECT coalesce(max({column}), 0) FROM {table}").fetchone()[0]
        return list(range(last + 1, last + 1 + count))

    def floor(self, expr: str) -> str:
        """``expr`` rounded down to an integer (SQLite has no floor() without its math functions)."""
        return f"(CAST({expr} AS INTEGER) - (({expr}) < CAST({expr} AS INTEGER)))"

    @contextmanager
    def bulk(self, raw: Any, indexes: dict[str, str]) -> Iterator[None]:
        """Around a first big load: the ``indexes`` (name -> CREATE statement) dropped, and built again
        after in the same transaction (one sort instead of a B-tree insert per row: about 2x faster),
        with a larger page cache meanwhile (a transaction writing 100k rows with 1 MiB of cache spilled
        and re-read its own pages over and over: 2.1 s -> 1.1 s)."""
        raw.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        try:
            for name in indexes:
                raw.execute(f"DROP INDEX {name}")
            yield
            for sql in indexes.values():
                raw.execute(sql)
        finally:
            raw.execute(f"PRAGMA cache_size=-{CACHE_KIB}")


# PostgreSQL's type of each column that is not text, by name (the same in every table; see schema.py)
_PG_TYPES = {
    **dict.fromkeys(("last_attempt", "last_success", "next_due", "published", "updated", "first_seen", "last_seen",
                     "ts", "fetched", "lease_until"), "float8"),
    **dict.fromkeys(("failures", "published_offset", "updated_offset", "off", "ok", "rev"), "int"),
    **dict.fromkeys(("id", "size", "seq", "bucket"), "int8"),
    "data": "bytea",
}  # fmt: skip


class PgDialect(Dialect):
    name = "postgresql"
    chunk = 1 << 62  # one array, whatever its length
    write_budget = None  # one transaction, whatever its size (the server's WAL is its own affair)

    def sql(self, text: str) -> str:
        return _pg_sql(text)

    def each_in(self, values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        if len(values):
            yield "= ANY(?)", [list(values)]

    def executemany(self, raw: Any, sql: str, rows: Iterable[Row]) -> None:
        rows = list(rows)
        if rows:
            with raw.cursor() as cur:
                cur.executemany(sql, rows)

    def insert(self, raw: Any, table: str, columns: Sequence[str], rows: Sequence[Row],
               key: Sequence[str] | None, ignore: bool) -> None:  # fmt: skip
        if not rows:
            return
        if key is not None:  # a key twice in one statement is an error: the last row counts (as SQLite's)
            at = [columns.index(k) for k in key]
            rows = list({tuple(r[i] for i in at): r for r in rows}.values())
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({_arrays(columns)})"
               f"{_conflict(columns, key, ignore)}")  # fmt: skip
        raw.execute(self.sql(sql), columns_of(rows))

    def update(self, raw: Any, table: str, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Row],
               also: str) -> None:  # fmt: skip
        if not rows:
            return
        sets = ", ".join([f"{c} = c.{c}" for c in columns] + ([also] if also else []))
        every = [*columns, *keys]
        sql = (f"UPDATE {table} SET {sets} FROM unnest({_arrays(every)}) AS c({', '.join(every)})"
               f" WHERE {' AND '.join(f'{table}.{k} = c.{k}' for k in keys)}")  # fmt: skip
        raw.execute(self.sql(sql), columns_of(rows))

    def new_ids(self, raw: Any, table: str, column: str, count: int) -> list[int]:
        if not count:
            return []
        rows = raw.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', '{column}'))"
                           " FROM generate_series(1, %s)", (count,)).fetchall()  # fmt: skip
        return sorted(r[0] for r in rows)

    def floor(self, expr: str) -> str:
        return f"floor({expr})::bigint"

    def bulk(self, raw: Any, indexes: dict[str, str]) -> AbstractContextManager[None]:
        return nullcontext()


@functools.lru_cache(maxsize=1024)
def _pg_sql(text: str) -> str:
    return text.replace("%", "%%").replace("?", "%s")


def _conflict(columns: Sequence[str], key: Sequence[str] | None, ignore: bool) -> str:
    """The upsert clause both databases read alike."""
    if key is not None:
        rest = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        return f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {rest}"
    return " ON CONFLICT DO NOTHING" if ignore else ""


def _arrays(columns: Sequence[str]) -> str:
    return ", ".join(f"?::{_PG_TYPES.get(c, 'text')}[]" for c in columns)


def columns_of(rows: Sequence[Row]) -> list[list[Any]]:
    """Rows as one list per column, for ``unnest(%s::…[], …)``: one statement for any number of rows
    (a column mixing ints and floats is made all floats: psycopg dumps a list of one type)."""
    out: list[list[Any]] = []
    for column in zip(*rows, strict=True):
        values = list(column)
        if any(isinstance(v, float) for v in values):
            values = [float(v) if isinstance(v, int) else v for v in values]
        out.append(values)
    return out


SQLITE = Dialect()
POSTGRES = PgDialect()


class Tx:
    """One open transaction of either backend: statements written once, in :class:`Dialect`'s terms."""

    __slots__ = ("dialect", "raw")

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw  # the sqlite3 / psycopg connection: never leaves the store package
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The statement's cursor (iterable; ``fetchone``, ``fetchall``)."""
        return self.raw.execute(self.dialect.sql(sql), params)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.execute(sql, params).fetchall()

    def many(self, sql: str, rows: Iterable[Row]) -> None:
        """One statement for each of ``rows``."""
        self.dialect.executemany(self.raw, self.dialect.sql(sql), rows)

    def each_in(self, values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        """See :meth:`Dialect.each_in` (and :meth:`select_in`, :meth:`run_in`, which use it)."""
        return self.dialect.each_in(values)

    def select_in(self, sql: str, values: Sequence[Any], before: Sequence[Any] = ()) -> Iterator[Any]:
        """The rows of ``sql`` over every value of ``values``: its ``IN (?...)`` stands for the list
        (see :meth:`Dialect.each_in`); ``before``: the parameters ahead of the list's."""
        for cond, args in self.each_in(values):
            yield from self.execute(sql.replace("IN (?...)", cond), (*before, *args)).fetchall()

    def run_in(self, sql: str, values: Sequence[Any], before: Sequence[Any] = ()) -> None:
        """As :meth:`select_in`, for statements that return nothing (deletes, updates, inserts)."""
        for cond, args in self.each_in(values):
            self.execute(sql.replace("IN (?...)", cond), (*before, *args))

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Row], *,
        key: Sequence[str] | None = None, ignore: bool = False,
    ) -> None:  # fmt: skip
        """Insert ``rows``; with ``key``, a row whose key is held replaces its other columns (an upsert);
        with ``ignore``, a row that breaks a unique key is left out."""
        if rows:
            self.dialect.insert(self.raw, table, columns, rows, key, ignore)

    def update(self, table: str, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Row],
               also: str = "") -> None:  # fmt: skip
        """``UPDATE table SET columns… [, also] WHERE keys…`` for each row (its columns, then its keys)."""
        if rows:
            self.dialect.update(self.raw, table, columns, keys, rows, also)

    def new_ids(self, table: str, column: str, count: int) -> list[int]:
        """``count`` new ids of ``table``'s generated ``column``, ascending (taken now, used in this transaction)."""
        return self.dialect.new_ids(self.raw, table, column, count)

    def bulk(self, indexes: dict[str, str]) -> AbstractContextManager[None]:
        return self.dialect.bulk(self.raw, indexes)


class Tables:
    """What the table modules ask of a backend (:class:`~feeds.store.sqlite.SQLiteDatabase`,
    :class:`~feeds.store.postgres.PgDatabase`)."""

    dialect: Dialect
    node: str | None = None  # PostgreSQL: this node (its outputs, its publish values); SQLite: one node
    node_keys: frozenset[str] = frozenset()  # the meta keys kept per node (PostgreSQL)

    def read(self) -> AbstractContextManager[Tx]:
        """A read transaction: every query in it sees the same snapshot."""
        raise NotImplementedError

    def write(self, *, urgent: bool = False) -> AbstractContextManager[Tx]:
        """A write transaction: all or nothing.  ``urgent``: a short write others wait for (SQLite)."""
        raise NotImplementedError

    def matching(self) -> AbstractContextManager[Tx]:
        """The read transaction near-duplicate matching runs in, before its write."""
        return self.read()

    def lock(self, tx: Tx, purpose: int, *, shared: bool = False) -> None:
        """A lock of this store held until ``tx`` ends (PostgreSQL: an advisory lock; SQLite: its one
        writer already excludes every other)."""

    def notify(self, tx: Tx, event: str) -> None:
        """Tell the other nodes of ``event`` when ``tx`` commits (PostgreSQL; SQLite is one node)."""

    def may_settle(self) -> bool:
        """Whether this node settles (PostgreSQL: only the leader, while nodes watch)."""
        return True

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """One query in its own read transaction: its rows."""
        with self.read() as tx:
            return tx.all(sql, params)
