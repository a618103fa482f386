"""The store used from many threads at once, as the daemon does (event loop + worker threads):
no connection is shared, every write is one isolated transaction, no StoreError ever."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import store_target

from feeds.core import merge
from feeds.core.models import Item, PostIndex
from feeds.store import SourceState, open_store


def _item(source: int, n: int) -> Item:
    when = datetime(2022, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
    return Item(key=f"infocode:NW{source:04d}{n:08d}", title=f"t{n}", link=f"https://x.example/{source}/{n}",
                published=when, updated=when, categories=(f"c{source % 3}",), content="<p>x</p>", source=f"s{source}",
                origin=f"https://x.example/{source}.xml")  # fmt: skip


def test_threads_writing_and_reading_one_store_never_collide(tmp_path: Path) -> None:
    store = open_store(store_target(tmp_path))
    errors: list[BaseException] = []
    rounds = 40

    def poller(source: int) -> None:  # what a poll does (the event loop's threads)
        try:
            for r in range(rounds):
                state = SourceState(name=f"s{source}", url=f"https://x.example/{source}.xml", next_due=float(r))
                store.save_poll(state, [_item(source, r * 2 + k) for k in range(2)], (), float(r))
                store.save_source(state)
                store.source_state(f"s{source}")
        except BaseException as exc:
            errors.append(exc)

    def publisher() -> None:  # what a publish does (a worker thread)
        try:
            for r in range(rounds):
                store.settle(merge.combine)
                for slug in store.categories():
                    store.top(slug, 1e12, 50)
                store.save_outputs({"rss.xml": (str(r), r)})
                store.set_meta({"published": str(r)})
        except BaseException as exc:
            errors.append(exc)

    def scanner() -> None:  # what a posts scan does (another worker thread)
        try:
            for r in range(rounds):
                rows = [PostIndex(f"/p/{i}.md", r, r, "ok", None, f"infocode:P{i}", 1.0e9 + i, 0, ("c0",), "posts")
                        for i in range(20)]  # fmt: skip
                store.save_posts("posts", "ctx", rows, changed=rows[:2] if r else None, removed=[])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poller, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=publisher), threading.Thread(target=scanner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    store.settle(merge.combine)
    states = store.source_states(counts=True)
    assert {name: s.items for name, s in states.items()} == {f"s{i}": rounds * 2 for i in range(6)}
    assert store.count_articles(1e12) == 6 * rounds * 2 + 20  # every item and post, once
    assert len(store.top(None, 1e12, 10_000)) == 6 * rounds * 2 + 20
    assert store.meta("published") == str(rounds - 1)
    store.close()
