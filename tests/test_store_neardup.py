"""SQLite: near-duplicate matching read before the write transaction (speed) decides as if inside it."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds import neardup
from feeds.models import Item
from feeds.sketching import text_sketch
from feeds.store import NearDup, SourceState, open_store
from feeds.store import neardup as store_neardup
from feeds.store import sources as store_sources

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


def _race(store, monkeypatch: pytest.MonkeyPatch, between: Callable[[], None]) -> list[str]:  # type: ignore[no-untyped-def]
    """Make ``between`` (another source's poll) run in another thread once source B's poll has
    matched (read) and before its write; the sources whose polls matched, in order."""
    real_prematch, real_write = store_sources.prematch, store.write
    calls: list[str] = []

    def matching(db, source, rows, sketches, near):  # type: ignore[no-untyped-def]
        calls.append(source)
        return real_prematch(db, source, rows, sketches, near)

    def racing_write(**kwargs):  # type: ignore[no-untyped-def]
        if calls == ["b"]:  # B has matched; another thread stores A's copy before B's write
            writer = threading.Thread(target=between)
            writer.start()
            writer.join(20)
        return real_write(**kwargs)

    monkeypatch.setattr(store_sources, "prematch", matching)
    monkeypatch.setattr(store, "write", racing_write)
    return calls


def test_comparing_stored_sketches_as_bytes_decides_as_the_sketches_do() -> None:
    rng = random.Random(7)
    words = ["沪指", "上涨", "0.52%", "成交额", "9000亿元", "北向资金", "银行", "2022年2月10日", "煤炭", "回购"]
    texts = ["", "x"] + ["，".join(rng.choice(words) for _ in range(rng.randint(1, 40))) for _ in range(60)]
    sketches = [neardup.sketch("标题", text) for text in texts]
    for a in sketches:
        for b in sketches[:20]:
            for threshold in (0.3, 0.5, 0.9):
                expected = a.size > 0 and b.size > 0 and neardup.is_duplicate(a, b, threshold)
                assert store_neardup._duplicate(a.to_bytes(), b.to_bytes(), threshold) == expected


@pytest.mark.parametrize("duplicate", [True, False])
def test_a_version_stored_between_the_matching_read_and_the_write_is_still_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duplicate: bool
) -> None:
    """Source B's poll matches (reads) first; source A stores the same story before B's write:
    B joins A's article, as when both were decided inside the write lock."""
    store = open_store(tmp_path / "state.db")
    other = _item("k-a", "a") if duplicate else _item("k-a", "a", "".join(str(i) for i in range(300)))
    calls = _race(store, monkeypatch, lambda: _store(store, "a", other))
    try:
        _store(store, "b", _item("k-b", "b", "另"))
        assert calls == ["b", "a"]
        assert store.find_article(["k-b"]) == ("k-a" if duplicate else "k-b")
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


def test_more_candidates_stored_between_the_matching_read_and_the_write_than_are_compared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The soak's cold start: between a poll's matching read and its write, another source stores
    more versions sharing buckets with its new item than are compared per version (MAX_CANDIDATES).
    The write still decides (it once failed: "Incorrect number of bindings supplied"), and the
    earliest-stored duplicate among them wins."""
    store = open_store(tmp_path / "state.db")
    crowd = store_neardup.MAX_CANDIDATES + 6
    # The same text with another number: sharing nearly every bucket, and no duplicate (numbers differ)
    # but the first, which is the new item's text.
    others = [_item(f"a-{i}", "a", f"编号{999 if i == 0 else i}") for i in range(crowd)]

    def store_a() -> None:
        store.save_poll(SourceState("a", url="http://a.example/f"), others, [], 1.0,
                        sketches={i.key: text_sketch(i.title, i.content) for i in others}, near=NEAR)  # fmt: skip

    calls = _race(store, monkeypatch, store_a)
    try:
        _store(store, "b", _item("k-b", "b", "编号999"))  # the text of A's first
        assert calls == ["b", "a"]
        assert len(store.sketches_of("a-1")) == 1  # A's poll was stored (its versions are their own articles)
        assert store.find_article(["k-b"]) == "a-0"
    finally:
        store.close()
