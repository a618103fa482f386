"""SQLite: the WAL stays small while a store fills, and bulk writes made in parts store what one would."""

from __future__ import annotations

import random
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.core.merge import combine
from feeds.core.models import Item, PostIndex
from feeds.core.neardup import html_sketch as text_sketch
from feeds.store import NearDup, SourceState, open_store
from feeds.store import sqlite as store_sqlite
from feeds.store.dialect import SQLITE

NEAR = NearDup(7 * 86400, 0.5)
WHEN = datetime(2024, 3, 1, tzinfo=UTC)
WORDS = ["沪指", "上涨", "成交额", "北向资金", "银行", "煤炭", "回购", "央行", "基金", "债券", "期货", "板块"]


def _text(rng: random.Random, n: int) -> str:
    return "".join(f"<p>{rng.choice(WORDS)}{rng.choice(WORDS)}第{n}号{rng.randrange(10**9)}。</p>" for _ in range(60))


def _item(source: int, n: int, rng: random.Random) -> Item:
    when = WHEN + timedelta(minutes=n % 5000)
    return Item(key=f"k{source}-{n}", title=f"快讯{n}", link=f"http://s{source}.example/{n}", published=when,
                updated=when, categories=(f"c{source % 3}",), tags=(), author="", content=_text(rng, n), summary="",
                source=f"s{source}", origin=f"http://s{source}.example/")  # fmt: skip


class _Peak:
    """The largest size of the -wal file, looked at every millisecond."""

    def __init__(self, wal: Path) -> None:
        self.wal, self.largest, self.stop = wal, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def look(self) -> None:
        with suppress(OSError):
            self.largest = max(self.largest, self.wal.stat().st_size)

    def run(self) -> None:
        while not self.stop.wait(0.001):
            self.look()


def test_a_store_filled_while_others_read_keeps_its_wal_under_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polls stored from four threads while two others read all the time (publish, status) and
    the daemon's housekeeping runs: readers always on the WAL once let it grow without end
    (6.5 GB in one build; a checkpoint cannot empty a WAL a reader is on).  The limits are
    scaled down 64 times (a 1 MiB checkpoint threshold and bulk-write budget for the
    256 MB limit's 4 MiB), so that ~30 MB of writes show it in seconds."""
    scale = 64
    monkeypatch.setattr(store_sqlite, "CHECKPOINT_AT", store_sqlite.CHECKPOINT_AT // scale)
    monkeypatch.setattr(SQLITE, "write_budget", (SQLITE.write_budget or 0) // scale)
    limit = store_sqlite.WAL_LIMIT // scale
    store = open_store(tmp_path / "state.db")
    peak = _Peak(tmp_path / "state.db-wal")
    stop = threading.Event()
    sources, rounds, per_poll = 16, 6, 50

    def read() -> None:
        while not stop.is_set():
            store.source_states(counts=True)  # a full count of the items: a read that lasts
            store.versions(a.id for a in store.top(None, time.time(), 50))

    def housekeeping() -> None:
        while not stop.wait(0.02):
            store.maintain()

    def poll(source: int) -> None:
        rng = random.Random(source)
        held: list[Item] = []
        for r in range(rounds):
            new = [_item(source, r * per_poll + k, rng) for k in range(per_poll)]
            held = (held + new)[-2 * per_poll :]  # the feed lists its newest: some seen again
            sketches = {i.key: text_sketch(i.title, i.content) for i in new[:5]}  # matching reads too
            store.save_poll(SourceState(f"s{source}", url=f"http://s{source}.example/f"), held, (), 1.0,
                            sketches=sketches, near=NEAR)  # fmt: skip
            peak.look()

    others = [threading.Thread(target=read) for _ in range(2)] + [threading.Thread(target=housekeeping)]
    for thread in others:
        thread.start()
    try:
        rows = [PostIndex(f"/site/_posts/p{i}.md", 2000, i, "ok", None, f"post-{i}", WHEN.timestamp() + i, 28800,
                          ("c1",), "posts") for i in range(6000)]  # fmt: skip
        store.save_posts("posts", "ctx", rows)  # a first scan: more than one transaction's budget
        peak.look()
        writers = [threading.Thread(target=poll, args=(s,)) for s in range(sources)]
        for group in (writers[:4], writers[4:8], writers[8:12], writers[12:]):
            for thread in group:
                thread.start()
            for thread in group:
                thread.join(120)
        assert store.settle(combine) == sources * rounds * per_poll + len(rows)  # in parts, too
        peak.look()
    finally:
        stop.set()
        for thread in others:
            thread.join(30)
        peak.stop.set()
        peak.thread.join()
    try:
        assert sum(s.items for s in store.source_states(counts=True).values()) == sources * rounds * per_poll
        assert store.count_articles(time.time()) == sources * rounds * per_poll + len(rows)
        assert 0 < peak.largest <= limit, f"the WAL reached {peak.largest / 2**20:.1f} MiB"
    finally:
        store.close()


def _fill(path: Path) -> list[object]:
    """One remote source and a posts source (with twins: one key, two posts; and near-duplicates
    of the remote items), stored and settled; what a publish and `feeds explain` read of it."""
    rng = random.Random(3)
    store = open_store(path)
    try:
        items = [_item(1, n, rng) for n in range(300)]
        store.save_poll(SourceState("s1", url="http://s1.example/f"), items, (), 1.0,
                        sketches={i.key: text_sketch(i.title, i.content) for i in items}, near=NEAR)  # fmt: skip
        rows, sketches = [], {}
        for n in range(900):
            key = f"post-{n // 2}" if n < 200 else f"post-{n}"  # the first 200 posts: 100 pairs of twins
            rows.append(PostIndex(f"/site/_posts/p{n}.md", 2000, n, "ok" if n % 50 else "error", None, key,
                                  WHEN.timestamp() + 60 * (n % 300), 28800, (f"c{n % 3}",), "posts"))  # fmt: skip
            if n % 3 == 0:  # a copy of a remote item (the same text: it joins its article), or its own
                item = items[n % 300]
                sketches[key] = text_sketch(item.title, item.content if n % 2 else _text(rng, n))
        store.save_posts("posts", "ctx", [rows[0]])
        store.save_posts("posts", "ctx", rows, sketches=sketches, near=NEAR)  # every post anew: one gone
        store.settle(combine)
        articles = store.top(None, time.time(), 2000)
        versions = store.versions(a.id for a in articles)
        return [articles, sorted((k, sorted(v)) for k, v in versions.items()), store.post_cache("posts", "ctx"),
                store.has_post_cache("posts", "ctx"), store.sketches_of(articles[0].id), store.categories()]  # fmt: skip
    finally:
        store.close()


def test_bulk_writes_made_in_parts_store_what_one_transaction_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _fill(tmp_path / "whole.db")
    monkeypatch.setattr(SQLITE, "write_budget", 40_000)  # a few dozen rows per transaction
    parts = _fill(tmp_path / "parts.db")
    assert parts == whole
    assert len(whole[0]) > 900  # articles of their own, and some posts joined remote items'


def test_a_new_store_has_8_kib_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    """Store size: an item's row (~1.7 KB of news with its content) fits twice in a 4 KiB page and
    wastes a quarter of it; a new store's pages are 8 KiB.  A store made before keeps its pages."""
    import sqlite3

    with open_store(tmp_path / "new.db"):
        pass
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:
        db.execute("PRAGMA page_size=4096")
        db.execute("CREATE TABLE before (x)")
    with open_store(old) as store:
        assert store.schema_version > 0
    for path, size in ((tmp_path / "new.db", 8192), (old, 4096)):
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA page_size").fetchone()[0] == size


def test_the_count_of_articles_settle_keeps_is_the_count_of_articles(tmp_path: Path) -> None:
    """A publish counts its articles from the count settle keeps (not a count of every article, at
    every publish): right after new articles, versions joining others, a rule dropping some, every
    article merged again, a source forgotten; a store without the count is counted in full."""
    store = open_store(tmp_path / "state.db")
    now = datetime(2024, 6, 1, tzinfo=UTC)

    def poll(source: str, keys: list[str]) -> None:
        dates = {k: now + timedelta(days=1 if k.endswith("9") else -int(k[1:])) for k in keys}  # some later
        items = [Item(key=k, title=f"标题{k}", link=f"http://{source}.example/{k}", published=dates[k],
                      updated=dates[k], categories=(), tags=(), author="", content="<p>正文</p>", summary="",
                      source=source, origin=f"http://{source}.example/") for k in keys]  # fmt: skip
        store.save_poll(SourceState(source, url=f"http://{source}.example/f"), items, [], 1.0)

    def check() -> None:
        for at in (now.timestamp(), float("inf")):
            with store.read() as tx:
                truth = tx.one("SELECT count(*) FROM articles WHERE ts <= ?", (at,))[0]
            assert store.count_articles(at) == truth

    def drop_odd(merged: list) -> list:  # type: ignore[type-arg]
        return [None if int(m.key[1:]) % 2 else m.categories for m in merged]

    try:
        poll("a", [f"k{i}" for i in range(30)])
        assert store.settle(combine) == 30
        check()
        assert store.meta("article_count") == "30"
        poll("b", [f"k{i}" for i in range(20, 40)])  # ten join a's articles, ten are new
        store.settle(combine)
        check()
        assert store.meta("article_count") == "40"
        store.settle(combine, merge_key="rules", judge=drop_odd)
        check()
        assert store.meta("article_count") == "20"
        store.settle(combine, merge_key="none")
        check()
        store.forget_sources(["b"])
        store.settle(combine)
        check()
        assert store.meta("article_count") == "20"
        with store.write() as tx:
            tx.execute("DELETE FROM meta WHERE key = 'article_count'")
        check()
        poll("b", ["k50"])
        store.settle(combine)
        check()
        assert store.meta("article_count") == "21"
    finally:
        store.close()
