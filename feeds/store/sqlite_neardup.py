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
from array import array
from collections import Counter
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


def _heads(db: sqlite3.Connection, keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` that already head an article (one query per 500: each is a wait for the GIL)."""
    out: set[str] = set()
    for chunk in _chunks(list(dict.fromkeys(keys))):
        marks = ",".join("?" * len(chunk))
        out.update(r[0] for r in db.execute(f"SELECT DISTINCT article FROM entries WHERE article IN ({marks})", chunk))
    return out


PER_BUCKET = 32  # the newest versions of one bucket looked at
MAX_CANDIDATES = 64  # versions compared in full per new version (those sharing the most buckets)
_HEAD = 8 * (neardup.PERMUTATIONS + 1)  # a stored sketch: its size and values, then its numbers


def _duplicate(stored: bytes, data: bytes, threshold: float) -> bool:
    """:func:`neardup.is_duplicate` of two stored sketches, read from their bytes.

    Speed: a burst of new items compares each with up to MAX_CANDIDATES stored
    versions; building two :class:`neardup.Sketch` per pair was most of it.  Equal
    MinHash values are the zero 64-bit words of the two values' XOR, counted in C.
    """
    if stored[:8] == _EMPTY_SIZE or data[:8] == _EMPTY_SIZE:
        return False  # an empty text is similar to nothing
    xor = int.from_bytes(stored[8:_HEAD], "little") ^ int.from_bytes(data[8:_HEAD], "little")
    equal = array("Q", xor.to_bytes(_HEAD - 8, "little")).count(0)
    if equal / neardup.PERMUTATIONS < threshold:
        return False
    a, b = (tuple(tail.split("\x1f")) if tail else () for tail in (stored[_HEAD:].decode(), data[_HEAD:].decode()))
    small, large = (a, b) if len(a) <= len(b) else (b, a)  # the numbers of one all in the other
    return set(small).issubset(large)


_EMPTY_SIZE = bytes(8)


_BUCKET = "SELECT seq FROM (SELECT seq FROM buckets WHERE bucket = ? AND ts BETWEEN ? AND ? ORDER BY ts DESC LIMIT ?)"
# The candidates of a sketch in one statement (each statement waits for the GIL again: ms each
# under load), counted by SQLite: the MAX_CANDIDATES sharing the most of its buckets, by seq.
_CANDIDATES = {
    n: "SELECT s.article, s.ts, s.data FROM sketches s JOIN (SELECT seq FROM ("
    + " UNION ALL ".join([_BUCKET] * n)
    + ") GROUP BY seq ORDER BY count(*) DESC, seq LIMIT ?) USING (seq) WHERE s.source != ? ORDER BY s.seq"
    for n in range(1, neardup.BANDS + 1)
}


def _match(
    db: sqlite3.Connection, source: str, data: bytes, ts: float, near: NearDup,
    recent: Mapping[int, Sequence[tuple[int, float]]] | None = None,
) -> str | None:  # fmt: skip
    """The article of the earliest-stored duplicate of the sketch ``data`` (dated ``ts``) among
    other sources' versions sharing a bucket with it, or None.  ``recent``: look only at these
    buckets (bucket -> (seq, date)), those stored since a read (see :func:`prematch`)."""
    buckets = bucket_ids(neardup.Sketch.from_bytes(data))
    if not buckets:
        return None
    low, high = ts - near.window, ts + near.window
    if recent is not None:
        # As the query below: the MAX_CANDIDATES sharing the most buckets (then the earliest stored),
        # compared in stored order.  (It once made placeholders for all of them and passed only
        # MAX_CANDIDATES: "Incorrect number of bindings supplied" when more were stored meanwhile.)
        shared = Counter(seq for bucket in buckets for seq, when in recent.get(bucket, ()) if low <= when <= high)
        best = sorted(seq for seq, _ in sorted(shared.items(), key=lambda s: (-s[1], s[0]))[:MAX_CANDIDATES])
        if not best:
            return None
        rows = db.execute(
            f"SELECT article, ts, data FROM sketches WHERE seq IN ({','.join('?' * len(best))}) AND source != ?"
            " ORDER BY seq",
            (*best, source),
        )
    else:
        # Bounded work per new version, however crowded its buckets are.  Speed: templated
        # stories (one wire's daily notices, a generator's stock sentences) share buckets with
        # hundreds of others; reading and comparing them all held the store for seconds under
        # load.  So: the newest PER_BUCKET of each bucket within the window, and of those the
        # MAX_CANDIDATES sharing the most buckets are compared in full (a true duplicate
        # shares many buckets, a template a few).
        values = [value for bucket in buckets for value in (bucket, low, high, PER_BUCKET)]
        rows = db.execute(_CANDIDATES[len(buckets)], (*values, MAX_CANDIDATES, source))
    for article, when, stored in rows:  # by seq: the first duplicate is the earliest stored
        if abs(when - ts) <= near.window and _duplicate(stored, data, near.threshold):
            return str(article)
    return None


Early = tuple[dict[tuple[str, float], str | None], int]  # (key, date) -> article or None; the last bucket read


def prematch(
    db: sqlite3.Connection, source: str, rows: Sequence[tuple[str, float]], sketches: Mapping[str, bytes],
    near: NearDup,
) -> Early:  # fmt: skip
    """The near-duplicate matching of :func:`assign`, done in a READ transaction before the write.

    Speed: this is the CPU-heavy part of storing a poll (bucket lookups and
    comparisons); done inside the write transaction it serialised every poll of
    a burst (300 sources starting: 6,000 new items, seconds of lock each).  In the
    write, :func:`assign` then looks only at the buckets stored since (rowid > the
    last one this read saw): an earlier-stored duplicate found here still wins.
    """
    horizon = db.execute("SELECT coalesce(max(rowid), 0) FROM buckets").fetchone()[0]
    found: dict[tuple[str, float], str | None] = {}
    for key, ts in rows:
        data = sketches.get(key)
        if data is not None and (key, ts) not in found:
            found[key, ts] = _match(db, source, data, ts, near)
    return found, int(horizon)


def assign(
    db: sqlite3.Connection,
    source: str,
    rows: Sequence[tuple[str, float]],
    sketches: Mapping[str, bytes] | None,
    near: NearDup | None,
    early: Early | None = None,
) -> dict[str, str]:
    """The article of each (key, date) of ``source`` about to be stored, where it is not the key itself.

    Call it before the old entries of these keys are deleted (an existing
    version keeps its article).  Sketches given are stored with their article.
    ``early``: :func:`prematch` of these rows, read before this transaction.
    """
    out = _clusters(db, list(dict.fromkeys(key for key, _ in rows)))
    if not sketches:
        return {k: a for k, a in out.items() if k != a}
    stored: list[tuple[str, str, float, bytes]] = []
    decided: set[str] = set()
    recent: dict[int, list[tuple[int, float]]] | None = None
    heads = _heads(db, [key for key, _ in rows if key in sketches and key not in out])
    for key, ts in rows:
        data = sketches.get(key)
        if data is None or key in decided:
            continue
        decided.add(key)
        article = out.get(key)
        if article is None:
            if key in heads:
                article = key  # the same article by identity
            elif near is not None and early is not None and (key, ts) in early[0]:
                if early[0][key, ts] is None and recent is None:  # the buckets stored since: one read
                    recent = {}
                    for bucket, seq, when in db.execute("SELECT bucket, seq, ts FROM buckets WHERE rowid > ?",
                                                        (early[1],)):  # fmt: skip
                        recent.setdefault(bucket, []).append((seq, when))
                article = early[0][key, ts] or _match(db, source, data, ts, near, recent) or key
            elif near is not None:
                article = _match(db, source, data, ts, near) or key
            else:
                article = key
            out[key] = article
            db.execute("INSERT OR IGNORE INTO clusters (key, article) VALUES (?, ?)", (key, article))
        stored.append((key, article, ts, data))
    _store_sketches(db, source, stored)
    return {k: a for k, a in out.items() if k != a}


def _store_sketches(db: sqlite3.Connection, source: str, rows: Sequence[tuple[str, str, float, bytes]]) -> None:
    buckets: list[tuple[int, float, int]] = []
    for key, article, ts, data in rows:
        old = db.execute("SELECT seq FROM sketches WHERE source = ? AND key = ?", (source, key)).fetchone()
        if old is not None:
            db.execute("DELETE FROM buckets WHERE seq = ?", (old[0],))
            db.execute("DELETE FROM sketches WHERE seq = ?", (old[0],))
        seq = db.execute(
            "INSERT INTO sketches (source, key, article, ts, data) VALUES (?, ?, ?, ?, ?)",
            (source, key, article, ts, data),
        ).lastrowid
        buckets.extend((b, ts, seq) for b in bucket_ids(neardup.Sketch.from_bytes(data)))
    # in bucket order: neighbouring index entries are inserted together
    db.executemany("INSERT INTO buckets (bucket, ts, seq) VALUES (?, ?, ?)", sorted(buckets))


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
