"""feeds.core.neardup_minhash (numpy) computes exactly the one-permutation MinHash written out in plain
Python below (the implementation it replaced): the oracle."""

from __future__ import annotations

import sys
from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.core.neardup_minhash import PERMUTATIONS, minhash, shingles

MULTIPLIER = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


def reference_shingles(text: str) -> set[int]:
    """Every 4-code-unit window of the UTF-16 text, read as a little-endian 64-bit integer."""
    data = text.encode("utf-16-le", "surrogatepass")
    if len(data) < 8:
        return {int.from_bytes(data, "little")} if data else set()
    return {int.from_bytes(data[k : k + 8], "little") for k in range(0, len(data) - 7, 2)}


def reference_minhash(text: str) -> bytes:
    values = reference_shingles(text)
    if not values:
        return b""
    mins: dict[int, int] = {}
    for value in values:
        h = (value * MULTIPLIER) & MASK
        b = h >> 57
        mins[b] = min(mins.get(b, MASK + 1), h)
    out = []
    for i in range(PERMUTATIONS):
        d = 0
        while (i + d) % PERMUTATIONS not in mins:  # an empty bin borrows from the next filled bin to the right
            d += 1
        out.append((mins[(i + d) % PERMUTATIONS] >> 41) & 0xFFFF)
    packed = array("H", out)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_numpy_minhash_is_the_reference_minhash(text: str) -> None:
    assert set(shingles(text).tolist()) == reference_shingles(text)
    assert minhash(text) == reference_minhash(text)


def test_long_and_short_texts() -> None:
    long = "记者从多家机构获悉今年以来公募基金加快布局权益类产品年内新发规模达到1234亿元" * 40
    assert minhash(long) == reference_minhash(long) and len(minhash(long)) == 2 * PERMUTATIONS
    for short in ("", "a", "ab", "abc", "abcd", "𝐀𝐁"):  # fewer windows than bins; a character outside the BMP
        assert minhash(short) == reference_minhash(short)
