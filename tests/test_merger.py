"""The merger: whose version wins (priority), near-duplicates, rules, explain."""

from __future__ import annotations

from pathlib import Path

import feedparser
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
