"""feeds.core.neardup_verify: the alignment of unit sequences and the algebra of unit hashes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.core import neardup_verify as verify
from feeds.core.neardup_text import prepare, units
from feeds.core.neardup_verify import MAX_REPEAT, compare, join, lcs, same_text, unit_hash


def lcs_length(a: list[int], b: list[int]) -> int:
    """The textbook dynamic programme: the oracle."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


small = st.lists(st.integers(0, 5), max_size=12)


@settings(max_examples=300, deadline=None)
@given(small, small)
def test_lcs_is_a_longest_common_subsequence(a: list[int], b: list[int]) -> None:
    ua, ub = [(x, 1, "") for x in a], [(x, 1, "") for x in b]
    pairs = lcs(ua, ub)
    assert all(ua[i] == ub[j] for i, j in pairs)
    assert all(i0 < i1 and j0 < j1 for (i0, j0), (i1, j1) in itertools.pairwise(pairs))
    if max([a.count(x) for x in set(a)] + [b.count(x) for x in set(b)] + [0]) <= MAX_REPEAT:
        assert len(pairs) == lcs_length(a, b)


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.lists(text, min_size=1, max_size=5))
def test_the_hash_of_joined_units_is_the_hash_of_the_joined_text(parts: list[str]) -> None:
    whole = "".join(parts)
    assert join([(unit_hash(p), len(p), "") for p in parts]) == (unit_hash(whole), len(whole), "")


def cut(body: str, width: int) -> str:
    """The body hard-wrapped: a line break every ``width`` characters, sentences or not."""
    return "\n".join(body[k : k + width] for k in range(0, len(body), width))


BODY = ("记者从多家机构获悉，今年以来公募基金加快布局权益类产品，年内新发规模达到1234亿元。从产品类型看，指数型基金占比"
        "达到38.6%，其中宽基指数产品最受欢迎。业内人士表示，市场对优质资产的配置需求正在提升，产品结构将进一步优化。")  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.integers(3, 60), st.integers(3, 60))
def test_a_text_wrapped_at_other_widths_is_the_same_text(w1: int, w2: int) -> None:
    a, b = units(*prepare("标题", cut(BODY, w1))).items, units(*prepare("标题", cut(BODY, w2))).items
    assert same_text(a, b)
    assert compare(a, b).substitution is None
    assert compare(a, b).matched == sum(u[1] for u in a)


def test_a_substitution_is_found_between_shared_units() -> None:
    def unit(x: str, n: str = "") -> tuple[int, int, str]:
        return unit_hash(x), len(x), n

    a = [unit("标题"), unit("甲乙丙"), unit("丁0", "5"), unit("戊己")]
    assert compare(a, [unit("标题"), unit("甲乙丙"), unit("丁0", "6"), unit("戊己")]).substitution == (2, 3, 2, 3)
    assert compare(a, [unit("标题"), unit("甲乙丙"), unit("戊己")]).substitution is None  # a deletion
    assert compare(a, [unit("导读"), *a]).substitution is None  # an insertion
    assert compare(a, [unit("标题"), unit("甲乙"), unit("丙"), unit("丁0", "5"), unit("戊己")]).substitution is None
    found = compare(a, [*a[:2], unit("庚"), *a[3:]])
    assert found.substitution == (2, 3, 2, 3) and found.numbers == 0


def test_a_repetitive_text_costs_bounded_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """400 equal units against 400: at most MAX_REPEAT positions of each are looked at (not 160,000),
    and what is found is still a common subsequence; identical texts never reach the search."""
    steps: list[int] = []
    real = verify.bisect_left
    monkeypatch.setattr(verify, "bisect_left", lambda *args: steps.append(1) or real(*args))
    same = [(7, 1, "")] * 400
    pairs = lcs(same, same[:-1])
    assert len(steps) <= 400 * MAX_REPEAT
    assert all(i0 < i1 and j0 < j1 for (i0, j0), (i1, j1) in itertools.pairwise(pairs))
    steps.clear()
    assert compare(same, same).substitution is None and not steps
