"""SQLite: near-duplicate matching when versions are stored, and full-text pages.

A version's article id is decided in the transaction that stores it, once and
for all: an identity key assigned before (``clusters``) keeps its article; a
key that already heads an article (another version with the same key) joins
it; otherwise, when the version has a sketch, its LSH bucket keys find the
stored versions of OTHER sources dated within the window (``buckets``), and
:func:`feeds.neardup.choose` picks the earliest-stored duplicate: the new
version joins that one's article.  Else the version is an article of its own
(its key).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

from feeds import neardup
from feeds.store import NearDup, Page, PostRef
from feeds.store.db import Database


def bucket_ids(sketch: neardup.Sketch) -> list[int]:
    """The LSH bucket keys of a sketch as signed 64-bit integers (a compact indexed column)."""
    blake = hashlib.blake2b
    return [
        int.from_bytes(blake(key.encode(), digest_size=8).digest(), "big", signed=True)
        for key in neardup.bands(sketch)
    ]


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _clusters(db: sqlite3.Connection, keys: Sequence[str]) -> dict[str, str]:
    if not keys or db.execute("SELECT 1 FROM clusters LIMIT 1").fetchone() is None:
        return {}
    out: dict[str, str] = {}
    for chunk in _chunks(keys):
        out.update(db.execute(f"SELECT key, article FROM clusters WHERE key IN ({','.join('?' * len(chunk))})", chunk))
    return out


def _match(db: sqlite3.Connection, source: str, sk: neardup.Sketch, ts: float, near: NearDup) -> str | None:
    buckets = bucket_ids(sk)
    if not buckets:
        return None
    rows = db.execute(
        "SELECT DISTINCT s.seq, s.article, s.ts, s.data FROM buckets b JOIN sketches s ON s.seq = b.seq"
        f" WHERE b.bucket IN ({','.join('?' * len(buckets))}) AND b.ts BETWEEN ? AND ? AND s.source != ?",
        (*buckets, ts - near.window, ts + near.window, source),
    ).fetchall()
    candidates = (neardup.Candidate(r[0], r[1], r[1], r[2], neardup.Sketch.from_bytes(r[3])) for r in rows)
    found = neardup.choose(candidates, sk, ts, near.window, near.threshold)
    return found.cluster_id if found else None


def assign(
    db: sqlite3.Connection,
    source: str,
    rows: Sequence[tuple[str, float]],
    sketches: Mapping[str, bytes] | None,
    near: NearDup | None,
) -> dict[str, str]:
    """The article of each (key, date) of ``source`` about to be stored, where it is not the key itself.

    Call it before the old entries of these keys are deleted (an existing
    version keeps its article).  Sketches given are stored with their article.
    """
    out = _clusters(db, list(dict.fromkeys(key for key, _ in rows)))
    if not sketches:
        return {k: a for k, a in out.items() if k != a}
    stored: list[tuple[str, str, float, bytes]] = []
    decided: set[str] = set()
    for key, ts in rows:
        data = sketches.get(key)
        if data is None or key in decided:
            continue
        decided.add(key)
        article = out.get(key)
        if article is None:
            if db.execute("SELECT 1 FROM entries WHERE article = ? LIMIT 1", (key,)).fetchone() is not None:
                article = key  # the same article by identity
            elif near is not None:
                article = _match(db, source, neardup.Sketch.from_bytes(data), ts, near) or key
            else:
                article = key
            out[key] = article
            db.execute("INSERT OR IGNORE INTO clusters (key, article) VALUES (?, ?)", (key, article))
        stored.append((key, article, ts, data))
    _store_sketches(db, source, stored)
    return {k: a for k, a in out.items() if k != a}


def _store_sketches(db: sqlite3.Connection, source: str, rows: Sequence[tuple[str, str, float, bytes]]) -> None:
    for key, article, ts, data in rows:
        old = db.execute("SELECT seq FROM sketches WHERE source = ? AND key = ?", (source, key)).fetchone()
        if old is not None:
            db.execute("DELETE FROM buckets WHERE seq = ?", (old[0],))
            db.execute("DELETE FROM sketches WHERE seq = ?", (old[0],))
        seq = db.execute(
            "INSERT INTO sketches (source, key, article, ts, data) VALUES (?, ?, ?, ?, ?)",
            (source, key, article, ts, data),
        ).lastrowid
        db.executemany(
            "INSERT INTO buckets (bucket, ts, seq) VALUES (?, ?, ?)",
            [(b, ts, seq) for b in bucket_ids(neardup.Sketch.from_bytes(data))],
        )


_FIND = (
    "SELECT article FROM clusters WHERE key = ?",
    "SELECT article FROM entries WHERE article = ?",
    "SELECT article FROM entries WHERE key = ?",
)


class NearDupTables(Database):
    def new_keys(self, source: str, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` that ``source`` (a remote source) has no item of yet."""
        wanted = list(dict.fromkeys(keys))
        held: set[str] = set()
        with self.read() as db:
            for chunk in _chunks(wanted):
                held.update(
                    r[0]
                    for r in db.execute(
                        f"SELECT key FROM items WHERE source = ? AND key IN ({','.join('?' * len(chunk))})",
                        (source, *chunk),
                    )
                )
        return set(wanted) - held

    def sketch_days(self, exclude: str) -> set[int]:
        """The days (epoch seconds // 86400) of the sketched versions of every source but ``exclude``."""
        rows = self._execute(
            "SELECT DISTINCT CAST(ts / 86400 AS INTEGER) FROM sketches WHERE source != ?", (exclude,)
        ).fetchall()
        return {int(r[0]) for r in rows}

    def unsketched_posts(self, start: float, end: float) -> list[tuple[PostRef, str, float]]:
        """Posts' versions dated from ``start`` to ``end`` that have no sketch: (ref, key, date)."""
        rows = self._execute(
            "SELECT e.source, e.ref, e.stamp, e.key, e.ts FROM entries e WHERE e.ref GLOB '/*'"
            " AND e.ts BETWEEN ? AND ? AND NOT EXISTS"
            " (SELECT 1 FROM sketches s WHERE s.source = e.source AND s.key = e.key)",
            (start, end),
        ).fetchall()
        return [(PostRef(r[0], r[1], r[2]), r[3], r[4]) for r in rows]

    def save_sketches(self, source: str, rows: Sequence[tuple[str, float, bytes]]) -> None:
        """Sketches of versions already stored (key, date, sketch): they keep their article."""
        with self.write() as db:
            stored = []
            for key, ts, data in rows:
                found = db.execute(
                    "SELECT article FROM entries WHERE source = ? AND key = ? LIMIT 1", (source, key)
                ).fetchone()
                if found is not None:
                    db.execute("INSERT OR IGNORE INTO clusters (key, article) VALUES (?, ?)", (key, found[0]))
                    stored.append((key, found[0], ts, data))
            _store_sketches(db, source, stored)

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
                    "SELECT e.article FROM items i JOIN entries e ON e.source = i.source AND e.ref = CAST(i.id AS TEXT)"
                    " WHERE i.link = ? LIMIT 1",
                    (link,),
                ).fetchone()
                if row is not None:
                    return str(row[0])
        return None

    def sketches_of(self, article: str) -> dict[tuple[str, str], bytes]:
        """The stored sketches of an article's versions, by (source, key)."""
        rows = self._execute("SELECT source, key, data FROM sketches WHERE article = ?", (article,)).fetchall()
        return {(r[0], r[1]): r[2] for r in rows}

    # ------------------------------------------------------------ full-text pages

    def pages(self, urls: Iterable[str]) -> dict[str, Page]:
        """The pages fetched before, by URL."""
        wanted = list(dict.fromkeys(urls))
        out: dict[str, Page] = {}
        with self.read() as db:
            for chunk in _chunks(wanted):
                for row in db.execute(
                    "SELECT url, ok, content, reason, etag, last_modified FROM pages"
                    f" WHERE url IN ({','.join('?' * len(chunk))})",
                    chunk,
                ):
                    out[row[0]] = Page(row[0], bool(row[1]), row[2], row[3], row[4], row[5])
        return out

    def save_pages(self, pages: Sequence[Page], now: float) -> None:
        with self.write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO pages (url, ok, content, reason, etag, last_modified, fetched)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(p.url, int(p.ok), p.content, p.reason, p.etag, p.last_modified, now) for p in pages],
            )
