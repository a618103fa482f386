"""The SQLite backend of the store (the embedded default): one file, WAL mode; one node.

What only SQLite has is here: one connection per thread, the order writers take
the one write lock in, pragmas, keeping the WAL small, the migrations runner.
The tables are the shared modules' (:mod:`.sources`, :mod:`.posts`,
:mod:`.articles`, :mod:`.neardup`), in SQLite's :data:`~.dialect.SQLITE` terms.

A connection is never shared between threads: each thread that touches the
store gets its own (WAL mode: readers never block the writer, and a reader
sees one consistent snapshot per transaction).  Writes are ``BEGIN IMMEDIATE``
transactions: two writers queue (this process's in turn, see :class:`_FairLock`)
instead of failing.  A nested :meth:`SQLiteDatabase.write` joins the outer
transaction.  Every public method is one transaction, so a crash at any moment
(kill -9) leaves the store as it was before or after that change.  sqlite3
objects never leave the store package; errors become StoreError.

**The WAL stays small** (it once grew to 6.5 GB in one build): every write
transaction is bounded (bulk writes go in chunks), and a writer that leaves
the WAL over :data:`CHECKPOINT_AT` checkpoints it back to nothing before the
next writer goes (``TRUNCATE``: it waits for the readers then, which are all
short; a checkpoint of a WAL that always has a reader never restarts it, and
passive checkpoints alone let it grow without end); ``journal_size_limit``
trims what a restarted WAL keeps.
"""

from __future__ import annotations

import heapq
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any

from feeds.core.errors import StoreError
from feeds.core.models import Source
from feeds.store.articles import ArticleTables
from feeds.store.dialect import CACHE_KIB, SQLITE, Tables, Tx
from feeds.store.neardup import NearDupTables
from feeds.store.posts import PostTables
from feeds.store.records import Claim
from feeds.store.schema import MIGRATIONS
from feeds.store.sources import SourceTables

MIB = 1 << 20
# A new store's pages.  Store size: an item's row (~1.7 KB with its content) fits twice in 4 KiB,
# leaving a quarter of every page empty; 8 KiB pages hold four or five (100k items of news: 2,069
# -> ~1,700 bytes per item beyond the content).
PAGE_SIZE = 8192
WAL_LIMIT = 256 * MIB  # the WAL never grows past this (a transaction is far smaller than the margin)
CHECKPOINT_AT = 64 * MIB  # a writer leaving the WAL larger checkpoints it to nothing
JOURNAL_SIZE_LIMIT = 16 * MIB  # what a restarted WAL keeps of its file
AUTOCHECKPOINT_PAGES = 1000  # a passive checkpoint every ~4 MiB of commits (SQLite's default, said)
CHECKPOINT_WAIT = 5.0  # seconds a checkpoint waits for the readers before it gives up (and tries next time)

# the tables ``feeds migrate`` copies (every one)
DUMPED = ("sources", "items", "post_cache", "post_delta", "rendered", "entries", "articles", "article_cats",
          "dirty", "meta", "outputs", "sketches", "clusters", "pages", "pinned")  # fmt: skip


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


class SQLiteDatabase(Tables):
    dialect = SQLITE

    def __init__(self, path: Path, *, busy_timeout: float = 120.0) -> None:
        self.path = path
        self.wal = Path(f"{path}-wal")
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
            db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # (a new store's: an existing one keeps its own)
            db.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StoreError(str(path), f"cannot open the state store: {exc}") from None
        except StoreError:
            self.close()
            raise

    def _connect(self, cache_kib: int) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(str(self.path), "the state store is closed")
        # check_same_thread=False only so that close() may close it from another thread.
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA cache_size=-{cache_kib}")
        db.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        db.execute(f"PRAGMA wal_autocheckpoint={0 if self._background_checkpoints else AUTOCHECKPOINT_PAGES}")
        with self._guard:
            self._connections.append(db)
        return db

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect(CACHE_KIB)  # 1 MiB of pages per connection: one per thread
            self._local.db = db
            self._local.depth = 0
            self._local.manual = self._background_checkpoints
        if self._background_checkpoints and not self._local.manual:
            db.execute("PRAGMA wal_autocheckpoint=0")  # see maintain()
            self._local.manual = True
        return db

    def _fail(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(str(self.path), f"state store error: {exc}")

    @contextmanager
    def _transaction(self, begin: str, urgent: bool = False) -> Iterator[Tx]:
        db = self._db()
        if self._local.depth:  # nested: part of the transaction already open on this thread
            self._local.depth += 1
            try:
                yield Tx(db, SQLITE)
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
            yield Tx(db, SQLITE)
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
            if writing and self._wal_size() > CHECKPOINT_AT:  # before the next writer goes
                self._checkpoint(db)
        finally:
            self._local.depth = 0
            if writing:
                self._writer.release()

    def write(self, *, urgent: bool = False) -> AbstractContextManager[Tx]:
        """A write transaction (``BEGIN IMMEDIATE``): all or nothing, isolated from other threads.
        ``urgent``: a short write that others wait for, served before the rest (see :class:`_FairLock`)."""
        return self._transaction("BEGIN IMMEDIATE", urgent)

    def read(self) -> AbstractContextManager[Tx]:
        """A read transaction: every query in it sees the same snapshot."""
        return self._transaction("BEGIN")

    @contextmanager
    def matching(self) -> Iterator[Tx]:
        """A read transaction on the connection kept for near-duplicate matching, one thread at a time.

        Speed: matching reads random pages of the LSH index; on whichever thread's
        connection (1 MiB of cache each) they were mostly misses.  This one keeps 8 MiB.
        """
        with self._matching:
            if self._matcher is None:
                self._matcher = self._connect(8192)
            db = self._matcher
            try:
                db.execute("BEGIN")
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            try:
                yield Tx(db, SQLITE)
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            finally:
                with suppress(sqlite3.Error):
                    db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self._db().execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                str(self.path), f"written by a newer feeds (schema {version} > {len(MIGRATIONS)}); upgrade feeds"
            )
        for number in range(version, len(MIGRATIONS)):
            with self.write() as tx:
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {number + 1}")

    # ------------------------------------------------------------ the WAL

    def _wal_size(self) -> int:
        try:
            return self.wal.stat().st_size
        except OSError:
            return 0

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        """Copy the WAL into the database and empty it (the caller holds this process's write lock).

        ``TRUNCATE`` waits (up to :data:`CHECKPOINT_WAIT`) for the readers that are on the
        WAL; readers that begin meanwhile read the database file.  When one does not finish
        in time (or another process writes) the WAL is left as it is, and the next big
        commit tries again: what was committed stays committed either way.
        """
        with suppress(sqlite3.Error):
            db.execute(f"PRAGMA busy_timeout={int(CHECKPOINT_WAIT * 1000)}")
            try:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")

    def maintain(self) -> None:
        """Housekeeping that a long-running process calls every few seconds, off its hot path.

        SQLite: a WAL checkpoint.  From the first call on, commits no longer checkpoint by
        themselves: a checkpoint (with its fsync) inside a commit held the write lock for
        seconds on a slow disk, and every poll's write queued behind it.  A passive one
        (writers go on meanwhile) while the WAL is small; one that empties it (writers wait)
        once it holds more than a quarter of :data:`CHECKPOINT_AT`.
        """
        self._background_checkpoints = True  # for the connections made from now on
        db = self._db()
        if self._wal_size() <= CHECKPOINT_AT // 4:
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
        elif self._writer.acquire(self.busy_timeout):
            try:
                self._checkpoint(db)
            finally:
                self._writer.release()

    @property
    def schema_version(self) -> int:
        return int(self._db().execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._closed = True
        with self._guard:
            connections, self._connections = self._connections, []
        for db in connections:
            with suppress(sqlite3.Error):
                db.close()


class SQLiteStore(SQLiteDatabase, SourceTables, PostTables, ArticleTables, NearDupTables):
    clustered = False  # one node: every claim succeeds, no one else to hear from

    def claim_due(
        self, sources: Sequence[Source], now: float, lease: float, per_host: int, *, force: bool = False
    ) -> Claim:
        return Claim(tuple(s.name for s in sources), None)

    def release(self, names: Sequence[str]) -> None:
        pass

    def watch(self, on_event: Callable[[str], None]) -> Callable[[], None]:
        return lambda: None

    def dump(self) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
        """Every table's columns and rows, read in one snapshot (for ``feeds migrate``)."""
        out: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        with self.read() as tx:
            for table in DUMPED:
                columns = [row[1] for row in tx.execute(f"PRAGMA table_info({table})")]
                out[table] = (columns, tx.all(f"SELECT {', '.join(columns)} FROM {table}"))
        return out

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
