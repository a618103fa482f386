"""The PostgreSQL backend of the store: several ``feeds run`` nodes on one database.

What only PostgreSQL has is here: the connection pool, transactions and their
isolation, advisory locks, NOTIFY, the migrations runner, loading a copy of a
SQLite store (``feeds migrate``).  The tables are the shared modules'
(:mod:`.sources`, :mod:`.posts`, :mod:`.articles`, :mod:`.neardup`), in
PostgreSQL's :data:`~.dialect.POSTGRES` terms; what several nodes need (poll
leases, change notifications heard, the leader) is :mod:`.nodes`.

A transaction takes a connection from the pool (psycopg_pool) for its
duration, on the calling thread: a connection is never shared between
threads.  Reads are ``REPEATABLE READ READ ONLY`` (one snapshot for every
query in them, as SQLite's); writes are ``READ COMMITTED``, and the writes
that must not interleave (a settle, and the changes that mark articles
dirty; near-duplicate decisions) order themselves with transaction-level
advisory locks.  A nested :meth:`PgDatabase.write` joins the outer transaction.
Every public method is one transaction.

psycopg objects never leave the store package; errors become StoreError,
which names the database without its password.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import psycopg
from psycopg import conninfo, sql
from psycopg_pool import ConnectionPool, PoolTimeout

from feeds.core.errors import StoreError
from feeds.store.articles import ArticleTables
from feeds.store.dialect import LOCK_ARTICLES, LOCK_MIGRATE, POSTGRES, Tables, Tx
from feeds.store.neardup import NearDupTables
from feeds.store.nodes import NodeTables, reason
from feeds.store.posts import PostTables
from feeds.store.schema import FIRST_VERSION, NODE_KEYS, PG_FIRST, PG_LATER, PG_VERSION
from feeds.store.sources import SourceTables

# the pool's own warnings (one per failed connection attempt) would flood the log while the
# database is away: the store says it once instead (see nodes)
logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)

_TABLES = ("sources", "items", "post_cache", "post_delta", "rendered", "entries", "articles", "article_cats",
           "dirty", "meta", "outputs", "node_meta", "sketches", "clusters", "pages", "pinned")  # fmt: skip
Dump = Mapping[str, tuple[Sequence[str], Sequence[tuple[Any, ...]]]]


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
        raise StoreError(display_url(url), f"cannot open the state store: {reason(exc)}") from None


class PgDatabase(Tables):
    dialect = POSTGRES
    node_keys = NODE_KEYS
    leading = False  # this node holds the leader lock (see nodes)
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
            raise StoreError(self.name, f"cannot open the state store: {reason(exc)}") from None
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
        return StoreError(self.name, f"state store error: {reason(exc)}")

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Tx]:
        tx: Tx | None = getattr(self._local, "tx", None)
        if tx is not None:  # nested: part of the transaction already open on this thread
            yield tx
            return
        try:
            with self._connection() as db:
                db.execute(begin)
                self._local.tx = Tx(db, POSTGRES)
                try:
                    yield self._local.tx
                except BaseException:
                    with suppress(psycopg.Error):
                        db.execute("ROLLBACK")
                    raise
                else:
                    db.execute("COMMIT")
                finally:
                    self._local.tx = None
        except psycopg.Error as exc:
            raise self._fail(exc) from None

    def write(self, *, urgent: bool = False) -> AbstractContextManager[Tx]:
        """A write transaction: all or nothing (``READ COMMITTED``)."""
        return self._transaction("BEGIN ISOLATION LEVEL READ COMMITTED")

    def read(self) -> AbstractContextManager[Tx]:
        """A read transaction: every query in it sees the same snapshot."""
        return self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def lock(self, tx: Tx, purpose: int, *, shared: bool = False) -> None:
        """A transaction-level advisory lock of this store (released at commit or rollback)."""
        kind = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        tx.execute(f"SELECT {kind}(?, ?)", (self.lock_key, purpose))

    def notify(self, tx: Tx, event: str) -> None:
        tx.execute("SELECT pg_notify(?, ?)", (self.channel, event))

    def may_settle(self) -> bool:
        return self.leading or not self.following

    # ------------------------------------------------------------ schema

    def _migrate(self) -> None:
        with self.write() as tx:
            self.lock(tx, LOCK_MIGRATE)  # nodes starting together: one migrates, the others wait
            version = 0
            if tx.one("SELECT to_regclass('feeds_schema') IS NOT NULL")[0]:
                version = tx.one("SELECT version FROM feeds_schema")[0]
            if version > PG_VERSION:
                newer = f"written by a newer feeds (schema {version} > {PG_VERSION}); upgrade feeds"
                raise StoreError(self.name, newer)
            if version == 0:
                tx.raw.execute("CREATE TABLE feeds_schema (version INTEGER NOT NULL);"
                               " INSERT INTO feeds_schema (version) VALUES (0);" + PG_FIRST)  # fmt: skip
                version = FIRST_VERSION
            for number in range(version, PG_VERSION):
                if PG_LATER[number - FIRST_VERSION].strip():
                    tx.raw.execute(PG_LATER[number - FIRST_VERSION])
            tx.execute("UPDATE feeds_schema SET version = ?", (PG_VERSION,))

    @property
    def schema_version(self) -> int:
        return int(self.rows("SELECT version FROM feeds_schema")[0][0])

    def maintain(self) -> None:
        """Housekeeping of a long-running process: PostgreSQL does its own (autovacuum)."""

    def close(self) -> None:
        self._closed = True
        with suppress(Exception):
            self.pool.close(timeout=5)

    # ------------------------------------------------------------ a copy of a SQLite store

    def load_dump(self, tables: Dump, *, origin: str) -> bool:
        """Replace everything with ``tables`` (:meth:`SQLiteStore.dump`, in one transaction); whether an
        earlier copy of ``origin`` was replaced.  Refused (StoreError) when the store holds anything else."""
        with self.write() as tx:
            self.lock(tx, LOCK_ARTICLES)
            held = tx.one("SELECT value FROM meta WHERE key = 'migrated_from'")
            used = tx.one(
                "SELECT EXISTS (SELECT 1 FROM items) OR EXISTS (SELECT 1 FROM sources WHERE url IS NOT NULL)"
                " OR EXISTS (SELECT 1 FROM entries) OR EXISTS (SELECT 1 FROM outputs)"
            )[0]
            if used and (held is None or held[0] != origin):
                raise StoreError(self.name, "already holds a store (not a migration of this file); "
                                 "migrate into an empty database")  # fmt: skip
            tx.raw.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, _TABLES))))
            for table, (columns, rows) in tables.items():
                if table == "meta":
                    _copy(tx, "meta", ["key", "value"], [r for r in rows if r[0] not in NODE_KEYS])
                    _copy(tx, "node_meta", ["node", "key", "value"],
                          [(self.node, *r) for r in rows if r[0] in NODE_KEYS])  # fmt: skip
                elif table == "outputs":
                    _copy(tx, table, ["node", *columns], [(self.node, *r) for r in rows])
                else:
                    _copy(tx, table, list(columns), rows)
            tx.execute("INSERT INTO meta (key, value) VALUES ('migrated_from', ?)", (origin,))
            for table, column in (("items", "id"), ("sketches", "seq")):
                tx.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                           f" coalesce(max({column}), 0) + 1, false) FROM {table}")  # fmt: skip
            self.notify(tx, "changed")
        return held is not None

    def dump_counts(self, tables: Sequence[str]) -> dict[str, int]:
        """Rows per table, counted as :meth:`load_dump` was given them."""
        out: dict[str, int] = {}
        with self.read() as tx:
            for table in tables:
                count = tx.raw.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
                if table == "meta":  # its per-node values apart, and the migration's own mark
                    count += tx.one("SELECT count(*) FROM node_meta WHERE node = ?", (self.node,))[0]
                    count -= 1
                out[table] = int(count)
        return out


def _copy(tx: Tx, table: str, columns: list[str], rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with tx.raw.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


class PostgresStore(PgDatabase, NodeTables, SourceTables, PostTables, ArticleTables, NearDupTables):
    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
