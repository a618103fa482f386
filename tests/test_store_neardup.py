"""Near-duplicate matching in the store: decided in the write that stores a version, bounded, canonical."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.core import neardup
from feeds.core.models import Item
from feeds.core.neardup import html_sketch as text_sketch
from feeds.store import NearDup, SourceState, open_store
from feeds.store import neardup as store_neardup

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
BODY = "市场整体平稳运行，资金面保持合理充裕，交易活跃度有所回升。" * 12
NEAR = NearDup(2 * 86400, 0.5)


def _item(key: str, source: str, extra: str = "") -> Item:
    return Item(key=key, title="央行开展逆回购操作", link=f"http://{source}.example/{key}", published=WHEN,
                updated=WHEN, categories=(), tags=(), author="", content=BODY + extra, summary="",
                source=source, origin=f"http://{source}.example/")  # fmt: skip


def _store(store, source: str, item: Item) -> None:  # type: ignore[no-untyped-def]
    store.save_poll(SourceState(source, url=f"http://{source}.example/f"), [item], [], 1.0,
                    sketches={item.key: text_sketch(item.title, item.content)}, near=NEAR)  # fmt: skip


def test_comparing_stored_sketches_as_bytes_decides_as_the_sketches_do() -> None:
    rng = random.Random(7)
    words = ["沪指", "上涨", "0.52%", "成交额", "9000亿元", "北向资金", "银行", "2022年2月10日", "煤炭", "回购"]
    texts = ["", "x"] + ["，".join(rng.choice(words) for _ in range(rng.randint(1, 40))) for _ in range(60)]
    sketches = [neardup.sketch("标题", text) for text in texts]
    for a in sketches:
        for b in sketches[:20]:
            for threshold in (0.3, 0.5, 0.9):
                expected = a.size > 0 and b.size > 0 and neardup.is_duplicate(a, b, threshold)
                assert neardup.duplicate_bytes(a.to_bytes(), b.to_bytes(), threshold) == expected


@pytest.mark.parametrize("duplicate", [True, False])
def test_two_sources_storing_the_same_story_at_once_make_one_article(tmp_path: Path, duplicate: bool) -> None:
    """Two polls written by two threads at the same time: whichever commits first, the other finds it
    (decisions are taken one write at a time, each seeing every version stored before it)."""
    store = open_store(tmp_path / "state.db")
    try:
        other = _item("k-a", "a") if duplicate else _item("k-a", "a", "".join(str(i) for i in range(300)))
        writers = [threading.Thread(target=_store, args=(store, "a", other)),
                   threading.Thread(target=_store, args=(store, "b", _item("k-b", "b", "另")))]  # fmt: skip
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(20)
        assert len(store.sketches_of(store.find_article(["k-a"]) or "")) == (2 if duplicate else 1)
        assert (store.find_article(["k-a"]) == store.find_article(["k-b"])) == duplicate
    finally:
        store.close()


def test_the_earliest_stored_duplicate_wins_over_one_stored_after_the_read(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    try:
        _store(store, "a", _item("k-a", "a"))
        _store(store, "c", _item("k-c", "c", "又"))  # joins a
        _store(store, "b", _item("k-b", "b", "另"))
        assert store.find_article(["k-b"]) == store.find_article(["k-c"]) == "k-a"
    finally:
        store.close()


def test_urgent_writers_take_the_write_lock_before_those_waiting_longer() -> None:
    """The publisher's short writes (urgent) do not queue behind every poll's write."""
    from feeds.store.sqlite import _FairLock

    lock = _FairLock()
    assert lock.acquire(5)
    order: list[str] = []

    def take(name: str, urgent: bool) -> None:
        assert lock.acquire(20, urgent)
        order.append(name)
        lock.release()

    threads = []
    for name, urgent in (("poll-1", False), ("poll-2", False), ("publish", True)):
        thread = threading.Thread(target=take, args=(name, urgent))
        thread.start()
        threads.append(thread)
        while len(lock._waiting) < len(threads):  # queued in this order
            threading.Event().wait(0.001)
    lock.release()
    for thread in threads:
        thread.join(20)
    assert order == ["publish", "poll-1", "poll-2"]
    assert lock.acquire(0.01) and not lock.acquire(0.01)  # a timed-out waiter gives its turn up
    lock.release()
    assert lock.acquire(0.01)


def test_a_crowd_of_template_instances_never_hides_the_true_duplicate(tmp_path: Path) -> None:
    """The soak's cold start: another source stores far more versions sharing nearly every bucket with a
    new item than are compared per version (a template: the same text, another number) and, among them,
    the item's own text.  The write decides (it once failed: "Incorrect number of bindings supplied"),
    the true duplicate is found, and no template instance is merged."""
    store = open_store(tmp_path / "state.db")
    crowd = store_neardup.COMPARED + store_neardup.CAP + 6
    others = [_item(f"a-{i}", "a", f"编号{999 if i == crowd // 2 else i}") for i in range(crowd)]
    try:
        store.save_poll(SourceState("a", url="http://a.example/f"), others, [], 1.0,
                        sketches={i.key: text_sketch(i.title, i.content) for i in others}, near=NEAR)  # fmt: skip
        _store(store, "b", _item("k-b", "b", "编号999"))  # the text of one of A's
        assert store.find_article(["k-b"]) == f"a-{crowd // 2}"
        assert all(store.find_article([f"a-{i}"]) == f"a-{i}" for i in range(crowd))  # each its own story
    finally:
        store.close()
