"""PostgreSQL plumbing: a connection pool, transactions, errors, migrations.

A transaction takes a connection from the pool (psycopg_pool) for its
duration, on the calling thread: a connection is never shared between
threads.  Reads are ``REPEATABLE READ READ ONLY`` (one snapshot for every
query in them, as SQLite's); writes are ``READ COMMITTED``, and the writes
that must not interleave (a settle, and the changes that mark articles
dirty) order themselves with transaction-level advisory locks.  A nested
:meth:`PgDatabase.write` joins the outer transaction.

psycopg objects never leave the store package; errors become StoreError,
which names the database without its password.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from feeds.core.errors import StoreError
from feeds.store.postgres_schema import FIRST_VERSION, PG_FIRST, PG_LATER, PG_VERSION

# the pool's own warnings (one per failed connection attempt) would flood the log while the
# database is away: the store says it once instead (see postgres_cluster)
logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)

# purposes of the advisory locks (the second key; the first is the schema's)
LOCK_MIGRATE, LOCK_ARTICLES, LOCK_LEADER, LOCK_HOST, LOCK_NEARDUP = 1, 2, 3, 4, 5


def display_url(url: str) -> str:
    """The database as shown to a user: ``postgresql://user@host:port/dbname``, never a password."""
    try:
        parts = conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://(unparsable url)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host') or 'localhost'}{port}/{parts.get('dbname') or ''}"


def exists(url: str, *, timeout: float) -> bool:
    """Whether the database at ``url`` holds a feeds store (its schema table) yet."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(min(timeout, 10)))) as db:
            return bool(db.execute("SELECT to_regclass('feeds_schema') IS NOT NULL").fetchone()[0])  # type: ignore[index]
    except psycopg.Error as exc:
        raise StoreError(display_url(url), f"cannot open the state store: {_reason(exc)}") from None


class PgDatabase:
    leading = False  # this node holds the leader lock (see postgres_cluster)
    following = False  # a watch runs: settling is the leader's work, unless this node leads
    def __init__(self, url: str, *, node: str, timeout: float = 120.0, pool_size: int = 8) -> None:
        self.url = url
        self.name = display_url(url)
        self.node = node
        self.timeout = min(max(timeout, 5.0), 15.0)  # seconds to wait for a connection (then StoreError)
        self.lock_timeout = timeout  # seconds a statement waits for another's lock (then StoreError)
        self._local = threading.local()
        self._closed = False
        self.pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, timeout=timeout, name="feeds",
            kwargs={"autocommit": True, "connect_timeout": 5}, configure=self._configure,
            check=ConnectionPool.check_connection,
        )  # fmt: skip
        try:
            psycopg.connect(url, autocommit=True, connect_timeout=5).close()  # fails at once with the reason
            self.pool.open(wait=True, timeout=self.timeout)
            with self._connection() as db:
                self.schema = db.execute("SELECT current_schema()").fetchone()[0]
            self.lock_key = zlib.crc32(f"feeds:{self.schema}".encode()) - 2**31  # an int4
            self.channel = f"feeds_{self.schema}"[:63]
            self._migrate()
        except (psycopg.Error, PoolTimeout) as exc:
            self.close()
            raise StoreError(self.name, f"cannot open the state store: {_reason(exc)}") from None
        except StoreError:
            self.close()
            raise

    # ------------------------------------------------------------ connections and transactions

    def _configure(self, db: psycopg.Connection[Any]) -> None:
        db.execute(f"SET lock_timeout = {int(self.lock_timeout * 1000)}")

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise StoreError(self.name, "the state store is closed")
        try:
            with self.pool.connection(timeout=self.timeout) as db:
                yield db
        except PoolTimeout as exc:
            raise self._fail(exc) from None

    def _fail(self, exc: BaseException) -> StoreError:
        return StoreError(self.name, f"state store error: {_reason(exc)}")

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[psycopg.Connection[Any]]:
        db: psycopg.Connection[Any] | None = getattr(self._local, "db", None)
        if db is not None:  # nested: part of the transaction already open on this thread
            yield db
            return
        try:
            with self._connection() as db:
                db.execute(begin)
                self._local.db = db
                try:
                    yield db
                except BaseException:
                    with suppress(psycopg.Error):
                        db.execute("ROLLBACK")
                    raise
                else:
                    db.execute("COMMIT")
                finally:
                    self._local.db = None
        except psycopg.Error as exc:
            raise self._fail(exc) from None

    def write(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        """A write transaction: all or nothing (``READ COMMITTED``)."""
        return self._transaction("BEGIN ISOLATION LEVEL READ COMMITTED")

    def read(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        """A read transaction: every query in it sees the same snapshot."""
        return self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def _execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """One statement in its own transaction; its rows."""
        with self.read() as db:
            return db.execute(sql, params).fetchall()

    def lock(self, db: psycopg.Connection[Any], purpose: int, *, shared: bool = False) -> None:
        """A transaction-level advisory lock of this store (released at commit or rollback)."""
        kind = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        db.execute(f"SELECT {kind}(%s, %s)", (self.lock_key, purpose))

    # ------------------------------------------------------------ schema

    def _migrate(self) -> None:
        with self.write() as db:
            self.lock(db, LOCK_MIGRATE)  # nodes starting together: one migrates, the others wait
            exists = db.execute("SELECT to_regclass('feeds_schema') IS NOT NULL").fetchone()[0]
            version = db.execute("SELECT version FROM feeds_schema").fetchone()[0] if exists else 0
            if version > PG_VERSION:
                newer = f"written by a newer feeds (schema {version} > {PG_VERSION}); upgrade feeds"
                raise StoreError(self.name, newer)
            if version == 0:
                db.execute(PG_FIRST)
                version = FIRST_VERSION
            for number in range(version, PG_VERSION):
                if PG_LATER[number - FIRST_VERSION].strip():
                    db.execute(PG_LATER[number - FIRST_VERSION])
            db.execute("UPDATE feeds_schema SET version = %s", (PG_VERSION,))

    @property
    def schema_version(self) -> int:
        return int(self._execute("SELECT version FROM feeds_schema")[0][0])

    def maintain(self) -> None:
        """Housekeeping of a long-running process: PostgreSQL does its own (autovacuum)."""

    def close(self) -> None:
        self._closed = True
        with suppress(Exception):
            self.pool.close(timeout=5)


def columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as one list per column, for ``unnest(%s::…[], …)``: one statement for any number of rows
    (a column mixing ints and floats is made all floats: psycopg dumps a list of one type)."""
    out: list[list[Any]] = []
    for column in zip(*rows, strict=True):
        values = list(column)
        if any(isinstance(v, float) for v in values):
            values = [float(v) if isinstance(v, int) else v for v in values]
        out.append(values)
    return out


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PoolTimeout):
        return "the database cannot be reached (no connection within the timeout)"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
