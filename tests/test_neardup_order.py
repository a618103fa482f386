"""Articles and ids that never depend on arrival order: the same versions stored in other orders, split
into other polls, make the same articles with the same ids (the stories, not the order polls completed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.core import merge, neardup_index
from feeds.core.models import Item
from feeds.core.neardup import html_sketch
from feeds.store import NearDup, SourceState, open_store
from feeds.store import neardup as store_neardup

WHEN = datetime(2024, 3, 1, tzinfo=UTC)
NEAR = NearDup(2 * 86400, 0.5)
SUBJECTS = ["光伏", "储能", "券商", "芯片", "白酒", "航运", "黄金", "地产", "医药", "算力", "煤炭", "银行"]
VERBS = ["发布公告称", "披露数据显示", "召开说明会表示", "获得订单", "宣布回购", "调整计划"]
OUTLETS = ["证券时报", "财经日报", "上海证券报", "经济观察"]


def _story(rng: random.Random) -> tuple[str, list[str]]:
    """A long story of its own: sentences of words and figures drawn at random."""
    subject = rng.choice(SUBJECTS)
    title = f"{subject}公司{rng.choice(VERBS)}{rng.randrange(10_000)}"
    sentences = [f"{rng.choice(SUBJECTS)}板块{rng.choice(VERBS)}，{rng.choice(SUBJECTS)}相关收入{rng.randrange(10**6)}万元，"
                 f"较上年{rng.choice(['增长', '下降'])}{rng.randrange(100)}.{rng.randrange(10)}%。" for _ in range(12)]  # fmt: skip
    return title, ["".join(sentences[i : i + 3]) for i in range(0, 12, 3)]


def _item(source: str, key: str, title: str, paragraphs: list[str], minutes: int) -> Item:
    when = WHEN + timedelta(minutes=minutes)
    return Item(key=key, title=title, link=f"http://{source}.example/{key}", published=when, updated=when,
                categories=(), tags=(), author="", content="".join(f"<p>{p}</p>" for p in paragraphs),
                summary="", source=source, origin=f"http://{source}.example/")  # fmt: skip


def _corpus() -> dict[str, list[Item]]:
    """Six outlets' stories, one in three republished by another outlet (its headline suffix, an editor's
    line); and one outlet's story filed more often than the versions compared per item, each time with
    a line of its own (other articles: one source's versions never merge), which another outlet copies
    once: the filings it is compared with are chosen by their contents, not by which were stored first."""
    rng = random.Random(16)
    out: dict[str, list[Item]] = {f"s{n}": [] for n in range(6)}
    for n in range(6):
        for j in range(12):
            title, paragraphs = _story(rng)
            minutes = rng.randrange(2 * 24 * 60)
            out[f"s{n}"].append(_item(f"s{n}", f"s{n}-{j}", title, paragraphs, minutes))
            if j % 3 == 1:
                other = f"s{(n + 1 + j) % 6}" if (n + 1 + j) % 6 != n else f"s{(n + 2) % 6}"
                out[other].append(_item(other, f"{other}-copy-{n}-{j}", f"{title}｜{OUTLETS[j % 4]}",
                                        [*paragraphs, f"责任编辑：{rng.choice('王李张刘')}{rng.choice('伟芳敏静')}"],
                                        minutes + 17))  # fmt: skip
    title, paragraphs = _story(rng)
    filed = 2 * store_neardup.COMPARED
    out["w"] = [_item("w", f"w-{i}", title, [*paragraphs, f"另见{'甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未'[i]}栏目。"],
                      60 * (20 - i)) for i in range(filed)]  # fmt: skip
    out["v"] = [_item("v", "v-copy", f"{title}_{OUTLETS[0]}", paragraphs, 60 * 30)]
    return out


def _articles(path: Path, polls: list[tuple[str, list[Item]]]) -> dict[str, str]:
    """Each key's id as shown, once every poll is stored in this order and the store settled."""
    store = open_store(path)
    try:
        for source, items in polls:
            store.save_poll(SourceState(source, url=f"http://{source}.example/f"), items, [], 1.0,
                            sketches={i.key: html_sketch(i.title, i.content) for i in items}, near=NEAR)  # fmt: skip
        store.settle(merge.combine)
        with store.read() as tx:
            rows = tx.all("SELECT e.key, a.shown FROM entries e JOIN articles a ON a.article = e.article")
        return {str(key): str(shown) for key, shown in rows}
    finally:
        store.close()


def test_the_same_versions_in_any_order_and_any_polls_make_the_same_articles_and_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # The index's recent rows go into its main run every few versions (as every 1,500 do at full size).
    monkeypatch.setattr(neardup_index, "MERGE_AT", 300)
    monkeypatch.setattr(neardup_index, "PENDING", 100)
    corpus = _corpus()
    rng = random.Random(2)
    results = []
    for run in range(6):
        polls: list[tuple[str, list[Item]]] = []
        for source, items in corpus.items():
            if source != "v":
                items = items[:] if run == 0 else rng.sample(items, len(items))
                cuts = sorted(rng.sample(range(1, len(items)), min(run, len(items) - 1)))  # run 0: a poll each
                polls.extend((source, items[a:b]) for a, b in zip([0, *cuts], [*cuts, len(items)], strict=True))
        if run:
            rng.shuffle(polls)
        polls.append(("v", corpus["v"]))  # (after w's filings: see the report of issue 16 for v first)
        results.append(_articles(tmp_path / f"run{run}.db", polls))
    first = results[0]
    stories = {shown: sorted(k for k, s in first.items() if s == shown) for shown in set(first.values())}
    copies = sum(len(keys) - 1 for keys in stories.values())
    assert copies == 24 + 1  # every republication merged with its original, the copy of w's story once
    assert first["v-copy"] in {first[f"w-{i}"] for i in range(2 * store_neardup.COMPARED)}
    for other in results[1:]:
        assert other == first
