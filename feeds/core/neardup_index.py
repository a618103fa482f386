"""An in-memory LSH index of stored versions: bucket id -> (version, date, source).  Pure, numpy.

The store keeps the sketches; this index, rebuilt from them and kept up to date
by the store, answers "which stored versions of other sources, dated within the
window, share the most buckets with this new one" for a whole poll at once,
with no per-version SQL and no bucket rows written to disk (random-key index
inserts were most of storing a poll, and most of its commit).

Memory: 16 bytes per bucket row (bucket 8, date in minutes 4, version 4; the
source 2 more), 33 rows a version, plus the start of its sketch (its MinHash, for
a first comparison without SQL): ~0.8 KB a version, 50k versions ~40 MB; rows
dated out of every window that can still come are dropped (:meth:`prune`).  New
rows go to a small tail (a dict) and are merged into the sorted arrays in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MERGE_AT = 20_000  # tail rows merged into the sorted arrays at once (memory: a tail row is ~150 bytes)


class BucketIndex:
    """Bucket rows (bucket, ts, seq, source) searchable by bucket; see the module docstring."""

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self._bucket = np.empty(0, np.int64)  # sorted
        self._ts = np.empty(0, np.int32)  # minutes since the epoch (a window is hours)
        self._seq = np.empty(0, np.int32)
        self._source = np.empty(0, np.int16)
        self._tail: dict[int, list[tuple[int, int, int]]] = {}
        self._tail_rows = 0
        self._sources: dict[str, int] = {}
        self._dead: set[int] = set()
        self._heads: dict[int, bytes] = {}  # seq -> the start of its sketch (neardup.HEAD bytes: its MinHash)
        self.last_seq = 0  # the highest seq read back from the store: it reads the versions stored after it

    def __len__(self) -> int:
        return int(self._bucket.size) + self._tail_rows

    def source_id(self, name: str) -> int:
        return self._sources.setdefault(name, len(self._sources) % 32000)

    def add(self, seq: int, ts: float, source: str, buckets: Iterable[int], head: bytes) -> None:
        """A stored version's buckets and the start of its sketch (``head``: what a first comparison reads)."""
        src = self.source_id(source)
        minute = int(ts // 60)
        for bucket in buckets:
            self._tail.setdefault(bucket, []).append((minute, seq, src))
            self._tail_rows += 1
        self._heads[seq] = head
        if self._tail_rows >= MERGE_AT:
            self._merge()

    def head(self, seq: int) -> bytes:
        """The start of a version's sketch, as added ("" when it is not held)."""
        return self._heads.get(seq, b"")

    def remove(self, seqs: Iterable[int]) -> None:
        """Versions no longer stored (their sketch replaced): never candidates again."""
        for seq in seqs:
            self._dead.add(seq)
            self._heads.pop(seq, None)

    def prune(self, horizon: float) -> None:
        """Drop the rows dated before ``horizon`` (and the removed versions')."""
        np = self._np
        self._merge()
        keep = self._ts >= int(horizon // 60)
        if self._dead:
            keep &= ~np.isin(self._seq, np.fromiter(self._dead, np.int64, len(self._dead)))
            self._dead.clear()
        if not keep.all():
            for seq in set(self._seq[~keep].tolist()):
                self._heads.pop(seq, None)
            self._bucket, self._ts, self._seq, self._source = (a[keep] for a in (self._bucket, self._ts, self._seq,
                                                                                   self._source))  # fmt: skip

    def _merge(self) -> None:
        """The tail into the sorted arrays: sorted, then inserted where it belongs (one copy of each array)."""
        if not self._tail_rows:
            return
        np = self._np
        keys = sorted(self._tail)
        buckets = np.fromiter((b for b in keys for _ in self._tail[b]), np.int64, self._tail_rows)
        rows = [row for b in keys for row in self._tail[b]]
        ts = np.fromiter((r[0] for r in rows), np.int32, len(rows))
        seq = np.fromiter((r[1] for r in rows), np.int32, len(rows))
        src = np.fromiter((r[2] for r in rows), np.int16, len(rows))
        at = np.searchsorted(self._bucket, buckets, "right")
        self._bucket = np.insert(self._bucket, at, buckets)
        self._ts = np.insert(self._ts, at, ts)
        self._seq = np.insert(self._seq, at, seq)
        self._source = np.insert(self._source, at, src)
        self._tail.clear()
        self._tail_rows = 0

    def shared(
        self, queries: Sequence[tuple[Sequence[int], float]], window: float, source: str, cap: int
    ) -> list[dict[int, int]]:
        """For each new version (its buckets, its date): the stored versions of OTHER sources dated within
        ``window`` of it sharing a bucket with it, seq -> how many buckets they share.  A bucket holding
        more than ``cap`` such versions is passed over (a template, a shared paragraph: no evidence of
        one story).  One search of the sorted rows for the whole batch."""
        np = self._np
        mine = self._sources.get(source, -1)
        reach = int(window // 60) + 1  # minutes (dates are held to the minute: one more, never one less)
        out: list[dict[int, int]] = [{} for _ in queries]
        flat = [b for buckets, _ in queries for b in buckets]
        if not flat:
            return out
        owner = [i for i, (buckets, _) in enumerate(queries) for _ in buckets]
        found: list[list[int]] = [[] for _ in flat]
        if self._bucket.size:
            query = np.asarray(flat, np.int64)
            lows = np.searchsorted(self._bucket, query, "left")
            highs = np.searchsorted(self._bucket, query, "right")
            for k in np.flatnonzero(highs > lows).tolist():
                low, high, minute = int(lows[k]), int(highs[k]), int(queries[owner[k]][1] // 60)
                ok = (np.abs(self._ts[low:high] - minute) <= reach) & (self._source[low:high] != mine)
                found[k] = self._seq[low:high][ok].tolist()
        if self._tail:
            for k, bucket in enumerate(flat):
                rows = self._tail.get(bucket)
                if rows:
                    minute = int(queries[owner[k]][1] // 60)
                    found[k] += [seq for when, seq, src in rows if src != mine and abs(when - minute) <= reach]
        dead = self._dead
        for k, seqs in enumerate(found):
            if 0 < len(seqs) <= cap:
                counts = out[owner[k]]
                for seq in seqs:
                    if seq not in dead:
                        counts[seq] = counts.get(seq, 0) + 1
        return out

    def arrays(self) -> tuple[np.ndarray, ...]:  # for tests: the merged rows
        self._merge()
        return self._bucket, self._ts, self._seq, self._source
