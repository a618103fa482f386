"""Near-duplicate articles: one wire story republished under other URLs and ids.

Pure functions and one in-memory container; no I/O, no clock, no network.

* :func:`sketch` turns an article (title, plain text) into a :class:`Sketch`:
  the text is normalised (full-/half-width folded, lower case, no URLs, no
  source/editor lines ``（文章来源：…）`` ``责任编辑：…``, no headline suffix
  ``｜证券时报`` or label ``【快讯】``), cut into *units* (sentences, lines, title
  parts) kept as hashes, lengths and canonical numbers, and summarised by a
  128-value MinHash of its 4-character shingles.  About 0.6 KB stored for a 3 KB
  article (:meth:`Sketch.to_bytes`).
* :func:`bands`: the LSH bucket keys (the cheap candidate filter, 32 bands of 4).
* :func:`judge` / :func:`is_duplicate` decide a pair from the two sketches alone,
  with evidence proportional to the risk:

  1. a short text (a title and a line: one line under :data:`SHORT_LINE`
     characters, or any text under :data:`SHORT`) is a duplicate only of the
     same normalised text with the same numbers;
  2. otherwise the estimated Jaccard similarity must reach the threshold;
  3. the two unit sequences must differ by insertions and deletions only
     (lines added or dropped), never by a substitution (other numbers or names
     in the same place: a template filled in differently), see
     :mod:`feeds.core.neardup_verify`; and
  4. what they share must hold a number, or be at least :data:`EVIDENCE`
     characters (a column's opening and a stock sentence are not a story).
* :func:`explain`: the one-line reason of a decision, for ``feeds explain``.
* :func:`choose` picks, among stored duplicates, the canonical one: earliest
  date, then key (:func:`rank`), whatever the order they arrived in;
  :class:`NearDupIndex` keeps clusters in memory with it.

Hashing never uses Python's ``hash()`` of strings (randomised per process):
sketches and bucket keys are identical in every process and on every run.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from feeds.core import neardup_verify as verify
from feeds.core.neardup_text import Units, html_to_text, lines, normalise, numbers, prepare, units, words

__all__ = ["html_to_text", "normalise", "numbers"]  # re-exported: the text side lives in neardup_text

SHINGLE = 4  # characters per shingle: 4 UTF-16 code units = one 64-bit integer
PERMUTATIONS = 128  # MinHash values (one-permutation hashing: bins), 16 bits each once stored
BANDS = 32  # LSH bands of ROWS values: a pair with Jaccard 0.5 shares a band with p≈0.87, 0.6 → 0.99
ROWS = PERMUTATIONS // BANDS
DEFAULT_THRESHOLD = 0.5  # tuned on benchmarks/neardup_eval.py (see benchmarks/README.md)
DEFAULT_WINDOW = 7 * 86400.0  # seconds: versions further apart than this are different stories
SHORT = 80  # normalised characters: a text this short is "short"; so is a title and one line under SHORT_LINE
SHORT_LINE = 200  # a flash: a title and one sentence (a whole article on one line, no paragraphs, is not short)
EVIDENCE = 300  # characters two texts must share when what they share has no number (about 1 KB of UTF-8)
VERSION = "m2"  # in every bucket key and stored sketch: change it whenever the sketch changes

_MAGIC = b"\x00m2\x00"  # a sketch of the previous format ("m1") never starts with a zero then "m"
_WIDE, _SHORT = 1, 2  # header flags: unit lengths stored on 2 bytes; a short text
_BIG_ENDIAN_HOST = array("H", b"\x00\x01")[0] == 1

# ------------------------------------------------------------------ sketches


_NO_UNITS = Units(0, (), "")


@dataclass(frozen=True, slots=True)
class Sketch:
    """A deterministic, picklable signature of one article: all a decision needs.

    ``minhash``: PERMUTATIONS 16-bit MinHash values (little-endian bytes; empty
    for an empty text); ``size``: normalised characters (0: an empty text, or no
    sketch at all, see :meth:`from_bytes`); ``short``: under :data:`SHORT`
    characters, or a title and one line under :data:`SHORT_LINE` (a flash);
    ``units``: the unit sequence.
    """

    minhash: bytes = b""
    size: int = 0
    short: bool = True
    units: Units = _NO_UNITS

    def to_bytes(self) -> bytes:
        """Magic, header (size, title units, unit count, flags), MinHash, unit hashes, unit lengths,
        then text: each unit's numbers (units apart by RS, numbers by US), GS, the context characters."""
        u = self.units
        wide = any(item[1] > 255 for item in u.items)
        hashes = array("I", [item[0] for item in u.items])
        lengths = array("H" if wide else "B", [item[1] for item in u.items])
        head = array("H", (min(self.size, 65535), u.title, len(u.items), wide * _WIDE + self.short * _SHORT))
        if _BIG_ENDIAN_HOST:  # pragma: no cover
            for part in (hashes, lengths, head):
                part.byteswap()
        text = "\x1e".join(item[2] for item in u.items) + "\x1d" + u.contexts
        return b"".join((_MAGIC, head.tobytes(), self.minhash, hashes.tobytes(), lengths.tobytes(), text.encode()))

    @classmethod
    def from_bytes(cls, data: bytes) -> Sketch:
        """The sketch stored by :meth:`to_bytes`.

        A blob of another version (the previous "m1" format) or a damaged one gives
        :data:`NO_SKETCH` (``size == 0``: no bucket keys, a duplicate of nothing),
        never an exception: the caller treats that version as not sketched (and may
        sketch it again; :meth:`readable` tells which).
        """
        try:
            return cls._parse(data)
        except (ValueError, IndexError, UnicodeDecodeError):
            return NO_SKETCH

    @classmethod
    def _parse(cls, data: bytes) -> Sketch:
        """Speed: a few C-level calls (``array``, ``split``, ``zip``), nothing per unit in Python."""
        if data[:4] != _MAGIC:
            raise ValueError("not a sketch of this version")
        head = array("H", data[4:12])
        if _BIG_ENDIAN_HOST:  # pragma: no cover
            head.byteswap()
        size, title, count, flags = head
        at = 12 + (2 * PERMUTATIONS if size else 0)
        end = at + (6 if flags & _WIDE else 5) * count
        hashes = array("I", data[at : at + 4 * count])
        lengths = array("H" if flags & _WIDE else "B", data[at + 4 * count : end])
        if _BIG_ENDIAN_HOST:  # pragma: no cover
            hashes.byteswap()
            lengths.byteswap()
        numbers, mark, contexts = data[end:].decode().partition("\x1d")
        segments = numbers.split("\x1e") if count else []
        if not mark or len(segments) != count or title > count or len(data) < end or not (size or not count):
            raise ValueError("truncated sketch")
        if len(contexts) != numbers.count("\x1f") + count - segments.count(""):
            raise ValueError("damaged numbers")
        items = tuple(zip(hashes, lengths, segments, strict=True))
        return cls(data[12:at], size, bool(flags & _SHORT), Units(title, items, contexts))

    @staticmethod
    def readable(data: bytes) -> bool:
        """``data`` is a sketch of this version (else the version needs sketching again)."""
        return data[:4] == _MAGIC and (Sketch.from_bytes(data) is not NO_SKETCH or data == _EMPTY_BYTES)


NO_SKETCH = Sketch()
_EMPTY_BYTES = NO_SKETCH.to_bytes()


def sketch(title: str, text: str) -> Sketch:
    """The sketch of an article (``text`` is plain text: see :func:`html_to_text`)."""
    title, body = prepare(title, text)
    u = units(title, body)
    if not u.items:
        return NO_SKETCH
    from feeds.core.neardup_minhash import minhash  # numpy: imported by the first sketch only

    size = min(sum(item[1] for item in u.items), 65535)  # as stored
    short = size < SHORT or (size < SHORT_LINE and lines(body) <= 1)
    return Sketch(minhash(words(f"{title}\n{body}")), size, short, u)


def html_sketch(title: str, html: str) -> bytes:
    """The stored sketch of a version: its title and the plain text of its HTML."""
    return sketch(title, html_to_text(html)).to_bytes()


def bands(sk: Sketch) -> list[str]:
    """The LSH bucket keys of ``sk``: ``"m2:07:3f2a9c0e51b7d468"`` (version, band, its 4 values).

    Two sketches share a key when all ROWS values of a band are equal.  An empty
    text (or no sketch) has no keys: it matches nothing.
    """
    data, step = sk.minhash, 2 * ROWS
    return [f"{VERSION}:{b:02d}:{data[b * step : (b + 1) * step].hex()}" for b in range(BANDS)] if data else []


def _salts() -> array[int]:
    """One fixed 64-bit salt per band (splitmix64 of the version and band): bands never share ids."""
    out = array("Q")
    seed = int.from_bytes(VERSION.encode(), "little")
    for band in range(BANDS):
        z = (seed * 0x9E3779B97F4A7C15 + band * 0xBF58476D1CE4E5B9 + 1) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        out.append(z ^ (z >> 31))
    return out


_SALTS = _salts()


def bucket_ids(data: bytes) -> list[int]:
    """The LSH bucket ids of a STORED sketch (:meth:`Sketch.to_bytes`) as signed 64-bit integers: band
    ``b`` is its ROWS 16-bit values read as one 64-bit integer, salted by ``b`` (the bands of
    :func:`bands`), and one more: the digest of its units (the same normalised text, numbers included),
    which finds a verbatim copy even among many template instances crowding every band.  No parse, a
    few C calls.  None for an empty text or no sketch."""
    end = 12 + 2 * PERMUTATIONS
    if data[:4] != _MAGIC or len(data) < end or not (data[4] | data[5]):
        return []
    values = array("Q", data[12:end])
    if _BIG_ENDIAN_HOST:  # pragma: no cover
        values.byteswap()
    salted = array("Q", map(int.__xor__, values, _SALTS))
    return [*array("q", salted.tobytes()).tolist(), exact_bucket(data)]


def exact_bucket(data: bytes) -> int:
    """The last of :func:`bucket_ids` of a valid stored sketch: the digest of its units."""
    end = 12 + 2 * PERMUTATIONS
    return int.from_bytes(hashlib.blake2b(data[6:10] + data[end:], digest_size=8).digest(), "little", signed=True)


def has_buckets(data: bytes) -> bool:
    """Whether a stored sketch has bucket ids (:func:`bucket_ids` is not empty)."""
    return data[:4] == _MAGIC and len(data) >= 12 + 2 * PERMUTATIONS and bool(data[4] | data[5])


SALTS = _SALTS.tobytes()  # the bands' salts, native byte order (for bucket ids computed many at once)


def jaccard(a: Sketch, b: Sketch) -> float:
    """Estimated Jaccard similarity of the two shingle sets (fraction of equal MinHash values)."""
    if not a.minhash or not b.minhash:
        return 0.0
    xor = int.from_bytes(a.minhash, "little") ^ int.from_bytes(b.minhash, "little")
    return array("H", xor.to_bytes(2 * PERMUTATIONS, "little")).count(0) / PERMUTATIONS


similar = jaccard  # the similarity the threshold applies to


class Verdict(NamedTuple):
    duplicate: bool
    similarity: float
    reason: str  # one line: why (see :func:`explain`)


def _where(units: Units, index: int) -> str:
    if index < units.title:
        return "the title"
    return f"sentence {index - units.title + 1}"


def _substitution(a: Sketch, b: Sketch, gap: verify.Gap) -> str:
    """What stands in place of what: other numbers in the same words, or other words."""
    ja = verify.join(a.units.items[gap.a_start : gap.a_end])
    jb = verify.join(b.units.items[gap.b_start : gap.b_end])
    na, nb = ja[2].split(verify.SEP), jb[2].split(verify.SEP)
    if ja[:2] == jb[:2] and len(na) == len(nb) and na != nb:  # the same words, other numbers
        k = next(k for k, (x, y) in enumerate(zip(na, nb, strict=True)) if x != y)
        before = sum(len(u[2].split(verify.SEP)) for u in a.units.items[: gap.a_start] if u[2])
        context = a.units.contexts[before + k : before + k + 1].strip()
        after = f" after '{context}'" if context else ""
        return f"number {na[k]} vs {nb[k]}{after} in {_where(a.units, gap.a_start)}"
    return f"other words in place of {_where(a.units, gap.a_start)} (a template, or another story)"


def judge(a: Sketch, b: Sketch, threshold: float = DEFAULT_THRESHOLD, reason: bool = True) -> Verdict:
    """The decision on a pair and, when ``reason``, why (see the module docstring)."""
    if not a.size or not b.size:
        return Verdict(False, 0.0, "kept apart: no text (or no sketch of this version)")
    sim = jaccard(a, b)
    if a.short or b.short:
        if verify.same_text(a.units.items, b.units.items):
            return Verdict(True, sim, f"the same short text, numbers agree (similar {sim:.2f})")
        if not reason:
            return Verdict(False, sim, "")
        change = verify.compare(a.units.items, b.units.items).substitution
        why = _substitution(a, b, change) if change else "one is the other with text added"
        return Verdict(False, sim, f"kept apart: a short text (a title and a line) is not the other: {why}")
    if sim < threshold:
        return Verdict(False, sim, f"kept apart: similar {sim:.2f}, under {threshold:.2f}")
    found = verify.compare(a.units.items, b.units.items)
    if found.substitution is not None:
        why = _substitution(a, b, found.substitution) if reason else ""
        return Verdict(False, sim, f"kept apart: {why} (similar {sim:.2f})")
    if not found.numbers and found.matched < EVIDENCE:
        why = f"they share {found.matched} characters and no number (under {EVIDENCE}: boilerplate?)"
        return Verdict(False, sim, f"kept apart: {why} (similar {sim:.2f})")
    return Verdict(True, sim, f"similar {sim:.2f}, numbers agree, no substitution (lines added or dropped only)")


def is_duplicate(a: Sketch, b: Sketch, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Same story (see :func:`judge`)."""
    return judge(a, b, threshold, reason=False).duplicate


def explain(a: Sketch, b: Sketch, threshold: float = DEFAULT_THRESHOLD) -> str:
    """One line for ``feeds explain``: "similar 0.83, numbers agree, no substitution …" or
    "kept apart: number 11 vs 1 after '源' in the title (similar 0.91)"."""
    return judge(a, b, threshold).reason


HEAD = 12 + 2 * PERMUTATIONS  # a stored sketch's magic, header and MinHash: what :func:`may_be_duplicate` reads


def may_be_duplicate(a: bytes, b: bytes, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """False when two stored sketches (or just their first :data:`HEAD` bytes) cannot be duplicates:
    the MinHash of a long text is under the threshold (a short text needs its units: True)."""
    if a[:4] != _MAGIC or b[:4] != _MAGIC or len(a) < 12 or len(b) < 12:
        return False  # another version's sketch, or a damaged one: no sketch, a duplicate of nothing
    if (a[10] | b[10]) & _SHORT:  # the flags' low byte (little-endian)
        return True
    xor = int.from_bytes(a[12:HEAD], "little") ^ int.from_bytes(b[12:HEAD], "little")
    return array("H", xor.to_bytes(2 * PERMUTATIONS, "little")).count(0) >= threshold * PERMUTATIONS


def duplicate_bytes(a: bytes, b: bytes, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """:func:`is_duplicate` of two stored sketches; a store's fast path: the MinHash of a long text is
    compared before its units are read (most candidates stop there)."""
    if not may_be_duplicate(a, b, threshold):
        return False
    return is_duplicate(Sketch.from_bytes(a), Sketch.from_bytes(b), threshold)


# ------------------------------------------------------------------ canonical duplicates and clusters


class Candidate(NamedTuple):
    """A version already seen, as an index (or a store table) holds it."""

    seq: int  # order of addition: only the last tie-breaker
    article_id: str  # the version's own key
    cluster_id: str  # the story it belongs to
    timestamp: float
    sketch: Sketch


def rank(candidate: Candidate) -> tuple[float, str, int]:
    """The canonical order of versions: earliest date, then key (never the order they arrived in)."""
    return candidate.timestamp, candidate.article_id, candidate.seq


def canonical(candidates: Iterable[Candidate]) -> Candidate | None:
    """The first of ``candidates`` in :func:`rank` order, None when there is none."""
    return min(candidates, key=rank, default=None)


def choose(
    candidates: Iterable[Candidate],
    sk: Sketch,
    timestamp: float,
    window_seconds: float = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
) -> Candidate | None:
    """The pure decision: the canonical (:func:`rank`) candidate within the window that is a duplicate of ``sk``."""
    for candidate in sorted(candidates, key=rank):
        if abs(candidate.timestamp - timestamp) <= window_seconds and is_duplicate(candidate.sketch, sk, threshold):
            return candidate
    return None


class NearDupIndex:
    """In memory: bucket key → candidates sorted by timestamp; clusters labelled by their canonical member.

    ``find`` looks only at the candidates sharing a bucket and dated within the
    window (a bisect per bucket), so N articles cost near-linear time even when a
    template story (a fund's daily notice) fills a bucket over the years.  A
    cluster's id is its earliest-dated member's (then the smallest key), so the
    same articles added in any order give the same clusters and ids when their
    duplicates are duplicates of each other.
    """

    __slots__ = ("_buckets", "_head", "_root", "_seq", "threshold")

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self._buckets: dict[str, tuple[list[float], list[Candidate]]] = {}
        self._root: dict[str, str] = {}  # article → its cluster's first-added member (internal, fixed)
        self._head: dict[str, tuple[float, str]] = {}  # cluster root → (date, key) of its canonical member
        self._seq = 0

    def __len__(self) -> int:
        return len(self._root)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._root

    def cluster_of(self, article_id: str) -> str | None:
        root = self._root.get(article_id)
        return None if root is None else self._head[root][1]

    def add(self, article_id: str, sk: Sketch, timestamp: float, cluster_id: str | None = None) -> None:
        """Remember an article (``cluster_id``: an article already added whose story this is).

        Adding an id twice is a no-op.  The cluster's id becomes this article's if it ranks first.
        """
        if article_id in self._root:
            return
        root = self._root.get(cluster_id or "", article_id)
        self._root[article_id] = root
        self._head[root] = min(self._head.get(root, (timestamp, article_id)), (timestamp, article_id))
        candidate = Candidate(self._seq, article_id, root, timestamp, sk)
        self._seq += 1
        for key in bands(sk):
            bucket = self._buckets.get(key)
            if bucket is None:
                self._buckets[key] = ([timestamp], [candidate])
            else:
                at = bisect.bisect_right(bucket[0], timestamp)
                bucket[0].insert(at, timestamp)
                bucket[1].insert(at, candidate)

    def candidates(self, sk: Sketch, timestamp: float, window_seconds: float) -> Iterable[Candidate]:
        """The articles sharing a bucket with ``sk`` and dated within the window (each once)."""
        seen: set[int] = set()
        for key in bands(sk):
            bucket = self._buckets.get(key)
            if bucket is None:
                continue
            times, entries = bucket
            low = bisect.bisect_left(times, timestamp - window_seconds)
            high = bisect.bisect_right(times, timestamp + window_seconds)
            for candidate in entries[low:high]:
                if candidate.seq not in seen:
                    seen.add(candidate.seq)
                    yield candidate

    def _match(self, sk: Sketch, timestamp: float, window_seconds: float) -> Candidate | None:
        return choose(self.candidates(sk, timestamp, window_seconds), sk, timestamp, window_seconds, self.threshold)

    def find(self, sk: Sketch, timestamp: float, window_seconds: float = DEFAULT_WINDOW) -> str | None:
        """The cluster id of the canonical duplicate of ``sk`` within the window, or None."""
        match = self._match(sk, timestamp, window_seconds)
        return None if match is None else self._head[match.cluster_id][1]

    def assign(self, article_id: str, sk: Sketch, timestamp: float, window_seconds: float = DEFAULT_WINDOW) -> str:
        """Join the canonical duplicate's cluster (or start one), return the cluster's id."""
        if article_id not in self._root:
            match = self._match(sk, timestamp, window_seconds)
            self.add(article_id, sk, timestamp, match.article_id if match else None)
        return self._head[self._root[article_id]][1]
