"""The HTML pages, read back with a real HTML parser (lxml.html): one per feed, the
same items in the same order as the feed, links that resolve, text escaped,
nothing rewritten when nothing changed, the interface in the site's language."""

from __future__ import annotations

import html as htmllib
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
from conftest import CAT_A, CAT_B, LABELS, Site, post_text

from feeds.core.models import Item
from feeds.output.formats import pages
from feeds.output.layout import plan

OUT_URL = "https://finews.example.com/"


def add_posts(site: Site) -> None:
    site.add("2022-01-25-a.md", post_text("甲：央行开展逆回购操作", "2022-01-25 20:54:37 +0800", CAT_A,
                                          info_code="NW1"))  # fmt: skip
    site.add("2022-01-24-b.md", post_text("乙：沪指震荡收涨", "2022-01-24 09:00:00 +0800", CAT_B, info_code="NW2"))
    site.add("2022-01-23-c.md", post_text("丙：两个分类", "2022-01-23 12:00:00 +0000", f"{CAT_A} {CAT_B}",
                                          info_code="NW3"))  # fmt: skip
    site.add("2022-01-22-x.md", post_text("<script>alert(1)</script> & <b>粗</b>", "2022-01-22 08:00:00 +0800",
                                          CAT_B, info_code="NW4",
                                          paragraphs=("<script>alert(2)</script>正文<img src=x onerror=alert(3)>",)))  # fmt: skip


def feed_files(out: Path) -> list[Path]:
    return sorted(out.rglob("rss.xml"))


def parse(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


def resolve(out: Path, page: Path, href: str) -> Path | None:
    """The output file an href of ``page`` leads to, or None for a link out of the output folder."""
    if href.startswith(OUT_URL):
        return out / unquote(urlsplit(href).path[len(urlsplit(OUT_URL).path):])
    if urlsplit(href).scheme:
        return None
    rel = page.relative_to(out).as_posix()
    return out / unquote(urlsplit(urljoin(f"{OUT_URL}{rel}", href)).path).lstrip("/")


def test_every_feed_has_a_page_with_the_same_items(site: Site) -> None:
    add_posts(site)
    site.build()
    feeds = feed_files(site.out)
    assert len(feeds) == 3
    for rss in feeds:
        page = rss.parent / "index.html"
        assert page.is_file(), page
        doc = parse(page)
        feed = site.feed(rss.relative_to(site.out).as_posix())
        items = doc.cssselect("ol.items > li")
        # an RSS title is HTML that shows the title's text: a reader decodes it once
        titles = [htmllib.unescape(e.title) if "html" in e.title_detail.type else e.title for e in feed.entries]
        assert [li.cssselect("h3")[0].text_content() for li in items] == titles
        assert [li.cssselect("h3 a")[0].get("href") for li in items] == [e.link for e in feed.entries]
        assert doc.cssselect("h1")[0].text_content()
        assert feed.feed.title in doc.findtext(".//title")
        shown = [c.text_content() for c in doc.cssselect("code.url")]
        self_url = next(link.href for link in feed.feed.links if link.rel == "self")
        # the URL as a person reads it ("·", not "%C2%B7"); the links to it stay encoded
        assert shown == [unquote(self_url), unquote(self_url).replace("/rss.xml", "/atom.xml")]


def test_links_resolve_and_are_http_or_relative(site: Site) -> None:
    add_posts(site)
    site.build()
    pages_seen = sorted(site.out.rglob("index.html"))
    assert len(pages_seen) == 3
    for page in pages_seen:
        doc = parse(page)
        assert not doc.xpath("//script") and not doc.xpath("//@*[starts-with(name(), 'on')]")
        alternates = doc.xpath("//head/link[@rel='alternate']")
        assert alternates and all(resolve(site.out, page, a.get("href")).is_file() for a in alternates)  # type: ignore[union-attr]
        for anchor in doc.xpath("//a[@href]"):
            href = anchor.get("href")
            scheme = urlsplit(href).scheme
            assert scheme in ("", "http", "https"), href
            if href.startswith("#"):
                assert doc.get_element_by_id(href[1:]) is not None
            elif not scheme:  # our own links between pages and to the feeds
                assert resolve(site.out, page, href).is_file(), (page, href)  # type: ignore[union-attr]
        nav = [a.text_content() for a in doc.cssselect("nav a")]
        assert nav == ["全部文章", LABELS[CAT_B], LABELS[CAT_A]]  # sorted by slug, the combined first


def test_item_text_is_escaped(site: Site) -> None:
    add_posts(site)
    site.build()
    raw = (site.out / "index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in raw and "onerror" not in raw.replace("onerror=alert(3)&gt;", "")
    doc = parse(site.out / "index.html")
    titles = [h.text_content() for h in doc.cssselect("ol.items h3")]
    assert "<script>alert(1)</script> & <b>粗</b>" in titles  # a title is text: shown as written, escaped
    assert not doc.xpath("//script") and not doc.xpath("//img") and not doc.xpath("//ol//b")


def test_unsafe_links_are_not_links(tmp_path: Path) -> None:
    from conftest import write_config

    from feeds import config

    settings = config.load(write_config(tmp_path))
    spec = plan(settings, [CAT_A])[0]
    when = datetime(2022, 1, 25, 12, 0, tzinfo=UTC)
    links = ("javascript:alert(1)", "data:text/html,x", "//evil.example/x", " https://ok.example/a\n",
             'https://ok.example/b?x="><script>')  # fmt: skip
    items = [
        Item(key=str(k), title=f"t{k}", link=link, published=when, updated=when, categories=(CAT_A,), summary="<i>s</i>")
        for k, link in enumerate(links)
    ]
    doc = lxml.html.fromstring(pages.render_page(spec, items, plan(settings, [CAT_A]), settings))
    headings = doc.cssselect("ol.items h3")
    assert [bool(h.cssselect("a")) for h in headings] == [False, False, False, True, True]
    assert headings[3].cssselect("a")[0].get("href") == "https://ok.example/a"  # stripped
    assert headings[4].cssselect("a")[0].get("href") == 'https://ok.example/b?x="><script>'
    assert [p.text_content() for p in doc.cssselect(".excerpt")] == ["<i>s</i>"] * 5
    assert not doc.xpath("//script") and not doc.xpath("//i")
    assert doc.cssselect("time")[0].text_content() == "2022-01-25 20:00"  # in site.timezone (Asia/Shanghai)


def test_unchanged_rebuild_rewrites_no_page_and_a_change_only_its_pages(site: Site) -> None:
    add_posts(site)
    site.build()
    snapshot = {p: p.stat().st_mtime_ns for p in site.out.rglob("*") if p.is_file()}
    time.sleep(0.02)
    again = site.build()
    assert again.written == ()
    assert {p: p.stat().st_mtime_ns for p in site.out.rglob("*") if p.is_file()} == snapshot
    site.add("2022-01-26-d.md", post_text("丁：新文章", "2022-01-26 10:00:00 +0800", CAT_A, info_code="NW5"))
    third = site.build()
    cat_a = f"category/{CAT_A}"
    assert {w for w in third.written if w.endswith(".html")} == {"index.html", f"{cat_a}/index.html"}
    # the other category's page did not change and was not rendered again
    assert (site.out / "category" / CAT_B / "index.html").stat().st_mtime_ns == snapshot[
        site.out / "category" / CAT_B / "index.html"
    ]


def test_stale_category_page_is_removed_with_its_feed(site: Site) -> None:
    add_posts(site)
    site.build()
    for name in ("2022-01-24-b.md", "2022-01-23-c.md", "2022-01-22-x.md"):
        (site.posts / name).unlink()
    report = site.build()
    assert not (site.out / "category" / CAT_B).exists()
    assert f"category/{CAT_B}/index.html" in report.removed
    nav = [a.text_content() for a in parse(site.out / "index.html").cssselect("nav a")]
    assert nav == ["全部文章", LABELS[CAT_A]]


def _edit_config(site: Site, old: str, new: str) -> None:
    text = site.config_path.read_text(encoding="utf-8")
    assert old in text
    site.config_path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_interface_language_follows_site_language(site: Site) -> None:
    add_posts(site)
    site.build()
    doc = parse(site.out / "index.html")
    assert doc.get("lang") == "zh-CN" and doc.cssselect("#subscribe")[0].text_content() == "订阅"
    _edit_config(site, 'description = "测试站点"', 'description = "测试站点"\nlanguage = "en-US"')
    site.build()
    doc = parse(site.out / "category" / CAT_A / "index.html")
    assert doc.get("lang") == "en-US"
    assert doc.cssselect("#subscribe")[0].text_content() == "Subscribe"
    assert doc.cssselect("#items")[0].text_content() == "Latest articles"
    assert doc.cssselect("nav a")[0].text_content() == "All articles"


def test_user_templates_win_and_a_change_rerenders_only_pages(site: Site) -> None:
    add_posts(site)
    templates = site.root / "tpl"
    templates.mkdir()
    (templates / "style.css").write_text("body { color: red }\n", encoding="utf-8")
    _edit_config(site, "limit = 50", 'limit = 50\ntemplates = "../tpl"')
    site.build()
    raw = (site.out / "index.html").read_text(encoding="utf-8")
    assert "body { color: red }" in raw and "订阅" in raw  # style.css overridden, feed.html bundled
    (templates / "feed.html").write_text(
        '{% extends "base.html" %}{% block body %}<p id="mine">{{ feed.title }}|{{ items|length }}'
        "|{{ items[0].title if items else '' }}</p>{% endblock %}\n",
        encoding="utf-8",
    )
    report = site.build()
    assert sorted(report.written) == sorted(p.relative_to(site.out).as_posix() for p in site.out.rglob("index.html"))
    mine = parse(site.out / "index.html").get_element_by_id("mine").text_content()
    assert mine == "财经快讯|4|甲：央行开展逆回购操作"
    (templates / "feed.html").write_text("{% block body %}{{ nope( }}\n", encoding="utf-8")
    proc = site.cli("build", "-c", "config/feeds.toml")
    assert proc.returncode == 1 and "template error" in proc.stderr and "Traceback" not in proc.stderr


def test_each_category_link_leads_to_that_category_on_every_page(site: Site) -> None:
    """An item in two categories is drawn once per page depth and reused: on each category's page its
    category links must still lead to the category they name (not to the page the item was first drawn for)."""
    add_posts(site)
    site.build()
    pages_with_links = 0
    for page in [site.out / "index.html", *sorted((site.out / "category").glob("*/index.html"))]:
        for link in parse(page).cssselect("ol.items .cats a"):
            target = resolve(site.out, page, link.get("href"))
            assert target is not None and target.is_file(), link.get("href")
            slug = target.parent.name
            assert LABELS[slug] == link.text_content(), (page, link.get("href"), link.text_content())
            pages_with_links += 1
    assert pages_with_links >= 8
