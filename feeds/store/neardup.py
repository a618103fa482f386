"""Near-duplicate matching when versions are stored (sketches, clusters), and full-text pages.

A version's article is decided in the transaction that stores it, once and for
all (:func:`assign`): an identity key assigned before (``clusters``) keeps its
article; a key that already heads an article (another version with the same
key) joins it; otherwise, when the version has a sketch, it is compared with
the stored versions of OTHER sources dated within the window that share an LSH
bucket with it, and joins the article of the canonical duplicate among them
(:func:`decide`: the highest priority, then the earliest date, then the
smallest key; never "the first stored"), else it is an article of its own.

Bounded work per new version, whatever the store holds and however alike its
texts are: the buckets are held in memory (:class:`~feeds.core.neardup_index.BucketIndex`,
built once from the window's sketches, then kept up to date by seq: what this
process and every other node stored), so a poll's candidates are found without
SQL and no bucket row is ever written; a bucket holding more than :data:`CAP`
versions in a window is passed over (a template or a shared paragraph, not a
story's copies); at most :data:`COMPARED` candidates are compared in full per
version (those sharing the most buckets), read in one statement per poll;
versions dated out of every window that can still come leave the index.

Decisions are taken one transaction at a time, each seeing every version
stored before it: SQLite runs one write at a time; on PostgreSQL, where several
nodes write at once, the transactions that decide articles from sketches take
one advisory lock first (``LOCK_NEARDUP``) and see what the previous ones
committed (``READ COMMITTED``: every statement after the lock).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from feeds.core import neardup
from feeds.core.neardup_index import HELD, BucketIndex
from feeds.runtime.workers import map_large_blocks, trim_memory
from feeds.store.dialect import LOCK_NEARDUP, Tables, Tx
from feeds.store.records import NearDup, Page, PostRef

CAP = 64  # versions of other sources one bucket may hold within a window and still count as evidence
COMPARED = 8  # candidates compared in full per new version (those sharing the most buckets)
KEEP = 7 * 86400.0  # the index keeps versions dated this long beyond the window before now
PRUNE_EVERY = 600.0  # seconds between two prunings of the index
LOAD_PART = 25_000  # sketches read into the index at once when it is made
SKETCH_BYTES = 1024  # what storing one sketch puts in a transaction (SQLite's WAL)


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


class _Index:
    """A store's bucket index: the sketches of the dates asked for so far, and every sketch committed
    since it was made (by this process or any other node), read by seq."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: BucketIndex | None = None
        self.base = 0  # the highest seq when the index was made: later ones are read by seq
        self.loaded: list[tuple[float, float]] = []  # the date ranges of sketches up to ``base`` read
        self.own: dict[int, str] = {}  # seq -> key of the sketches this process stored (added at once)
        self.newest = float("-inf")  # the latest date a new version asked about
        self.pruned = 0.0

    def current(self, tx: Tx, low: float, high: float, near: NearDup) -> BucketIndex:
        """The index, holding the sketches dated from ``low`` to ``high`` and every one stored since.
        (Date ranges are half-open, [low, high): each sketch is read once.)"""
        high += 1.0
        if self.index is None:
            map_large_blocks()  # (its arrays, replaced as it grows: returned to the system when freed)
            self.index = BucketIndex(HELD)
            self.base = self.index.last_seq = int(tx.one("SELECT coalesce(max(seq), 0) FROM sketches")[0])
            self.pruned = time.monotonic()
        index = self.index
        missing = self._missing(low, high)
        for start, end in missing:  # (cost: the versions near the new ones, not history)
            _load(tx, index, start, end, self.base)
        if missing:
            trim_memory()  # (what reading the sketches freed: ~100 MB of 100k versions' were kept otherwise)
        self.loaded = _union([*self.loaded, (low, high)])
        self._catch_up(tx, index)
        self.newest = max(self.newest, high - near.window)
        if time.monotonic() - self.pruned > PRUNE_EVERY:  # what no version to come can reach
            horizon = min(self.newest, time.time()) - near.window - KEEP
            index.prune(horizon)
            self.loaded = [(max(lo, horizon), hi) for lo, hi in self.loaded if hi >= horizon]
            self.pruned = time.monotonic()
        return index

    def _catch_up(self, tx: Tx, index: BucketIndex) -> None:
        """The sketches committed since the last look: another node's, a backfill's, and this process's
        own (already added: confirmed by their key; one rolled back and its seq reused is read)."""
        rows = tx.all("SELECT seq, source, key, ts FROM sketches WHERE seq > ? ORDER BY seq", (index.last_seq,))
        if not rows:
            return
        others = {int(r[0]): (r[1], float(r[3])) for r in rows if self.own.get(int(r[0])) != r[2]}
        if others:
            for seq, data in tx.select_in("SELECT seq, data FROM sketches WHERE seq IN (?...)", sorted(others)):
                source, ts = others[int(seq)]
                _add(index, int(seq), ts, source, bytes(data))
        index.last_seq = int(rows[-1][0])
        self.own = {seq: key for seq, key in self.own.items() if seq > index.last_seq}

    def added(self, rows: Sequence[tuple[int, str, str, float, bytes]], replaced: Sequence[int]) -> None:
        """Sketches just stored by this process (seq, source, key, date, sketch), and the seqs they replace."""
        if self.index is None:
            return
        with self.lock:
            self.index.remove(replaced)
            for seq, source, key, ts, data in rows:
                _add(self.index, seq, ts, source, data)
                self.own[seq] = key

    def _missing(self, low: float, high: float) -> list[tuple[float, float]]:
        """The parts of [low, high) not read yet."""
        out, at = [], low
        for lo, hi in self.loaded:
            if hi < at or lo > high:
                continue
            if lo > at:
                out.append((at, lo))
            at = max(at, hi)
        if at < high:
            out.append((at, high))
        return out


def _load(tx: Tx, index: BucketIndex, start: float, end: float, base: int) -> None:
    """The sketches dated from ``start`` to ``end`` (up to seq ``base``) into ``index``: the newest
    ``index.limit`` of them (the highest seqs), found by the date index alone, then read by seq."""
    seqs = [r[0] for r in tx.execute("SELECT seq FROM sketches WHERE ts >= ? AND ts < ? AND seq <= ?",
                                     (start, end, base))]  # fmt: skip
    if len(seqs) > index.limit:
        seqs = heapq.nlargest(index.limit, seqs)
    seqs.sort()
    index.load([(int(seq), float(ts), source, bytes(data)) for seq, source, ts, data in tx.select_in(
        "SELECT seq, source, ts, data FROM sketches WHERE seq IN (?...)", seqs[at : at + LOAD_PART])]
        for at in range(0, len(seqs), LOAD_PART))  # (memory: a part's sketches at a time)  # fmt: skip


def _add(index: BucketIndex, seq: int, ts: float, source: str, data: bytes) -> None:
    index.add(seq, ts, source, neardup.bucket_ids(data), data[: neardup.HEAD])


def _union(ranges: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _index_of(store: Tables) -> _Index:
    held = store.__dict__.get("_neardup_index")
    if held is None:
        held = store.__dict__.setdefault("_neardup_index", _Index())
    return held


class _New(NamedTuple):
    key: str
    ts: float
    data: bytes


def _match(store: Tables, tx: Tx, source: str, todo: Sequence[_New], near: NearDup) -> dict[str, str]:
    """The article each of ``todo`` (new versions of ``source``) joins, when it has a duplicate."""
    holder = _index_of(store)
    low = min(new.ts for new in todo) - near.window
    high = max(new.ts for new in todo) + near.window
    with holder.lock:
        index = holder.current(tx, low, high, near)
        found = index.shared([(neardup.bucket_ids(new.data), new.ts) for new in todo], near.window, source, CAP)
        # Those whose MinHash may make them duplicates, sharing the most buckets (an order of their
        # contents, not of when they were stored: the same are chosen whatever order they came in).
        picked: dict[str, list[int]] = {}
        for new, counts in zip(todo, found, strict=True):
            if counts:
                kept = index.closest(counts, new.data, near.threshold, COMPARED)
                if kept:
                    picked[new.key] = kept
    if not picked:
        return {}
    seqs = sorted({seq for chosen in picked.values() for seq in chosen})
    stored = {r[0]: Stored(r[0], r[1], r[2], r[3] or r[2], r[4], bytes(r[5])) for r in tx.select_in(
        "SELECT seq, source, key, article, ts, data FROM sketches WHERE seq IN (?...)", seqs)}  # fmt: skip
    out: dict[str, str] = {}
    for new in todo:
        best = decide((stored[seq] for seq in picked.get(new.key, ()) if seq in stored), new.data, new.ts, near)
        if best is not None:
            out[new.key] = best.article
    return out


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
            first[key] = _New(key, ts, data)
    heads = {r[0] for r in tx.select_in("SELECT DISTINCT article FROM entries WHERE article IN (?...)",
                                        [key for key in first if key not in out])}  # fmt: skip
    todo = [new for key, new in first.items() if key not in out and key not in heads]
    found = _match(store, tx, source, todo, near) if near is not None and todo else {}
    decided = {key: (key if key in heads else found.get(key, key)) for key in first if key not in out}
    out.update(decided)
    # (a key in its own article is found by its entries: only those put in another's are kept here)
    tx.insert("clusters", ("key", "article"), [(k, a) for k, a in decided.items() if k != a], ignore=True)
    _store_sketches(store, tx, source, [(new.key, out[new.key], new.ts, new.data) for new in first.values()])
    return {k: a for k, a in out.items() if k != a}


def _clusters(tx: Tx, keys: Sequence[str]) -> dict[str, str]:
    if not keys or tx.one("SELECT 1 FROM clusters LIMIT 1") is None:
        return {}
    return dict(tx.select_in("SELECT key, article FROM clusters WHERE key IN (?...)", keys))


def _store_sketches(store: Tables, tx: Tx, source: str, rows: Sequence[tuple[str, str, float, bytes]]) -> None:
    """Sketches (key, article, date, sketch) stored, replacing a key's older one (a key twice: the last),
    and added to this process's bucket index (a replaced sketch's seq matches nothing more)."""
    last = {row[0]: row for row in rows}
    if not last:
        return
    seqs = tx.new_ids("sketches", "seq", len(last))
    old = [r[0] for r in tx.select_in("SELECT seq FROM sketches WHERE source = ? AND key IN (?...)", list(last),
                                      (source,))]  # fmt: skip
    tx.run_in("DELETE FROM sketches WHERE seq IN (?...)", old)
    # (the article is stored only when it is another key's: most versions are articles of their own)
    tx.insert("sketches", ("seq", "source", "key", "article", "ts", "data"),
              [(seq, source, key, "" if article == key else article, ts, data)
               for seq, (key, article, ts, data) in zip(seqs, last.values(), strict=True)])  # fmt: skip
    _index_of(store).added([(seq, source, key, ts, data) for seq, (key, _, ts, data)
                            in zip(seqs, last.values(), strict=True)], old)  # fmt: skip


def _save_sketches(store: Tables, tx: Tx, source: str, rows: Sequence[tuple[str, float, bytes]]) -> None:
    held: dict[str, tuple[str, str]] = {}  # key -> (ref, article) of its first entry
    for key, ref, article in tx.select_in("SELECT key, ref, article FROM entries WHERE source = ? AND key IN (?...)",
                                          list(dict.fromkeys(r[0] for r in rows)), (source,)):  # fmt: skip
        if key not in held or ref < held[key][0]:
            held[key] = (ref, article)
    tx.insert("clusters", ("key", "article"), [(key, a) for key, (_, a) in held.items() if key != a], ignore=True)
    _store_sketches(store, tx, source, [(key, held[key][1], ts, data) for key, ts, data in rows if key in held])


_FIND = (
    "SELECT article FROM clusters WHERE key = ? LIMIT 1",
    "SELECT article FROM entries WHERE article = ? LIMIT 1",
    "SELECT article FROM entries WHERE key = ? LIMIT 1",
)


class NearDupTables(Tables):
    def sketch_days(self, exclude: str) -> set[int]:
        """The days (epoch seconds // 86400, floored) with a sketched version (of any source: ``exclude``
        is a hint).  One probe of the date index per day that has one, not a scan of every sketch."""
        rows = self.rows(
            "WITH RECURSIVE d(ts) AS (SELECT min(ts) FROM sketches UNION ALL"
            f" SELECT (SELECT min(ts) FROM sketches WHERE ts >= ({self.dialect.floor('d.ts / 86400')} + 1) * 86400)"
            " FROM d WHERE d.ts IS NOT NULL) SELECT ts FROM d WHERE ts IS NOT NULL"
        )
        return {int(r[0] // 86400) for r in rows}

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
                _save_sketches(self, tx, source, rows[start : start + step])

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
        rows = self.rows("SELECT s.source, s.key, s.data FROM entries e JOIN sketches s"
                         " ON s.source = e.source AND s.key = e.key WHERE e.article = ?", (article,))  # fmt: skip
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
