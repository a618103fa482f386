"""PostgreSQL: near-duplicate matching when versions are stored, and full-text pages
(as :mod:`feeds.store.sqlite_neardup`, with the same decisions).

A version's article is decided in the transaction that stores it, once and for
all: an identity key assigned before (``clusters``) keeps its article; a key
that already heads an article joins it; otherwise its sketch's LSH buckets find
the stored versions of OTHER sources dated within the window, and
:func:`feeds.core.neardup.choose` picks the earliest-stored duplicate.

SQLite runs one write at a time, so a version always sees every version stored
before it.  Here several nodes write at once: the transactions that decide
articles from sketches (and those that store sketches) take one advisory lock
first (``LOCK_NEARDUP``), so they run one at a time too and each sees what the
previous ones committed (``READ COMMITTED``: every statement after the lock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from feeds.core import neardup
from feeds.store import NearDup, Page, PostRef
from feeds.store.postgres_db import LOCK_NEARDUP, PgDatabase, columns
from feeds.store.sqlite_neardup import bucket_ids

Connection = psycopg.Connection[Any]


def assign(
    store: PgDatabase,
    db: Connection,
    source: str,
    rows: Sequence[tuple[str, float]],
    sketches: Mapping[str, bytes] | None,
    near: NearDup | None,
) -> dict[str, str]:
    """The article of each (key, date) of ``source`` about to be stored, where it is not the key itself.

    Call it before the old entries of these keys are deleted (an existing
    version keeps its article).  Sketches given are stored with their article.
    """
    keys = list(dict.fromkeys(key for key, _ in rows))
    if sketches and any(key in sketches for key in keys):
        store.lock(db, LOCK_NEARDUP)  # before anything is read: decisions one at a time, cluster-wide
    out: dict[str, str] = {}
    if keys:
        out.update(db.execute("SELECT key, article FROM clusters WHERE key = ANY(%s)", (keys,)).fetchall())
    if not sketches:
        return {k: a for k, a in out.items() if k != a}
    todo: dict[str, tuple[float, bytes]] = {}  # key -> (date, sketch): the first row of a key counts
    for key, ts in rows:
        data = sketches.get(key)
        if data is not None and key not in todo:
            todo[key] = (ts, data)
    fresh = [key for key in todo if key not in out]
    if fresh:
        heads = {r[0] for r in db.execute("SELECT DISTINCT article FROM entries WHERE article = ANY(%s)", (fresh,))}
        rest = [key for key in fresh if key not in heads]
        found = _matches(db, source, {key: todo[key] for key in rest}, near) if near is not None and rest else {}
        decided = {key: key if key in heads else found.get(key, key) for key in fresh}
        db.execute(
            "INSERT INTO clusters (key, article) SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING",
            (list(decided), list(decided.values())),
        )
        out.update(decided)
    _store_sketches(db, source, [(key, out[key], ts, data) for key, (ts, data) in todo.items()])
    return {k: a for k, a in out.items() if k != a}


def _matches(db: Connection, source: str, todo: Mapping[str, tuple[float, bytes]], near: NearDup) -> dict[str, str]:
    """The article each sketch (key -> (date, sketch)) is a near-duplicate of, where one is found.

    The keys are all of ``source``, whose own versions are never candidates, and
    nothing is stored meanwhile: each key's candidates are the same as if it
    were looked up alone.  Keys whose dates lie close together share one query."""
    wanted = {key: (ts, neardup.Sketch.from_bytes(data)) for key, (ts, data) in todo.items()}
    buckets = {key: bucket_ids(sk) for key, (_, sk) in wanted.items()}
    order = sorted((ts, key) for key, (ts, _) in wanted.items() if buckets[key])
    out: dict[str, str] = {}
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and order[end][0] - order[start][0] <= near.window:
            end += 1
        group = [key for _, key in order[start:end]]
        low, high = order[start][0] - near.window, order[end - 1][0] + near.window
        rows = db.execute(
            "SELECT b.bucket, b.ts, s.seq, s.article, s.ts, s.data FROM buckets b JOIN sketches s ON s.seq = b.seq"
            " WHERE b.bucket = ANY(%s) AND b.ts BETWEEN %s AND %s AND s.source <> %s",
            (sorted({b for key in group for b in buckets[key]}), low, high, source),
        ).fetchall()
        by_bucket: dict[int, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_bucket.setdefault(row[0], []).append(row)
        for key in group:
            ts, sk = wanted[key]
            seen: dict[int, neardup.Candidate] = {}
            for bucket in buckets[key]:
                for _, dated, seq, article, when, data in by_bucket.get(bucket, ()):
                    if ts - near.window <= dated <= ts + near.window and seq not in seen:
                        seen[seq] = neardup.Candidate(seq, article, article, when, neardup.Sketch.from_bytes(data))
            best = neardup.choose(seen.values(), sk, ts, near.window, near.threshold)
            if best is not None:
                out[key] = best.cluster_id
        start = end
    return out


def _store_sketches(db: Connection, source: str, rows: Sequence[tuple[str, str, float, bytes]]) -> None:
    """Sketches stored (replacing a key's older one), in order: a key given twice keeps its last row,
    stored where that row is (as one insert after another would)."""
    last: dict[str, tuple[str, str, float, bytes]] = {}
    for row in rows:
        last.pop(row[0], None)
        last[row[0]] = row
    if not last:
        return
    keys = list(last)
    old = [r[0] for r in db.execute("DELETE FROM sketches WHERE source = %s AND key = ANY(%s) RETURNING seq",
                                    (source, keys))]  # fmt: skip
    if old:
        db.execute("DELETE FROM buckets WHERE seq = ANY(%s)", (old,))
    values = [(source, key, article, ts, data) for key, article, ts, data in last.values()]
    seqs = _insert_sketches(db, values)
    found = [(bucket, ts, seqs[key]) for key, _, ts, data in last.values()
             for bucket in bucket_ids(neardup.Sketch.from_bytes(data))]  # fmt: skip
    if found:
        db.execute("INSERT INTO buckets (bucket, ts, seq) SELECT * FROM unnest(%s::int8[], %s::float8[], %s::int8[])",
                   columns(found))  # fmt: skip


def _insert_sketches(db: Connection, values: Sequence[tuple[Any, ...]]) -> dict[str, int]:
    """Insert sketches, their seqs given in the order of ``values``; key -> seq."""
    seqs = [r[0] for r in db.execute(
        "SELECT nextval(pg_get_serial_sequence('sketches', 'seq')) FROM generate_series(1, %s)", (len(values),)
    )]  # fmt: skip
    seqs.sort()
    db.execute(
        "INSERT INTO sketches (seq, source, key, article, ts, data)"
        " SELECT * FROM unnest(%s::int8[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::bytea[])",
        columns([(seq, *row) for seq, row in zip(seqs, values, strict=True)]),
    )
    return {row[1]: seq for seq, row in zip(seqs, values, strict=True)}


_FIND = (
    "SELECT article FROM clusters WHERE key = %s",
    "SELECT article FROM entries WHERE article = %s",
    "SELECT article FROM entries WHERE key = %s",
)


class PgNearDupTables(PgDatabase):
    def new_keys(self, source: str, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` that ``source`` (a remote source) has no item of yet."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return set()
        held = self._execute("SELECT key FROM items WHERE source = %s AND key = ANY(%s)", (source, wanted))
        return set(wanted) - {r[0] for r in held}

    def sketch_days(self, exclude: str) -> set[int]:
        """The days (epoch seconds // 86400, truncated as SQLite's CAST) of the sketched versions of
        every source but ``exclude``."""
        rows = self._execute("SELECT DISTINCT trunc(ts / 86400)::bigint FROM sketches WHERE source <> %s", (exclude,))
        return {int(r[0]) for r in rows}

    def unsketched_posts(self, start: float, end: float) -> list[tuple[PostRef, str, float]]:
        """Posts' versions dated from ``start`` to ``end`` that have no sketch: (ref, key, date)."""
        rows = self._execute(
            "SELECT e.source, e.ref, e.stamp, e.key, e.ts FROM entries e WHERE left(e.ref, 1) = '/'"
            " AND e.ts BETWEEN %s AND %s AND NOT EXISTS"
            " (SELECT 1 FROM sketches s WHERE s.source = e.source AND s.key = e.key)",
            (start, end),
        )
        return [(PostRef(r[0], r[1], r[2]), r[3], r[4]) for r in rows]

    def save_sketches(self, source: str, rows: Sequence[tuple[str, float, bytes]]) -> None:
        """Sketches of versions already stored (key, date, sketch): they keep their article."""
        with self.write() as db:
            self.lock(db, LOCK_NEARDUP)
            keys = list(dict.fromkeys(key for key, _, _ in rows))
            held: dict[str, str] = {}
            for key, article in db.execute(
                "SELECT DISTINCT ON (key) key, article FROM entries WHERE source = %s AND key = ANY(%s)"
                " ORDER BY key, ref", (source, keys)
            ):  # fmt: skip
                held[key] = article
            if held:
                db.execute(
                    "INSERT INTO clusters (key, article) SELECT * FROM unnest(%s::text[], %s::text[])"
                    " ON CONFLICT DO NOTHING",
                    (list(held), list(held.values())),
                )
            _store_sketches(db, source, [(key, held[key], ts, data) for key, ts, data in rows if key in held])

    def find_article(self, keys: Sequence[str], link: str | None = None) -> str | None:
        """The article an identity key (or a remote item's link) is in, or None (for `feeds explain`)."""
        with self.read() as db:
            for key in keys:
                for sql in _FIND:
                    row = db.execute(f"{sql} LIMIT 1", (key,)).fetchone()
                    if row is not None:
                        return str(row[0])
            if link:
                row = db.execute(
                    "SELECT e.article FROM items i JOIN entries e ON e.source = i.source AND e.ref = i.id::text"
                    " WHERE i.link = %s LIMIT 1",
                    (link,),
                ).fetchone()
                if row is not None:
                    return str(row[0])
        return None

    def sketches_of(self, article: str) -> dict[tuple[str, str], bytes]:
        """The stored sketches of an article's versions, by (source, key)."""
        rows = self._execute("SELECT source, key, data FROM sketches WHERE article = %s", (article,))
        return {(r[0], r[1]): bytes(r[2]) for r in rows}

    # ------------------------------------------------------------ full-text pages

    def pages(self, urls: Iterable[str]) -> dict[str, Page]:
        """The pages fetched before, by URL."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        rows = self._execute(
            "SELECT url, ok, content, reason, etag, last_modified FROM pages WHERE url = ANY(%s)", (wanted,)
        )
        return {r[0]: Page(r[0], bool(r[1]), r[2], r[3], r[4], r[5]) for r in rows}

    def save_pages(self, pages: Sequence[Page], now: float) -> None:
        last = {p.url: p for p in pages}  # a URL twice: the last one counts (as one replace after another)
        if not last:
            return
        rows = [(p.url, int(p.ok), p.content, p.reason, p.etag, p.last_modified, now) for p in last.values()]
        with self.write() as db:
            db.execute(
                "INSERT INTO pages (url, ok, content, reason, etag, last_modified, fetched)"
                " SELECT * FROM unnest(%s::text[], %s::int[], %s::text[], %s::text[], %s::text[], %s::text[],"
                " %s::float8[]) ON CONFLICT (url) DO UPDATE SET ok = excluded.ok, content = excluded.content,"
                " reason = excluded.reason, etag = excluded.etag, last_modified = excluded.last_modified,"
                " fetched = excluded.fetched",
                columns(rows),
            )
