"""SQLite: the post cache (one index row per post file), posts read in full, and posts' entries."""

from __future__ import annotations

import marshal
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext, suppress
from typing import Any

from feeds.core.models import PostIndex
from feeds.store import NearDup, schema
from feeds.store.db import Database, rebuilt, roomy
from feeds.store.schema import SEP
from feeds.store.sqlite_neardup import assign


class PostTables(Database):
    def post_cache(self, source: str, context: str) -> dict[str, PostIndex]:
        """The cached index rows of a posts source, by path (empty if its settings changed).

        The rows of a source are kept as one marshalled blob (loading 100k of
        them is one read, not 100k row fetches) plus the rows changed since
        the blob was written.
        """
        with self.read() as db:
            row = db.execute("SELECT context, data FROM post_cache WHERE source = ?", (source,)).fetchone()
            if row is None or row[0] != context:
                return {}
            delta = db.execute("SELECT path, data FROM post_delta WHERE source = ?", (source,)).fetchall()
        try:
            make = tuple.__new__
            rows = {r[0]: make(PostIndex, r) for r in marshal.loads(row[1])}
            for path, data in delta:
                if data is None:
                    rows.pop(path, None)
                else:
                    rows[path] = make(PostIndex, marshal.loads(data))
        except (EOFError, ValueError, TypeError):
            return {}  # damaged: read every post again
        return rows

    def has_post_cache(self, source: str, context: str) -> bool:
        """Whether :meth:`post_cache` has rows for ``source`` made with these settings (cheap)."""
        with self.read() as db:
            row = db.execute("SELECT context = ? FROM post_cache WHERE source = ?", (context, source)).fetchone()
            entries = db.execute("SELECT value FROM meta WHERE key = ?", (f"entries:{source}",)).fetchone()
        return bool(row and row[0]) and entries is not None and entries[0] == context

    def save_posts(
        self,
        source: str,
        context: str,
        rows: Sequence[PostIndex],
        *,
        changed: Sequence[PostIndex] | None = None,
        removed: Sequence[str] = (),
        sketches: Mapping[str, bytes] | None = None,
        near: NearDup | None = None,
    ) -> None:
        """Record the posts of a source: ``rows`` are all of them now.

        ``sketches`` (by key, of some new or changed posts) are matched against
        other sources' versions (``near``) to pick their article.

        ``changed`` and ``removed`` (new or changed rows, paths gone) are the
        difference from what :meth:`post_cache` gave; with them only that is
        written, until the differences held add up to :data:`DELTA_LIMIT` (or
        a tenth of the rows) and the blob is written anew.  Without them (the
        cache was empty or its settings changed) the blob is written anew.
        """
        with self.write() as db:
            held = db.execute("SELECT value FROM meta WHERE key = ?", (f"entries:{source}",)).fetchone()
            whole = changed is None or held is None or held[0] != context
            dated = [(r.key, r.timestamp) for r in (rows if whole or changed is None else changed) if r.status == "ok"]
            articles = assign(db, source, dated, sketches, near)
            if whole:
                _replace_entries(db, source, rows, articles)
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"entries:{source}", context))
            else:
                assert changed is not None
                _update_entries(db, source, changed, removed, articles)
            if changed is not None:
                count = db.execute("SELECT count(*) FROM post_delta WHERE source = ?", (source,)).fetchone()[0]
                if count + len(changed) + len(removed) <= max(schema.DELTA_LIMIT, len(rows) // 10):
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

    def save_rendered(self, rows: Sequence[tuple[str, str, str, tuple[Any, ...]]]) -> None:
        """Store full reads ((source, path, stamp, value)).  A post's read is dropped with its entry."""
        with self.write(urgent=True) as db:
            db.executemany(
                "INSERT OR REPLACE INTO rendered (source, path, stamp, data) VALUES (?, ?, ?, ?)",
                [(source, path, mark, marshal.dumps(value)) for source, path, mark, value in rows],
            )

    def post_counts(self) -> dict[str, int]:
        """Published posts (dated now or later) held, per posts source."""
        with self.read() as db:
            return dict(db.execute("SELECT source, count(*) FROM entries WHERE ref LIKE '/%' GROUP BY source"))


def _entry_rows(source: str, rows: Iterable[PostIndex], articles: Mapping[str, str]) -> list[tuple[object, ...]]:
    get = articles.get
    return [
        (source, r.path, r.key, get(r.key, r.key), r.timestamp, r.utcoffset, SEP.join(r.categories), r.path,
         f"{r.size}:{r.mtime_ns}")
        for r in rows
        if r.status == "ok"
    ]  # fmt: skip


BULK_ROWS = 10_000  # entries written at once from which the bulk ways pay
# The indexes of the entries besides their key (as schemas 5 and 8 make them).
_ENTRY_INDEXES = {
    "entries_article": "CREATE INDEX entries_article ON entries (article)",
    "entries_ts": "CREATE INDEX entries_ts ON entries (ts)",
}

_INSERT = (
    "INSERT OR REPLACE INTO entries (source, ref, key, article, ts, off, cats, origin, stamp)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _replace_entries(
    db: sqlite3.Connection, source: str, rows: Sequence[PostIndex], articles: Mapping[str, str]
) -> None:
    """Every entry of a posts source anew: the articles they were and are in are dirty."""
    db.execute("INSERT OR IGNORE INTO dirty (article) SELECT article FROM entries WHERE source = ?", (source,))
    db.execute("DELETE FROM entries WHERE source = ?", (source,))
    db.execute("DELETE FROM rendered WHERE source = ?", (source,))
    entries = _entry_rows(source, rows, articles)
    bulk = len(entries) >= BULK_ROWS  # a first scan of a big folder: a bigger cache, and the
    alone = bulk and db.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is None  # indexes built once
    with roomy(db) if bulk else nullcontext(), rebuilt(db, _ENTRY_INDEXES if alone else {}):
        db.executemany(_INSERT, entries)
        db.executemany("INSERT OR IGNORE INTO dirty (article) VALUES (?)", ((e[3],) for e in entries))


def _update_entries(
    db: sqlite3.Connection, source: str, changed: Sequence[PostIndex], removed: Sequence[str],
    articles: Mapping[str, str],
) -> None:  # fmt: skip
    paths = [r.path for r in changed] + list(removed)
    db.executemany(
        "INSERT OR IGNORE INTO dirty (article) SELECT article FROM entries WHERE source = ? AND ref = ?",
        ((source, p) for p in paths),
    )
    db.executemany("DELETE FROM entries WHERE source = ? AND ref = ?", ((source, p) for p in paths))
    db.executemany("DELETE FROM rendered WHERE source = ? AND path = ?", ((source, p) for p in removed))
    entries = _entry_rows(source, changed, articles)
    db.executemany(_INSERT, entries)
    db.executemany("INSERT OR IGNORE INTO dirty (article) VALUES (?)", ((e[3],) for e in entries))
