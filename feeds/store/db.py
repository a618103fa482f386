"""SQLite plumbing: one connection per thread, transactions, errors, migrations.

A connection is never shared between threads: each thread that touches the
store gets its own (WAL mode: readers never block the writer, and a reader
sees one consistent snapshot per transaction).  Writes are ``BEGIN IMMEDIATE``
transactions: two writers queue on SQLite's lock (``busy_timeout``) instead of
failing.  A nested :meth:`Database.write` joins the outer transaction.
sqlite3 objects never leave the store package; errors become StoreError.
"""

from __future__ import annotations

import heapq
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

from feeds.core.errors import StoreError
from feeds.store.schema import MIGRATIONS


class _FairLock:
    """A lock taken in the order it was asked for (tickets), urgent requests first.

    ``threading.Lock`` is not fair: during a burst of polls' writes (a
    300-source daemon starting) the publisher's settle waited behind all of
    them, and nothing was published until the burst was over.  In turn, the
    publisher still waited for every poll queued before it, three times per
    publish (settle, outputs, meta): ~4 s of a 5 s publish in a burst.  Short
    writes that others wait for (the publisher's, a source's state) ask with
    ``urgent``: they are served before the polls' item writes, in turn.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._next = 0  # the next ticket to hand out
        self._waiting: list[tuple[int, int]] = []  # a heap of (0 urgent / 1 not, ticket)
        self._held = False

    def acquire(self, timeout: float, urgent: bool = False) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            me = (0 if urgent else 1, self._next)
            self._next += 1
            heapq.heappush(self._waiting, me)
            while self._held or self._waiting[0] != me:
                left = deadline - time.monotonic()
                if left <= 0:  # give the turn up: those after this ticket must not wait for it
                    self._waiting.remove(me)
                    heapq.heapify(self._waiting)
                    self._cond.notify_all()
                    return False
                self._cond.wait(left)
            heapq.heappop(self._waiting)
            self._held = True
            return True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


CACHE_KIB = 1024  # page cache of a connection (KiB): the daemon keeps one connection per thread
BULK_CACHE_KIB = 8192  # while one transaction writes tens of thousands of rows (32 MiB: no faster, +35 MB)


@contextmanager
def roomy(db: sqlite3.Connection) -> Iterator[None]:
    """A larger page cache for the bulk writes inside, given back after.

    Speed: a transaction that writes 100k rows with 1 MiB of cache spills and
    re-reads its own B-tree pages over and over (100k entries, with the indexes built
    at the end: 2.1 s -> 1.1 s).
    """
    db.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")


@contextmanager
def rebuilt(db: sqlite3.Connection, indexes: dict[str, str]) -> Iterator[None]:
    """The ``indexes`` (name -> CREATE statement) dropped for the bulk inserts inside, built again after
    (in the same transaction): one sort instead of a B-tree insert per row (about 2x faster)."""
    for name in indexes:
        db.execute(f"DROP INDEX {name}")
    yield
    for sql in indexes.values():
        db.execute(sql)


class Database:
    def __init__(self, path: Path, *, busy_timeout: float = 120.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout  # seconds a writer waits for another to commit before giving up
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._writer = _FairLock()  # one write transaction at a time in this process, in turn
        self._matching = threading.Lock()  # near-duplicate matching before a write: one at a time
        self._matcher: sqlite3.Connection | None = None  # its own connection (see matching())
        self._background_checkpoints = False
        self._closed = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = self._db()
            db.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StoreError(str(path), f"cannot open the state store: {exc}") from None
        except StoreError:
            self.close()
            raise

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise StoreError(str(self.path), "the state store is closed")
            # check_same_thread=False only so that close() may close it from another thread.
            db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                 check_same_thread=False)  # fmt: skip
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # 1 MiB of pages per connection: one per thread
            self._local.db = db
            self._local.depth = 0
            with self._guard:
                self._connections.append(db)
        if self._background_checkpoints and not getattr(self._local, "manual", False):
            db.execute("PRAGMA wal_autocheckpoint=0")  # see maintain()
            self._local.manual = True
        return db

    def _fail(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(str(self.path), f"state store error: {exc}")

    def _execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self._db().execute(sql, params)
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    @contextmanager
    def _transaction(self, begin: str, urgent: bool = False) -> Iterator[sqlite3.Connection]:
        db = self._db()
        if self._local.depth:  # nested: part of the transaction already open on this thread
            self._local.depth += 1
            try:
                yield db
            finally:
                self._local.depth -= 1
            return
        writing = begin != "BEGIN"
        # Writers of this process queue here, in turn, rather than in SQLite's busy handler, which
        # sleeps up to 100 ms between tries: with many threads writing, that sleeping made
        # writes (and the polls behind them) take seconds under load.
        if writing and not self._writer.acquire(self.busy_timeout, urgent):
            raise StoreError(str(self.path), f"state store error: busy for {self.busy_timeout:g}s")
        try:
            db.execute(begin)
        except sqlite3.Error as exc:
            if writing:
                self._writer.release()
            raise self._fail(exc) from None
        self._local.depth = 1
        try:
            yield db
        except BaseException as exc:
            with suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._fail(exc) from None
            raise
        else:
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise self._fail(exc) from None
        finally:
            self._local.depth = 0
            if writing:
                self._writer.release()

    def write(self, *, urgent: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): all or nothing, isolated from other threads.
        ``urgent``: a short write that others wait for, served before the rest (see :class:`_FairLock`)."""
        return self._transaction("BEGIN IMMEDIATE", urgent)

    def read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A read transaction: every query in it sees the same snapshot."""
        return self._transaction("BEGIN")

    @contextmanager
    def matching(self) -> Iterator[sqlite3.Connection]:
        """A read transaction on the connection kept for near-duplicate matching, one thread at a time.

        Speed: matching reads random pages of the LSH index; on whichever thread's
        connection (1 MiB of cache each) they were mostly misses.  This one keeps 8 MiB.
        """
        with self._matching:
            if self._matcher is None:
                if self._closed:
                    raise StoreError(str(self.path), "the state store is closed")
                db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                     check_same_thread=False)  # fmt: skip
                db.execute("PRAGMA cache_size=-8192")
                with self._guard:
                    self._connections.append(db)
                self._matcher = db
            db = self._matcher
            try:
                db.execute("BEGIN")
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            try:
                yield db
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            finally:
                with suppress(sqlite3.Error):
                    db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self._execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                str(self.path), f"written by a newer feeds (schema {version} > {len(MIGRATIONS)}); upgrade feeds"
            )
        for number in range(version, len(MIGRATIONS)):
            with self.write() as db:
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    def maintain(self) -> None:
        """Housekeeping that a long-running process calls every few seconds, off its hot path.

        SQLite: a passive WAL checkpoint.  From the first call on, commits no longer
        checkpoint by themselves: a checkpoint (with its fsync) inside a commit held the
        write lock for seconds on a slow disk, and every poll's write queued behind it.
        """
        self._background_checkpoints = True  # for the connections made from now on
        try:
            self._db().execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    @property
    def schema_version(self) -> int:
        return int(self._execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._closed = True
        with self._guard:
            connections, self._connections = self._connections, []
        for db in connections:
            with suppress(sqlite3.Error):
                db.close()
