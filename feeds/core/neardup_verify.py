"""Is one text the other with lines added or dropped, or a template filled in differently?

Pure functions on *unit sequences* (see :mod:`feeds.core.neardup`): a unit is one
sentence, title part or line of the normalised text, kept as

* ``hash``: its *skeleton* (the text with each number replaced by one
  placeholder) read as a polynomial in base 2**32 (one code point per digit)
  modulo the prime :data:`PRIME`, so that the hash of two units joined is
  computed from theirs (:func:`join`: a paragraph re-wrapped differently is
  still recognised).  Not a keyed hash: two different units collide with a
  probability of about 2**-32, and must then also agree in length and numbers;
* ``length``: the skeleton's length in code points;
* ``numbers``: its numbers, canonical, joined by :data:`SEP` (compared exactly,
  never hashed).

Republications differ from the wire text by **insertions and deletions** (a
source line, a lead-in, a caption added; closing paragraphs dropped);
instances of a template differ by **substitutions** (other numbers or names in
the same place).  :func:`compare` aligns two sequences on their longest
common subsequence of equal units and looks at every gap between matched
units: a gap with units on one side only is an insertion/deletion; a gap with
units on both sides is a substitution unless the two sides are the same text
cut into other units (re-wrapped), found by joining units from either end of
the gap until their lengths meet.  So the numbers rule is exact, not a subset
test: a number missing from one side sits in text missing from that side, and
a number that differs in the same place is a substitution.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import NamedTuple

PRIME = 3855817283  # a prime below 2**32 (unit hashes fit 4 bytes), far from it: 2**32 mod PRIME is no small base
BASE = 1 << 32  # one code point (UTF-32) per digit
MAX_REPEAT = 8  # positions of one unit looked at in the other text (bounds a repetitive text's cost)

SEP = "\x1f"  # between the numbers of a unit
Unit = tuple[int, int, str]  # (hash, length, numbers)


def unit_hash(skeleton: str) -> int:
    """The polynomial hash of a skeleton (C speed: its UTF-32 bytes as one big integer)."""
    return int.from_bytes(skeleton.encode("utf-32-be", "surrogatepass"), "big") % PRIME


_POWERS = [pow(BASE, n, PRIME) for n in range(512)]  # BASE**length mod PRIME, for the usual lengths


def join(units: Sequence[Unit]) -> Unit:
    """The unit of the units' texts joined (hash, length and numbers of the concatenation)."""
    h = n = 0
    numbers = []
    for uh, un, unumbers in units:
        h = (h * (_POWERS[un] if un < 512 else pow(BASE, un, PRIME)) + uh) % PRIME
        n += un
        if unumbers:
            numbers.append(unumbers)
    return h, n, SEP.join(numbers)


class Gap(NamedTuple):
    """Units of ``a[a_start:a_end]`` stand where ``b[b_start:b_end]`` stand in the other text."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int


class Finding(NamedTuple):
    matched: int  # characters of the text in matched (or re-wrapped) units
    substitution: Gap | None  # the first gap with other text on both sides, None when there is none
    numbers: int  # matched units that hold numbers


def lcs(a: Sequence[Unit], b: Sequence[Unit]) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of equal units (Hunt–Szymanski: O((r + n) log n)
    for r equal pairs; at most :data:`MAX_REPEAT` positions of one unit are considered)."""
    where: dict[Unit, list[int]] = {}
    for j, unit in enumerate(b):
        seen = where.setdefault(unit, [])
        if len(seen) < MAX_REPEAT:
            seen.append(j)
    tails: list[int] = []  # tails[k]: the smallest j ending a common subsequence of length k + 1
    links: list[tuple[int, int, object]] = []  # its last pair, with a link to the one before
    for i, unit in enumerate(a):
        for j in reversed(where.get(unit, ())):
            k = bisect_left(tails, j)
            node = (i, j, links[k - 1] if k else None)
            if k == len(tails):
                tails.append(j)
                links.append(node)
            else:
                tails[k] = j
                links[k] = node
    out: list[tuple[int, int]] = []
    node: object = links[-1] if links else None
    while node is not None:
        i, j, node = node  # type: ignore[misc]
        out.append((i, j))
    out.reverse()
    return out


def _rewrapped(a: Sequence[Unit], b: Sequence[Unit], reverse: bool) -> tuple[int, int]:
    """How many units of ``a`` and ``b``, taken from the start (or the end), are the same text cut
    into other units: joined one at a time, the shorter side first, until the lengths meet."""
    if reverse:
        a, b = a[::-1], b[::-1]
    i = j = done_i = done_j = 0
    pa: list[Unit] = []
    pb: list[Unit] = []
    la = lb = 0
    while True:
        if la and la == lb:
            ja, jb = join(pa[::-1] if reverse else pa), join(pb[::-1] if reverse else pb)
            if ja != jb:
                return done_i, done_j
            done_i, done_j, pa, pb, la, lb = i, j, [], [], 0, 0
        if la <= lb:
            if i == len(a):
                return done_i, done_j
            pa.append(a[i])
            la += a[i][1]
            i += 1
        else:
            if j == len(b):
                return done_i, done_j
            pb.append(b[j])
            lb += b[j][1]
            j += 1


def compare(a: Sequence[Unit], b: Sequence[Unit]) -> Finding:
    """Align ``a`` and ``b``: the text they share, and the first substitution (see the module doc).

    Speed: the common head and tail are matched first (republications differ mostly at
    their ends), the longest common subsequence is looked for only in between.
    """
    if a == b:
        return Finding(sum(u[1] for u in a), None, sum(1 for u in a if u[2]))
    head, tail, most = 0, 0, min(len(a), len(b))
    while head < most and a[head] == b[head]:
        head += 1
    while tail < most - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    ea, eb = len(a) - tail, len(b) - tail
    middle = [(head + i, head + j) for i, j in lcs(a[head:ea], b[head:eb])]
    shared = [*a[:head], *(a[i] for i, _ in middle), *a[ea:]]
    matched, numbers = sum(u[1] for u in shared), sum(1 for u in shared if u[2])
    i0, j0 = head - 1, head - 1
    for i1, j1 in [*middle, (ea, eb)]:
        if i1 - i0 > 1 and j1 - j0 > 1:  # units on both sides: re-wrapped, or a substitution
            sa, sb = a[i0 + 1 : i1], b[j0 + 1 : j1]
            head_a, head_b = _rewrapped(sa, sb, reverse=False)
            tail_a, tail_b = _rewrapped(sa[head_a:], sb[head_b:], reverse=True)
            rest_a, rest_b = len(sa) - head_a - tail_a, len(sb) - head_b - tail_b
            same = [*sa[:head_a], *sa[len(sa) - tail_a :]]
            matched += sum(u[1] for u in same)
            numbers += sum(1 for u in same if u[2])
            if rest_a and rest_b:
                gap = Gap(i0 + 1 + head_a, i0 + 1 + head_a + rest_a, j0 + 1 + head_b, j0 + 1 + head_b + rest_b)
                return Finding(matched, gap, numbers)
        i0, j0 = i1, j1
    return Finding(matched, None, numbers)


def same_text(a: Sequence[Unit], b: Sequence[Unit]) -> bool:
    """The two sequences are one text (however it is cut into units)."""
    return a == b or (sum(u[1] for u in a) == sum(u[1] for u in b) and join(a) == join(b))
