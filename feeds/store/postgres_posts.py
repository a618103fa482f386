"""PostgreSQL: the post cache, posts read in full, and posts' entries (as :mod:`.sqlite_posts`)."""

from __future__ import annotations

import marshal
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from typing import Any

import psycopg

from feeds.core.models import PostIndex
from feeds.store import NearDup, schema
from feeds.store.postgres_db import LOCK_ARTICLES, PgDatabase, columns
from feeds.store.postgres_neardup import assign
from feeds.store.schema import SEP


class PgPostTables(PgDatabase):
    def post_cache(self, source: str, context: str) -> dict[str, PostIndex]:
        """The cached index rows of a posts source, by path (empty if its settings changed)."""
        with self.read() as db:
            row = db.execute("SELECT context, data FROM post_cache WHERE source = %s", (source,)).fetchone()
            if row is None or row[0] != context:
                return {}
            delta = db.execute("SELECT path, data FROM post_delta WHERE source = %s", (source,)).fetchall()
        try:
            make = tuple.__new__
            rows = {r[0]: make(PostIndex, r) for r in marshal.loads(bytes(row[1]))}
            for path, data in delta:
                if data is None:
                    rows.pop(path, None)
                else:
                    rows[path] = make(PostIndex, marshal.loads(bytes(data)))
        except (EOFError, ValueError, TypeError):
            return {}  # damaged: read every post again
        return rows

    def has_post_cache(self, source: str, context: str) -> bool:
        with self.read() as db:
            row = db.execute("SELECT context = %s FROM post_cache WHERE source = %s", (context, source)).fetchone()
            entries = db.execute("SELECT value FROM meta WHERE key = %s", (f"entries:{source}",)).fetchone()
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
        """As :meth:`feeds.store.sqlite_posts.PostTables.save_posts` (``sketches`` and ``near``: see
        :mod:`feeds.store.postgres_neardup`)."""
        with self.write() as db:
            self.lock(db, LOCK_ARTICLES, shared=True)  # marks articles dirty: not while a settle runs
            held = db.execute("SELECT value FROM meta WHERE key = %s", (f"entries:{source}",)).fetchone()
            whole = changed is None or held is None or held[0] != context
            dated = [(r.key, r.timestamp) for r in (rows if whole or changed is None else changed) if r.status == "ok"]
            articles = assign(self, db, source, dated, sketches, near)
            if whole:
                _replace_entries(db, source, rows, articles)
                _set_meta(db, f"entries:{source}", context)
            else:
                assert changed is not None
                _update_entries(db, source, changed, removed, articles)
            db.execute("SELECT pg_notify(%s, 'changed')", (self.channel,))
            if changed is not None:
                count = db.execute("SELECT count(*) FROM post_delta WHERE source = %s", (source,)).fetchone()[0]
                if count + len(changed) + len(removed) <= max(schema.DELTA_LIMIT, len(rows) // 10):
                    _many(
                        db,
                        "INSERT INTO post_delta (source, path, data) VALUES (%s, %s, %s)"
                        " ON CONFLICT (source, path) DO UPDATE SET data = excluded.data",
                        [(source, r.path, marshal.dumps(tuple(r))) for r in changed]
                        + [(source, path, None) for path in removed],
                    )
                    return
            data = marshal.dumps([tuple(r) for r in rows])
            db.execute("DELETE FROM post_delta WHERE source = %s", (source,))
            db.execute(
                "INSERT INTO post_cache (source, context, data) VALUES (%s, %s, %s)"
                " ON CONFLICT (source) DO UPDATE SET context = excluded.context, data = excluded.data",
                (source, context, data),
            )

    def rendered(self, wanted: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], tuple[Any, ...]]:
        """The stored full reads of the posts ``wanted`` ((source, path) -> stamp) whose stamp matches."""
        paths = list(dict.fromkeys(path for _, path in wanted))
        found: dict[tuple[str, str], tuple[Any, ...]] = {}
        if not paths:
            return found
        rows = self._execute("SELECT source, path, stamp, data FROM rendered WHERE path = ANY(%s)", (paths,))
        for source, path, held, data in rows:
            if wanted.get((source, path)) == held:
                with suppress(EOFError, ValueError, TypeError):  # damaged: read the post again
                    found[(source, path)] = marshal.loads(bytes(data))
        return found

    def save_rendered(self, rows: Sequence[tuple[str, str, str, tuple[Any, ...]]]) -> None:
        with self.write() as db:
            _many(
                db,
                "INSERT INTO rendered (source, path, stamp, data) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (source, path) DO UPDATE SET stamp = excluded.stamp, data = excluded.data",
                [(source, path, mark, marshal.dumps(value)) for source, path, mark, value in rows],
            )

    def post_counts(self) -> dict[str, int]:
        """Published posts held, per posts source."""
        return dict(self._execute("SELECT source, count(*) FROM entries WHERE left(ref, 1) = '/' GROUP BY source"))


def _many(db: psycopg.Connection[Any], sql: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        with db.cursor() as cur:
            cur.executemany(sql, rows)


def _set_meta(db: psycopg.Connection[Any], key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _entry_rows(source: str, rows: Iterable[PostIndex], articles: Mapping[str, str]) -> list[tuple[object, ...]]:
    get = articles.get
    return [
        (source, r.path, r.key, get(r.key, r.key), r.timestamp, r.utcoffset, SEP.join(r.categories), r.path,
         f"{r.size}:{r.mtime_ns}")
        for r in rows
        if r.status == "ok"
    ]  # fmt: skip


_INSERT_MANY = (
    "INSERT INTO entries (source, ref, key, article, ts, off, cats, origin, stamp)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::int[], %s::text[],"
    " %s::text[], %s::text[])"
    " ON CONFLICT (source, ref) DO UPDATE SET key = excluded.key, article = excluded.article, ts = excluded.ts,"
    " off = excluded.off, cats = excluded.cats, origin = excluded.origin, stamp = excluded.stamp"
)


def _mark(db: psycopg.Connection[Any], articles: Iterable[str]) -> None:
    db.execute(
        "INSERT INTO dirty (article) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", (list(set(articles)),)
    )


def _replace_entries(
    db: psycopg.Connection[Any], source: str, rows: Sequence[PostIndex], articles: Mapping[str, str]
) -> None:
    """Every entry of a posts source anew: the articles they were and are in are dirty."""
    db.execute(
        "INSERT INTO dirty (article) SELECT article FROM entries WHERE source = %s ON CONFLICT DO NOTHING", (source,)
    )
    db.execute("DELETE FROM entries WHERE source = %s", (source,))
    db.execute("DELETE FROM rendered WHERE source = %s", (source,))
    entries = _entry_rows(source, rows, articles)
    _insert_entries(db, entries)
    _mark(db, (str(e[3]) for e in entries))


def _insert_entries(db: psycopg.Connection[Any], entries: Sequence[tuple[object, ...]]) -> None:
    """Entries written anew: one statement, whatever their number."""
    if entries:
        db.execute(_INSERT_MANY, columns(entries))


def _update_entries(
    db: psycopg.Connection[Any], source: str, changed: Sequence[PostIndex], removed: Sequence[str],
    articles: Mapping[str, str],
) -> None:  # fmt: skip
    paths = [r.path for r in changed] + list(removed)
    db.execute(
        "INSERT INTO dirty (article) SELECT article FROM entries WHERE source = %s AND ref = ANY(%s)"
        " ON CONFLICT DO NOTHING",
        (source, paths),
    )
    db.execute("DELETE FROM entries WHERE source = %s AND ref = ANY(%s)", (source, paths))
    db.execute("DELETE FROM rendered WHERE source = %s AND path = ANY(%s)", (source, list(removed)))
    entries = _entry_rows(source, changed, articles)
    _insert_entries(db, entries)
    _mark(db, (str(e[3]) for e in entries))
