"""Near-duplicate matching when versions are stored (sketches, buckets, clusters), and full-text pages.

A version's article id is decided in the transaction that stores it, once and
for all (:func:`assign`): an identity key assigned before (``clusters``) keeps
its article; a key that already heads an article (another version with the
same key) joins it; otherwise, when the version has a sketch, its LSH bucket
keys find stored versions of OTHER sources dated within the window
(:func:`candidates`), and :func:`decide` compares the new version with them:
it joins the earliest-stored duplicate's article.  Else the version is an
article of its own (its key).

The comparison is done before the write where it can be (:func:`prematch`, in
a read transaction: it is the CPU-heavy part of storing a poll); the write then
looks only at the versions stored since.  Decisions are taken one at a time,
each seeing every version stored before it: SQLite runs one write at a time;
on PostgreSQL, where several nodes write at once, the transactions that decide
articles from sketches (and those that store sketches) take one advisory lock
first (``LOCK_NEARDUP``), and each sees what the previous ones committed
(``READ COMMITTED``: every statement after the lock).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from feeds.core import neardup
from feeds.store.dialect import LOCK_NEARDUP, Tables, Tx
from feeds.store.records import NearDup, Page, PostRef


def bucket_ids(sketch: neardup.Sketch) -> list[int]:
    """The LSH bucket keys of a sketch as signed 64-bit integers (a compact indexed column)."""
    blake = hashlib.blake2b
    return [
        int.from_bytes(blake(key.encode(), digest_size=8).digest(), "big", signed=True)
        for key in neardup.bands(sketch)
    ]


PER_BUCKET = 32  # the newest versions of one bucket looked at
MAX_CANDIDATES = 64  # versions compared in full per new version (those sharing the most buckets)
SKETCH_BYTES = 4096  # what storing one sketch and its buckets puts in a transaction (SQLite: ~3.8 KB of WAL)
READ_SECONDS = 0.5  # prematch's reads: one snapshot held no longer (a reader holds off WAL checkpoints)


class Stored(NamedTuple):
    """A stored version that a new one is compared with."""

    seq: int  # the order versions were stored in: the earliest-stored duplicate wins
    article: str
    ts: float
    data: bytes  # its sketch (neardup.Sketch.to_bytes)


def decide(candidates: Sequence[Stored], data: bytes, ts: float, near: NearDup) -> str | None:
    """THE decision: the article the new version (sketch ``data``, dated ``ts``) joins, or None
    (an article of its own).  ``candidates``: the stored versions of other sources that may be
    its duplicates (at most :data:`MAX_CANDIDATES`), in stored order; the first one within the
    window that is a duplicate (:func:`_duplicate`) gives its article."""
    for candidate in candidates:
        if abs(candidate.ts - ts) <= near.window and _duplicate(bytes(candidate.data), data, near.threshold):
            return str(candidate.article)
    return None


def _duplicate(stored: bytes, data: bytes, threshold: float) -> bool:
    """:func:`neardup.duplicate_bytes`: the decision read from the two stored sketches."""
    return neardup.duplicate_bytes(stored, data, threshold)


_BUCKET = ("SELECT seq FROM (SELECT seq FROM buckets WHERE bucket = ? AND ts BETWEEN ? AND ?"
           " ORDER BY ts DESC LIMIT ?) AS b")  # fmt: skip
# The candidates of a sketch in one statement (each statement waits for the GIL again: ms each
# under load), counted by the database: the MAX_CANDIDATES sharing the most of its buckets, by seq.
_CANDIDATES = {
    n: "SELECT s.seq, s.article, s.ts, s.data FROM sketches s JOIN (SELECT seq FROM ("
    + " UNION ALL ".join([_BUCKET] * n)
    + ") AS u GROUP BY seq ORDER BY count(*) DESC, seq LIMIT ?) AS c USING (seq) WHERE s.source <> ? ORDER BY s.seq"
    for n in range(1, neardup.BANDS + 1)
}

Recent = list[tuple[Stored, frozenset[int]]]  # versions stored since a read, with their buckets


def candidates(
    tx: Tx, source: str, buckets: Sequence[int], low: float, high: float, recent: Recent | None = None
) -> list[Stored]:
    """Other sources' versions dated from ``low`` to ``high`` sharing a bucket with ``buckets``: the
    :data:`MAX_CANDIDATES` sharing the most (then the earliest stored), in stored order.
    ``recent``: look only at these (see :func:`prematch`)."""
    if recent is not None:
        mine = set(buckets)
        shared = [(len(mine & held), version) for version, held in recent if low <= version.ts <= high]
        best = sorted(((n, v) for n, v in shared if n), key=lambda s: (-s[0], s[1].seq))[:MAX_CANDIDATES]
        return sorted((v for _, v in best), key=lambda v: v.seq)
    # Bounded work per new version, however crowded its buckets are.  Speed: templated stories
    # (one wire's daily notices, a generator's stock sentences) share buckets with hundreds of
    # others; reading and comparing them all held the store for seconds under load.  So: the
    # newest PER_BUCKET of each bucket within the window, and of those the MAX_CANDIDATES sharing
    # the most buckets are compared in full (a true duplicate shares many buckets, a template a few).
    values = [value for bucket in buckets for value in (bucket, low, high, PER_BUCKET)]
    return [Stored(*row) for row in tx.all(_CANDIDATES[len(buckets)], (*values, MAX_CANDIDATES, source))]


def match(tx: Tx, source: str, data: bytes, ts: float, near: NearDup, recent: Recent | None = None) -> str | None:
    """The article of the new version of ``source`` (sketch ``data``, dated ``ts``) is a duplicate
    of, or None; ``recent``: look only at these stored versions (see :func:`prematch`)."""
    buckets = bucket_ids(neardup.Sketch.from_bytes(data))
    if not buckets:
        return None
    found = candidates(tx, source, buckets, ts - near.window, ts + near.window, recent)
    return decide(found, data, ts, near) if found else None


Early = tuple[dict[tuple[str, float], str | None], int]  # (key, date) -> article or None; the last seq read


def prematch(
    store: Tables, source: str, rows: Sequence[tuple[str, float]], sketches: Mapping[str, bytes], near: NearDup
) -> Early:
    """The near-duplicate matching of :func:`assign`, done in READ transactions before the write.

    Speed: this is the CPU-heavy part of storing a poll (bucket lookups and
    comparisons); done inside the write transaction it serialised every poll of
    a burst (300 sources starting: 6,000 new items, seconds of lock each).  In the
    write, :func:`assign` then looks only at the versions stored since (seq > the
    last one the first read saw: seqs only grow, and are taken under the lock of
    the decisions): an earlier-stored duplicate found here still wins.  A read
    lasts at most :data:`READ_SECONDS`, then the next one goes on (a snapshot held
    for long keeps SQLite from emptying its WAL; a later snapshot only sees more).
    """
    todo = [(key, ts) for key, ts in dict.fromkeys(rows) if key in sketches]
    found: dict[tuple[str, float], str | None] = {}
    horizon: int | None = None
    while horizon is None or len(found) < len(todo):
        with store.matching() as tx:
            if horizon is None:
                horizon = int(tx.one("SELECT coalesce(max(seq), 0) FROM sketches")[0])
            until = time.monotonic() + READ_SECONDS
            for key, ts in todo[len(found) :]:
                found[key, ts] = match(tx, source, sketches[key], ts, near)
                if time.monotonic() > until:
                    break
    return found, horizon


def _recent(tx: Tx, source: str, horizon: int) -> Recent:
    """Other sources' versions stored after ``horizon``, with their buckets (one read)."""
    rows = tx.all("SELECT seq, article, ts, data FROM sketches WHERE seq > ? AND source <> ?", (horizon, source))
    return [(Stored(*r), frozenset(bucket_ids(neardup.Sketch.from_bytes(bytes(r[3]))))) for r in rows]


def assign(
    store: Tables,
    tx: Tx,
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
    keys = list(dict.fromkeys(key for key, _ in rows))
    if sketches and any(key in sketches for key in keys):
        store.lock(tx, LOCK_NEARDUP)  # before anything is read: decisions one at a time, cluster-wide
    out = _clusters(tx, keys)
    if not sketches:
        return {k: a for k, a in out.items() if k != a}
    stored: list[tuple[str, str, float, bytes]] = []
    done: set[str] = set()  # the first row of a key counts
    decided: dict[str, str] = {}
    recent: Recent | None = None
    heads = {r[0] for r in tx.select_in("SELECT DISTINCT article FROM entries WHERE article IN (?...)",
                                        [key for key in keys if key in sketches and key not in out])}  # fmt: skip
    for key, ts in rows:
        data = sketches.get(key)
        if data is None or key in done:
            continue
        done.add(key)
        article = out.get(key)
        if article is None:
            if key in heads:
                article = key  # the same article by identity
            elif near is not None and early is not None and (key, ts) in early[0]:
                if early[0][key, ts] is None and recent is None:  # the versions stored since: one read
                    recent = _recent(tx, source, early[1])
                article = early[0][key, ts] or match(tx, source, data, ts, near, recent) or key
            elif near is not None:
                article = match(tx, source, data, ts, near) or key
            else:
                article = key
            out[key] = decided[key] = article
        stored.append((key, article, ts, data))
    tx.insert("clusters", ("key", "article"), list(decided.items()), ignore=True)
    _store_sketches(tx, source, stored)
    return {k: a for k, a in out.items() if k != a}


def _clusters(tx: Tx, keys: Sequence[str]) -> dict[str, str]:
    if not keys or tx.one("SELECT 1 FROM clusters LIMIT 1") is None:
        return {}
    return dict(tx.select_in("SELECT key, article FROM clusters WHERE key IN (?...)", keys))


def _store_sketches(tx: Tx, source: str, rows: Sequence[tuple[str, str, float, bytes]]) -> None:
    """Sketches (key, article, date, sketch) stored, replacing a key's older one, in order: a key given
    twice keeps its last row, stored where that row is (as one insert after another would)."""
    last: dict[str, tuple[str, str, float, bytes]] = {}
    for row in rows:
        last.pop(row[0], None)
        last[row[0]] = row
    if not last:
        return
    seqs = tx.new_ids("sketches", "seq", len(last))  # before the old ones go: seqs only grow (see prematch)
    old = [r[0] for r in tx.select_in("SELECT seq FROM sketches WHERE source = ? AND key IN (?...)",
                                      list(last), (source,))]  # fmt: skip
    tx.run_in("DELETE FROM buckets WHERE seq IN (?...)", old)
    tx.run_in("DELETE FROM sketches WHERE seq IN (?...)", old)
    tx.insert("sketches", ("seq", "source", "key", "article", "ts", "data"),
              [(seq, source, *row) for seq, row in zip(seqs, last.values(), strict=True)])  # fmt: skip
    buckets = [(bucket, ts, seq) for seq, (_, _, ts, data) in zip(seqs, last.values(), strict=True)
               for bucket in bucket_ids(neardup.Sketch.from_bytes(data))]  # fmt: skip
    tx.insert("buckets", ("bucket", "ts", "seq"), sorted(buckets))  # in bucket order: neighbours together


def _save_sketches(tx: Tx, source: str, rows: Sequence[tuple[str, float, bytes]]) -> None:
    held: dict[str, tuple[str, str]] = {}  # key -> (ref, article) of its first entry
    for key, ref, article in tx.select_in("SELECT key, ref, article FROM entries WHERE source = ? AND key IN (?...)",
                                          list(dict.fromkeys(r[0] for r in rows)), (source,)):  # fmt: skip
        if key not in held or ref < held[key][0]:
            held[key] = (ref, article)
    tx.insert("clusters", ("key", "article"), [(key, a) for key, (_, a) in held.items()], ignore=True)
    _store_sketches(tx, source, [(key, held[key][1], ts, data) for key, ts, data in rows if key in held])


_FIND = (
    "SELECT article FROM clusters WHERE key = ? LIMIT 1",
    "SELECT article FROM entries WHERE article = ? LIMIT 1",
    "SELECT article FROM entries WHERE key = ? LIMIT 1",
)


class NearDupTables(Tables):
    def sketch_days(self, exclude: str) -> set[int]:
        """The days (epoch seconds // 86400, truncated) of the sketched versions of every source but ``exclude``."""
        rows = self.rows(f"SELECT DISTINCT {self.dialect.trunc('ts / 86400')} FROM sketches WHERE source <> ?",
                         (exclude,))  # fmt: skip
        return {int(r[0]) for r in rows}

    def unsketched_posts(self, start: float, end: float) -> list[tuple[PostRef, str, float]]:
        """Posts' versions dated from ``start`` to ``end`` that have no sketch: (ref, key, date)."""
        rows = self.rows(
            "SELECT e.source, e.ref, e.stamp, e.key, e.ts FROM entries e WHERE substr(e.ref, 1, 1) = '/'"
            " AND e.ts BETWEEN ? AND ? AND NOT EXISTS"
            " (SELECT 1 FROM sketches s WHERE s.source = e.source AND s.key = e.key)",
            (start, end),
        )
        return [(PostRef(r[0], r[1], r[2]), r[3], r[4]) for r in rows]

    def save_sketches(self, source: str, rows: Sequence[tuple[str, float, bytes]]) -> None:
        """Sketches of versions already stored (key, date, sketch): they keep their article.
        (More than one transaction may write: in parts, each sketch standing alone.)"""
        budget = self.dialect.write_budget
        step = len(rows) or 1 if budget is None else budget // SKETCH_BYTES
        for start in range(0, len(rows), step):
            with self.write() as tx:
                self.lock(tx, LOCK_NEARDUP)
                _save_sketches(tx, source, rows[start : start + step])

    def find_article(self, keys: Sequence[str], link: str | None = None) -> str | None:
        """The article an identity key (or a remote item's link) is in, or None (for `feeds explain`)."""
        with self.read() as tx:
            for key in keys:
                for sql in _FIND:
                    row = tx.one(sql, (key,))
                    if row is not None:
                        return str(row[0])
            if link:
                row = tx.one(
                    "SELECT e.article FROM items i JOIN entries e ON e.source = i.source AND e.ref = CAST(i.id AS TEXT)"
                    " WHERE i.link = ? LIMIT 1",
                    (link,),
                )
                if row is not None:
                    return str(row[0])
        return None

    def sketches_of(self, article: str) -> dict[tuple[str, str], bytes]:
        """The stored sketches of an article's versions, by (source, key)."""
        rows = self.rows("SELECT source, key, data FROM sketches WHERE article = ?", (article,))
        return {(r[0], r[1]): bytes(r[2]) for r in rows}

    # ------------------------------------------------------------ full-text pages

    def pages(self, urls: Iterable[str]) -> dict[str, Page]:
        """The pages fetched before, by URL."""
        with self.read() as tx:
            rows = tx.select_in("SELECT url, ok, content, reason, etag, last_modified FROM pages WHERE url IN (?...)",
                                list(dict.fromkeys(urls)))  # fmt: skip
            return {r[0]: Page(r[0], bool(r[1]), r[2], r[3], r[4], r[5]) for r in rows}

    def save_pages(self, pages: Sequence[Page], now: float) -> None:
        """Store fetched pages (a URL twice: the last one counts)."""
        with self.write() as tx:
            tx.insert("pages", ("url", "ok", "content", "reason", "etag", "last_modified", "fetched"),
                      [(p.url, int(p.ok), p.content, p.reason, p.etag, p.last_modified, now) for p in pages],
                      key=("url",))  # fmt: skip
