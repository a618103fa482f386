"""Near-duplicate matching when versions are stored (sketches, buckets, clusters), and full-text pages.

A version's article is decided in the transaction that stores it, once and for
all (:func:`assign`): an identity key assigned before (``clusters``) keeps its
article; a key that already heads an article (another version with the same
key) joins it; otherwise, when the version has a sketch, it is compared with
the stored versions of OTHER sources dated within the window that share an LSH
bucket with it, and joins the article of the canonical duplicate among them
(:func:`decide`: the highest priority, then the earliest date, then the
smallest key; never "the first stored"), else it is an article of its own.

Bounded work per new version, whatever the store holds and however alike its
texts are: a poll's candidates are read in one statement; a bucket holds at
most :data:`CAP` versions within a window (a bucket that full is a template or
a shared paragraph, not a story's copies: later versions are not added to it);
at most :data:`COMPARED` candidates are compared in full per version (those
sharing the most buckets); buckets dated out of every window that can still
come are pruned (:data:`KEEP`), so the table holds what can match, not history.

Decisions are taken one transaction at a time, each seeing every version
stored before it: SQLite runs one write at a time; on PostgreSQL, where several
nodes write at once, the transactions that decide articles from sketches take
one advisory lock first (``LOCK_NEARDUP``) and see what the previous ones
committed (``READ COMMITTED``: every statement after the lock).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from feeds.core import neardup
from feeds.store.dialect import LOCK_NEARDUP, Tables, Tx
from feeds.store.records import NearDup, Page, PostRef

CAP = 16  # versions one bucket holds within a window
COMPARED = 8  # candidates compared in full per new version (those sharing the most buckets)
KEEP = 7 * 86400.0  # buckets are kept this long beyond the window before the oldest date a write stores
SKETCH_BYTES = 2048  # what storing one sketch and its buckets puts in a transaction (SQLite's WAL)


class Stored(NamedTuple):
    """A stored version that a new one is compared with."""

    seq: int
    source: str
    key: str
    article: str
    ts: float
    data: bytes  # its sketch (neardup.Sketch.to_bytes)


def rank(version: Stored, near: NearDup) -> tuple[int, float, str]:
    """The canonical order of versions: the highest priority, the earliest date, the smallest key."""
    return -near.priority(version.source), version.ts, version.key


def decide(candidates: Iterable[Stored], data: bytes, ts: float, near: NearDup) -> Stored | None:
    """THE decision: the canonical (:func:`rank`) stored duplicate of the new version (sketch ``data``,
    dated ``ts``) among ``candidates`` (other sources' versions), or None (an article of its own)."""
    found = [c for c in candidates
             if abs(c.ts - ts) <= near.window and neardup.duplicate_bytes(c.data, data, near.threshold)]  # fmt: skip
    return min(found, key=lambda c: rank(c, near)) if found else None


class _New(NamedTuple):
    key: str
    ts: float
    data: bytes
    buckets: list[int]


def _match(tx: Tx, source: str, todo: Sequence[_New], near: NearDup) -> tuple[dict[str, str], list[tuple]]:
    """The article each of ``todo`` (new versions of ``source``) joins, when it has a duplicate; and the
    bucket rows (bucket, ts, key) to store for them (a bucket at its :data:`CAP` is not added to)."""
    wanted = sorted({b for new in todo for b in new.buckets})
    if not wanted:
        return {}, []
    low = min(new.ts for new in todo) - near.window
    high = max(new.ts for new in todo) + near.window
    held: dict[int, list[tuple[float, int]]] = {}
    for bucket, ts, seq in tx.select_in("SELECT bucket, ts, seq FROM buckets WHERE ts BETWEEN ? AND ?"
                                        " AND bucket IN (?...)", wanted, (low, high)):  # fmt: skip
        held.setdefault(bucket, []).append((ts, seq))
    pools: dict[str, list[int]] = {}
    rows: list[tuple] = []
    for new in todo:
        shared: Counter[int] = Counter()
        for bucket in new.buckets:
            near_ones = [seq for ts, seq in held.get(bucket, ()) if abs(ts - new.ts) <= near.window]
            shared.update(near_ones)
            if len(near_ones) < CAP:
                rows.append((bucket, new.ts, new.key))
        if shared:  # those sharing the most buckets first (a copy shares many, a template a few)
            pools[new.key] = sorted(shared, key=lambda seq: (-shared[seq], seq))[: 4 * COMPARED]
    if not pools:
        return {}, rows
    # Other sources' only (an outlet does not republish its own story), then the COMPARED best in full.
    sources = dict(tx.select_in("SELECT seq, source FROM sketches WHERE seq IN (?...)",
                                sorted({seq for pool in pools.values() for seq in pool})))  # fmt: skip
    picked = {key: [seq for seq in pool if sources.get(seq, source) != source][:COMPARED]
              for key, pool in pools.items()}  # fmt: skip
    seqs = sorted({seq for chosen in picked.values() for seq in chosen})
    stored = {r[0]: Stored(r[0], r[1], r[2], r[3], r[4], bytes(r[5])) for r in tx.select_in(
        "SELECT seq, source, key, article, ts, data FROM sketches WHERE seq IN (?...)", seqs)}  # fmt: skip
    out: dict[str, str] = {}
    for new in todo:
        best = decide((stored[seq] for seq in picked.get(new.key, ()) if seq in stored), new.data, new.ts, near)
        if best is not None:
            out[new.key] = best.article
    return out, rows


def assign(
    store: Tables,
    tx: Tx,
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
        store.lock(tx, LOCK_NEARDUP)  # before anything is read: decisions one at a time, cluster-wide
    out = _clusters(tx, keys)
    if not sketches:
        return {k: a for k, a in out.items() if k != a}
    first: dict[str, _New] = {}  # the first row of a key counts
    for key, ts in rows:
        data = sketches.get(key)
        if data is not None and key not in first:
            first[key] = _New(key, ts, data, neardup.bucket_ids(data))
    heads = {r[0] for r in tx.select_in("SELECT DISTINCT article FROM entries WHERE article IN (?...)",
                                        [key for key in first if key not in out])}  # fmt: skip
    todo = [new for key, new in first.items() if key not in out and key not in heads]
    found, buckets = _match(tx, source, todo, near) if near is not None else ({}, [])
    decided = {key: (key if key in heads else found.get(key, key)) for key in first if key not in out}
    out.update(decided)
    tx.insert("clusters", ("key", "article"), list(decided.items()), ignore=True)
    fresh = {new.key for new in todo}
    _store_sketches(tx, source, [(new.key, out[new.key], new.ts, new.data) for new in first.values()],
                    buckets, fresh)  # fmt: skip
    if near is not None and first:
        _prune(tx, min(new.ts for new in first.values()), near)
    return {k: a for k, a in out.items() if k != a}


def _prune(tx: Tx, oldest: float, near: NearDup) -> None:
    """Drop the buckets no version to come can match: dated more than the window and :data:`KEEP` before
    the oldest version just stored (never after now: an item dated in the future prunes nothing more).
    The oldest, not the newest: a feed's first poll spans weeks, and the posts scanned after it must
    still find its older items (pruning by the newest dropped their buckets as they were stored)."""
    horizon = min(oldest, time.time()) - near.window - KEEP
    tx.execute("DELETE FROM buckets WHERE ts < ?", (horizon,))


def _clusters(tx: Tx, keys: Sequence[str]) -> dict[str, str]:
    if not keys or tx.one("SELECT 1 FROM clusters LIMIT 1") is None:
        return {}
    return dict(tx.select_in("SELECT key, article FROM clusters WHERE key IN (?...)", keys))


def _store_sketches(
    tx: Tx, source: str, rows: Sequence[tuple[str, str, float, bytes]],
    buckets: Sequence[tuple[int, float, str]] | None = None, matched: set[str] | None = None,
) -> None:  # fmt: skip
    """Sketches (key, article, date, sketch) stored, replacing a key's older one.  ``buckets``: the
    bucket rows (bucket, date, key) of the versions of ``matched`` (as :func:`_match` capped them);
    the other versions get all of theirs."""
    last = {row[0]: row for row in rows}
    if not last:
        return
    seqs = dict(zip(last, tx.new_ids("sketches", "seq", len(last)), strict=True))
    old = list(tx.select_in("SELECT seq, ts, data FROM sketches WHERE source = ? AND key IN (?...)", list(last),
                            (source,)))  # fmt: skip
    if old:
        tx.many("DELETE FROM buckets WHERE bucket = ? AND ts = ? AND seq = ?",
                [(bucket, ts, seq) for seq, ts, data in old for bucket in neardup.bucket_ids(bytes(data))])
        tx.run_in("DELETE FROM sketches WHERE seq IN (?...)", [seq for seq, _, _ in old])
    tx.insert("sketches", ("seq", "source", "key", "article", "ts", "data"),
              [(seqs[key], source, key, article, ts, data) for key, article, ts, data in last.values()])  # fmt: skip
    chosen = matched or set()
    rows_out = [(bucket, ts, seqs[key]) for bucket, ts, key in buckets or () if key in last]
    rows_out += [(bucket, ts, seqs[key]) for key, _, ts, data in last.values() if key not in chosen
                 for bucket in neardup.bucket_ids(data)]  # fmt: skip
    tx.insert("buckets", ("bucket", "ts", "seq"), sorted(set(rows_out)), ignore=True)  # neighbours together


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
