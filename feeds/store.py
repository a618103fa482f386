"""SQLite state: remote items, each source's fetch state, the post cache, output fingerprints.

stdlib ``sqlite3`` in WAL mode, a versioned schema (``PRAGMA user_version``) with
migrations applied in order.  Every change is one transaction, so a crash at any
moment (kill -9) leaves the store as it was before or after that change.
sqlite3 objects never leave this module; errors become :class:`StoreError`.
"""

from __future__ import annotations

import json
import marshal
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feeds.errors import StoreError
from feeds.models import Item, PostIndex, instant, stamp

SEP = "\x1f"  # joins category names in one column (never in a name: XML forbids it)

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        url TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_attempt REAL,
        last_success REAL,
        failures INTEGER NOT NULL DEFAULT 0,
        next_due REAL,
        last_error TEXT
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        published REAL NOT NULL,
        published_offset INTEGER NOT NULL,
        updated REAL NOT NULL,
        updated_offset INTEGER NOT NULL,
        categories TEXT NOT NULL,
        tags TEXT NOT NULL,
        author TEXT NOT NULL,
        content TEXT NOT NULL,
        summary TEXT NOT NULL,
        origin TEXT NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        rev INTEGER NOT NULL DEFAULT 0,
        UNIQUE (source, key)
    );
    CREATE TABLE post_cache (source TEXT PRIMARY KEY, context TEXT NOT NULL, data BLOB NOT NULL);
    CREATE TABLE outputs (path TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, size INTEGER NOT NULL);
    """,
    # 2: what the last publish was made of, so an unchanged world is not merged again
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('posts_generation', '0');
    """,
    # 3: post cache changes since its blob was written (data NULL: the file is gone)
    """
    CREATE TABLE post_delta (source TEXT NOT NULL, path TEXT NOT NULL, data BLOB, PRIMARY KEY (source, path));
    """,
    # 4: posts read in full for the feeds, so an unchanged post is not rendered again
    """
    CREATE TABLE rendered (
        source TEXT NOT NULL, path TEXT NOT NULL, stamp TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (source, path)
    );
    """,
)
# The post cache's changes are kept apart from its blob until there are this
# many (or a tenth of the rows): adding one post writes one small row, not 100k.
DELTA_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store remembers of one remote source."""

    name: str
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt: float | None = None
    last_success: float | None = None
    failures: int = 0
    next_due: float | None = None
    last_error: str | None = None
    items: int = 0


class Store:
    """The state file.  Use as a context manager; one writer process at a time (see the lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(str(path), f"cannot open the state store: {exc}") from None

    # ------------------------------------------------------------ plumbing

    def _migrate(self) -> None:
        version = self._execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                str(self.path), f"written by a newer feeds (schema {version} > {len(MIGRATIONS)}); upgrade feeds"
            )
        for number in range(version, len(MIGRATIONS)):
            with self.transaction():
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self._execute(statement)
                self._execute(f"PRAGMA user_version = {number + 1}")

    def _execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(str(self.path), f"state store error: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(str(self.path), f"state store error: {exc}") from None

    def close(self) -> None:
        with suppress(sqlite3.Error):
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._execute("PRAGMA user_version").fetchone()[0])

    # ------------------------------------------------------------ sources

    def source_state(self, name: str) -> SourceState:
        row = self._execute(
            "SELECT name, url, etag, last_modified, body_hash, last_attempt, last_success, failures, next_due,"
            " last_error, (SELECT count(*) FROM items WHERE source = ?) FROM sources WHERE name = ?",
            (name, name),
        ).fetchone()
        return SourceState(*row) if row else SourceState(name=name)

    def source_states(self) -> dict[str, SourceState]:
        counts = dict(self._execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())
        rows = self._execute(
            "SELECT name, url, etag, last_modified, body_hash, last_attempt, last_success, failures, next_due,"
            " last_error FROM sources"
        ).fetchall()
        return {row[0]: SourceState(*row, items=counts.get(row[0], 0)) for row in rows}

    def save_source(self, state: SourceState) -> None:
        with self.transaction() as db:
            self._save_source(db, state)

    @staticmethod
    def _save_source(db: sqlite3.Connection, state: SourceState) -> None:
        db.execute(
            "INSERT INTO sources (name, url, etag, last_modified, body_hash, last_attempt, last_success, failures,"
            " next_due, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET url = excluded.url, etag = excluded.etag,"
            " last_modified = excluded.last_modified, body_hash = excluded.body_hash,"
            " last_attempt = excluded.last_attempt, last_success = excluded.last_success,"
            " failures = excluded.failures, next_due = excluded.next_due, last_error = excluded.last_error",
            (
                state.name,
                state.url,
                state.etag,
                state.last_modified,
                state.body_hash,
                state.last_attempt,
                state.last_success,
                state.failures,
                state.next_due,
                state.last_error,
            ),
        )

    # ------------------------------------------------------------ remote items

    def save_poll(
        self, state: SourceState, items: Sequence[Item], undated: Iterable[str], now: float
    ) -> tuple[int, int]:
        """Store a successful poll's items and the source's state in one transaction.

        Items already held keep their ``first_seen``; an entry that had no date
        keeps the date it was first seen with.  Items the source no longer lists
        are kept.  Returns (new, updated) counts.
        """
        undated = set(undated)
        held: dict[str, tuple] = {}
        inserts: list[tuple] = []
        changes: list[tuple] = []
        seen: list[tuple[float, int]] = []
        with self.transaction() as db:
            keys = [item.key for item in items]
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                held.update(
                    (row[0], row[1:])
                    for row in db.execute(
                        "SELECT key, id, title, link, content, categories, published, published_offset, updated"
                        f" FROM items WHERE source = ? AND key IN ({','.join('?' * len(chunk))})",
                        (state.name, *chunk),
                    )
                )
            for item in items:
                published, published_offset = stamp(item.published)
                updated_at, updated_offset = stamp(item.updated)
                categories = SEP.join(item.categories)
                row = held.get(item.key)
                if row is None:
                    inserts.append(
                        (
                            state.name, item.key, item.title, item.link, published, published_offset,
                            updated_at, updated_offset, categories, json.dumps(list(item.tags), ensure_ascii=False),
                            item.author, item.content, item.summary, item.origin, now, now,
                        )
                    )  # fmt: skip
                    continue
                if item.key in undated:  # keep the first-seen date
                    published, published_offset = row[5], row[6]
                    updated_at, updated_offset = row[7], row[6]
                if (item.title, item.link, item.content, categories, published, updated_at) == (
                    row[1], row[2], row[3], row[4], row[5], row[7]
                ):  # fmt: skip
                    seen.append((now, row[0]))
                    continue
                changes.append(
                    (
                        item.title, item.link, published, published_offset, updated_at, updated_offset,
                        categories, json.dumps(list(item.tags), ensure_ascii=False), item.author,
                        item.content, item.summary, item.origin, now, row[0],
                    )
                )  # fmt: skip
            db.executemany(
                "INSERT INTO items (source, key, title, link, published, published_offset, updated,"
                " updated_offset, categories, tags, author, content, summary, origin, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )
            db.executemany(
                "UPDATE items SET title = ?, link = ?, published = ?, published_offset = ?, updated = ?,"
                " updated_offset = ?, categories = ?, tags = ?, author = ?, content = ?, summary = ?,"
                " origin = ?, last_seen = ?, rev = rev + 1 WHERE id = ?",
                changes,
            )
            db.executemany("UPDATE items SET last_seen = ? WHERE id = ?", seen)
            self._save_source(db, state)
        return len(inserts), len(changes)

    def item_rows(self, sources: Iterable[str]) -> list[tuple[int, str, float, int, tuple[str, ...], str, int]]:
        """(id, key, published, offset, categories, origin, rev) of every item of ``sources``."""
        names = list(sources)
        if not names:
            return []
        marks = ",".join("?" * len(names))
        rows = self._execute(
            f"SELECT id, key, published, published_offset, categories, origin, rev FROM items"
            f" WHERE source IN ({marks})",
            names,
        ).fetchall()
        return [(r[0], r[1], r[2], r[3], tuple(r[4].split(SEP)) if r[4] else (), r[5], r[6]) for r in rows]

    def load_items(self, ids: Iterable[int]) -> dict[int, Item]:
        """Full items by id."""
        wanted = list(ids)
        out: dict[int, Item] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._execute(
                "SELECT id, key, title, link, published, published_offset, updated, updated_offset, categories,"
                f" tags, author, content, summary, source, origin FROM items WHERE id IN ({marks})",
                chunk,
            ):
                out[row[0]] = Item(
                    key=row[1],
                    title=row[2],
                    link=row[3],
                    published=instant(row[4], row[5]),
                    updated=instant(row[6], row[7]),
                    categories=tuple(row[8].split(SEP)) if row[8] else (),
                    tags=tuple(json.loads(row[9])),
                    author=row[10],
                    content=row[11],
                    summary=row[12],
                    source=row[13],
                    origin=row[14],
                )
        return out

    def forget_sources(self, keep: Iterable[str]) -> None:
        """Drop state of remote sources no longer in the config (their items too)."""
        names = list(keep)
        marks = ",".join("?" * len(names)) or "''"
        with self.transaction() as db:
            db.execute(f"DELETE FROM items WHERE source NOT IN ({marks})", names)
            db.execute(f"DELETE FROM sources WHERE name NOT IN ({marks})", names)

    # ------------------------------------------------------------ post cache

    def post_cache(self, source: str, context: str) -> dict[str, PostIndex]:
        """The cached index rows of a posts source, by path (empty if its settings changed).

        The rows of a source are kept as one marshalled blob (loading 100k of
        them is one read, not 100k row fetches) plus the rows changed since
        the blob was written.
        """
        row = self._execute("SELECT context, data FROM post_cache WHERE source = ?", (source,)).fetchone()
        if row is None or row[0] != context:
            return {}
        try:
            make = tuple.__new__
            rows = {r[0]: make(PostIndex, r) for r in marshal.loads(row[1])}
            for path, data in self._execute("SELECT path, data FROM post_delta WHERE source = ?", (source,)):
                if data is None:
                    rows.pop(path, None)
                else:
                    rows[path] = make(PostIndex, marshal.loads(data))
        except (EOFError, ValueError, TypeError):
            return {}  # damaged: read every post again
        return rows

    def has_post_cache(self, source: str, context: str) -> bool:
        """Whether :meth:`post_cache` has rows for ``source`` made with these settings (cheap)."""
        row = self._execute("SELECT context = ? FROM post_cache WHERE source = ?", (context, source)).fetchone()
        return bool(row and row[0])

    def save_posts(
        self,
        source: str,
        context: str,
        rows: Sequence[PostIndex],
        *,
        changed: Sequence[PostIndex] | None = None,
        removed: Sequence[str] = (),
    ) -> None:
        """Record the posts of a source: ``rows`` are all of them now.

        ``changed`` and ``removed`` (new or changed rows, paths gone) are the
        difference from what :meth:`post_cache` gave; with them only that is
        written, until the differences held add up to :data:`DELTA_LIMIT` (or
        a tenth of the rows) and the blob is written anew.  Without them (the
        cache was empty or its settings changed) the blob is written anew.
        """
        with self.transaction() as db:
            db.execute("UPDATE meta SET value = value + 1 WHERE key = 'posts_generation'")
            if changed is not None:
                held = db.execute("SELECT count(*) FROM post_delta WHERE source = ?", (source,)).fetchone()[0]
                if held + len(changed) + len(removed) <= max(DELTA_LIMIT, len(rows) // 10):
                    db.executemany(
                        "INSERT OR REPLACE INTO post_delta (source, path, data) VALUES (?, ?, ?)",
                        [(source, r.path, marshal.dumps(tuple(r))) for r in changed]
                        + [(source, path, None) for path in removed],
                    )
                    return
            data = marshal.dumps([tuple(r) for r in rows])
            db.execute("DELETE FROM post_delta WHERE source = ?", (source,))
            db.execute(
                "INSERT OR REPLACE INTO post_cache (source, context, data) VALUES (?, ?, ?)", (source, context, data)
            )

    # ------------------------------------------------------------ rendered posts

    def rendered(self, wanted: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], tuple[Any, ...]]:
        """The stored full reads of the posts ``wanted`` ((source, path) -> stamp) whose stamp matches."""
        paths = list(dict.fromkeys(path for _, path in wanted))
        found: dict[tuple[str, str], tuple[Any, ...]] = {}
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            for source, path, held, data in self._execute(
                f"SELECT source, path, stamp, data FROM rendered WHERE path IN ({','.join('?' * len(chunk))})", chunk
            ):
                if wanted.get((source, path)) == held:
                    with suppress(EOFError, ValueError, TypeError):  # damaged: read the post again
                        found[(source, path)] = marshal.loads(data)
        return found

    def save_rendered(
        self, rows: Sequence[tuple[str, str, str, tuple[Any, ...]]], keep: Collection[tuple[str, str]]
    ) -> None:
        """Store full reads ((source, path, stamp, value)); drop those not in ``keep`` once they are many."""
        with self.transaction() as db:
            if rows:
                db.executemany(
                    "INSERT OR REPLACE INTO rendered (source, path, stamp, data) VALUES (?, ?, ?, ?)",
                    [(source, path, mark, marshal.dumps(value)) for source, path, mark, value in rows],
                )
            held = db.execute("SELECT count(*) FROM rendered").fetchone()[0]
            if held > 2 * len(keep) + 100:
                stale = [
                    (source, path)
                    for source, path in db.execute("SELECT source, path FROM rendered")
                    if (source, path) not in keep
                ]
                db.executemany("DELETE FROM rendered WHERE source = ? AND path = ?", stale)

    def meta(self, key: str) -> str | None:
        row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, values: dict[str, str]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())

    def remote_signature(self) -> str:
        """Changes whenever any remote item is added, changed or removed."""
        row = self._execute("SELECT count(*), max(id), total(rev) FROM items").fetchone()
        return f"{row[0]}:{row[1]}:{row[2]}"

    def next_item_due(self, now: float) -> float | None:
        """The date of the next remote item dated in the future."""
        row = self._execute("SELECT min(published) FROM items WHERE published > ?", (now,)).fetchone()
        return row[0]

    def post_counts(self) -> dict[str, int]:
        """Published posts held in the cache, per source."""
        out: dict[str, int] = {}
        for source, context in self._execute("SELECT source, context FROM post_cache").fetchall():
            out[source] = sum(1 for r in self.post_cache(source, context).values() if r.status == "ok")
        return out

    # ------------------------------------------------------------ outputs

    def output_fingerprints(self) -> dict[str, tuple[str, int]]:
        return {r[0]: (r[1], r[2]) for r in self._execute("SELECT path, fingerprint, size FROM outputs")}

    def save_outputs(self, fingerprints: dict[str, tuple[str, int]]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM outputs")
            db.executemany(
                "INSERT INTO outputs (path, fingerprint, size) VALUES (?, ?, ?)",
                ((path, fp, size) for path, (fp, size) in fingerprints.items()),
            )
