"""Tests for feeds.parse: feed bytes built in the tests, no network."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from feeds.core.errors import FeedParseError, FeedsError
from feeds.core.identity import Identity
from feeds.core.models import ParsedFeed, Source
from feeds.sources.feedparse import clean_text, parse_feed, sanitize_html

URL = "https://feeds.example.com/news/rss.xml"
NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
SOURCE = Source(name="eastmoney", type="feed", url=URL, category="markets")


def parse(body: bytes, **kwargs: object) -> ParsedFeed:
    options: dict[str, object] = {"url": URL, "source": SOURCE, "identity": Identity(), "now": NOW}
    options.update(kwargs)
    return parse_feed(body, **options)  # type: ignore[arg-type]


def rss(items: str, *, encoding: str | None = "utf-8", title: str = "财经要闻") -> str:
    prolog = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else '<?xml version="1.0"?>'
    return (
        f'{prolog}\n<rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://www.example.com/</link><description>d</description>{items}</channel></rss>"
    )


def rss_item(
    title: str = "Title",
    link: str = "https://www.example.com/a/1.html",
    date: str | None = "Tue, 25 Jan 2022 20:54:37 +0800",
    extra: str = "",
) -> str:
    parts = [f"<title>{title}</title>"]
    if link:
        parts.append(f"<link>{link}</link>")
    if date:
        parts.append(f"<pubDate>{date}</pubDate>")
    return "<item>" + "".join(parts) + extra + "</item>"


# -- formats ----------------------------------------------------------------


def test_rss20_basic_fields() -> None:
    extra = (
        "<description>&lt;p&gt;Short &lt;b&gt;summary&lt;/b&gt;&lt;/p&gt;</description>"
        "<content:encoded><![CDATA[<p>Full <em>body</em></p>]]></content:encoded>"
        "<author>li@example.com (Li Lei)</author><category>stocks</category><category>A股</category>"
        "<guid isPermaLink='false'>abc-1</guid>"
    )
    body = rss(rss_item(title="沪指收涨 &amp; 创业板", extra=extra)).replace(
        '<rss version="2.0">', '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
    )
    feed = parse(body.encode(), content_type="application/rss+xml; charset=utf-8")
    assert feed.title == "财经要闻"
    assert feed.link == "https://www.example.com/"
    assert feed.warnings == ()
    assert feed.undated == ()
    (item,) = feed.items
    assert item.title == "沪指收涨 & 创业板"
    assert item.link == "https://www.example.com/a/1.html"
    assert item.key == "link:https://www.example.com/a/1.html"
    assert item.content == "<p>Full <em>body</em></p>"
    assert item.summary == "Short summary"
    assert item.tags == ("stocks", "A股")
    assert item.categories == ("markets",)
    assert item.source == "eastmoney"
    assert item.origin == URL
    assert item.author


def test_atom10_basic_fields() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom feed</title><link rel="alternate" href="https://atom.example.com/"/>
  <link rel="self" href="https://atom.example.com/feed.xml"/>
  <id>urn:feed</id><updated>2022-01-25T12:54:37Z</updated>
  <entry>
    <title type="html">&lt;b&gt;Rates&lt;/b&gt; &amp;amp; bonds</title>
    <id>urn:entry:1</id>
    <link rel="enclosure" href="https://atom.example.com/a.mp3"/>
    <link rel="alternate" type="text/html" href="https://atom.example.com/posts/1"/>
    <updated>2022-01-25T12:54:37Z</updated>
    <author><name>Wang</name><email>w@example.com</email></author>
    <category term="rates"/><category term="bonds"/>
    <summary>A summary</summary>
    <content type="html">&lt;p&gt;Body&lt;/p&gt;</content>
  </entry>
</feed>"""
    feed = parse(body, content_type="application/atom+xml")
    assert feed.title == "Atom feed"
    assert feed.link == "https://atom.example.com/"
    (item,) = feed.items
    assert item.title == "Rates & bonds"
    assert item.link == "https://atom.example.com/posts/1"
    assert item.author == "Wang"
    assert item.tags == ("rates", "bonds")
    assert item.content == "<p>Body</p>"
    assert item.summary == "A summary"
    assert item.published == datetime(2022, 1, 25, 12, 54, 37, tzinfo=UTC)
    assert item.published.utcoffset() == timedelta(0)
    assert item.updated == item.published


def test_atom_plain_text_content_is_escaped_and_wrapped() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id>
<entry><title>Plain</title><id>urn:e</id><updated>2022-01-25T12:54:37+08:00</updated>
<content type="text">line 1
line 2 a &lt; b &amp; &lt;script&gt;x&lt;/script&gt;

para 2</content></entry></feed>"""
    (item,) = parse(body).items
    # Text is escaped; anything in it that a reader could take for a tag is dropped (issue 8).
    assert item.content == "<p>line 1<br>line 2 a &lt; b &amp; x</p><p>para 2</p>"
    assert item.key == "guid:urn:e"
    assert item.published.utcoffset() == timedelta(hours=8)


def test_rss10_rdf_basic_fields() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.com/"><title>RDF feed</title><link>https://rdf.example.com/</link>
    <description>d</description></channel>
  <item rdf:about="https://rdf.example.com/1"><title>First</title><link>https://rdf.example.com/1</link>
    <description>Hello</description><dc:date>2022-01-25T20:54:37+08:00</dc:date>
    <dc:creator>Zhang</dc:creator><dc:subject>macro</dc:subject></item>
</rdf:RDF>"""
    feed = parse(body)
    assert feed.title == "RDF feed"
    (item,) = feed.items
    assert item.title == "First"
    assert item.link == "https://rdf.example.com/1"
    assert item.author == "Zhang"
    assert item.tags == ("macro",)
    assert item.content == "Hello"
    assert item.published == datetime(2022, 1, 25, 12, 54, 37, tzinfo=UTC)
    assert item.published.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("version", ["0.91", "0.92"])
def test_old_rss_versions(version: str) -> None:
    body = rss(rss_item(title="Old")).replace('version="2.0"', f'version="{version}"')
    (item,) = parse(body.encode()).items
    assert item.title == "Old"


def test_atom03() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old atom</title>
<entry><title>E</title><link rel="alternate" type="text/html" href="https://a.example.com/e"/>
<id>urn:e</id><issued>2022-01-25T20:54:37+08:00</issued><modified>2022-01-25T12:54:37Z</modified></entry></feed>"""
    feed = parse(body)
    (item,) = feed.items
    assert item.title == "E"
    assert item.link == "https://a.example.com/e"
    assert item.published == datetime(2022, 1, 25, 12, 54, 37, tzinfo=UTC)


# -- dates ------------------------------------------------------------------


def test_rss_date_keeps_offset_and_instant() -> None:
    (item,) = parse(rss(rss_item(date="Tue, 25 Jan 2022 20:54:37 +0800")).encode()).items
    assert item.published.utcoffset() == timedelta(hours=8)
    assert item.published.tzinfo is not None
    assert item.published == datetime(2022, 1, 25, 12, 54, 37, tzinfo=UTC)
    assert item.published.hour == 20
    assert item.updated == item.published


def test_published_and_updated_are_separate() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id>
<entry><title>E</title><id>urn:e</id><published>2022-01-25T08:00:00+08:00</published>
<updated>2022-01-26T09:30:00+08:00</updated></entry></feed>"""
    (item,) = parse(body).items
    tz8 = timezone(timedelta(hours=8))
    assert item.published == datetime(2022, 1, 25, 8, 0, tzinfo=tz8)
    assert item.updated == datetime(2022, 1, 26, 9, 30, tzinfo=tz8)


def test_date_without_offset_falls_back_to_feedparser_as_utc() -> None:
    (item,) = parse(rss(rss_item(date="2022-01-25 12:54:37")).encode()).items
    assert item.published == datetime(2022, 1, 25, 12, 54, 37, tzinfo=UTC)
    assert item.published.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        ("2022/01/25 20:54:37 +0800", 8),
        ("2022-01-25 12:54:37 UTC", 0),
        ("Tue, 25 Jan 2022 12:54:37 GMT", 0),
        ("2022-01-25T20:54:37.000+08:00", 8),
    ],
)
def test_other_date_spellings(raw: str, offset: int) -> None:
    (item,) = parse(rss(rss_item(date=raw)).encode()).items
    assert item.published == datetime(2022, 1, 25, 12, 54, 37, tzinfo=UTC)
    assert item.published.utcoffset() == timedelta(hours=offset)


def test_entry_without_date_gets_now_and_is_undated() -> None:
    items = rss_item(title="Dated", link="https://www.example.com/1") + rss_item(
        title="Undated", link="https://www.example.com/2", date=None
    )
    feed = parse(rss(items).encode())
    dated, undated = feed.items
    assert dated.published != NOW
    assert undated.published == NOW
    assert undated.updated == NOW
    assert feed.undated == (undated.key,)
    assert undated.key == "link:https://www.example.com/2"


def test_garbage_date_is_undated() -> None:
    feed = parse(rss(rss_item(date="not a date at all")).encode())
    (item,) = feed.items
    assert item.published == NOW
    assert feed.undated == (item.key,)


# -- encodings --------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/xml", "application/rss+xml", "text/html"])
def test_gbk_declared_in_prolog(content_type: str | None) -> None:
    body = rss(rss_item(title="沪指收涨1.2% 券商股领涨"), encoding="GBK", title="东方财富").encode("gbk")
    feed = parse(body, content_type=content_type)
    assert feed.title == "东方财富"
    assert feed.items[0].title == "沪指收涨1.2% 券商股领涨"
    assert feed.warnings == ()  # encoding/content-type notes from feedparser are not problems


def test_gb2312_declared_only_in_content_type() -> None:
    body = rss(rss_item(title="央行开展逆回购操作"), encoding=None, title="财经新闻").encode("gb2312")
    feed = parse(body, content_type="text/xml; charset=gb2312")
    assert feed.title == "财经新闻"
    assert feed.items[0].title == "央行开展逆回购操作"


def test_gb18030() -> None:
    title = "𠮷野家 港股通 €"  # U+20BB7 is outside GBK
    body = rss(rss_item(title=title), encoding="GB18030").encode("gb18030")
    assert parse(body).items[0].title == title


def test_utf16_bom() -> None:
    body = rss(rss_item(title="人民币汇率"), encoding="utf-16").encode("utf-16")
    assert parse(body).items[0].title == "人民币汇率"


# -- errors -----------------------------------------------------------------


def test_malformed_xml_with_entries_gives_items_and_warning() -> None:
    items = rss_item(title="A & B", link="https://www.example.com/1") + rss_item(
        title="Second", link="https://www.example.com/2"
    )
    body = rss(items).replace("</channel></rss>", "")  # bare "&" and unclosed elements
    feed = parse(body.encode())
    assert [i.title for i in feed.items] == ["A & B", "Second"]
    assert len(feed.warnings) == 1
    assert feed.warnings[0].startswith("not well-formed XML: ")
    assert feed.warnings[0].endswith("; used 2 entries")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_raise_feed_parse_error(seed: int) -> None:
    body = random.Random(seed).randbytes(2048)
    with pytest.raises(FeedParseError) as info:
        parse(body)
    assert info.value.url == URL
    assert "not a feed" in str(info.value)


@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8"])
def test_html_page_raises_feed_parse_error(content_type: str | None) -> None:
    body = (
        "<!DOCTYPE html><html><head><title>东方财富网</title></head>"
        "<body><h1>首页</h1><p>Hello <a href='/x'>link</a></p></body></html>"
    ).encode()
    with pytest.raises(FeedParseError):
        parse(body, content_type=content_type)


@pytest.mark.parametrize(
    "body",
    [b"", b"\x00", b"   ", b"<?xml version='1.0'?><foo/>", b"\xff\xfe\x00", b'{"json": true}', b"\x89PNG\r\n\x1a\n"],
)
def test_odd_bodies_raise_feed_parse_error_only(body: bytes) -> None:
    with pytest.raises(FeedsError) as info:
        parse(body)
    assert isinstance(info.value, FeedParseError)


def test_body_is_never_treated_as_a_file_name(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "feed.xml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(rss(rss_item()))
    with pytest.raises(FeedParseError):
        parse(path.encode())


def test_empty_valid_feed_has_no_items() -> None:
    feed = parse(rss("").encode())
    assert feed.items == ()
    assert feed.title == "财经要闻"
    assert feed.warnings == ()


def test_empty_valid_feed_without_content_type_header() -> None:
    feed = parse(rss("", encoding="GBK").encode("gbk"), content_type="text/plain")
    assert feed.items == ()


# -- content ----------------------------------------------------------------


def test_content_sanitised_and_links_absolute() -> None:
    html = (
        '<p onclick="steal()">Hi <script>alert(1)</script><style>p{}</style>'
        '<a href="javascript:alert(1)">js</a> <a href="/news/2.html">rel</a> '
        '<img src="//img.example.com/a.png" onerror="x()"> <img src="pic.png"></p>'
    )
    extra = f"<description><![CDATA[{html}]]></description>"
    item = parse(rss(rss_item(link="https://www.example.com/a/1.html", extra=extra)).encode()).items[0]
    content = item.content or ""
    for bad in ("<script", "alert", "<style", "onclick", "onerror", "javascript:"):
        assert bad not in content
    assert 'href="https://www.example.com/news/2.html"' in content
    assert 'src="https://img.example.com/a.png"' in content
    assert 'src="https://www.example.com/a/pic.png"' in content


def test_relative_item_link_resolved_against_feed_url() -> None:
    item = parse(rss(rss_item(link="/a/2.html")).encode()).items[0]
    assert item.link == "https://feeds.example.com/a/2.html"


def test_non_http_item_link_dropped() -> None:
    item = parse(rss(rss_item(title="T", link="javascript:alert(1)")).encode()).items[0]
    assert item.link == ""


def test_control_characters_removed() -> None:
    extra = "<description>body&#x0b; text\x1f here</description>"
    feed = parse(rss(rss_item(title="A\x0bB\x1fC", extra=extra)).encode())
    item = feed.items[0]
    assert item.title == "ABC"
    assert "\x0b" not in (item.content or "")
    assert "\x1f" not in (item.content or "")
    assert "body" in (item.content or "")


def test_title_falls_back_to_summary_then_link() -> None:
    long_text = "市场" * 100
    items = rss_item(title="", link="https://www.example.com/1", extra=f"<description>{long_text}</description>")
    items += rss_item(title="", link="https://www.example.com/2")
    first, second = parse(rss(items).encode()).items
    assert first.title == long_text[:80]
    assert second.title == "https://www.example.com/2"


# -- identity ---------------------------------------------------------------


def test_info_code_in_link() -> None:
    link = "https://finance.example.com/a/202201252261361890.html?infoCode=NW202201252261361890&amp;utm_source=x"
    item = parse(rss(rss_item(link=link)).encode()).items[0]
    assert item.key == "infocode:NW202201252261361890"
    assert item.link.endswith("?infoCode=NW202201252261361890&utm_source=x")


def test_info_code_in_content() -> None:
    extra = '<description><![CDATA[<p><a href="https://x.example.com/n?id=1&infoCode=AN2022">x</a></p>]]></description>'
    item = parse(rss(rss_item(extra=extra)).encode()).items[0]
    assert item.key == "infocode:AN2022"


def test_tracking_params_removed_from_link_key() -> None:
    link = "https://www.example.com/a/3.html?utm_source=wx&amp;utm_medium=feed"
    item = parse(rss(rss_item(link=link)).encode()).items[0]
    assert item.key == "link:https://www.example.com/a/3.html"


def test_guid_key_when_no_link() -> None:
    item = parse(rss(rss_item(link="", extra="<guid isPermaLink='false'>id-42</guid>")).encode()).items[0]
    assert item.key == "guid:id-42"


def test_duplicate_keys_keep_first() -> None:
    items = rss_item(title="First", link="https://www.example.com/1?utm_source=a") + rss_item(
        title="Second", link="https://www.example.com/1?utm_source=b"
    )
    feed = parse(rss(items).encode())
    assert [i.title for i in feed.items] == ["First"]


def test_custom_identity_pattern() -> None:
    identity = Identity([r"/news/(?P<code>\d{6,})\.html"])
    item = parse(rss(rss_item(link="https://www.example.com/news/1234567.html")).encode(), identity=identity).items[0]
    assert item.key == "infocode:1234567"


def test_categories_from_source() -> None:
    body = rss(rss_item()).encode()
    assert parse(body).items[0].categories == ("markets",)
    plain = Source(name="other", type="feed", url=URL)
    item = parse(body, source=plain).items[0]
    assert item.categories == ()
    assert item.source == "other"


# -- helpers ----------------------------------------------------------------


def test_clean_text() -> None:
    assert clean_text("a\x00b\x08c\x0bd\x0ce\x0ef\x1fg\ufffeh\uffffi\ud800j\udfffk") == "abcdefghijk"
    assert clean_text("tab\tnl\ncr\r中文😀") == "tab\tnl\ncr\r中文😀"
    assert clean_text("") == ""


@pytest.mark.parametrize("html", ["", "   ", "<", "&", "]]>", "<!-- c -->", "<html><body></body></html>", "\ud800"])
def test_sanitize_odd_input_does_not_crash(html: str) -> None:
    assert isinstance(sanitize_html(html, "https://www.example.com/"), str)


def test_sanitize_protocol_relative_follows_base_scheme() -> None:
    html = '<a href="//cdn.example.com/x">x</a>'
    assert 'href="http://cdn.example.com/x"' in sanitize_html(html, "http://www.example.com/")
    assert 'href="https://cdn.example.com/x"' in sanitize_html(html, "https://www.example.com/")
    assert 'href="http://cdn.example.com/x"' in sanitize_html(html, "")


def test_sanitize_keeps_article_markup() -> None:
    html = (
        "<h2>H</h2><table><tr><td colspan='2'>c</td></tr></table><figure><img src='/a.png' alt='a' width='10'>"
        "<figcaption>cap</figcaption></figure><blockquote>q</blockquote><pre><code>x</code></pre><sup>1</sup>"
    )
    out = sanitize_html(html, "https://www.example.com/p/")
    for fragment in ("<h2>H</h2>", 'colspan="2"', "<figcaption>cap</figcaption>", 'alt="a"', 'width="10"',
                     "<blockquote>q</blockquote>", "<pre><code>x</code></pre>", "<sup>1</sup>",
                     'src="https://www.example.com/a.png"'):  # fmt: skip
        assert fragment in out


def test_description_alone_is_the_content_and_no_summary_is_stored() -> None:
    long = "长" * 1000
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>x</title><link>http://a.example/1</link><description>{long}</description></item>"
        "</channel></rss>"
    ).encode()
    item = parse_feed(body, url=URL, source=SOURCE, identity=Identity(), now=NOW).items[0]
    assert item.summary == ""  # the writer makes the excerpt from the content
    assert long in item.content


def test_summary_beside_full_content_is_an_excerpt() -> None:
    text = "".join(f"第{i}句话，" for i in range(400))  # ~2,400 characters
    html = "".join(
        f"&lt;p&gt;&lt;a href='/n/{i}'&gt;{text[i * 300 : (i + 1) * 300]}&lt;/a&gt;&lt;/p&gt;" for i in range(8)
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>'
        f"<item><title>x</title><link>http://a.example/1</link><description>{html}</description>"
        "<content:encoded><![CDATA[<p>全文</p>]]></content:encoded></item>"
        "</channel></rss>"
    ).encode()
    item = parse_feed(body, url=URL, source=SOURCE, identity=Identity(), now=NOW).items[0]
    assert item.content == "<p>全文</p>"
    assert item.summary == text[:300] + "…"
    short = body.replace(html.encode(), "&lt;b&gt;短&lt;/b&gt; 摘要 &amp; 更多".encode())
    assert parse_feed(short, url=URL, source=SOURCE, identity=Identity(), now=NOW).items[0].summary == "短 摘要 & 更多"
