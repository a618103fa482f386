"""Near-duplicate articles: one wire story republished under other URLs and ids.

Pure functions and one in-memory container; no I/O, no clock, no network.

* :func:`normalise` makes the text two republications share: NFKC (full-/half-width),
  lower case, no source lines (``（文章来源：…）``, ``来源：…``, ``责任编辑：…``), no
  URLs, no headline suffix (``｜证券时报``), no punctuation or whitespace.
* :func:`sketch` turns an article into a :class:`Sketch`: a 128-value MinHash of its
  4-character shingles (one-permutation hashing with rotation densification) plus
  the set of numbers and dates in it.
* :func:`bands` gives the LSH bucket keys of a sketch (stable strings for a DB
  index column); :func:`similar` / :func:`is_duplicate` decide a pair.  **Numbers
  and dates count**: two versions are duplicates only if the numbers of one are
  all found in the other (a dropped paragraph takes numbers away, it never
  changes them), so "沪深两市收盘：沪指涨0.52%" of two days never merge.
* :class:`NearDupIndex` finds, in near-linear time, the cluster an article
  belongs to: the earliest-added matching article within a time window.  The
  decision (:func:`choose`) is separate from the container, so a store table
  ``(bucket, seq, article_id, cluster_id, timestamp, sketch)`` can back it later.

Hashing never uses Python's ``hash()`` of strings (randomised per process):
shingles are the UTF-16 code units themselves, mixed by an explicit 64-bit
multiply, so sketches and bucket keys are identical in every process and on
every run.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from operator import and_, eq, mul, rshift
from typing import NamedTuple

SHINGLE = 4  # characters per shingle: 4 UTF-16 code units = one 64-bit integer
PERMUTATIONS = 128  # MinHash values (one-permutation hashing: bins)
BANDS = 32  # LSH bands of ROWS values: a pair with Jaccard 0.5 shares a band with p≈0.87, 0.6 → 0.99
ROWS = PERMUTATIONS // BANDS
DEFAULT_THRESHOLD = 0.5  # tuned on benchmarks/neardup_eval.py (see benchmarks/README.md)
DEFAULT_WINDOW = 7 * 86400.0  # seconds: versions further apart than this are different stories
VERSION = "m1"  # in every bucket key: change it whenever the sketch changes

_BIN_SHIFT = 64 - 7  # the top 7 bits of a hash pick its bin: 2**7 == PERMUTATIONS
_MASK64 = (1 << 64) - 1
_MULTIPLIER = 0x9E3779B97F4A7C15  # odd 64-bit constant (golden ratio): multiply-shift hashing
_EMPTY = _MASK64  # a bin of an empty text

# ------------------------------------------------------------------ normalising

_URL = re.compile(r"(?:https?:)?//[^\s<>\"'()（）]+|www\.[^\s<>\"'()（）]+", re.IGNORECASE)
# The patterns accept both widths ("（文章来源：…）" and "(文章来源:…)"): the text is folded
# to NFKC only after the punctuation is gone (see _fold).
_SOURCE_BRACKET = re.compile(
    r"[(（\[【]\s*(?:文章来源|来源|责任编辑|编辑|原标题|作者|记者)\s*[:：][^)）\]】\n]*[)）\]】]"
)
# A label at the start of a line or after a sentence, then ONE name (no spaces or sentence
# punctuation: a whitespace-joined article must not lose its next sentence), then a date/time.
_SOURCE_LINE = re.compile(
    r"(?:^|(?<=[\s。.!?！？]))(?:文章来源|本文来源|来源|责任编辑|编辑|原标题|校对|审核)\s*[:：]\s*"
    r"[^\s,，。;；!?！？]{1,30}(?:\s*\d{4}[-/－／年]\d{1,2}[-/－／月]\d{1,2}日?(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?)?",
    re.MULTILINE,
)
_SOURCE_LABELS = ("来源", "编辑", "原标题", "校对", "审核", "作者", "记者")
_TITLE_SUFFIX = re.compile(r"\s*[|｜_＿—–\-－]+\s*[^|｜_＿—–\-－\d]{1,12}$")
_NOT_WORD = re.compile(r"[\W_]+")
_NUMBER = re.compile(r"\d+(?:[.,．，]\d+)*")  # \d: any Unicode digit, full-width ones included
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
# NFKC maps the full-width forms U+FF01-FF5E to ASCII and U+3000 to a space.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FULL_WIDTH_WORD = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


def _prepare(title: str, text: str) -> str:
    """Lower case, no URLs, no source lines, no headline suffix; punctuation and widths kept."""
    title = _TITLE_SUFFIX.sub("", title.lower().strip())
    body = text.lower()
    if "//" in body or "www." in body:
        body = _URL.sub(" ", body)
    if any(label in body for label in _SOURCE_LABELS):
        body = _SOURCE_BRACKET.sub(" ", body)
        body = _SOURCE_LINE.sub(" ", body)
    return f"{title}\n{body}"


def _fold(words: str) -> str:
    """NFKC of a text that has only word characters left.

    Speed trick: Chinese text is full of full-width punctuation, so NFKC of a whole
    article is never a no-op and costs ~40 µs; once punctuation is stripped, the
    rest is nearly always NFKC already (a 0.5 µs check), and full-width digits and
    letters are mapped with str.translate only when there are any.
    """
    if _FULL_WIDTH_WORD.search(words):
        words = words.translate(_FULL_WIDTH)
    if unicodedata.is_normalized("NFKC", words):
        return words
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", words))  # "½" → "1⁄2" → "12"


def normalise(title: str, text: str) -> str:
    """The comparable text of an article: see the module docstring."""
    return _fold(_NOT_WORD.sub("", _prepare(title, text)))


def _number_token(raw: str) -> str:
    if not raw.isascii():
        raw = unicodedata.normalize("NFKC", raw)  # "１２．５" → "12.5"
    if _THOUSANDS.fullmatch(raw):
        raw = raw.replace(",", "")
    parts = raw.split(",")  # "1,2" is a list, not a number
    out = []
    for part in parts:
        whole, dot, frac = part.partition(".")
        whole = whole.lstrip("0") or "0"
        frac = frac.rstrip("0")
        out.append(f"{whole}.{frac}" if dot and frac else whole)
    return ",".join(out)


def numbers(title: str, text: str) -> frozenset[str]:
    """The numbers and dates of an article as canonical tokens ("01" → "1", "5.20" → "5.2", "1,234" → "1234").

    Source lines and URLs are left out (their dates and ids are not the story's).
    """
    return _numbers_of(_prepare(title, text))


def _numbers_of(prepared: str) -> frozenset[str]:
    tokens: set[str] = set()
    for raw in _NUMBER.findall(prepared):
        token = _number_token(raw)
        if "," in token:
            tokens.update(token.split(","))
        else:
            tokens.add(token)
    return frozenset(tokens)


_BLOCKS = ("p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section", "article")


def html_to_text(html: str) -> str:
    """The text of an HTML fragment, one line per block element (so source lines stay lines)."""
    if not html.strip():
        return ""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.LxmlError, ValueError):
        return html
    for element in root.iter(*_BLOCKS):
        element.tail = "\n" + (element.tail or "")
    return root.text_content()


# ------------------------------------------------------------------ sketches


@dataclass(frozen=True, slots=True)
class Sketch:
    """A deterministic, picklable signature of one article.

    ``values``: PERMUTATIONS MinHash values (unsigned 64-bit); ``size``: the number
    of distinct shingles (0 for an empty text); ``numbers``: sorted number/date
    tokens.  :meth:`to_bytes` / :meth:`from_bytes` store it in a BLOB column.
    """

    values: tuple[int, ...]
    size: int
    numbers: tuple[str, ...] = field(default=())

    def to_bytes(self) -> bytes:
        head = array("Q", (self.size, *self.values))
        if _BIG_ENDIAN_HOST:  # pragma: no cover
            head.byteswap()
        return head.tobytes() + "\x1f".join(self.numbers).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Sketch:
        cut = 8 * (PERMUTATIONS + 1)
        head = array("Q", data[:cut])
        if _BIG_ENDIAN_HOST:  # pragma: no cover
            head.byteswap()
        tail = data[cut:].decode()
        return cls(tuple(head[1:]), head[0], tuple(tail.split("\x1f")) if tail else ())


_BIG_ENDIAN_HOST = array("H", b"\x00\x01")[0] == 1


def _shingles(text: str) -> set[int]:
    """The distinct SHINGLE-character windows of ``text`` as 64-bit integers.

    Speed trick: the UTF-16 bytes read as unsigned 64-bit integers at the four
    2-byte offsets ARE every 4-character window, made by ``array`` in C; no
    slicing, no per-shingle Python code (≈4x faster than ``{b[i:i+8] …}`` +
    ``int.from_bytes``).  Assumes 4-character shingles and an 8-byte array "Q".
    """
    data = text.encode("utf-16-le", "surrogatepass")
    if len(data) < 8:
        return {int.from_bytes(data, "little")} if data else set()
    windows: set[int] = set()
    for offset in (0, 2, 4, 6):
        usable = (len(data) - offset) // 8 * 8
        if usable:
            windows.update(array("Q", data[offset : offset + usable]))
    # array("Q") reads in host order: make the integers the same on any host.
    if _BIG_ENDIAN_HOST:  # pragma: no cover
        windows = {int.from_bytes(w.to_bytes(8, "big"), "little") for w in windows}
    return windows


def _minhash(shingles: set[int]) -> tuple[int, ...]:
    """One-permutation MinHash: hash each shingle once, keep the minimum per bin.

    h = (x * odd constant) mod 2**64 (multiply-shift); the top 7 bits pick the
    bin, the hash is the value.  Everything runs in C (``map`` with
    ``operator`` functions; a descending sort then ``dict`` keeps each bin's
    minimum, the last value written).  Empty bins borrow the value of the next
    non-empty bin to the right with the distance in the top bits ("rotation"
    densification, Shrivastava & Li 2014), so sketches of short texts still compare.
    """
    if not shingles:
        return (_EMPTY,) * PERMUTATIONS
    hashes = sorted(map(and_, map(mul, shingles, repeat(_MULTIPLIER)), repeat(_MASK64)), reverse=True)
    mins = dict(zip(map(rshift, hashes, repeat(_BIN_SHIFT)), hashes, strict=True))
    if len(mins) == PERMUTATIONS:
        return tuple(mins[i] for i in range(PERMUTATIONS))
    values = [mins.get(i, -1) for i in range(PERMUTATIONS)]
    for i in range(PERMUTATIONS):
        if values[i] < 0:
            # The donor's own top bits name its bin, hence the distance: a borrowed
            # value never equals a genuine value of bin i, and two sketches agree
            # on an empty bin exactly when they borrow the same value.
            distance = 1
            while (donor := mins.get((i + distance) % PERMUTATIONS)) is None:
                distance += 1
            values[i] = donor
    return tuple(values)


def sketch(title: str, text: str) -> Sketch:
    """The sketch of an article (``text`` is plain text: see :func:`html_to_text`)."""
    prepared = _prepare(title, text)
    shingles = _shingles(_fold(_NOT_WORD.sub("", prepared)))
    return Sketch(_minhash(shingles), len(shingles), tuple(sorted(_numbers_of(prepared))))


def html_sketch(title: str, html: str) -> bytes:
    """The stored sketch of a version: its title and the plain text of its HTML."""
    return sketch(title, html_to_text(html)).to_bytes()


def bands(sk: Sketch) -> list[str]:
    """The LSH bucket keys of ``sk``: ``"m1:07:3f2a9c0e51b7d468"`` (version, band, 64-bit digest).

    Two sketches share a key when all ROWS values of a band are equal.  An empty
    text has no keys (it matches nothing).
    """
    if sk.size == 0:
        return []
    packed = array("Q", sk.values)
    if _BIG_ENDIAN_HOST:  # pragma: no cover
        packed.byteswap()
    data = packed.tobytes()
    step = 8 * ROWS
    blake = hashlib.blake2b
    return [
        f"{VERSION}:{band:02d}:{blake(data[band * step : band * step + step], digest_size=8).hexdigest()}"
        for band in range(BANDS)
    ]


def jaccard(a: Sketch, b: Sketch) -> float:
    """Estimated Jaccard similarity of the two shingle sets (fraction of equal MinHash values)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    return sum(map(eq, a.values, b.values)) / PERMUTATIONS


def similar(a: Sketch, b: Sketch) -> float:
    """The similarity :func:`is_duplicate` thresholds: the estimated Jaccard similarity.

    (Jaccard, not containment: containment would merge a one-line flash into
    every long article that quotes it.)
    """
    return jaccard(a, b)


def numbers_agree(a: Sketch, b: Sketch) -> bool:
    """The numbers of one are all found in the other (either way round)."""
    small, large = (a.numbers, b.numbers) if len(a.numbers) <= len(b.numbers) else (b.numbers, a.numbers)
    return set(small).issubset(large)


def is_duplicate(a: Sketch, b: Sketch, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Same story: similar enough, and no number or date of one contradicts the other."""
    return similar(a, b) >= threshold and numbers_agree(a, b)


# ------------------------------------------------------------------ clusters


class Candidate(NamedTuple):
    """An article already seen, as an index (or a store table) holds it."""

    seq: int  # order of addition: the earliest-added match wins
    article_id: str
    cluster_id: str  # the id of the first version of its story
    timestamp: float
    sketch: Sketch


def choose(
    candidates: Iterable[Candidate],
    sk: Sketch,
    timestamp: float,
    window_seconds: float = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
) -> Candidate | None:
    """The pure decision: the earliest-added candidate within the window that is a duplicate of ``sk``."""
    best: Candidate | None = None
    for candidate in candidates:
        if best is not None and candidate.seq >= best.seq:
            continue
        if abs(candidate.timestamp - timestamp) > window_seconds:
            continue
        if is_duplicate(candidate.sketch, sk, threshold):
            best = candidate
    return best


class NearDupIndex:
    """In memory: bucket key → candidates sorted by timestamp.

    ``find`` looks only at the candidates sharing a bucket and dated within the
    window (a bisect per bucket), so N articles cost near-linear time even when a
    template story (a fund's daily notice) fills a bucket over the years.
    """

    __slots__ = ("_buckets", "_clusters", "_seq", "threshold")

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self._buckets: dict[str, tuple[list[float], list[Candidate]]] = {}
        self._clusters: dict[str, str] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._clusters)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._clusters

    def cluster_of(self, article_id: str) -> str | None:
        return self._clusters.get(article_id)

    def add(self, article_id: str, sk: Sketch, timestamp: float, cluster_id: str | None = None) -> None:
        """Remember an article (``cluster_id``: the story it belongs to, itself by default).

        Adding an id twice is a no-op: a cluster never changes once decided.
        """
        if article_id in self._clusters:
            return
        cluster = cluster_id or article_id
        self._clusters[article_id] = cluster
        candidate = Candidate(self._seq, article_id, cluster, timestamp, sk)
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

    def find(self, sk: Sketch, timestamp: float, window_seconds: float = DEFAULT_WINDOW) -> str | None:
        """The cluster id of the earliest-added duplicate of ``sk`` within the window, or None."""
        match = choose(self.candidates(sk, timestamp, window_seconds), sk, timestamp, window_seconds, self.threshold)
        return match.cluster_id if match else None

    def assign(self, article_id: str, sk: Sketch, timestamp: float, window_seconds: float = DEFAULT_WINDOW) -> str:
        """Find the article's cluster (itself when new), add it, return the cluster id."""
        known = self._clusters.get(article_id)
        if known is not None:
            return known
        cluster = self.find(sk, timestamp, window_seconds) or article_id
        self.add(article_id, sk, timestamp, cluster)
        return cluster
