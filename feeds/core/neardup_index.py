"""An in-memory LSH index of stored versions: bucket id -> (version, date, source).  Pure, numpy.

The store keeps the sketches; this index, rebuilt from them and kept up to date
by the store, answers "which stored versions of other sources, dated within the
window, share the most buckets with this new one" for a whole poll at once,
with no per-version SQL and no bucket rows written to disk (random-key index
inserts were most of storing a poll, and most of its commit).

Everything a poll asks is answered by a few numpy operations over the whole
batch (searches of two sorted runs, one gather, one count), and the candidates'
MinHash is compared in one matrix operation: no Python loop per bucket row.

Memory: 18 bytes per bucket row (bucket 8, date in minutes 4, version 4,
source 2), 33 rows a version, plus its MinHash (256 bytes): ~0.9 KB a version,
50k versions ~45 MB; rows dated out of every window that can still come are
dropped (:meth:`prune`).  New rows go to a small unsorted tail, sorted when
asked and merged into the main run in batches.

**Bounded, whatever the store holds**: the index holds at most ``limit``
versions (:data:`HELD`, ~90 MB).  Past it, the versions stored first (the
lowest seqs) leave, a quarter of the limit at once (so a version added costs
a constant share of one pass over the arrays); a store's window is read the
same way (:meth:`load`: its newest ``limit`` versions, in a few array
operations, sorted once).  A version that left is never a candidate again: a
copy arriving after ``limit`` other versions were stored near its date stays
an article of its own (precision before recall: nothing is lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from feeds.core import neardup

HELD = 100_000  # versions the index holds at most (the lowest seqs leave first)
MERGE_AT = 50_000  # recent rows merged into the main run at once
PENDING = 20_000  # rows added since the last search kept in Python lists at most
MINHASH = 128  # 16-bit values a version's MinHash holds (feeds.core.neardup.PERMUTATIONS)
_HEAD = 12  # bytes before the MinHash in a stored sketch (magic, header)
_SHORT = 2  # the header flag of a short text (feeds.core.neardup)


class BucketIndex:
    """Bucket rows (bucket, minute, seq, source) searchable by bucket; see the module docstring."""

    def __init__(self, limit: int = HELD) -> None:
        import numpy as np

        self._np = np
        self.limit = limit
        self._main = self._empty()
        self._small = self._empty()  # the recent rows, sorted: merged into the main run in batches
        self._tail: tuple[list[int], list[int], list[int], list[int]] = ([], [], [], [])  # since the last search
        self._sources: dict[str, int] = {}
        self._dead: set[int] = set()
        self._slot: dict[int, int] = {}  # seq -> its row in _minhash
        self._minhash = np.zeros((1024, MINHASH), np.uint16)
        self._short = np.zeros(1024, np.bool_)
        self._free: list[int] = []
        self.last_seq = 0  # the highest seq read back from the store: it reads the versions stored after it

    def _empty(self) -> tuple[Any, ...]:
        np = self._np
        return (np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int16))

    def __len__(self) -> int:
        return int(self._main[0].size) + int(self._small[0].size) + len(self._tail[0])

    @property
    def versions(self) -> int:
        """How many versions it holds (never more than ``limit`` once a call returns)."""
        return len(self._slot)

    def seqs(self) -> set[int]:
        """The versions it holds."""
        return set(self._slot)

    def source_id(self, name: str) -> int:
        return self._sources.setdefault(name, len(self._sources) % 32000)

    def add(self, seq: int, ts: float, source: str, buckets: Sequence[int], head: bytes) -> None:
        """A stored version's buckets and the start of its sketch (``head``: magic, header, MinHash)."""
        count = len(buckets)
        b, t, s, r = self._tail
        b.extend(buckets)
        t.extend([int(ts // 60)] * count)
        s.extend([seq] * count)
        r.extend([self.source_id(source)] * count)
        self._remember(seq, head)
        if len(b) >= PENDING:  # memory: a list holds a Python int per row (36 bytes, not 18 for all four)
            self._tail_run()
        if len(self._slot) > self.limit:
            self._evict()

    def load(self, parts: Iterable[Sequence[tuple[int, float, str, bytes]]]) -> None:
        """Many stored versions at once (seq, date, source, sketch), in parts: a store's window read at
        a start.  Their bucket ids are computed in a few array operations per part
        (:func:`feeds.core.neardup.bucket_ids`, the same values) and all are sorted once; past
        ``limit``, the lowest seqs leave."""
        np = self._np
        columns = [self._columns(rows) for rows in parts]
        columns = [c for c in columns if c[0].size]
        if not columns:
            return
        order = np.argsort(np.concatenate([c[0] for c in columns]))
        chunk = tuple(np.concatenate([c[i] for c in columns])[order] for i in range(4))
        del columns, order
        self._merge()
        self._main = _insert(np, self._main, chunk)
        if len(self._slot) > self.limit:
            self._evict()

    def _columns(self, rows: Sequence[tuple[int, float, str, bytes]]) -> tuple[Any, ...]:
        """The bucket rows (bucket, minute, seq, source; unsorted) of stored versions, remembered."""
        np = self._np
        rows = [r for r in rows if neardup.has_buckets(r[3])]
        count = len(rows)
        end = _HEAD + 2 * MINHASH
        values = np.frombuffer(b"".join(r[3][_HEAD:end] for r in rows), "<u8").reshape(count, MINHASH // 4)
        bands = (values ^ np.frombuffer(neardup.SALTS, np.uint64)).view(np.int64)
        exact = np.fromiter((neardup.exact_bucket(r[3]) for r in rows), np.int64, count)
        width = bands.shape[1] + 1
        slots = np.fromiter((self._row(r[0]) for r in rows), np.int64, count)
        self._minhash[slots] = values.view("<u2").reshape(count, MINHASH)
        self._short[slots] = np.fromiter((bool(r[3][10] & _SHORT) for r in rows), np.bool_, count)
        return (np.concatenate((bands, exact[:, None]), axis=1).ravel(),
                np.repeat(np.fromiter((int(r[1] // 60) for r in rows), np.int32, count), width),
                np.repeat(np.fromiter((r[0] for r in rows), np.int32, count), width),
                np.repeat(np.fromiter((self.source_id(r[2]) for r in rows), np.int16, count), width))  # fmt: skip

    def _evict(self) -> None:
        """Down to three quarters of ``limit``: the versions of the lowest seqs leave."""
        np = self._np
        held = np.fromiter(self._slot, np.int64, len(self._slot))
        keep = self.limit - self.limit // 4
        cutoff = int(np.partition(held, held.size - keep)[held.size - keep]) if keep else int(held.max()) + 1
        self._forget(held[held < cutoff].tolist())
        self._merge()
        bucket, minute, seq, src = self._main
        kept = seq >= cutoff
        self._main = (bucket[kept], minute[kept], seq[kept], src[kept])

    def _row(self, seq: int) -> int:
        """The row of ``seq`` in the MinHash matrix (a free one when it has none)."""
        np = self._np
        row = self._slot.get(seq)
        if row is None:
            if self._free:
                row = self._free.pop()
            else:
                row = len(self._slot)
                if row >= len(self._short):
                    self._minhash = np.concatenate((self._minhash, np.zeros_like(self._minhash)))
                    self._short = np.concatenate((self._short, np.zeros_like(self._short)))
            self._slot[seq] = row
        return row

    def _remember(self, seq: int, head: bytes) -> None:
        np = self._np
        row = self._row(seq)
        values = head[_HEAD : _HEAD + 2 * MINHASH]
        if len(values) == 2 * MINHASH:
            self._minhash[row] = np.frombuffer(values, "<u2")
        self._short[row] = len(head) > 10 and bool(head[10] & _SHORT)

    def _forget(self, seqs: Iterable[int]) -> None:
        for seq in seqs:
            row = self._slot.pop(seq, None)
            if row is not None:
                self._free.append(row)

    def remove(self, seqs: Iterable[int]) -> None:
        """Versions no longer stored (their sketch replaced): never candidates again."""
        seqs = list(seqs)
        self._dead.update(seqs)
        self._forget(seqs)

    def prune(self, horizon: float) -> None:
        """Drop the rows dated before ``horizon`` (and the removed versions')."""
        np = self._np
        self._merge()
        bucket, minute, seq, src = self._main
        keep = minute >= int(horizon // 60)
        if self._dead:
            keep &= ~np.isin(seq, np.fromiter(self._dead, np.int64, len(self._dead)))
            self._dead.clear()
        if not keep.all():
            self._forget(set(seq[~keep].tolist()) - set(seq[keep].tolist()))
            self._main = (bucket[keep], minute[keep], seq[keep], src[keep])

    def _tail_run(self) -> tuple[Any, ...]:
        """The recent rows, sorted by bucket: the rows added since the last search are sorted (a poll's:
        a few thousand) and inserted into them; past MERGE_AT they go into the main run."""
        np = self._np
        b, t, s, r = self._tail
        if b:
            bucket = np.array(b, np.int64)
            order = np.argsort(bucket, kind="stable")
            chunk = (bucket[order], np.array(t, np.int32)[order], np.array(s, np.int32)[order],
                     np.array(r, np.int16)[order])  # fmt: skip
            self._small = _insert(np, self._small, chunk)
            self._tail = ([], [], [], [])
            if self._small[0].size >= MERGE_AT:
                self._merge()
        return self._small

    def _merge(self) -> None:
        """The recent rows into the main run: inserted where they belong (one copy of each array)."""
        self._tail_run()
        if self._small[0].size:
            self._main = _insert(self._np, self._main, self._small)
            self._small = self._empty()

    def shared(
        self, queries: Sequence[tuple[Sequence[int], float]], window: float, source: str, cap: int
    ) -> list[dict[int, int]]:
        """For each new version (its buckets, its date): the stored versions of OTHER sources dated within
        ``window`` of it sharing a bucket with it, seq -> how many buckets they share.  A bucket holding
        more than ``cap`` such versions is passed over (a template, a shared paragraph: no evidence of
        one story).  A few numpy operations for the whole batch."""
        np = self._np
        out: list[dict[int, int]] = [{} for _ in queries]
        flat = [b for buckets, _ in queries for b in buckets]
        if not flat:
            return out
        query = np.asarray(flat, np.int64)
        owner = np.repeat(np.arange(len(queries)), [len(buckets) for buckets, _ in queries])
        minute = np.asarray([int(ts // 60) for _, ts in queries], np.int64)[owner]
        order = np.argsort(query, kind="stable")  # sorted keys: the searches walk the runs in order
        query, owner, minute = query[order], owner[order], minute[order]
        reach = int(window // 60) + 1  # minutes (dates are held to the minute: one more, never one less)
        mine = self._sources.get(source, -1)
        hits: list[tuple[Any, Any]] = []  # (query position, seq) of the rows that count
        recent = self._tail_run()  # (first: past MERGE_AT it moves the recent rows into the main run)
        for run in (self._main, recent):
            if not run[0].size:
                continue
            lows = np.searchsorted(run[0], query, "left")
            lengths = np.searchsorted(run[0], query, "right") - lows
            total = int(lengths.sum())
            if not total:
                continue
            position = np.repeat(np.arange(query.size), lengths)  # each found row: its query
            rows = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(lows, lengths)
            ok = (np.abs(run[1][rows] - minute[position]) <= reach) & (run[3][rows] != mine)
            hits.append((position[ok], run[2][rows[ok]]))
        if not hits:
            return out
        position = np.concatenate([h[0] for h in hits])
        seqs = np.concatenate([h[1] for h in hits])
        if self._dead:
            alive = ~np.isin(seqs, np.fromiter(self._dead, np.int64, len(self._dead)))
            position, seqs = position[alive], seqs[alive]
        crowd = np.bincount(position, minlength=query.size)  # versions in each searched bucket
        counted = crowd[position] <= cap
        owners = owner[position[counted]]
        pairs, counts = np.unique(np.stack((owners, seqs[counted])), axis=1, return_counts=True)
        for who, seq, count in zip(pairs[0].tolist(), pairs[1].tolist(), counts.tolist(), strict=True):
            out[who][seq] = count
        return out

    def similar(self, seqs: Sequence[int], head: bytes, threshold: float) -> list[int]:
        """Those of ``seqs`` whose MinHash may make them duplicates of the sketch ``head`` starts
        (:func:`feeds.core.neardup.may_be_duplicate`, for many at once; a short text: every one)."""
        np = self._np
        rows = [self._slot.get(seq) for seq in seqs]
        known = [(seq, row) for seq, row in zip(seqs, rows, strict=True) if row is not None]
        values = head[_HEAD : _HEAD + 2 * MINHASH]
        if not known or len(values) != 2 * MINHASH:
            return []
        if len(head) > 10 and head[10] & _SHORT:
            return [seq for seq, _ in known]
        index = np.fromiter((row for _, row in known), np.int64, len(known))
        equal = (self._minhash[index] == np.frombuffer(values, "<u2")).sum(axis=1)
        passed = (equal >= threshold * MINHASH) | self._short[index]
        return [seq for (seq, _), ok in zip(known, passed.tolist(), strict=True) if ok]

    def closest(self, counts: Mapping[int, int], head: bytes, threshold: float, limit: int) -> list[int]:
        """At most ``limit`` of the candidates ``counts`` (seq -> buckets shared, :meth:`shared`) that
        :meth:`similar` keeps: those sharing the most buckets, then the most MinHash values with
        ``head``, then the smallest MinHash (as bytes): an order of their contents, never of their
        seqs (when they were stored), so the same versions are chosen whatever order they came in.
        (The candidates are bounded: a bucket counts only up to its cap.)"""
        np = self._np
        kept = self.similar(list(counts), head, threshold)
        values = head[_HEAD : _HEAD + 2 * MINHASH]
        if len(kept) <= limit or len(values) != 2 * MINHASH:
            return sorted(kept, key=lambda seq: (-counts[seq], self._content(seq), seq))[:limit]
        rows = self._minhash[np.fromiter((self._slot[seq] for seq in kept), np.int64, len(kept))]
        equal = (rows == np.frombuffer(values, "<u2")).sum(axis=1).tolist()
        ranked = sorted(range(len(kept)), key=lambda i: (-counts[kept[i]], -equal[i], rows[i].tobytes(), kept[i]))
        return [kept[i] for i in ranked[:limit]]

    def _content(self, seq: int) -> bytes:
        return self._minhash[self._slot[seq]].tobytes()


def _insert(np: Any, run: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
    """``chunk`` (sorted by bucket) inserted into ``run`` (sorted by bucket): still sorted."""
    if not run[0].size:
        return chunk
    at = np.searchsorted(run[0], chunk[0], "right") + np.arange(chunk[0].size)  # their places in the result
    others = np.ones(run[0].size + chunk[0].size, np.bool_)
    others[at] = False
    out = []
    for column, part in zip(run, chunk, strict=True):
        merged = np.empty(others.size, column.dtype)
        merged[at] = part
        merged[others] = column
        out.append(merged)
    return tuple(out)
