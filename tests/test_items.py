"""What a subscriber reads of each item, in RSS, Atom, JSON Feed and on the pages: excerpts that
are article text, the original article's link, tags, updated dates, authors, thumbnails, honest
credit for remote items, and ids that survive a move of the site."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import pytest
from conftest import CAT_A, CAT_B, Site, feed_source, post_text, write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from servers import FeedServer, Route

from feeds.core.text import excerpt, without_urls
from feeds.sources.postfields import DEFAULT_STRIP_LINES, strip_closing
from feeds.store import open_store
from feeds.store.siteids import AUTHORITY_KEY, BASE_KEY

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
DC = "{http://purl.org/dc/elements/1.1/}"
URLISH = re.compile(r"https?:|//|www\.", re.IGNORECASE)


def rss_items(site: Site, rel: str = "rss.xml") -> list[etree._Element]:
    return etree.parse(str(site.out / rel)).findall("channel/item")


def atom_entries(site: Site, rel: str = "atom.xml") -> list[etree._Element]:
    return etree.parse(str(site.out / rel)).getroot().findall(f"{ATOM}entry")


def json_items(site: Site, rel: str = "feed.json") -> list[dict]:
    return json.loads((site.out / rel).read_text(encoding="utf-8"))["items"]


def page_items(site: Site, rel: str = "index.html") -> list[lxml.html.HtmlElement]:
    return lxml.html.fromstring((site.out / rel).read_bytes()).cssselect("ol.items > li")


def with_json(site: Site, sources: str | None = None) -> None:
    """The site's config writing JSON Feed too (and ``sources`` instead of the posts folder)."""
    write_config(site.root, sources=sources)
    text = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(text.replace('dir = "../out"\n', 'dir = "../out"\nformats = ["rss", "atom", "json"]\n', 1),
                                encoding="utf-8")  # fmt: skip


# ---------------------------------------------------------------- posts


def test_sample_shaped_posts_excerpts_are_article_text_and_the_original_is_linked(site: Site) -> None:
    with_json(site)
    for i, cat in enumerate((CAT_A, CAT_B, f"{CAT_A} {CAT_B}")):
        site.add(f"2022-01-2{i}-p{i}.md", post_text(f"第{i}篇", f"2022-01-2{i} 10:00:00 +0800", cat,
                                                    info_code=f"NW20220120000000{i}"))  # fmt: skip
    site.build()
    code = {f"第{i}篇": f"NW20220120000000{i}" for i in range(3)}
    for folder in ("", f"category/{CAT_A}/", f"category/{CAT_B}/"):
        for item in rss_items(site, folder + "rss.xml"):
            original = f"http://news.example.com/html_News/NewsShare.html?infoCode={code[item.findtext('title')]}"
            description = item.findtext("description")
            assert description.startswith("第一段") and not URLISH.search(description)
            assert "返回" not in description and "infoCode" not in description
            content = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
            body = lxml.html.fragment_fromstring(content, create_parent="div")
            assert "返回" not in body.text_content()  # the site's navigation is dropped
            links = [(a.text_content(), a.get("href")) for a in body.iter("a")]
            assert links == [("原文", original)]  # the original, visible, at the end
            assert body[-1].get("class") == "original"
        for entry in atom_entries(site, folder + "atom.xml"):
            summary = entry.findtext(f"{ATOM}summary")
            assert summary.startswith("第一段") and not URLISH.search(summary) and "返回" not in summary
            related = [link for link in entry.findall(f"{ATOM}link") if link.get("rel") == "related"]
            title = entry.findtext(f"{ATOM}title")
            assert [(r.get("href"), r.get("title")) for r in related] == [
                (f"http://news.example.com/html_News/NewsShare.html?infoCode={code[title]}", "原文")
            ]
        for item in json_items(site, folder + "feed.json"):
            assert not URLISH.search(item["summary"]) and "返回" not in item["summary"]
            assert item["external_url"].endswith(f"infoCode={code[item['title']]}")
            assert "返回" not in item["content_html"]
        for li in page_items(site, folder + "index.html"):
            excerpt_text = li.cssselect("p.excerpt")[0].text_content()
            assert excerpt_text.startswith("第一段") and not URLISH.search(excerpt_text)
            assert [a.text_content() for a in li.cssselect("a.original")] == ["原文"]
            assert li.cssselect("a.original")[0].get("href").startswith("http://news.example.com/")


def test_front_matter_excerpt_tags_updated_author_image(site: Site) -> None:
    with_json(site)
    front = "\n".join([
        "excerpt: 这是作者写的摘要，见 https://example.org/x 。",
        "last_modified_at: 2022-01-26 09:30:00 +0800",
        "author:",
        "  name: 张三",
        "  email: zhangsan@example.com",
        "  uri: https://finews.example.com/authors/zhangsan",
        "image: /assets/cover.png",
    ])  # fmt: skip
    site.add("2022-01-25-a.md", post_text("甲", "2022-01-25 20:54:37 +0800", CAT_A, tags="标签一 标签二",
                                          info_code="NW1", extra_front=front))  # fmt: skip
    site.add("2022-01-24-b.md", post_text("乙", "2022-01-24 20:54:37 +0800", CAT_B, info_code="NW2",
                                          extra_front="description: 描述作摘要\nauthor: 李四 <lisi@example.com>"))  # fmt: skip
    site.add("2022-01-23-c.md", post_text("丙", "2022-01-23 20:54:37 +0800", CAT_B, info_code="NW3",
                                          extra_front="summary: 摘要键\nimage: {path: 'https://cdn.example.com/c.jpg'}"))  # fmt: skip
    site.build()

    rss = {i.findtext("title"): i for i in rss_items(site)}
    assert rss["甲"].findtext("description") == "这是作者写的摘要，见 。"
    assert rss["乙"].findtext("description") == "描述作摘要"
    assert rss["丙"].findtext("description") == "摘要键"
    categories = [c.text for c in rss["甲"].findall("category")]
    assert categories == ["中国证券报·中证网", "标签一", "标签二"]  # the category's title, then the tags
    assert rss["甲"].findtext("author") == "zhangsan@example.com (张三)" and rss["甲"].find(f"{DC}creator") is None
    assert rss["乙"].findtext("author") == "lisi@example.com (李四)"
    assert rss["丙"].findtext(f"{DC}creator") == "编辑部" and rss["丙"].find("author") is None  # the site's
    thumb = rss["甲"].find(f"{MEDIA}thumbnail")
    assert thumb is not None and thumb.get("url") == "https://finews.example.com/assets/cover.png"
    assert rss["丙"].find(f"{MEDIA}thumbnail").get("url") == "https://cdn.example.com/c.jpg"
    assert rss["乙"].find(f"{MEDIA}thumbnail") is None
    # no feed per tag
    assert sorted(p.name for p in (site.out / "category").iterdir()) == sorted([CAT_A, CAT_B])

    atom = {e.findtext(f"{ATOM}title"): e for e in atom_entries(site)}
    a = atom["甲"]
    assert a.findtext(f"{ATOM}updated") == "2022-01-26T09:30:00+08:00"
    assert a.findtext(f"{ATOM}published") == "2022-01-25T20:54:37+08:00"
    assert atom["乙"].findtext(f"{ATOM}updated") == "2022-01-24T20:54:37+08:00"  # none given: the date
    author = a.find(f"{ATOM}author")
    assert [author.findtext(f"{ATOM}{k}") for k in ("name", "email", "uri")] == [
        "张三", "zhangsan@example.com", "https://finews.example.com/authors/zhangsan"]  # fmt: skip
    assert [c.get("term") for c in a.findall(f"{ATOM}category")] == [CAT_A, "标签一", "标签二"]
    assert a.find(f"{MEDIA}thumbnail").get("url") == "https://finews.example.com/assets/cover.png"
    assert atom["甲"].findtext(f"{ATOM}summary") == "这是作者写的摘要，见 。"

    js = {i["title"]: i for i in json_items(site)}
    assert js["甲"]["date_modified"] == "2022-01-26T09:30:00+08:00"
    assert js["甲"]["authors"] == [{"name": "张三", "url": "https://finews.example.com/authors/zhangsan"}]
    assert js["甲"]["image"] == "https://finews.example.com/assets/cover.png"
    assert js["甲"]["tags"] == ["中国证券报·中证网", "标签一", "标签二"]
    assert js["甲"]["summary"] == "这是作者写的摘要，见 。"
    assert "image" not in js["乙"]


@pytest.mark.parametrize(
    ("front", "field"),
    [
        ("image: javascript:alert(1)", "image"),
        ("image: data:image/png;base64,AAAA", "image"),
        ("author: {name: 王五, email: 'not an email', uri: 'javascript:alert(1)'}", "author"),
        ("last_modified_at: not a date", "updated"),
        ("last_modified_at: 2020-01-01 00:00:00 +0800", "updated"),  # before the date: the date stands
        ("excerpt: '<script>alert(1)</script><b>粗</b>'", "excerpt"),
    ],
)
def test_hostile_front_matter_never_reaches_a_feed(site: Site, front: str, field: str) -> None:
    with_json(site)
    site.add("2022-01-25-a.md", post_text("甲", "2022-01-25 20:54:37 +0800", CAT_A, info_code="NW1",
                                          extra_front=front))  # fmt: skip
    site.build()
    rss = (site.out / "rss.xml").read_text(encoding="utf-8")
    atom = (site.out / "atom.xml").read_text(encoding="utf-8")
    js = json_items(site)[0]
    for text in (rss, atom, json.dumps(js, ensure_ascii=False)):
        assert "javascript:" not in text and "data:image" not in text and "<script" not in text
        assert "not an email" not in text
    entry = atom_entries(site)[0]
    assert entry.findtext(f"{ATOM}updated") == "2022-01-25T20:54:37+08:00"
    if field == "author":
        assert entry.find(f"{ATOM}author").findtext(f"{ATOM}name") == "王五"
    if field == "excerpt":
        assert entry.findtext(f"{ATOM}summary") == "粗"


def test_strip_lines_are_configurable_per_posts_source(site: Site) -> None:
    site.add("2022-01-25-a.md", post_text("甲", "2022-01-25 20:54:37 +0800", CAT_A, info_code="NW1") + "\n\n——本站编辑")
    site.build()  # a line after the back-links: the default closing lines are not at the end any more
    content = rss_items(site)[0].findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert "返回首页" in content and "本站编辑" in content
    sources = (
        '\n[[sources]]\nname = "posts"\ntype = "posts"\npath = "../posts"\nstrip_lines = [\n'
        + "".join(f"  '{p}',\n" for p in (*DEFAULT_STRIP_LINES, "——.*"))
        + "]\n"
    )
    write_config(site.root, sources=sources)
    site.build()
    item = rss_items(site)[0]
    content = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert "返回首页" not in content and "本站编辑" not in content and ">原文</a>" in content
    write_config(site.root, sources='\n[[sources]]\nname = "posts"\ntype = "posts"\npath = "../posts"\n'
                 "strip_lines = []\n")  # fmt: skip
    site.build()
    content = rss_items(site)[0].findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert "返回首页" in content and ">原文</a>" not in content


@pytest.mark.parametrize(
    ("value", "reason"),
    [("'(unclosed'", "bad regular expression"), ("'(?P<code>x)'", "the only named group"), ("[1]", "must be")],
)
def test_bad_strip_lines_is_a_config_error_naming_the_key(site: Site, value: str, reason: str) -> None:
    write_config(site.root, sources=f'\n[[sources]]\nname = "posts"\ntype = "posts"\npath = "../posts"\n'
                 f"strip_lines = [{value}]\n")  # fmt: skip
    done = site.cli("build")
    assert done.returncode == 2, done.stderr
    assert "sources[0].strip_lines[0]" in done.stderr and reason in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


lines = st.sampled_from([
    "<http://news.example.com/html_News/NewsShare.html?infoCode=NW202201250000000001>",
    "<//news.example.com/s.html?a=1&infoCode=NW2>",
    "[返回中国证券报·中证网新闻](//finews.example.com/category/x.html)｜[返回首页](//finews.example.com/)",
    "[返回首页](//finews.example.com/)",
    "", "   ", "<p>正文</p>", "见 https://example.org/a 与 www.example.com/b", "//example.org/c", "[链接](http://x.y/)",
])  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(lines, st.text(max_size=40)), max_size=12))
def test_closing_lines_and_excerpts_hold_for_any_body(parts: list[str]) -> None:
    body = "\n".join(parts)
    kept, original = strip_closing(body, DEFAULT_STRIP_LINES)
    assert body.startswith(kept)  # only closing lines go, never text in the middle
    dropped = body[len(kept) :]
    for line in dropped.splitlines():  # and each of them is blank or one the patterns name
        assert not line.strip() or "返回" in line or "infoCode=" in line
    if original:
        assert "infoCode=" in original and original in dropped
    text = excerpt(f"<p>{kept}</p>")
    assert not re.search(r"https?://", text) and "www.example.com" not in text
    assert not re.search(r"https?://", without_urls(body))


# ---------------------------------------------------------------- remote items


def remote_rss(title: str | None) -> bytes:
    head = f"<title>{title}</title>" if title is not None else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>{head}<link>http://127.0.0.1/</link><description>d</description>
<item><title>有作者</title><link>http://127.0.0.1/a1</link><guid>a1</guid>
<pubDate>Tue, 25 Jan 2022 10:00:00 +0800</pubDate><dc:creator>记者甲</dc:creator>
<media:thumbnail url="http://127.0.0.1/t.jpg"/><description>&lt;p&gt;内容一&lt;/p&gt;</description></item>
<item><title>无作者</title><link>http://127.0.0.1/a2</link><guid>a2</guid>
<pubDate>Tue, 25 Jan 2022 09:00:00 +0800</pubDate>
<enclosure url="javascript:alert(1)" type="image/png" length="1"/><description>内容二</description></item>
</channel></rss>""".encode()


@pytest.mark.parametrize("feed_title", ["外部快讯源", None])
def test_remote_items_are_credited_to_their_author_or_feed_never_the_site(site: Site, feed_title: str | None) -> None:
    with FeedServer({"/f.xml": Route(body=remote_rss(feed_title))}) as server:
        url = server.url("/f.xml")
        with_json(site, sources=feed_source("wire", url))
        site.build()
    credit = feed_title or "wire"  # a feed with no title: its source's name
    rss = {i.findtext("title"): i for i in rss_items(site)}
    assert rss["有作者"].findtext(f"{DC}creator") == "记者甲"
    assert rss["无作者"].findtext(f"{DC}creator") == credit  # not the site's "编辑部"
    for item in rss.values():
        source = item.find("source")
        assert source is not None and source.get("url") == url and source.text == credit
    assert rss["有作者"].find(f"{MEDIA}thumbnail").get("url") == "http://127.0.0.1/t.jpg"
    assert rss["无作者"].find(f"{MEDIA}thumbnail") is None  # a javascript: enclosure is no image
    atom = {e.findtext(f"{ATOM}title"): e for e in atom_entries(site)}
    assert atom["无作者"].find(f"{ATOM}author").findtext(f"{ATOM}name") == credit
    for entry in atom.values():
        source = entry.find(f"{ATOM}source")
        assert source.findtext(f"{ATOM}title") == credit and source.findtext(f"{ATOM}id") == url
        assert source.findtext(f"{ATOM}updated") == entry.findtext(f"{ATOM}updated")
    js = {i["title"]: i for i in json_items(site)}
    assert js["有作者"]["authors"] == [{"name": "记者甲"}] and js["无作者"]["authors"] == [{"name": credit}]
    assert js["有作者"]["image"] == "http://127.0.0.1/t.jpg"
    assert all(i["_source"] == {"title": credit, "feed_url": url} for i in js.values())
    names = [e.find(f"{ATOM}author").findtext(f"{ATOM}name") for e in atom.values()]
    names += [a["name"] for i in js.values() for a in i["authors"]]
    assert "编辑部" not in names  # the site's author is the feed's, and credits no remote item
    page = {li.cssselect("h3")[0].text_content(): li for li in page_items(site)}
    assert f"来源：{credit}" in page["无作者"].text_content()


# ---------------------------------------------------------------- ids


def ids(site: Site) -> dict[str, list[str]]:
    out = {"rss": [i.findtext("guid") for i in rss_items(site)],
           "atom": [e.findtext(f"{ATOM}id") for e in atom_entries(site)],
           "json": [i["id"] for i in json_items(site)],
           "feed": [etree.parse(str(site.out / "atom.xml")).getroot().findtext(f"{ATOM}id")]}  # fmt: skip
    return out


def move(site: Site, new_url: str, extra: str = "") -> None:
    """Set ``[site] url`` (the test domains are ``.test``: example.com is a placeholder ids never follow)."""
    text = re.sub(r'(?m)^url = "[^"]*"', f'url = "{new_url}"', site.config_path.read_text(encoding="utf-8"), count=1)
    if extra:
        text = text.replace("[site]\n", f"[site]\n{extra}\n", 1)
    site.config_path.write_text(text, encoding="utf-8")


def test_ids_survive_a_move_of_the_site(site: Site) -> None:
    with_json(site)
    move(site, "https://finews.test/")
    site.add("2022-01-25-a.md", post_text("甲", "2022-01-25 20:54:37 +0800", CAT_A, info_code="NW1"))
    site.add("2022-01-24-b.md", post_text("乙", "2022-01-24 20:54:37 +0800", CAT_B, info_code=None))
    site.build()
    before = ids(site)
    assert before["rss"][0] == "tag:finews.test,2000:infocode:NW1"
    assert all(i.startswith("tag:finews.test,2000:") for v in before.values() for i in v)
    move(site, "https://news.mirror.test/mirror/")
    site.build()
    after = ids(site)
    assert after == before
    assert rss_items(site)[0].findtext("link").startswith("https://news.mirror.test/mirror/")  # links moved


def test_a_store_from_before_ids_were_recorded_keeps_the_published_ids(site: Site) -> None:
    site.add("2022-01-25-a.md", post_text("甲", "2022-01-25 20:54:37 +0800", CAT_A, info_code="NW1"))
    site.add("2022-01-24-b.md", post_text("乙", "2022-01-24 20:54:37 +0800", CAT_B, info_code=None))
    with_json(site)
    move(site, "https://finews.test/")
    site.build()
    before = ids(site)
    assert before["rss"][0] == "tag:finews.test,2000:infocode:NW1"
    with open_store(site.settings()) as store:  # as an earlier feeds left it: nothing recorded
        store.set_meta({AUTHORITY_KEY: "", BASE_KEY: ""})
    move(site, "https://other.test/")  # and the site moves with the upgrade
    site.build()
    assert ids(site) == before  # read back from the output: its ids' authority, its links' site URL
    assert rss_items(site)[0].findtext("link").startswith("https://other.test/")


def test_id_authority_setting_wins(site: Site) -> None:
    site.add("2022-01-25-a.md", post_text("甲", "2022-01-25 20:54:37 +0800", CAT_A, info_code="NW1"))
    move(site, "https://finews.test/", 'id_authority = "Archive.Test"')
    site.build()
    assert rss_items(site)[0].findtext("guid") == "tag:archive.test,2000:infocode:NW1"
    site.config_path.write_text(site.config_path.read_text(encoding="utf-8").replace(
        '"Archive.Test"', '"bad,authority"'), encoding="utf-8")  # fmt: skip
    done = site.cli("build")
    assert done.returncode == 2 and "site.id_authority" in done.stderr and "Traceback" not in done.stderr


def test_feeds_init_then_build_shows_the_original_and_no_navigation(tmp_path: Path) -> None:
    from conftest import run_cli

    assert run_cli("init", "site", cwd=tmp_path).returncode == 0
    done = run_cli("build", cwd=tmp_path / "site")
    assert done.returncode == 0, done.stderr
    rss = (tmp_path / "site" / "out" / "rss.xml").read_text(encoding="utf-8")
    assert "原文" in rss and "返回首页" not in rss


def test_a_source_url_with_a_password_is_never_published(site: Site) -> None:
    with FeedServer({"/f.xml": Route(body=remote_rss("私有源"))}) as server:
        url = server.url("/f.xml").replace("http://", "http://reader:s3cret@")
        with_json(site, sources=feed_source("private", url))
        site.build()
        public = server.url("/f.xml")
    for path in site.out.rglob("*"):
        if path.is_file():
            assert "s3cret" not in path.read_text(encoding="utf-8"), path
    assert {i.find("source").get("url") for i in rss_items(site)} == {public}
    assert {i["_source"]["feed_url"] for i in json_items(site)} == {public}
