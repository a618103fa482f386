"""The merger a reader can trust: no story lost to a merge, ids that do not depend on arrival order,
the site's own post first, every version explained.  Real feeds on 127.0.0.1, the whole pipeline."""

from __future__ import annotations

import html
from pathlib import Path

import feedparser
import pytest
from conftest import CAT_A, POSTS_SOURCE, Site, feed_source, post_text, write_config
from servers import FeedServer, Route
from test_remote import build

from feeds.core.identity import stable_id

PARAGRAPHS = [
    "国家统计局{d}日发布数据显示，{m}月份全国居民消费价格同比上涨{x}%，环比上涨0.4%。",
    "其中，城市上涨{x}%，农村上涨0.7%；食品价格下降3.8%，非食品价格上涨2.0%。",
    "分析人士指出，春节因素带动鲜菜、水果等价格季节性上涨，猪肉价格继续下行。",
    "展望后市，专家认为物价总体保持平稳，为货币政策稳健运行留出充足空间。",
    "同日发布的工业生产者出厂价格指数同比上涨9.1%，涨幅连续三个月回落。",
]
TOPICS = ["居民消费价格", "社会消费品零售", "规模以上工业增加值", "固定资产投资", "进出口总值", "社会融资规模"]


def story(n: int) -> list[str]:
    """A long wire story of its own (other topic, other figures) for each ``n``."""
    topic = TOPICS[n % len(TOPICS)]
    return [p.replace("居民消费价格", topic).format(d=10 + n, m=1 + n % 12, x=f"{n}.{n % 7}") for p in PARAGRAPHS]


def item(title: str, link: str, date: str, paragraphs: list[str], tail: str = "") -> str:
    body = html.escape("".join(f"<p>{p}</p>" for p in paragraphs) + tail)
    return (f"<item><title>{html.escape(title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{date}</pubDate><description>{body}</description></item>")  # fmt: skip


def feed(items: list[str]) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>http://x.example.com/</link><description>d</description>{''.join(items)}</channel></rss>").encode()  # fmt: skip


def outlet_feeds(stories: int = 8) -> dict[str, bytes]:
    """Three outlets republishing the same stories with the edits republishers make, at other times."""
    out: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    for n in range(stories):
        title = f"统计数据发布：第{n}组"
        paras = story(n)
        day = f"Sat, {10 + n:02d} Feb 2022"
        out["a"].append(item(title, f"http://a.example.com/news/{n}.html", f"{day} 09:30:00 +0800", paras,
                             "<p>（文章来源：新华社）</p>"))  # fmt: skip
        out["b"].append(item(f"{title}｜证券时报", f"http://b.example.com/2022/{n}.shtml", f"{day} 10:05:00 +0800",
                             paras[:4], "<p>责任编辑：王五</p>"))  # fmt: skip
        if n % 2:
            out["c"].append(item(f"{title} - 上海证券报", f"http://c.example.com/p?id={n}", f"{day} 08:40:00 +0800",
                                 ["【导读】数据出炉。", *paras]))  # fmt: skip
    return {name: feed(items) for name, items in out.items()}


def site_of(tmp_path: Path, url: str, names: str, extra_sources: str = "") -> Site:
    sources = POSTS_SOURCE + "".join(feed_source(f"wire-{n}", f"{url}/{n}.xml", CAT_A) for n in names)
    cfg = write_config(tmp_path, sources=sources + extra_sources)
    (tmp_path / "posts").mkdir(exist_ok=True)
    return Site(tmp_path, tmp_path / "posts", tmp_path / "out", cfg)


def shown(site: Site) -> dict[str, str]:
    """The combined feed's items: id -> title."""
    return {e.id: e.title for e in feedparser.parse((site.out / "rss.xml").read_bytes()).entries}


@pytest.mark.parametrize(("order", "slow"), [("abc", "a"), ("cba", "c"), ("bca", "b"), ("acb", "")])
def test_the_same_stories_read_in_any_order_get_the_same_ids(tmp_path: Path, order: str, slow: str) -> None:
    """The sources listed in another order, and a different outlet's poll finishing last: one item per
    story, and each story's id is the same in every run (its canonical version's: the earliest date)."""
    feeds = outlet_feeds()
    routes = {f"/{n}.xml": Route(body=body, delay=0.4 if n == slow else 0.0) for n, body in feeds.items()}
    with FeedServer(routes) as server:
        site = site_of(tmp_path, server.url("").rstrip("/"), order)
        build(site, force=True)
        items = shown(site)
    assert len(items) == 8  # one item per story
    expected = {stable_id(f"link:http://c.example.com/p?id={n}" if n % 2 else f"link:http://a.example.com/news/{n}.html",
                          "finews.example.com") for n in range(8)}  # fmt: skip
    assert set(items) == expected


def test_a_published_id_never_changes_when_an_earlier_copy_arrives(tmp_path: Path) -> None:
    feeds = outlet_feeds(2)
    empty = feed([])
    routes = {"/a.xml": Route(body=empty), "/b.xml": Route(body=feeds["b"])}
    with FeedServer(routes) as server:
        site = site_of(tmp_path, server.url("").rstrip("/"), "ab")
        build(site, force=True)
        first = shown(site)
        assert set(first) == {stable_id(f"link:http://b.example.com/2022/{n}.shtml", "finews.example.com")
                              for n in range(2)}  # fmt: skip
        server.routes["/a.xml"] = Route(body=feeds["a"])  # the earlier copies arrive after b's were published
        build(site, force=True)
        assert set(shown(site)) == set(first)


def test_the_sites_own_post_wins_over_a_newer_near_duplicate_wire_copy(tmp_path: Path) -> None:
    paras = story(3)
    wire = feed([item("统计数据发布：第3组｜证券时报", "http://b.example.com/2022/3.shtml",
                      "Sun, 13 Feb 2022 11:05:00 +0800", paras, "<p>责任编辑：王五</p>")])  # fmt: skip
    with FeedServer({"/b.xml": Route(body=wire)}) as server:
        site = site_of(tmp_path, server.url("").rstrip("/"), "b")
        site.add("s.md", post_text("统计数据发布：第3组", "2022-02-13 09:40:00 +0800", info_code="NW202202130000000003",
                                   paragraphs=paras))  # fmt: skip
        build(site, force=True)
        (entry,) = feedparser.parse((site.out / "rss.xml").read_bytes()).entries
    assert entry.title == "统计数据发布：第3组" and entry.link.startswith("https://finews.example.com/")
    assert entry.id == stable_id("infocode:NW202202130000000003", "finews.example.com")
    assert "http://b.example.com/2022/3.shtml" in entry.content[0].value  # the wire copy: "also reported by"


def test_templated_bulletins_and_flashes_are_all_kept(tmp_path: Path) -> None:
    """Bulletins that differ only in a number, and flashes (a title and a line) of other stories that share
    most words, from three outlets: every one stays an item.  A long story from two outlets still merges."""
    items: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    for src, name in enumerate("abc"):
        for n in range(1, 21):
            code = f"NW2022021{src}{n:010d}"
            items[name].append(item(f"要闻快讯·源{src:02d}第{n}条：市场动态",
                                    f"http://{name}.example.com/k?infoCode={code}", "Mon, 14 Feb 2022 09:00:00 +0800",
                                    [f"源{src:02d}第{n}条：市场动态，详见后续报道。"]))  # fmt: skip
        for n in range(5):
            items[name].append(item(f"{name}快讯{n}：两市震荡", f"http://{name}.example.com/f/{n}",
                                    "Mon, 14 Feb 2022 10:00:00 +0800",
                                    [f"沪深两市今日震荡整理，{'银行煤炭有色'[n % 3]}{'板块'}走强{n}。"]))  # fmt: skip
    long = story(5)
    items["a"].append(item("长篇：第5组", "http://a.example.com/long/5", "Mon, 14 Feb 2022 11:00:00 +0800", long))
    items["b"].append(item("长篇：第5组｜证券时报", "http://b.example.com/long/5", "Mon, 14 Feb 2022 11:30:00 +0800",
                           long[:4]))  # fmt: skip
    with FeedServer({f"/{n}.xml": Route(body=feed(v)) for n, v in items.items()}) as server:
        site = site_of(tmp_path, server.url("").rstrip("/"), "abc")
        text = site.config_path.read_text(encoding="utf-8").replace("limit = 50", "limit = 500")
        site.config_path.write_text(text, encoding="utf-8")
        build(site, force=True)
        titles = list(shown(site).values())
    assert len(titles) == 60 + 15 + 1, len(titles)
    assert len(set(titles)) == len(titles)
    assert sum(1 for t in titles if t.startswith("长篇")) == 1


def test_explain_lists_every_version_of_a_story(tmp_path: Path) -> None:
    feeds = outlet_feeds(2)
    with FeedServer({f"/{n}.xml": Route(body=body) for n, body in feeds.items()}) as server:
        site = site_of(tmp_path, server.url("").rstrip("/"), "abc")
        build(site, force=True)
        result = site.cli("explain", "-c", str(site.config_path), "http://b.example.com/2022/1.shtml")
    assert result.returncode == 0, result.stderr
    assert "versions: 3" in result.stdout
    for name in ("wire-a", "wire-b", "wire-c"):
        assert name in result.stdout
