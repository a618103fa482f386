"""The pure merge: one article per key, newest first, ties in a fixed order."""

from __future__ import annotations

import random

from feeds.core.merge import merge, order_key, select
from feeds.core.models import Entry


def entry(key: str, ts: float, cats: tuple[str, ...] = ("a",), origin: str = "o") -> Entry:
    return Entry(key, ts, 28800, cats, origin, None)


def test_order_is_newest_first_then_key_whatever_the_input_order() -> None:
    rng = random.Random(7)
    # many equal dates, so that ties decide much of the order
    entries = [entry(f"k{rng.randrange(400):03d}", float(rng.randrange(50)), origin=f"o{i}") for i in range(1000)]
    expected = None
    for _ in range(5):
        rng.shuffle(entries)
        merged = merge(entries)
        assert merged == sorted(merged, key=order_key)
        assert len({m.key for m in merged}) == len(merged)
        if expected is None:
            expected = [(m.key, m.timestamp, m.categories, m.best.origin) for m in merged]
        assert [(m.key, m.timestamp, m.categories, m.best.origin) for m in merged] == expected


def test_versions_combine() -> None:
    merged = merge(
        [
            entry("x", 100.0, ("a",), "first"),
            entry("x", 300.0, ("b", "a"), "latest"),
            entry("y", 200.0, ("c",)),
        ]
    )
    assert [m.key for m in merged] == ["y", "x"]  # x is dated by its earliest version
    x = merged[1]
    assert x.timestamp == 100.0 and x.best.origin == "latest" and x.categories == ("b", "a")
    combined, per_category = select(merged, 1)
    assert combined == [merged[0]] and per_category["a"] == [x] and per_category["c"] == [merged[0]]
