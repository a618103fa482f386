"""The merger: whose version wins (priority), near-duplicates, rules, explain."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from conftest import CAT_A, POSTS_SOURCE, Site, feed_source, post_text, write_config
from servers import FeedServer, Route
from test_remote import build, code_link, rss

CODE = "NW202201250000000101"


def _site(tmp_path: Path, url: str, *, extra: str = "", feed_extra: str = "") -> Site:
    sources = POSTS_SOURCE + feed_source("wire", url, CAT_A) + feed_extra
    cfg = write_config(tmp_path, extra, sources=sources)
    (tmp_path / "posts").mkdir(exist_ok=True)
    return Site(tmp_path, tmp_path / "posts", tmp_path / "out", cfg)


def _entries(site: Site, rel: str = "rss.xml") -> list[feedparser.FeedParserDict]:
    return feedparser.parse((site.out / rel).read_bytes()).entries


def test_own_post_beats_a_later_wire_copy(tmp_path: Path) -> None:
    wire = rss([("通讯社版本", code_link(CODE), "Tue, 25 Jan 2022 15:10:00 +0800")])
    with FeedServer({"/f.xml": Route(body=wire)}) as server:
        site = _site(tmp_path, server.url("/f.xml"))
        site.add("a.md", post_text("本站版本", "2022-01-25 15:05:00 +0800", info_code=CODE,
                                   paragraphs=("本站的正文。",)))
        build(site)
        (entry,) = _entries(site)
        assert entry.title == "本站版本"
        assert entry.link.startswith("https://finews.example.com/")
        assert "本站的正文" in entry.content[0].value
        assert "通讯社版本正文" not in entry.content[0].value
        # published: the earliest version's date (the post's 15:05)
        assert entry.published.startswith("Tue, 25 Jan 2022 15:05:00")


def test_priority_from_the_config_and_a_change_merges_again(tmp_path: Path) -> None:
    wire = rss([("通讯社版本", code_link(CODE), "Tue, 25 Jan 2022 15:10:00 +0800")])
    with FeedServer({"/f.xml": Route(body=wire)}) as server:
        site = _site(tmp_path, server.url("/f.xml"))
        site.add("a.md", post_text("本站版本", "2022-01-25 15:05:00 +0800", info_code=CODE))
        build(site)
        assert [e.title for e in _entries(site)] == ["本站版本"]
        text = site.config_path.read_text(encoding="utf-8")
        site.config_path.write_text(text.replace('name = "wire"', 'name = "wire"\npriority = 50'), encoding="utf-8")
        build(site)
        assert [e.title for e in _entries(site)] == ["通讯社版本"]
        site.config_path.write_text(text, encoding="utf-8")
        build(site)
        assert [e.title for e in _entries(site)] == ["本站版本"]


# ------------------------------------------------------------------ near-duplicates

STORY = [
    "国家统计局12日发布数据显示，2022年1月份全国居民消费价格同比上涨0.9%，环比上涨0.4%。",
    "其中，城市上涨0.9%，农村上涨0.7%；食品价格下降3.8%，非食品价格上涨2.0%。",
    "分析人士指出，春节因素带动鲜菜、水果等价格季节性上涨，猪肉价格继续下行。",
    "展望后市，专家认为物价总体保持平稳，为货币政策稳健运行留出充足空间。",
    "同日发布的工业生产者出厂价格指数同比上涨9.1%，涨幅连续三个月回落。",
]


def _story(paragraphs: list[str], tail: str = "") -> str:
    import html

    return html.escape("".join(f"<p>{p}</p>" for p in paragraphs) + tail)


def _feed(title: str, link: str, date: str, body: str) -> bytes:
    item = f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid><pubDate>{date}</pubDate><description>{body}</description></item>"
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://x.example.com/</link><description>d</description>{item}</channel></rss>"
    ).encode()


VERSIONS = {
    "a": _feed("1月CPI同比上涨0.9%", "http://a.example.com/news/1.html", "Sat, 12 Feb 2022 09:30:00 +0800",
               _story(STORY, "<p>（文章来源：新华社）</p>")),
    "b": _feed("1月CPI同比上涨0.9%｜证券时报", "http://b.example.com/2022/0212/77.shtml", "Sat, 12 Feb 2022 10:05:00 +0800",
               _story(STORY[:4], "<p>责任编辑：王五</p>")),
    "c": _feed("1月CPI同比上涨0.9% - 上海证券报", "http://c.example.com/p?id=9", "Sat, 12 Feb 2022 11:40:00 +0800",
               _story(["【导读】物价数据出炉。", *STORY])),
}


def _outlets(tmp_path: Path, url: str) -> Site:
    sources = POSTS_SOURCE + "".join(feed_source(f"wire-{n}", f"{url}/{n}.xml", CAT_A) for n in "abc")
    cfg = write_config(tmp_path, sources=sources)
    (tmp_path / "posts").mkdir(exist_ok=True)
    return Site(tmp_path, tmp_path / "posts", tmp_path / "out", cfg)


@pytest.mark.parametrize("order", ["abc", "cab", "bca"])
def test_three_outlets_one_story_over_several_builds_is_one_item_with_a_fixed_id(tmp_path: Path, order: str) -> None:
    empty = _feed("无关", "http://x.example.com/none", "Sat, 01 Jan 2022 09:00:00 +0800", "x")
    routes = {f"/{n}.xml": Route(body=empty) for n in "abc"}
    with FeedServer(routes) as server:
        site = _outlets(tmp_path, server.url("").rstrip("/"))
        ids: list[str] = []
        for count, outlet in enumerate(order, 1):
            server.routes[f"/{outlet}.xml"] = Route(body=VERSIONS[outlet])
            build(site, force=True)
            story = [e for e in _entries(site) if "CPI" in e.title]
            assert len(story) == 1, [e.title for e in story]
            ids.append(story[0].id)
            atom = next(e for e in _entries(site, "atom.xml") if "CPI" in e.title)
            related = [link.href for link in atom.links if link.rel == "related"]
            assert len(related) == count - 1
        assert len(set(ids)) == 1  # the id of the first version, never changed
        first = {"a": "http://a.example.com/news/1.html", "b": "http://b.example.com/2022/0212/77.shtml",
                 "c": "http://c.example.com/p?id=9"}[order[0]]
        from feeds.core.identity import stable_id, strip_tracking

        assert ids[0] == stable_id(f"link:{strip_tracking(first)}", "finews.example.com")
        (item,) = [e for e in _entries(site) if "CPI" in e.title]
        assert "另见：" in item.content[0].value  # the site's language (zh-CN)
        assert item.published.startswith("Sat, 12 Feb 2022 09:30:00")  # the earliest version's date


def test_template_stories_of_different_days_stay_apart(tmp_path: Path) -> None:
    def close(day: int, change: str, n: str) -> bytes:
        text = _story([f"2022年2月{day}日，沪深两市收盘：沪指涨{change}%，深成指涨0.8%，创业板指涨1.1%。",
                       "两市成交额合计约9000亿元，北向资金净买入30亿元。", "行业板块中，煤炭、银行板块涨幅居前。"])
        return _feed(f"沪深两市收盘：沪指涨{change}%", f"http://{n}.example.com/close/{day}", f"Sat, {day} Feb 2022 15:30:00 +0800", text)

    routes = {"/a.xml": Route(body=close(10, "0.52", "a")), "/b.xml": Route(body=close(11, "0.37", "b")),
              "/c.xml": Route(body=close(10, "0.52", "c"))}
    with FeedServer(routes) as server:
        site = _outlets(tmp_path, server.url("").rstrip("/"))
        build(site, force=True)
        titles = sorted(e.title for e in _entries(site))
        # a and c are the same day's story (one item); b is the next day's
        assert titles == ["沪深两市收盘：沪指涨0.37%", "沪深两市收盘：沪指涨0.52%"]


def test_near_duplicates_off(tmp_path: Path) -> None:
    routes = {f"/{n}.xml": Route(body=VERSIONS[n]) for n in "abc"}
    with FeedServer(routes) as server:
        site = _outlets(tmp_path, server.url("").rstrip("/"))
        text = site.config_path.read_text(encoding="utf-8")
        site.config_path.write_text(text.replace("[output]", "[merge]\nnear_duplicates = false\n\n[output]"),
                                    encoding="utf-8")
        build(site, force=True)
        assert len([e for e in _entries(site) if "CPI" in e.title]) == 3


@pytest.mark.parametrize("post_first", [False, True])
def test_a_post_and_a_wire_copy_of_the_story_merge_either_way(tmp_path: Path, post_first: bool) -> None:
    from feeds.core.identity import stable_id

    post = post_text("1月CPI同比上涨0.9%", "2022-02-12 09:40:00 +0800", info_code="NW202202120000000001",
                     paragraphs=STORY)
    wire_id = stable_id("link:http://a.example.com/news/1.html", "finews.example.com")
    post_id = stable_id("infocode:NW202202120000000001", "finews.example.com")
    empty = _feed("无关", "http://x.example.com/none", "Sat, 01 Jan 2022 09:00:00 +0800", "x")
    with FeedServer({"/a.xml": Route(body=empty if post_first else VERSIONS["a"])}) as server:
        site = _site(tmp_path, server.url("/a.xml"))
        if post_first:
            site.add("cpi.md", post)
        build(site, force=True)
        if post_first:
            server.routes["/a.xml"] = Route(body=VERSIONS["a"])
        else:
            site.add("cpi.md", post)
        build(site, force=True)
        (item,) = [e for e in _entries(site) if "CPI" in e.title]
        assert item.link.startswith("https://finews.example.com/")  # the post wins (priority)
        assert item.id == (post_id if post_first else wire_id)  # the first version's id


# ------------------------------------------------------------------ rules

R1 = ("基金日报：净值公告", code_link("NW202201250000000201"), "Tue, 25 Jan 2022 10:00:00 +0800")
R2 = ("央行开展逆回购操作", code_link("NW202201250000000202"), "Tue, 25 Jan 2022 11:00:00 +0800")
R3 = ("推广：理财课程限时优惠", code_link("NW202201250000000203"), "Tue, 25 Jan 2022 12:00:00 +0800")

RULES = """
[[rules]]
name = "no ads"
match = { title = '^推广' }
drop = true

[[rules]]
match = { title = '基金' }
add_categories = ["jijin"]
"""


def _with_rules(site: Site, rules: str) -> None:
    text = site.config_path.read_text(encoding="utf-8")
    head, sep, _ = text.partition("\n# rules\n")
    site.config_path.write_text(head + "\n# rules\n" + rules if sep or rules else head, encoding="utf-8")


def test_rules_drop_keep_and_route_stored_history_and_reverting_restores(tmp_path: Path) -> None:
    with FeedServer({"/f.xml": Route(body=rss([R1, R2, R3]))}) as server:
        site = _site(tmp_path, server.url("/f.xml"))
        site.add("a.md", post_text("本站：市场平稳", "2022-01-25 09:00:00 +0800", info_code="NW202201250000000301"))
        build(site)
        assert len(_entries(site)) == 4
        server.routes["/f.xml"] = Route(body=rss([R2]))  # R1 and R3 rotate out: stored history only
        build(site, force=True)
        requests = len(server.requests)

        _with_rules(site, RULES)
        build(site)
        titles = {e.title for e in _entries(site)}
        assert titles == {R1[0], R2[0], "本站：市场平稳"}  # the ad is dropped
        assert [e.title for e in _entries(site, "category/jijin/rss.xml")] == [R1[0]]  # routed

        _with_rules(site, '[[rules]]\nmatch = { source = "^wire$" }\nkeep_only = true\nsources = ["wire"]\n'
                          '\n[[rules]]\nmatch = { content = "逆回购" }\ndrop = true\n')
        build(site)
        titles = {e.title for e in _entries(site)}
        assert titles == {R1[0], R3[0], "本站：市场平稳"}
        assert not (site.out / "category/jijin/rss.xml").exists()

        _with_rules(site, "")
        build(site)
        assert len(_entries(site)) == 4  # everything back
        assert len(server.requests) == requests  # and nothing fetched again


def test_a_bad_rule_is_named_with_its_position_by_check(tmp_path: Path) -> None:
    site = _site(tmp_path, "http://127.0.0.1:9/f.xml")
    _with_rules(site, "[[rules]]\nmatch = { title = 'ok' }\ndrop = true\n\n[[rules]]\nmatch = { title = 'a(b' }\ndrop = true\n")
    result = site.cli("check", "-c", str(site.config_path))
    assert result.returncode == 2
    assert "rules[1].match.title" in result.stderr and "missing )" in result.stderr


def test_a_catastrophic_regex_cannot_hang_a_build(tmp_path: Path) -> None:
    import time

    site = _site(tmp_path, "http://127.0.0.1:9/f.xml")
    _with_rules(site, "[[rules]]\nmatch = { title = '(a+)+$' }\ndrop = true\n")
    site.add("a.md", post_text("a" * 5000 + "!", "2022-01-25 09:00:00 +0800"))
    started = time.perf_counter()
    build(site)
    assert time.perf_counter() - started < 30
    assert len(_entries(site)) == 1


# ------------------------------------------------------------------ explain


def test_explain_shows_versions_winner_near_duplicates_and_rules(tmp_path: Path) -> None:
    empty = _feed("无关", "http://x.example.com/none", "Sat, 01 Jan 2022 09:00:00 +0800", "x")
    routes = {"/a.xml": Route(body=VERSIONS["a"]), "/b.xml": Route(body=empty), "/c.xml": Route(body=empty)}
    with FeedServer(routes) as server:
        site = _outlets(tmp_path, server.url("").rstrip("/"))
        text = site.config_path.read_text(encoding="utf-8")
        site.config_path.write_text(text.replace('name = "wire-a"', 'name = "wire-a"\npriority = 5') + "\n# rules\n"
                                    '[[rules]]\nname = "cpi"\nmatch = { title = "CPI" }\nadd_categories = ["hongguan"]\n'
                                    '\n[[rules]]\nmatch = { title = "^推广" }\ndrop = true\n', encoding="utf-8")
        build(site, force=True)
        server.routes["/b.xml"] = Route(body=VERSIONS["b"])
        build(site, force=True)
        for query in ("http://b.example.com/2022/0212/77.shtml", "link:http://a.example.com/news/1.html"):
            result = site.cli("explain", "-c", str(site.config_path), query)
            assert result.returncode == 0, result.stderr
            out = result.stdout
            assert out.startswith("article link:http://a.example.com/news/1.html\n")
            assert "versions: 2" in out
            assert "  * wire-a (priority 5) 2022-02-12T09:30:00+08:00 link:http://a.example.com/news/1.html" in out
            assert "  - wire-b (priority 0)" in out
            assert "winner: wire-a (highest priority (5))" in out
            assert "near-duplicates merged into it:\n  wire-b: link:http://b.example.com/2022/0212/77.shtml, similarity" in out
            assert "rules[0] (cpi): add_categories matched → added hongguan" in out
            assert "rules[1]: drop no match → none" in out
            assert f"shown: yes, in {CAT_A}, hongguan" in out
        missing = site.cli("explain", "-c", str(site.config_path), "NW000")
        assert missing.returncode == 1 and "no stored item matches" in missing.stderr
