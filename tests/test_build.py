"""`feeds build` end to end: posts in, feeds read back with feedparser and lxml."""

from __future__ import annotations

import calendar
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

from conftest import CAT_A, CAT_B, Site, post_text, write_config
from lxml import etree

FEEDS = ["rss.xml", "atom.xml"]


def cat_dir(slug: str) -> str:
    return f"category/{slug}"


def add_sample(site: Site) -> None:
    site.add(
        "2022-01-25-a.md", post_text("甲文章", "2022-01-25 20:54:37 +0800", CAT_A, info_code="NW202201250000000001")
    )
    site.add(
        "2022-01-24-b.md", post_text("乙文章", "2022-01-24 09:00:00 +0800", CAT_B, info_code="NW202201240000000002")
    )
    site.add(
        "2022-01-23-c.md", post_text("丙文章", "2022-01-23 10:00:00 +0800", CAT_A, info_code="NW202201230000000003")
    )
    # one article filed in two categories: same infoCode, the later version differs
    site.add(
        "2022-01-22-d1.md",
        post_text("丁文章初稿", "2022-01-22 08:00:00 +0800", CAT_A, info_code="NW202201220000000004"),
    )
    site.add(
        "2022-01-22-d2.md",
        post_text("丁文章定稿", "2022-01-22 11:30:00 +0800", CAT_B, info_code="NW202201220000000004"),
    )
    # no infoCode at all
    site.add("2022-01-21-e.md", post_text("戊文章", "2022-01-21 07:15:00 +0800", CAT_B, info_code=None))


def test_feeds_per_category_and_combined(site: Site) -> None:
    add_sample(site)
    report = site.build()
    assert report.posts_read == 6 and report.posts_skipped == 0 and report.items == 5

    for name in FEEDS:
        combined = site.feed(name)
        titles = [e.title for e in combined.entries]
        # newest first, the two-category article once, with the later version's title
        assert titles == ["甲文章", "乙文章", "丙文章", "丁文章定稿", "戊文章"]
        a = site.feed(f"{cat_dir(CAT_A)}/{name}")
        b = site.feed(f"{cat_dir(CAT_B)}/{name}")
        assert [e.title for e in a.entries] == ["甲文章", "丙文章", "丁文章定稿"]
        assert [e.title for e in b.entries] == ["乙文章", "丁文章定稿", "戊文章"]
        assert a.feed.title == "财经快讯 · 中国证券报·中证网"
        # the merged item carries both categories, with display labels
        merged = next(e for e in combined.entries if e.title == "丁文章定稿")
        labels = {t.get("label") or t.term for t in merged.tags}
        assert {"中国证券报·中证网", "上海证券报·上证网"} <= labels
        # published is the earliest version's date
        assert calendar.timegm(merged.published_parsed) == int(datetime(2022, 1, 22, 0, 0, tzinfo=UTC).timestamp())


def test_dates_ids_and_links(site: Site) -> None:
    add_sample(site)
    site.build()
    rss = etree.parse(str(site.out / "rss.xml"))
    pub = rss.findtext("channel/item/pubDate")
    assert pub == "Tue, 25 Jan 2022 20:54:37 +0800"
    # lastBuildDate is the newest item's date, not the clock
    assert rss.findtext("channel/lastBuildDate") == "Tue, 25 Jan 2022 20:54:37 +0800"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    atom = etree.parse(str(site.out / "atom.xml"))
    assert atom.findtext("a:updated", namespaces=ns) == "2022-01-25T20:54:37+08:00"
    assert atom.findtext("a:entry/a:published", namespaces=ns) == "2022-01-25T20:54:37+08:00"
    content = atom.find("a:entry/a:content", namespaces=ns)
    assert content is not None and content.get("type") == "html"
    # the closing back-links are the site's navigation, not the article: gone; the source line
    # became the "原文" link to the original article
    assert "返回首页" not in content.text and 'href="//' not in content.text
    assert '<a href="http://news.example.com/html_News/NewsShare.html?infoCode=NW202201250000000001">原文</a>' in (
        content.text
    )
    # self links in RSS too
    self_link = rss.find("channel/{http://www.w3.org/2005/Atom}link")
    assert self_link is not None and self_link.get("rel") == "self"
    assert self_link.get("href") == "https://finews.example.com/rss.xml"
    assert rss.findtext("channel/link") == "https://finews.example.com/"
    combined = site.feed("atom.xml")
    ids = {e.title: e.id for e in combined.entries}
    assert ids["甲文章"] == "tag:finews.example.com,2000:infocode:NW202201250000000001"
    assert all(e.author == "编辑部" for e in combined.entries)
    rss_guids = [e.id for e in site.feed("rss.xml").entries]
    assert rss_guids == [e.id for e in combined.entries]
    assert len(set(rss_guids)) == 5


def test_stable_ids_across_builds_and_changes(site: Site) -> None:
    add_sample(site)
    site.build()
    before = {e.title: e.id for e in site.feed("rss.xml").entries}
    # edit a post's title, add a newer one: ids of the others never change
    site.add(
        "2022-01-25-a.md",
        post_text("甲文章（更新）", "2022-01-25 20:54:37 +0800", CAT_A, info_code="NW202201250000000001"),
    )
    site.add(
        "2022-01-26-f.md", post_text("己文章", "2022-01-26 10:00:00 +0800", CAT_A, info_code="NW202201260000000006")
    )
    site.build()
    after = {e.title: e.id for e in site.feed("rss.xml").entries}
    assert after["甲文章（更新）"] == before["甲文章"]
    for title in ("乙文章", "丙文章", "丁文章定稿", "戊文章"):
        assert after[title] == before[title]


def test_rebuild_is_byte_identical_and_keeps_mtimes(site: Site) -> None:
    add_sample(site)
    first = site.build()
    files = sorted(p for p in site.out.rglob("*") if p.is_file())
    assert len(first.written) == len(files) == 2 + 2 * 2 + 1 + 3  # combined + 2 categories + opml + 3 pages
    snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    time.sleep(0.05)
    second = site.build()
    assert second.written == () and len(second.unchanged) == len(files)
    for path, (data, mtime) in snapshot.items():
        assert path.read_bytes() == data
        assert path.stat().st_mtime_ns == mtime
    # a change rewrites only the feeds it touches
    site.add(
        "2022-01-24-b.md", post_text("乙文章改", "2022-01-24 09:00:00 +0800", CAT_B, info_code="NW202201240000000002")
    )
    third = site.build()
    assert set(third.written) == {"rss.xml", "atom.xml", f"{cat_dir(CAT_B)}/rss.xml", f"{cat_dir(CAT_B)}/atom.xml",
                                  "index.html", f"{cat_dir(CAT_B)}/index.html"}  # and the pages that show it


def test_limit_keeps_newest(tmp_path: Path) -> None:
    write_config(tmp_path, limit=3)
    site = Site(tmp_path, tmp_path / "posts", tmp_path / "out", tmp_path / "config" / "feeds.toml")
    for day in range(1, 10):
        site.add(
            f"2022-01-0{day}-p.md",
            post_text(f"第{day}篇", f"2022-01-0{day} 12:00:00 +0800", info_code=f"NW2022010{day}0000000000"),
        )
    site.build()
    assert [e.title for e in site.feed("rss.xml").entries] == ["第9篇", "第8篇", "第7篇"]
    assert len(site.feed(f"{cat_dir(CAT_A)}/atom.xml").entries) == 3


def test_ties_are_ordered_deterministically(site: Site) -> None:
    for n in range(5):
        site.add(f"p{n}.md", post_text(f"同时{n}", "2022-01-25 20:00:00 +0800", info_code=f"NW20220125000000000{n}"))
    site.build()
    first = (site.out / "rss.xml").read_bytes()
    assert [e.title for e in site.feed("rss.xml").entries] == [f"同时{n}" for n in range(5)]
    for path in site.posts.iterdir():  # touching files changes nothing
        os.utime(path, None)
    site.build()
    assert (site.out / "rss.xml").read_bytes() == first


def test_bad_posts_are_skipped_and_the_rest_build(site: Site) -> None:
    add_sample(site)
    site.add("empty.md", "")
    site.add("gbk.md", post_text("编码").encode("gbk"))
    site.add("nofm.md", "<p>没有头信息</p>")
    site.add("nodate.md", "---\ntitle: 无日期\n---\n<p>x</p>")
    site.add("quote.md", post_text('他说"不"了', "2022-01-20 08:00:00 +0800", info_code="NW202201200000000009"))
    site.add("draft.md", post_text("草稿", info_code="NW202201250000000010", extra_front="published: false"))
    future = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S +0000")
    site.add("future.md", post_text("未来", future, info_code="NW209901010000000011"))
    site.add("notes.json", "{}")  # not a post type: ignored
    lines: list[str] = []
    report = site.build(report=lines.append)
    assert report.posts_skipped == 4
    assert any("empty.md: empty file" in line for line in lines)
    assert any("gbk.md: not UTF-8" in line for line in lines)
    assert any("nofm.md: no front matter" in line for line in lines)
    assert any("nodate.md: no date" in line for line in lines)
    assert any("quote.md: warning:" in line for line in lines)
    titles = [e.title for e in site.feed("rss.xml").entries]
    assert '他说"不"了' in titles
    assert "草稿" not in titles and "未来" not in titles
    assert len(titles) == 6


def test_hostile_category_stays_inside_output(site: Site) -> None:
    site.add("x.md", post_text("越界", categories="../../x", info_code="NW202201250000000012"))
    site.add("y.md", post_text("点", categories=".hidden", info_code="NW202201250000000013"))
    site.add("z.md", post_text("斜杠", categories="a\\b", info_code="NW202201250000000014"))
    site.build()
    out = site.out.resolve()
    files = [p.resolve() for p in site.root.rglob("*.xml")]
    assert files and all(out in p.parents for p in files)
    assert not (site.root / "x").exists() and not (site.root.parent / "x").exists()
    cats = sorted(p.name for p in (site.out / "category").iterdir())
    assert len(cats) == 3 and not any(c.startswith(".") for c in cats)
    # the feed for '../../x' exists, is titled after the category, and its URL is percent-encoded
    folder = next(c for c in cats if c.endswith(tuple("0123456789abcdef")) and "x" in c and ".." in c)
    feed = site.feed(f"category/{folder}/rss.xml")
    assert [e.title for e in feed.entries] == ["越界"]
    opml = etree.parse(str(site.out / "feeds.opml"))
    for outline in opml.findall("body/outline"):
        for attr in ("xmlUrl", "htmlUrl"):
            assert "/../" not in outline.get(attr) and "\\" not in outline.get(attr)
            assert outline.get(attr).startswith("https://finews.example.com/")


def test_opml_and_index_list_every_feed(site: Site) -> None:
    add_sample(site)
    site.build()
    opml = etree.parse(str(site.out / "feeds.opml"))
    outlines = opml.findall("body/outline")
    assert len(outlines) == 3
    urls = {unquote(o.get("xmlUrl")) for o in outlines}
    assert urls == {
        "https://finews.example.com/rss.xml",
        f"https://finews.example.com/category/{CAT_A}/rss.xml",
        f"https://finews.example.com/category/{CAT_B}/rss.xml",
    }
    assert all(o.get("htmlUrl", "").startswith("https://finews.example.com/") for o in outlines)
    assert all(" " not in o.get("xmlUrl") and "·" not in o.get("xmlUrl") for o in outlines)
    html = etree.parse(str(site.out / "index.html"), etree.HTMLParser())
    alternates = html.findall(".//link[@rel='alternate']")
    assert len(alternates) == 6
    assert {a.get("type") for a in alternates} == {"application/rss+xml", "application/atom+xml"}


def test_crash_mid_write_leaves_old_file_intact(site: Site) -> None:
    add_sample(site)
    site.build()
    old = (site.out / "rss.xml").read_bytes()
    site.add("2022-01-26-new.md", post_text("新文章", "2022-01-26 10:00:00 +0800", info_code="NW202201260000000020"))
    # a build killed (SIGKILL) in the middle of writing rss.xml: written, not yet renamed into place
    script = textwrap.dedent(
        f"""
        import os, sys, time
        def slow(src, dst):
            sys.stdout.write("writing\\n"); sys.stdout.flush(); time.sleep(60)
        os.replace = slow
        from feeds import config, pipeline
        pipeline.build(config.load({str(site.config_path)!r}))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    proc.kill()
    proc.wait()
    assert (site.out / "rss.xml").read_bytes() == old
    leftovers = [p.name for p in site.out.rglob("*.tmp")]
    assert leftovers  # the half-written temporary file is there, not the feed
    site.build()
    assert "新文章" in [e.title for e in site.feed("rss.xml").entries]
    assert not list(site.out.rglob("*.tmp"))  # and the next build sweeps it away
