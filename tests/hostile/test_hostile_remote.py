"""Hostile remote feeds: markup in every declared type, cut-off bodies, entity bombs, edge dates,
redirects to other schemes, gzip bombs; served from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import POSTS_SOURCE, feed_source, post_text, write_config
from hostile_helpers import BUILDS, MEDIUM, html_problems, output_problems
from hypothesis import example, given
from hypothesis import strategies as st
from servers import FeedServer, Route
from test_hostile_posts import ATTACKS

from feeds import config, pipeline
from feeds.core.errors import FeedParseError
from feeds.core.identity import DEFAULT_PATTERNS, Identity
from feeds.core.models import Source
from feeds.sources.feedparse import parse_feed

SOURCE = Source(name="remote", type="feed", url="http://127.0.0.1/feed.xml")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def parse(body: bytes):  # type: ignore[no-untyped-def]
    return parse_feed(body, url="http://127.0.0.1/feed.xml", source=SOURCE, identity=Identity(DEFAULT_PATTERNS), now=NOW)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\x00", "")


def atom(entries: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>远端</title>'
        "<id>urn:feed</id>" + "".join(entries) + "</feed>"
    ).encode()


def rss(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>远端</title><link>http://127.0.0.1/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


def _item_problems(items) -> list[str]:  # type: ignore[no-untyped-def]
    problems: list[str] = []
    for item in items:
        problems += html_problems(item.content, "content")
        for text in (item.summary, item.author):  # (a title is text, kept as written: the output escapes it)
            if "<" in text and any(t in text.lower() for t in ("<script", "<img", "<svg", "<a ", "<iframe")):
                problems.append(f"markup in text: {text!r}")
        if item.link and not item.link.startswith(("http://", "https://")):
            problems.append(f"link {item.link!r}")
    return problems


# ---------------------------------------------------------------- every declared type


@MEDIUM
@given(
    attack=st.sampled_from(ATTACKS),
    where=st.sampled_from(["xhtml-content", "html-content", "text-content", "text-summary", "html-summary",
                           "text-title", "html-title", "link"]),
)
def test_markup_in_any_atom_construct_is_sanitised(attack: str, where: str) -> None:
    title, content, summary, link = "标题", "<content type='html'>正文</content>", "", "http://127.0.0.1/a"
    if where == "xhtml-content":
        content = f"<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>{_xhtml(attack)}</div></content>"
    elif where == "html-content":
        content = f"<content type='html'>{_xml_text(attack)}</content>"
    elif where == "text-content":
        content = f"<content type='text'>{_xml_text(attack)}</content>"
    elif where == "text-summary":
        content, summary = "", f"<summary type='text'>{_xml_text(attack)}</summary>"
    elif where == "html-summary":
        summary = f"<summary type='html'>{_xml_text(attack)}</summary>"
    elif where == "text-title":
        title = _xml_text(attack)
    elif where == "html-title":
        title = f"<title type='html'>{_xml_text(attack)}</title>"
    else:
        link = _xml_text("javascript:alert(1)")
    if not title.startswith("<title"):
        title = f"<title type='text'>{title}</title>"
    entry = f"<entry><id>urn:e</id>{title}<link href='{link}'/><updated>2022-01-25T12:00:00Z</updated>{summary}{content}</entry>"
    try:
        parsed = parse(atom([entry]))
    except FeedParseError:
        return
    assert _item_problems(parsed.items) == []


def _xhtml(attack: str) -> str:
    """An attack as well-formed XHTML (or as escaped text when it is not XML)."""
    import lxml.etree

    try:
        lxml.etree.fromstring(f"<div>{attack}</div>".encode())
    except lxml.etree.XMLSyntaxError:
        return _xml_text(attack)
    return attack


def test_xhtml_content_and_text_summary_are_sanitised() -> None:
    entry = (
        "<entry><id>urn:1</id><title>T</title><link href='http://a.example/1'/><updated>2022-01-25T12:00:00Z</updated>"
        "<summary type='text'>&lt;img src=x onerror=alert(1)&gt;</summary>"
        "<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'><script>alert(1)</script>"
        "<p onclick='x()'>hi <a href='javascript:alert(1)'>l</a></p></div></content></entry>"
    )
    (item,) = parse(atom([entry])).items
    assert "script" not in item.content and "onclick" not in item.content and "javascript" not in item.content
    assert "onerror" not in item.summary


# ---------------------------------------------------------------- cut-off bodies

FULL = rss(
    [
        f"<item><title>第{i}条 完整的标题 {'长' * (i * 3)}</title><link>http://news.example.com/a?infoCode=C{i}</link>"
        f"<guid>urn:c{i}</guid><pubDate>Tue, 25 Jan 2022 {i:02d}:00:00 +0800</pubDate>"
        f"<content:encoded><![CDATA[<p>正文{i} &amp; <b>粗</b></p>]]></content:encoded>"
        f"<description>摘要{i} &lt;b&gt;x&lt;/b&gt;</description></item>"
        for i in range(3)
    ]
    + ["<item><title>没有链接的条目</title><description>只有标题</description></item>"]
)
FULL_ATOM = atom(
    [
        f"<entry><id>urn:a{i}</id><title type='html'>&lt;b&gt;第{i}条&lt;/b&gt; 标题</title>"
        f"<link href='http://news.example.com/b?infoCode=A{i}'/><updated>2022-01-25T0{i}:00:00+08:00</updated>"
        f"<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'><p>正文{i}</p></div></content></entry>"
        for i in range(3)
    ]
)


def _by_key(body: bytes) -> dict[str, tuple[str, str, str]]:
    return {i.key: (i.title, i.content, i.link) for i in parse(body).items}


@pytest.mark.parametrize("body", [FULL, FULL_ATOM], ids=["rss", "atom"])
def test_every_cut_of_a_body_gives_only_items_of_the_whole(body: bytes) -> None:
    whole = _by_key(body)
    for offset in range(len(body)):
        try:
            items = _by_key(body[:offset])
        except FeedParseError:
            continue
        for key, value in items.items():
            assert key in whole, (offset, key)
            assert value == whole[key], (offset, value, whole[key])


@MEDIUM
@given(offset=st.integers(0, len(FULL) - 1), junk=st.binary(max_size=20))
@example(offset=268, junk=b"</item>")  # cut inside "</link>": the junk closed an entry missing its content
@example(offset=300, junk=b"</title></item>")
@example(offset=829, junk=b"</item>")  # cut inside a character: the rest must not decode as another encoding
def test_a_cut_body_with_junk_after_it_gives_only_items_of_the_whole(offset: int, junk: bytes) -> None:
    whole = _by_key(FULL)
    try:
        items = _by_key(FULL[:offset] + junk)
    except FeedParseError:
        return
    for key, value in items.items():
        assert key in whole and value == whole[key]


# ---------------------------------------------------------------- entity bombs, sizes, dates


def test_billion_laughs_is_bounded() -> None:
    lol = '<!DOCTYPE rss [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
    ) + "]>"
    body = (f'<?xml version="1.0"?>{lol}<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title>'
            "<link>http://a.example/1</link></item></channel></rss>").encode()  # fmt: skip
    started = time.perf_counter()
    try:
        parsed = parse(body)
    except FeedParseError:
        parsed = None
    assert time.perf_counter() - started < 15  # bounded: no hang (it takes well under 1 s alone)
    if parsed is not None:
        assert all(len(i.title) < 100_000 for i in parsed.items)


def test_a_huge_number_of_items_is_capped() -> None:
    body = rss([f"<item><title>t{i}</title><link>http://a.example/{i}</link></item>" for i in range(6000)])
    parsed = parse(body)
    assert len(parsed.items) == 5000 and any("5000" in w for w in parsed.warnings)


@pytest.mark.parametrize("date", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z"])
def test_edge_dates_of_a_remote_entry_are_clamped(date: str) -> None:
    entry = f"<entry><id>urn:d</id><title>T</title><link href='http://a.example/d'/><updated>{date}</updated></entry>"
    (item,) = parse(atom([entry])).items
    assert 1 <= item.published.year <= 9999
    item.published.timestamp()


# ---------------------------------------------------------------- through a real server and a build


def _site(root: Path, url: str) -> config.Settings:
    (root / "posts").mkdir(exist_ok=True)
    (root / "posts" / "2022-01-25-good.md").write_text(post_text("好邻居"), encoding="utf-8")
    write_config(root, sources=POSTS_SOURCE + feed_source("remote", url))
    return config.load(root / "config" / "feeds.toml")


def test_a_stored_edge_date_never_breaks_a_later_build(tmp_path: Path) -> None:
    bad = atom(["<entry><id>urn:x</id><title>远古</title><link href='http://a.example/x'/>"
                "<updated>0001-01-01T00:00:00+14:00</updated></entry>"])  # fmt: skip
    clean = atom(["<entry><id>urn:y</id><title>干净</title><link href='http://a.example/y'/>"
                  "<updated>2022-01-25T00:00:00Z</updated></entry>"])  # fmt: skip
    with FeedServer({"/f.xml": Route(body=bad)}) as server:
        settings = _site(tmp_path, server.url("/f.xml"))
        pipeline.build(settings, force=True)
        server.routes["/f.xml"] = Route(body=clean)
        pipeline.build(settings, force=True)
        pipeline.build(settings, force=True)
    text = (tmp_path / "out" / "rss.xml").read_text()
    assert "干净" in text and "好邻居" in text


@BUILDS
@given(attacks=st.lists(st.sampled_from(ATTACKS), min_size=1, max_size=3), kind=st.sampled_from(["rss", "atom"]))
def test_hostile_remote_bodies_never_reach_the_output_alive(attacks: list[str], kind: str) -> None:
    if kind == "rss":
        body = rss([f"<item><title>{_xml_text(a)}</title><link>http://a.example/{i}</link>"
                    f"<description>{_xml_text(a)}</description></item>" for i, a in enumerate(attacks)])  # fmt: skip
    else:
        body = atom([f"<entry><id>urn:{i}</id><title type='html'>{_xml_text(a)}</title><link href='http://a.example/{i}'/>"
                     f"<summary type='text'>{_xml_text(a)}</summary>"
                     f"<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>{_xhtml(a)}</div></content>"
                     "<updated>2022-01-25T00:00:00Z</updated></entry>" for i, a in enumerate(attacks)])  # fmt: skip
    root = Path(tempfile.mkdtemp())
    try:
        with FeedServer({"/f.xml": Route(body=body)}) as server:
            pipeline.build(_site(root, server.url("/f.xml")), force=True)
        assert output_problems(root / "out") == []
        assert "好邻居" in (root / "out" / "rss.xml").read_text()
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize("target", ["ws://127.0.0.1/x", "javascript:alert(1)", "file:///etc/passwd", "ftp://127.0.0.1/"])
def test_redirect_to_another_scheme_is_refused(tmp_path: Path, target: str) -> None:
    with FeedServer({"/f.xml": Route(redirect=target)}) as server:
        lines: list[str] = []
        report = pipeline.build(_site(tmp_path, server.url("/f.xml")), force=True, report=lines.append)
    assert report.poll_failures == 1
    assert any("unsupported URL scheme" in line or "invalid URL" in line for line in lines), lines


def test_gzip_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    from feeds.config import FetchSettings
    from feeds.core.errors import FetchError
    from feeds.sources.fetch import Fetcher

    bomb = b"\0" * (64 * 1024 * 1024)
    assert len(gzip.compress(bomb)) < 100_000
    with FeedServer({"/b.xml": Route(body=bomb, gzip=True)}) as server:
        import asyncio

        async def go() -> FetchError:
            async with Fetcher(FetchSettings(max_bytes=100_000)) as fetcher:
                try:
                    await fetcher.fetch(Source(name="b", type="feed", url=server.url("/b.xml")))
                except FetchError as exc:
                    return exc
            raise AssertionError("no error")

        tracemalloc.start()
        error = asyncio.run(go())
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert "larger than 100000 bytes" in error.reason
    assert peak < 16 * 1024 * 1024, peak
