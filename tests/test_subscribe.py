"""`feeds add URL` and `feeds import FILE.opml`, run as a user does, against real servers on 127.0.0.1."""

from __future__ import annotations

import tomllib
from pathlib import Path

import feedparser
import pytest
from conftest import run_cli
from servers import FeedServer, Route

from feeds.config.edit import add_sources
from feeds.core.errors import ConfigError


def rss(title: str, *items: str, path: str = "a") -> bytes:
    entries = "".join(
        f"<item><title>{t}</title><link>http://127.0.0.1/{path}/{i}</link><guid>http://127.0.0.1/{path}/{i}</guid>"
        f"<pubDate>Tue, 25 Jan 2022 1{i}:00:00 +0800</pubDate><description>正文{i}</description></item>"
        for i, t in enumerate(items)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://127.0.0.1/</link><description>d</description>{entries}</channel></rss>").encode()  # fmt: skip


ATOM = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom &amp; more</title>'
        b"<id>urn:x</id><updated>2022-01-25T00:00:00Z</updated></feed>")  # fmt: skip


def page(*links: str) -> bytes:
    return ("<!doctype html><html><head><title>站点</title>" + "".join(links)
            + "</head><body><p>hello</p></body></html>").encode()  # fmt: skip


@pytest.fixture
def starter(tmp_path: Path) -> Path:
    """A site as `feeds init` writes it, with [site] set: the starter config and its comments."""
    assert run_cli("init", cwd=tmp_path).returncode == 0
    cfg = tmp_path / "config" / "feeds.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("https://news.example.com/", "https://finews.test/"),
                   encoding="utf-8")  # fmt: skip
    return tmp_path


def config_text(root: Path) -> str:
    return (root / "config" / "feeds.toml").read_text(encoding="utf-8")


def sources(root: Path) -> list[dict[str, object]]:
    return tomllib.loads(config_text(root))["sources"]


def kept_in_order(before: str, after: str) -> bool:
    """Every line of ``before`` is in ``after``, in the same order (comments and layout kept)."""
    lines = iter(after.splitlines())
    return all(any(line == other for other in lines) for line in before.splitlines())


def test_add_finds_the_feeds_of_a_page_adds_the_first_and_lists_the_others(starter: Path) -> None:
    routes = {
        "/rss.xml": Route(body=rss("远程快讯", "第一条", "第二条"), headers={"Content-Type": "application/rss+xml"}),
        "/atom.xml": Route(body=ATOM),
    }
    with FeedServer(routes) as server:
        server.routes["/"] = Route(body=page(
            '<link rel="stylesheet" href="/style.css">',
            f'<link rel="alternate" type="application/rss+xml" title="快讯" href="{server.url("/rss.xml")}">',
            '<link rel="Alternate" type="application/atom+xml" title="Atom" href="/atom.xml">',
            '<link rel="alternate" type="application/feed+json" href="/feed.json">',
            '<link rel="alternate" type="text/html" hreflang="en" href="/en/">',
        ), headers={"Content-Type": "text/html; charset=utf-8"})  # fmt: skip
        before = config_text(starter)
        proc = run_cli("add", server.url("/"), cwd=starter)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0].startswith(f"added '远程快讯': RSS feed {server.url('/rss.xml')} (found in {server.url('/')})")
        assert lines[1:3] == [f"  also offered: Atom feed 'Atom' {server.url('/atom.xml')}",
                              f"  also offered: JSON Feed feed {server.url('/feed.json')}"]  # fmt: skip
        after = config_text(starter)
        assert kept_in_order(before, after)  # every comment and line of the starter is still there
        assert sources(starter)[-1] == {"name": "远程快讯", "type": "feed", "url": server.url("/rss.xml")}
        assert not list((starter / "config").glob(".feeds.toml.*"))  # no temporary file left

        # the same feed again, by the page or by another spelling of its URL: nothing changes
        for again in (server.url("/"), server.url("/rss.xml").replace("http://", "HTTP://") + "#top"):
            proc = run_cli("add", again, cwd=starter)
            assert proc.returncode == 0 and "already a source ('远程快讯'): nothing changed" in proc.stdout
            assert config_text(starter) == after

        # another feed of the same title: a name of its own
        server.routes["/other.xml"] = Route(body=rss("远程快讯", "别的", path="b"))
        proc = run_cli("add", server.url("/other.xml"), "--category", "kuaixun·shili", cwd=starter)
        assert proc.returncode == 0, proc.stderr
        assert sources(starter)[-1] == {"name": "远程快讯 (2)", "type": "feed", "url": server.url("/other.xml"),
                                        "category": "kuaixun·shili"}  # fmt: skip

        built = run_cli("build", cwd=starter)  # the added sources are polled
        assert built.returncode == 0, built.stderr
        titles = {e.title for e in feedparser.parse((starter / "out" / "rss.xml").read_bytes()).entries}
        assert {"第一条", "第二条", "别的"} <= titles


def test_add_a_feed_url_directly_and_a_page_whose_first_feed_is_json(starter: Path) -> None:
    with FeedServer({"/atom.xml": Route(body=ATOM)}) as server:
        server.routes["/"] = Route(body=page(
            '<link rel="alternate" type="application/feed+json" title="JSON" href="/feed.json">',
            '<base href="/sub/">',
            '<link rel="alternate" type="application/atom+xml" href="../atom.xml">',
        ))  # fmt: skip
        proc = run_cli("add", server.url("/"), cwd=starter)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"added 'Atom & more': Atom feed {server.url('/atom.xml')}")
        assert f"also offered: JSON Feed feed 'JSON' {server.url('/feed.json')}" in proc.stdout
        assert sources(starter)[-1]["url"] == server.url("/atom.xml")


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(body=page("<link rel='stylesheet' href='/s.css'>")), "no feed here"),
        (Route(status=404, body=b"gone"), "HTTP 404"),
        (Route(body=b'{"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": []}'), "JSON Feed"),
        (Route(body=page('<link rel="alternate" type="application/rss+xml" href="/missing.xml">')),
         "none of the page's feeds could be read"),
    ],
)
def test_a_url_with_no_feed_exits_1_with_one_line_and_the_config_untouched(starter: Path, route: Route,
                                                                           reason: str) -> None:
    before = config_text(starter)
    with FeedServer({"/page": route}) as server:
        proc = run_cli("add", server.url("/page"), cwd=starter)
    assert proc.returncode == 1
    assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1 and reason in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert config_text(starter) == before


def test_add_refuses_what_is_not_an_http_url(starter: Path) -> None:
    before = config_text(starter)
    proc = run_cli("add", "javascript:alert(1)", cwd=starter)
    assert proc.returncode == 1 and "not an http(s) URL" in proc.stderr and config_text(starter) == before


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>my subscriptions</title></head>
  <body>
    <outline text="Loose one" title="Loose one" type="rss" xmlUrl="https://loose.test/feed.xml"/>
    <outline text="科技" title="科技">
      <outline text="Gadgets" type="rss" xmlUrl="https://gadgets.test/rss"/>
      <outline text="Deep">
        <outline text="Deeper feed" type="rss" xmlurl="https://deep.test/atom.xml"/>
      </outline>
      <outline text="Gadgets again" type="rss" xmlUrl="HTTPS://GADGETS.test:443/rss"/>
    </outline>
    <outline text="财经">
      <outline text="Already here" type="rss" xmlUrl="https://already.test/rss.xml"/>
      <outline text="Loose one" type="rss" xmlUrl="https://loose2.test/feed.xml"/>
      <outline text="Bad" type="rss" xmlUrl="javascript:alert(1)"/>
    </outline>
  </body>
</opml>
"""


def test_import_adds_every_subscription_once_with_its_folder(starter: Path) -> None:
    cfg = starter / "config" / "feeds.toml"
    cfg.write_text(config_text(starter) + '\n[[sources]]\nname = "mine"\ntype = "feed"\n'
                   'url = "https://already.test/rss.xml"  # kept as written\n', encoding="utf-8")  # fmt: skip
    before = config_text(starter)
    (starter / "subs.opml").write_text(OPML, encoding="utf-8")
    proc = run_cli("import", "subs.opml", cwd=starter)
    assert proc.returncode == 0, proc.stderr
    assert "subs.opml: 4 sources added to config/feeds.toml, 1 already there, 1 skipped" in proc.stdout
    assert proc.stderr.count("\n") == 1 and "javascript:alert(1)" in proc.stderr and "skipped" in proc.stderr
    assert kept_in_order(before, config_text(starter))
    added = [s for s in sources(starter) if s["type"] == "feed"][1:]
    assert added == [
        {"name": "Loose one", "type": "feed", "url": "https://loose.test/feed.xml"},
        {"name": "Gadgets", "type": "feed", "url": "https://gadgets.test/rss", "category": "科技"},
        {"name": "Deeper feed", "type": "feed", "url": "https://deep.test/atom.xml", "category": "Deep"},
        {"name": "Loose one (2)", "type": "feed", "url": "https://loose2.test/feed.xml", "category": "财经"},
    ]
    assert run_cli("check", cwd=starter).returncode == 0  # the edited config loads

    after = config_text(starter)
    again = run_cli("import", "subs.opml", cwd=starter)
    assert again.returncode == 0 and "0 sources added" in again.stdout and "5 already there" in again.stdout
    assert config_text(starter) == after


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
          '<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.test/"/></body></opml>')  # fmt: skip


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (LAUGHS.encode(), "declares a DOCTYPE or entities"),
        (b"this is not xml at all", "not well-formed XML"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "not an OPML file"),
        (b"<opml><body>" + b'<outline text="x" xmlUrl="https://x.test/"/>' * 300_000 + b"</body></opml>", "too large"),
        (b"<opml><body>" + b"<outline>" * 5000 + b"</outline>" * 5000 + b"</body></opml>", "not well-formed XML"),
    ],
    ids=["entities", "not-xml", "not-opml", "huge", "deep"],
)
def test_hostile_opml_is_refused_with_one_line(starter: Path, content: bytes, reason: str) -> None:
    before = config_text(starter)
    (starter / "subs.opml").write_bytes(content)
    proc = run_cli("import", "subs.opml", cwd=starter)
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1 and reason in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert config_text(starter) == before


def test_an_edit_that_would_break_the_config_is_not_written(starter: Path) -> None:
    cfg = starter / "config" / "feeds.toml"
    before = cfg.read_bytes()
    with pytest.raises(ConfigError, match=r"duplicate source name 'posts'.*not written"):
        add_sources(cfg, [{"name": "posts", "type": "feed", "url": "https://x.test/"}])
    with pytest.raises(ConfigError, match=r"must be an absolute http.*not written"):
        add_sources(cfg, [{"name": "x", "type": "feed", "url": "ftp://x.test/"}])
    assert cfg.read_bytes() == before
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["feeds.toml"]
