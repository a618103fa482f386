"""Remote sources through the pipeline: real HTTP server on 127.0.0.1, real SQLite store."""

from __future__ import annotations

import asyncio
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest
from conftest import CAT_A, POSTS_SOURCE, Site, feed_source, post_text, write_config
from servers import FeedServer, Route

from feeds import config, pipeline
from feeds.ingest import poll as remote
from feeds.sources.fetch import Fetcher
from feeds.store import open_store as Store


def rss(entries: list[tuple[str, str, str]], encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 feed of (title, link, pubDate) entries."""
    items = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        + (f"<pubDate>{d}</pubDate>" if d else "")
        + f'<description>&lt;p&gt;{t}正文&lt;/p&gt;&lt;a href="/rel"&gt;x&lt;/a&gt;</description></item>'
        for t, link, d in entries
    )
    xml = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>远端</title>'
        f"<link>http://news.example.com/</link><description>d</description>{items}</channel></rss>"
    )
    return xml.encode(encoding)


def code_link(code: str) -> str:
    return f"http://news.example.com/html_News/NewsShare.html?infoCode={code}"


E1 = ("远端一", code_link("NW202201250000000101"), "Tue, 25 Jan 2022 20:54:37 +0800")
E2 = ("远端二", code_link("NW202201250000000102"), "Tue, 25 Jan 2022 18:00:00 +0800")
E3 = ("远端三", code_link("NW202201250000000103"), "Tue, 25 Jan 2022 10:00:00 +0800")


def remote_site(tmp_path: Path, url: str, *, extra: str = "", interval: str = "15m") -> Site:
    cfg = write_config(tmp_path, extra, sources=POSTS_SOURCE + feed_source("remote", url, CAT_A, interval))
    (tmp_path / "posts").mkdir(exist_ok=True)
    return Site(tmp_path, tmp_path / "posts", tmp_path / "out", cfg)


def build(site: Site, **kwargs: object) -> pipeline.BuildReport:
    settings = config.load(site.config_path)
    lines: list[str] = []
    with Store(settings) as store:
        report = pipeline.build(settings, store=store, report=lines.append, **kwargs)  # type: ignore[arg-type]
    return report


def titles(site: Site, rel: str = "rss.xml") -> list[str]:
    return [e.title for e in feedparser.parse((site.out / rel).read_bytes()).entries]


def test_remote_items_in_feeds_and_conditional_get(tmp_path: Path) -> None:
    with FeedServer({"/f.xml": Route(body=rss([E1, E2]), etag='"v1"')}) as server:
        site = remote_site(tmp_path, server.url("/f.xml"))
        first = build(site)
        assert first.polled == 1 and first.poll_failures == 0
        assert titles(site) == ["远端一", "远端二"]
        assert titles(site, f"category/{CAT_A}/atom.xml") == ["远端一", "远端二"]
        parsed = feedparser.parse((site.out / "atom.xml").read_bytes())
        content = parsed.entries[0].content[0].value
        assert 'href="http://news.example.com/rel"' in content  # relative link made absolute
        assert parsed.entries[0].summary == "远端一正文 x"  # the excerpt of the content
        rss_entry = feedparser.parse((site.out / "rss.xml").read_bytes()).entries[0]
        assert rss_entry.summary == "远端一正文 x"
        mtime = (site.out / "rss.xml").stat().st_mtime_ns
        # next build: not due, no request at all
        build(site)
        assert len(server.requests) == 1
        # forced: conditional GET answered 304, nothing rewritten
        report = build(site, force=True)
        assert server.requests[-1][1].get("if-none-match") == '"v1"'
        assert report.written == () and (site.out / "rss.xml").stat().st_mtime_ns == mtime


def test_same_body_without_validators_is_not_parsed_again(tmp_path: Path) -> None:
    with FeedServer({"/f.xml": Route(body=rss([E1]))}) as server:
        site = remote_site(tmp_path, server.url("/f.xml"))
        build(site)
        settings = config.load(site.config_path)
        with Store(settings) as store:
            outcome = asyncio.run(_refresh(settings, store, "remote"))
        assert outcome.outcome == "unchanged" and outcome.new == 0


async def _refresh(settings: config.Settings, store: Store, name: str, now: float | None = None):
    source = next(s for s in settings.sources if s.name == name)
    async with Fetcher(settings.fetch) as fetcher:
        return await remote.refresh_source(source, settings=settings, store=store, fetcher=fetcher, now=now)


def test_local_post_and_remote_entry_merge(tmp_path: Path) -> None:
    with FeedServer({"/f.xml": Route(body=rss([E1]))}) as server:
        site = remote_site(tmp_path, server.url("/f.xml"))
        site.add("a.md", post_text("本地版本", "2022-01-25 21:30:00 +0800", info_code="NW202201250000000101"))
        build(site)
        entries = feedparser.parse((site.out / "rss.xml").read_bytes()).entries
        assert len(entries) == 1
        assert entries[0].title == "本地版本"  # the most recently dated version
        assert entries[0].id == "tag:finews.example.com,2000:infocode:NW202201250000000101"


def test_failures_back_off_and_keep_items(tmp_path: Path) -> None:
    with FeedServer({"/f.xml": Route(body=rss([E1, E2]))}) as server:
        site = remote_site(tmp_path, server.url("/f.xml"), interval="10m")
        build(site)
        settings = config.load(site.config_path)
        server.routes["/f.xml"] = Route(status=500)
        with Store(settings) as store:
            now = time.time()
            delays = []
            for _ in range(7):
                outcome = asyncio.run(_refresh(settings, store, "remote", now=now))
                assert outcome.error == "HTTP 500 Internal Server Error"
                delays.append(round(outcome.next_due - now))
            state = store.source_state("remote")
        assert delays == [1200, 2400, 4800, 9600, 19200, 21600, 21600]  # doubling, capped at 6 h
        assert state.failures == 7 and state.last_error == "HTTP 500 Internal Server Error"
        # a build now: the source is backing off and is not polled; its items stay
        requests = len(server.requests)
        report = build(site)
        assert len(server.requests) == requests and report.polled == 0
        assert titles(site) == ["远端一", "远端二"]
        # success resets the backoff
        server.routes["/f.xml"] = Route(body=rss([E1, E2, E3]))
        report = build(site, force=True)
        with Store(settings) as store:
            state = store.source_state("remote")
        assert state.failures == 0 and state.last_error is None
        assert titles(site) == ["远端一", "远端二", "远端三"]


@pytest.mark.parametrize(("status", "header"), [(429, "3600"), (503, "Wed, 21 Oct 2099 07:28:00 GMT")])
def test_retry_after_is_honoured(tmp_path: Path, status: int, header: str) -> None:
    with FeedServer({"/f.xml": Route(status=status, headers={"Retry-After": header})}) as server:
        site = remote_site(tmp_path, server.url("/f.xml"), interval="1m")
        settings = config.load(site.config_path)
        with Store(settings) as store:
            now = time.time()
            outcome = asyncio.run(_refresh(settings, store, "remote", now=now))
        assert outcome.error and str(status) in outcome.error
        assert outcome.next_due - now >= min(3600, 7 * 86400) - 1


def test_broken_feeds_fail_with_a_reason_and_others_go_on(tmp_path: Path) -> None:
    routes = {"/garbage.xml": Route(body=b"\x00\x01\x02 not xml at all \xff"), "/ok.xml": Route(body=rss([E1]))}
    with FeedServer(routes) as server:
        sources = textwrap.dedent(
            f"""
            [[sources]]
            name = "bad"
            type = "feed"
            url = "{server.url("/garbage.xml")}"
            [[sources]]
            name = "missing"
            type = "feed"
            url = "{server.url("/nope.xml")}"
            [[sources]]
            name = "good"
            type = "feed"
            url = "{server.url("/ok.xml")}"
            """
        )
        cfg = write_config(tmp_path, sources=sources)
        settings = config.load(cfg)
        lines: list[str] = []
        with Store(settings) as store:
            report = pipeline.build(settings, store=store, report=lines.append)
        assert report.polled == 3 and report.poll_failures == 2
        assert any(line.startswith("bad: failed") and "not a feed" in line for line in lines)
        assert any(line.startswith("missing: failed") and "HTTP 404" in line for line in lines)
        assert titles(Site(tmp_path, tmp_path, tmp_path / "out", cfg)) == ["远端一"]


def test_gbk_feed(tmp_path: Path) -> None:
    body = rss([("央行开展逆回购操作", code_link("NW202201250000000201"), "Tue, 25 Jan 2022 20:54:37 +0800")], "gbk")
    with FeedServer({"/f.xml": Route(body=body, headers={"Content-Type": "text/xml"})}) as server:
        site = remote_site(tmp_path, server.url("/f.xml"))
        build(site)
        assert titles(site) == ["央行开展逆回购操作"]


def test_rotated_out_entries_and_restart_keep_items(tmp_path: Path) -> None:
    with FeedServer({"/f.xml": Route(body=rss([E1, E2, E3]), etag='"a"')}) as server:
        site = remote_site(tmp_path, server.url("/f.xml"))
        build(site)
        e0 = ("远端零", code_link("NW202201260000000100"), "Wed, 26 Jan 2022 08:00:00 +0800")
        server.routes["/f.xml"] = Route(body=rss([e0, E1]), etag='"b"')  # E2, E3 rotated out
        build(site, force=True)  # a new Store object: state survived the "restart"
        assert titles(site) == ["远端零", "远端一", "远端二", "远端三"]
        settings = config.load(site.config_path)
        with Store(settings) as store:
            assert store.source_state("remote").etag == '"b"'
            assert store.source_state("remote").items == 4
            # a poll asks without the count (a count of every item the source ever had, at every poll)
            assert store.source_state("remote", counts=False) == replace(store.source_state("remote"), items=0)


def test_undated_entry_keeps_first_seen_time(tmp_path: Path) -> None:
    undated = ("无日期", code_link("NW202201250000000301"), "")
    with FeedServer({"/f.xml": Route(body=rss([undated]))}) as server:
        site = remote_site(tmp_path, server.url("/f.xml"))
        build(site)
        first = feedparser.parse((site.out / "atom.xml").read_bytes()).entries[0].published
        time.sleep(1.1)
        server.routes["/f.xml"] = Route(body=rss([undated, E1]))
        build(site, force=True)
        entries = feedparser.parse((site.out / "atom.xml").read_bytes()).entries
        assert next(e for e in entries if e.title == "无日期").published == first


def test_a_source_for_other_nodes_is_not_polled_here(tmp_path: Path) -> None:
    """``nodes`` on a remote source: only the nodes it names poll it (a cluster splits its sources)."""
    with FeedServer({"/feed.xml": Route(body=rss([E1]))}) as server:
        site = remote_site(tmp_path, server.url("/feed.xml"))
        text = site.config_path.read_text(encoding="utf-8")
        site.config_path.write_text(text.replace('name = "remote"', 'name = "remote"\nnodes = ["web2"]'),
                                    encoding="utf-8")
        report = build(site, force=True)
        assert report.polled == 0 and not server.requests
        settings = replace(config.load(site.config_path), node="web2")
        with Store(settings) as store:
            assert pipeline.build(settings, store=store, force=True).polled == 1
        assert server.requests
