"""WebSub: the hubs are pinged, in the background, for exactly the feeds whose bytes changed."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import feedparser
import pytest
from conftest import CAT_A, CAT_B, Site, post_text

from feeds.config import FetchSettings
from feeds.output.layout import safe_segment
from feeds.serving.websub import HubNotifier, changed_feed_urls

FAST = FetchSettings(timeout=3.0, connect_timeout=1.0, read_timeout=2.0)


class Hub:
    """A WebSub hub stand-in on 127.0.0.1: records each form it receives; can fail or hang."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.failures = 0  # answer 503 to this many requests first
        self.delay = 0.0
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(hub.delay)
                with hub.lock:
                    failing = hub.failures > 0
                    hub.failures -= failing
                    if not failing:
                        assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
                        hub.received.append(dict(parse_qsl(body.decode())))
                self.send_response(503 if failing else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def urls(self) -> list[str]:
        with self.lock:
            return [form["hub.url"] for form in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub() -> Hub:
    server = Hub()
    yield server
    server.close()


def with_hubs(site: Site, *hubs: str) -> Site:
    listed = ", ".join(f'"{h}"' for h in hubs)
    text = site.config_path.read_text(encoding="utf-8").replace("limit = 50", 'limit = 50\nformats = ["rss", "atom", "json"]')
    site.config_path.write_text(text + f"\n[websub]\nhubs = [{listed}]\n", encoding="utf-8")
    return site


def test_feeds_link_their_hubs(site: Site) -> None:
    with_hubs(site, "https://hub.example.com/", "https://other.example.org/hub")
    site.add("2022-01-25-a.md", post_text("甲"))
    site.build()
    for rel in ("rss.xml", "atom.xml", f"category/{safe_segment(CAT_A)}/rss.xml"):
        links = site.feed(rel).feed.links
        assert [link["href"] for link in links if link["rel"] == "hub"] == [
            "https://hub.example.com/", "https://other.example.org/hub"]  # fmt: skip
        assert any(link["rel"] == "self" for link in links)


def test_pings_exactly_the_changed_feeds(site: Site, hub: Hub) -> None:
    with_hubs(site, hub.url)
    site.add("2022-01-25-a.md", post_text("甲", info_code="NW1"))
    site.add("2022-01-26-b.md", post_text("乙", date="2022-01-26 09:00:00 +0800", categories=CAT_B, info_code="NW2"))
    site.build()
    site.add("2022-01-27-c.md", post_text("丙", date="2022-01-27 09:00:00 +0800", categories=CAT_B, info_code="NW3"))
    report = site.build()
    urls = changed_feed_urls(site.settings(), report.written)
    cat = "https://finews.example.com/category/" + safe_segment(CAT_B).replace("·", "%C2%B7") + "/"
    base = "https://finews.example.com/"
    assert sorted(urls) == sorted(
        [base + "rss.xml", base + "atom.xml", base + "feed.json", cat + "rss.xml", cat + "atom.xml", cat + "feed.json"]
    )  # not the other category, not index.html or feeds.opml
    for url in urls:  # each pinged URL is that feed's self link
        rel = url.removeprefix(base).replace("%C2%B7", "·")
        if rel.endswith(".json"):
            assert json.loads((site.out / rel).read_text(encoding="utf-8"))["feed_url"] == url
        else:
            links = feedparser.parse((site.out / rel).read_bytes()).feed.links
            assert [x["href"] for x in links if x["rel"] == "self"] == [url]

    async def main() -> None:
        async with HubNotifier([hub.url], FAST) as notifier:
            notifier.notify(urls)
            assert await notifier.drain(10)
            nothing = changed_feed_urls(site.settings(), site.build().written)
            notifier.notify(nothing)  # a rebuild that changed nothing pings nothing
            assert nothing == [] and notifier.pending == 0

    asyncio.run(main())
    assert sorted(hub.urls()) == sorted(urls)
    assert all(form["hub.mode"] == "publish" for form in hub.received)


def test_retried_after_a_hub_failure_logged_once(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    hub.failures = 3
    caplog.set_level(logging.INFO, logger="feeds")

    async def main() -> None:
        async with HubNotifier([hub.url], FAST, initial_backoff=0.05) as notifier:
            notifier.notify(["https://f.example.com/rss.xml"])
            assert await notifier.drain(10)

    asyncio.run(main())
    assert hub.urls() == ["https://f.example.com/rss.xml"]
    failures = [r for r in caplog.records if "ping failed" in r.getMessage()]
    assert len(failures) == 1 and "HTTP 503" in failures[0].getMessage() and hub.url in failures[0].getMessage()
    assert any("delivered again" in r.getMessage() for r in caplog.records)


def test_a_hub_that_is_down_or_slow_never_blocks(hub: Hub, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}/hub"  # nothing listens there once closed
    hub.delay = 0.5

    async def main() -> None:
        async with HubNotifier([down, hub.url], FAST, initial_backoff=0.05) as notifier:
            started = time.perf_counter()
            for i in range(20):
                notifier.notify([f"https://f.example.com/{i % 2}.xml"])  # coalesced: two feeds
            assert time.perf_counter() - started < 0.05
            ticks = 0
            deadline = time.perf_counter() + 1.2
            while time.perf_counter() < deadline:  # the loop stays free while the hub hangs
                await asyncio.sleep(0.01)
                ticks += 1
            assert ticks > 50
            assert await asyncio.wait_for(_wait_for(lambda: len(hub.urls()) >= 2), 10)
            assert notifier.pending >= 2  # the down hub still has its two, retrying

    asyncio.run(main())
    assert sorted(hub.urls()) == ["https://f.example.com/0.xml", "https://f.example.com/1.xml"]


def test_a_feed_changed_while_its_ping_is_on_the_wire_is_pinged_again(hub: Hub) -> None:
    hub.delay = 0.3

    async def main() -> None:
        async with HubNotifier([hub.url], FAST) as notifier:
            notifier.notify(["https://f.example.com/rss.xml"])
            await asyncio.sleep(0.1)  # on the wire now
            notifier.notify(["https://f.example.com/rss.xml"])
            notifier.notify(["https://f.example.com/rss.xml"])
            assert await notifier.drain(10)

    asyncio.run(main())
    assert hub.urls() == ["https://f.example.com/rss.xml"] * 2


def test_notify_from_another_thread(hub: Hub) -> None:
    async def main() -> None:
        async with HubNotifier([hub.url], FAST) as notifier:
            await asyncio.to_thread(notifier.notify, ["https://f.example.com/atom.xml"])
            await asyncio.sleep(0.05)
            assert await notifier.drain(10)

    asyncio.run(main())
    assert hub.urls() == ["https://f.example.com/atom.xml"]


async def _wait_for(condition: object) -> bool:
    while not condition():  # type: ignore[operator]
        await asyncio.sleep(0.02)
    return True
