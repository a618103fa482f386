"""The in-memory LSH index of stored versions: bounded, and the same answers however it was filled."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.core import neardup, neardup_index
from feeds.core.models import Item
from feeds.core.neardup_index import BucketIndex
from feeds.store import NearDup, SourceState, open_store
from feeds.store import neardup as store_neardup

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
NEAR = NearDup(2 * 86400, 0.5)
WORDS = ["沪指", "上涨", "成交额", "北向资金", "银行", "煤炭", "回购", "央行", "基金", "期货", "债券", "汇率",
         "新能源", "半导体", "地产", "消费", "券商", "保险", "黄金", "原油"]  # fmt: skip
STORY = "市场整体平稳运行，资金面保持合理充裕，交易活跃度有所回升，多家机构上调全年增长预期。" * 10


def _text(rng: random.Random) -> str:
    return "。".join("，".join(rng.choice(WORDS) + str(rng.randrange(1000)) for _ in range(8)) for _ in range(12))


def _versions(count: int, seed: int = 1) -> list[tuple[int, float, str, bytes]]:
    """(seq, date, source, sketch) of ``count`` stored versions; every third one a copy of another's."""
    rng = random.Random(seed)
    texts: list[str] = []
    out = []
    for seq in range(1, count + 1):
        text = texts[rng.randrange(len(texts))] + "另据报道。" if texts and seq % 3 == 0 else _text(rng)
        texts.append(text)
        when = WHEN.timestamp() + rng.randrange(4 * 86400)
        out.append((seq, when, f"s{seq % 5}", neardup.html_sketch("标题", f"<p>{text}</p>")))
    return out


def _added(versions: list[tuple[int, float, str, bytes]], limit: int = 10_000) -> BucketIndex:
    index = BucketIndex(limit)
    for seq, ts, source, data in versions:
        index.add(seq, ts, source, neardup.bucket_ids(data), data[: neardup.HEAD])
    return index


def test_a_store_window_loaded_at_once_answers_as_versions_added_one_by_one() -> None:
    """:meth:`BucketIndex.load` computes the bucket ids of many sketches in array operations: the same
    candidates, counts and MinHash filtering as :func:`feeds.core.neardup.bucket_ids` one by one."""
    stored = _versions(300)
    one_by_one = _added(stored)
    loaded = BucketIndex()
    loaded.load([stored[:120], [], stored[120:]])  # in parts, as a store's window is read
    assert loaded.versions == one_by_one.versions == 300 and len(loaded) == len(one_by_one)
    queries = _versions(60, seed=2) + stored[::7]
    asked = [(neardup.bucket_ids(data), ts) for _, ts, _, data in queries]
    for source in ("s1", "other"):
        found = loaded.shared(asked, NEAR.window, source, 64)
        assert found == one_by_one.shared(asked, NEAR.window, source, 64)
        assert any(found)  # the copies find their originals
        for counts, (_, _, _, data) in zip(found, queries, strict=True):
            seqs = sorted(counts)
            assert loaded.similar(seqs, data, 0.5) == one_by_one.similar(seqs, data, 0.5)


@pytest.mark.parametrize("how", ["add", "load"])
def test_the_index_never_holds_more_than_its_limit_and_keeps_the_latest_stored(how: str) -> None:
    stored = _versions(200)
    limit = 40
    if how == "add":
        index = BucketIndex(limit)
        for seq, ts, source, data in stored:
            index.add(seq, ts, source, neardup.bucket_ids(data), data[: neardup.HEAD])
            assert index.versions <= limit
    else:
        index = BucketIndex(limit)
        index.load([stored[:150], stored[150:]])
    held = index.seqs()
    assert 0 < len(held) <= limit and len(index) == 33 * len(held)
    assert held == set(range(201 - len(held), 201))  # the versions stored first left first
    # a version that left is never a candidate again; one held is found by its own buckets
    asked = [(neardup.bucket_ids(data), ts) for _, ts, _, data in stored]
    for (seq, _, _, _), counts in zip(stored, index.shared(asked, NEAR.window, "other", 64), strict=True):
        assert set(counts) <= held
        assert (seq in counts) == (seq in held)


def _item(key: str, source: str, text: str, when: datetime = WHEN) -> Item:
    return Item(key=key, title="央行开展逆回购操作", link=f"http://{source}.example/{key}", published=when,
                updated=when, categories=(), tags=(), author="", content=text, summary="", source=source,
                origin=f"http://{source}.example/")  # fmt: skip


def _poll(path: Path, source: str, items: list[Item]) -> None:
    """One poll stored by a process of its own (a new store object: its index is read from the store)."""
    with open_store(path) as store:
        store.save_poll(SourceState(source, url=f"http://{source}.example/f"), items, [], 1.0,
                        sketches={i.key: neardup.html_sketch(i.title, i.content) for i in items}, near=NEAR)  # fmt: skip


@pytest.mark.parametrize("stored_after", [30, 80])
def test_a_copy_finds_its_original_unless_more_than_the_limit_were_stored_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stored_after: int
) -> None:
    """The design's promise with the index bounded (here to 50 versions): a copy arriving in a later
    build finds an original dated within the window while fewer than the limit were stored after it;
    past that, the two stay two articles (nothing lost, nothing merged wrongly)."""
    monkeypatch.setattr(store_neardup, "HELD", 50)
    path = tmp_path / "state.db"
    rng = random.Random(5)
    _poll(path, "a", [_item("k-a", "a", STORY)])
    _poll(path, "c", [_item(f"c-{i}", "c", _text(rng), WHEN + timedelta(hours=i % 40)) for i in range(stored_after)])
    with open_store(path) as store:
        copy = _item("k-b", "b", STORY + "另据报道。", WHEN + timedelta(hours=3))
        store.save_poll(SourceState("b", url="http://b.example/f"), [copy], [], 1.0,
                        sketches={"k-b": neardup.html_sketch(copy.title, copy.content)}, near=NEAR)  # fmt: skip
        index = store_neardup._index_of(store).index
        assert index is not None and index.versions <= 50
        assert store.find_article(["k-a"]) == "k-a"
        assert store.find_article(["k-b"]) == ("k-a" if stored_after < 50 else "k-b")
        assert all(store.find_article([f"c-{i}"]) == f"c-{i}" for i in range(stored_after))


def test_a_search_that_moves_the_recent_rows_into_the_main_run_still_finds_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A poll's search sorts the rows added since the last one into the recent run and, past MERGE_AT,
    moves that run into the main one: the rows moved are searched all the same (they were once left
    out of that one search, so whether a copy found its original depended on when polls completed)."""
    monkeypatch.setattr(neardup_index, "MERGE_AT", 200)  # (50,000 rows: a poll's worth now and then)
    index = BucketIndex()
    for seq, ts, source, data in _versions(40):
        index.add(seq, ts, source, neardup.bucket_ids(data), data[: neardup.HEAD])
        found = index.shared([(neardup.bucket_ids(data), ts)], NEAR.window, "another", 64)[0]
        assert found.get(seq) == len(neardup.bucket_ids(data))  # itself, in every one of its buckets
