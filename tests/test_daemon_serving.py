"""`feeds run --listen`: the daemon serves what it publishes, answers /healthz and /metrics,
and pings the WebSub hub for exactly the feeds that changed.  Real processes on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from conftest import CAT_B, feed_source
from servers import FeedServer, Route
from test_daemon import (
    FEED_PATH,
    POST_TITLE,
    RSS_TYPE,
    TRACEBACK,
    daemon,
    make_site,
    remote_title,
    rss_feed,
    wait_until,
)
from test_websub import Hub


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # 127.0.0.1 only
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {}, b""


def test_run_serves_publishes_and_pings_the_hub(tmp_path: Path) -> None:
    hub = Hub()
    try:
        with FeedServer({FEED_PATH: Route(body=rss_feed([1]), headers=RSS_TYPE)}) as server:
            extra = f'\n[schedule]\njitter = 0\n[serve]\nlisten = "127.0.0.1:{free_port()}"\n[websub]\nhubs = ["{hub.url}"]\n'
            make_site(tmp_path, feed_source("r", server.url(FEED_PATH), interval="1s"), extra=extra)
            with daemon(tmp_path) as running:
                wait_until(lambda: "serving" in running.log(), "the server", running)
                base = re.search(r"serving \S+ at (http://[^\s;]+?)/?;", running.log())
                assert base, running.log()
                url = base.group(1)
                wait_until(lambda: remote_title(1).encode() in get(f"{url}/rss.xml")[2], "the feed served", running)
                _, headers, body = get(f"{url}/rss.xml")
                assert headers["content-type"].startswith("application/rss+xml") and POST_TITLE.encode() in body
                assert b"127.0.0.1" in body  # self links use the served address (no output.url set)

                health = json.loads(get(f"{url}/healthz")[2])
                assert health["items"] >= 2, health
                metrics = get(f"{url}/metrics")[2].decode()
                assert "poll" in metrics and "publish" in metrics

                wait_until(lambda: hub.urls(), "the first publish pinged", running, 8)
                time.sleep(1.5)  # the first publishes' pings are delivered
                hub.received.clear()
                server.routes[FEED_PATH] = Route(body=rss_feed([1, 2]), headers=RSS_TYPE)
                wait_until(lambda: remote_title(2).encode() in get(f"{url}/rss.xml")[2], "the new item served",
                           running, 8)  # fmt: skip
                wait_until(lambda: hub.urls(), "the hub pinged", running, 8)
                time.sleep(1)
                pinged = set(hub.urls())
                assert f"{url}/rss.xml" in pinged and f"{url}/category/{quote(CAT_B)}/atom.xml" in pinged, pinged
                assert not any("zhongguozhengquanbao" in u for u in pinged), pinged  # the post's feeds did not change
                assert running.stop() == 0
            assert TRACEBACK not in running.log()
    finally:
        hub.close()
