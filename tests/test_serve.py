"""feeds serve: a real server on 127.0.0.1 answering with the files feeds wrote, and nothing else."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import threading
import time
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from conftest import CAT_A, CAT_B, Site, post_text, write_config
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from serving import ServerThread, raw_get

from feeds import config
from feeds.config import with_listen
from feeds.output.files import write_if_changed
from feeds.output.layout import safe_segment
from feeds.serving.health import HealthMonitor
from feeds.serving.metrics import Metrics
from feeds.serving.standalone import StoreOutputs

TYPES = {
    "rss.xml": "application/rss+xml; charset=utf-8",
    "atom.xml": "application/atom+xml; charset=utf-8",
    "feed.json": "application/feed+json",
    "feeds.opml": "text/x-opml; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
}


@pytest.fixture
def built(site: Site) -> Site:
    cfg = site.config_path.read_text(encoding="utf-8").replace("limit = 50", 'limit = 50\nformats = ["rss", "atom", "json"]')
    site.config_path.write_text(cfg, encoding="utf-8")
    site.add("2022-01-25-a.md", post_text("甲", info_code="NW1"))
    site.add("2022-01-26-b.md", post_text("乙", date="2022-01-26 09:00:00 +0800", categories=CAT_B, info_code="NW2"))
    site.build()
    return site


def outputs(site: Site) -> StoreOutputs:
    return StoreOutputs.of(site.settings(), stale_after=60, recheck=0)


def test_content_types_index_and_category(built: Site) -> None:
    cat = "category/" + safe_segment(CAT_A) + "/"
    with ServerThread(built.settings(), outputs(built).files) as server, httpx.Client(base_url=server.url) as client:
        for name, ctype in TYPES.items():
            r = client.get("/" + name)
            assert r.status_code == 200, name
            assert r.headers["content-type"] == ctype
            assert r.content == (built.out / name).read_bytes()
            assert r.headers["cache-control"] == "max-age=60"
        r = client.get(f"/{cat}rss.xml")
        assert r.status_code == 200 and r.headers["content-type"] == TYPES["rss.xml"]
        assert client.get(f"/{cat}feed.json").headers["content-type"] == "application/feed+json"
        root = client.get("/")
        assert root.status_code == 200 and root.content == (built.out / "index.html").read_bytes()
        page = client.get(f"/{cat}")  # the category's page
        assert page.status_code == 200 and page.content == (built.out / cat / "index.html").read_bytes()
        assert client.get("/category/no-such-category/").status_code == 404
        assert client.get("/category/").status_code == 404  # no directory listing


def test_category_index_served_when_feeds_wrote_one(built: Site) -> None:
    cat = "category/" + safe_segment(CAT_A) + "/"
    (built.out / cat / "index.html").write_text("<p>cat</p>", encoding="utf-8")
    wrote = set(outputs(built).files()) | {cat + "index.html"}
    with ServerThread(built.settings(), lambda: wrote) as server:
        r = httpx.get(server.url + cat)
        assert r.status_code == 200 and r.text == "<p>cat</p>" and r.headers["content-type"] == TYPES["index.html"]


def test_etag_stable_across_rebuild_and_restart_and_304(built: Site) -> None:
    settings = built.settings()
    with ServerThread(settings, outputs(built).files) as server:
        first = httpx.get(server.url + "rss.xml")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert re.fullmatch(r'"[0-9a-f]{32}-gz"', etag)  # httpx accepts gzip
        built.build()  # nothing changed: same bytes, same ETag
        again = httpx.get(server.url + "rss.xml")
        assert again.headers["etag"] == etag and again.headers["last-modified"] == modified
        r = httpx.get(server.url + "rss.xml", headers={"If-None-Match": etag})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
        assert httpx.get(server.url + "rss.xml", headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
        assert httpx.get(server.url + "rss.xml", headers={"If-None-Match": '"other"'}).status_code == 200
        assert httpx.get(server.url + "rss.xml", headers={"If-Modified-Since": modified}).status_code == 304
        earlier = formatdate(time.time() - 10 * 365 * 86400, usegmt=True)
        assert httpx.get(server.url + "rss.xml", headers={"If-Modified-Since": earlier}).status_code == 200
        # If-None-Match wins over If-Modified-Since
        both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
        assert httpx.get(server.url + "rss.xml", headers=both).status_code == 200
    with ServerThread(settings, outputs(built).files) as server:  # a restart
        assert httpx.get(server.url + "rss.xml").headers["etag"] == etag
        built.add("2022-01-27-c.md", post_text("丙", date="2022-01-27 09:00:00 +0800", info_code="NW3"))
        built.build()
        changed = httpx.get(server.url + "rss.xml", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert "丙" in changed.text


def test_gzip_once_with_its_own_etag_and_vary(built: Site) -> None:
    with ServerThread(built.settings(), outputs(built).files) as server, httpx.Client() as client:
        plain = client.get(server.url + "atom.xml", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
        raw = client.build_request("GET", server.url + "atom.xml", headers={"Accept-Encoding": "gzip, br"})
        zipped = client.send(raw, stream=True)
        body = b"".join(zipped.iter_raw())
        assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["vary"] == "Accept-Encoding"
        assert gzip.decompress(body) == plain.content
        assert zipped.headers["etag"] != plain.headers["etag"]
        again = client.send(client.build_request("GET", server.url + "atom.xml", headers={"Accept-Encoding": "gzip"}),
                            stream=True)  # fmt: skip
        assert b"".join(again.iter_raw()) == body  # the same compressed bytes: compressed once, cached
        cond = {"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]}
        assert client.get(server.url + "atom.xml", headers=cond).status_code == 304
        refused = {"Accept-Encoding": "gzip;q=0, identity"}
        assert "content-encoding" not in client.get(server.url + "atom.xml", headers=refused).headers


def test_head_and_405(built: Site) -> None:
    with ServerThread(built.settings(), outputs(built).files) as server, httpx.Client() as client:
        get = client.get(server.url + "feeds.opml")
        head = client.head(server.url + "feeds.opml")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
        for name in ("etag", "last-modified", "content-type", "cache-control", "content-encoding"):
            assert head.headers[name] == get.headers[name]
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            r = client.request(method, server.url + "rss.xml")
            assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
        assert raw_get(server.port, b"/rss.xml", b"PROPFIND") == 405


ATTACKS = [
    b"/..", b"/../", b"/../state.db", b"/../config/feeds.toml", b"/%2e%2e/config/feeds.toml",
    b"/%2E%2E%2Fconfig%2Ffeeds.toml", b"/category/..%2f..%2fconfig%2ffeeds.toml", b"/..%5cconfig%5cfeeds.toml",
    b"/category/%2e%2e/rss.xml", b"/./rss.xml", b"/rss.xml%00", b"/rss.xml%00.html", b"/%00", b"//etc/passwd",
    b"/rss.xml/", b"/rss.xml/..", b"/%252e%252e/config/feeds.toml", b"/.hidden", b"/.rss.xml.abc.tmp",
    b"/.out.feeds.lock", b"/state.db", b"/category", b"/category/", b"/%c0%ae%c0%ae/config/feeds.toml",
    b"/%ff", b"\\rss.xml", b"/\\..\\config", b"/etc/passwd", b"http://127.0.0.1/../config/feeds.toml",
    b"/rss.xml\\", b"/link.xml", b"/evil/passwd", b"/RSS.XML", b"/rss.xml;.html", b"*",
]  # fmt: skip


@pytest.fixture
def hostile(built: Site) -> Site:
    """Things beside the feeds that must never be served."""
    (built.out / ".hidden").write_text("secret", encoding="utf-8")
    (built.out / ".rss.xml.abc.tmp").write_text("half a feed", encoding="utf-8")
    (built.out / "state.db").write_text("store", encoding="utf-8")
    outside = built.root / "outside.txt"
    outside.write_text("outside", encoding="utf-8")
    os.symlink(outside, built.out / "link.xml")
    os.symlink(built.root, built.out / "evil")
    return built


def test_traversal_hidden_and_unlisted_files_are_404(hostile: Site) -> None:
    # even when listed as written, a symlink (file or folder) out of the folder is refused
    files = set(outputs(hostile).files()) | {"link.xml", "evil/outside.txt", "evil/config/feeds.toml"}
    with ServerThread(hostile.settings(), lambda: files) as server:
        for target in [*ATTACKS, b"/evil/outside.txt", b"/evil/config/feeds.toml"]:
            # a target that is no URL at all ("*", a backslash first) is refused by the HTTP parser: 400
            assert raw_get(server.port, target) == (400 if target[:1] in (b"\\", b"*") else 404), target
        assert raw_get(server.port, b"/rss.xml") == 200
        assert raw_get(server.port, b"/rss.xml?x=/../../etc") == 200


_SEGMENTS = st.sampled_from(
    ["..", ".", "%2e%2e", "%2E%2e", "%2e.", ".%2e", "%252e%252e", "..%00", "%00", ".hidden", "%2ehidden", "state.db",
     "config", "feeds.toml", "outside.txt", "evil", "link.xml", "%c0%ae%c0%ae", "..\\", "%5c..", "category", "rss.xml",
     ".rss.xml.abc.tmp", ".out.feeds.lock", "%2f", "%2F..%2F", "\\", "%ff", "..;", "~"]
)  # fmt: skip


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_SEGMENTS, min_size=1, max_size=5), slash=st.sampled_from(["/", "%2f", "%5c", "\\", "//"]))
def test_generated_traversals_are_404(hostile: Site, parts: list[str], slash: str) -> None:
    target = "/" + slash.join(parts)
    files = outputs(hostile).files()
    if target.lstrip("/") in files or target == "/rss.xml":
        return
    with _shared_server(hostile) as port:
        assert raw_get(port, target.encode()) == 404, target


_SERVERS: dict[Path, ServerThread] = {}


class _shared_server:  # one server per test site while hypothesis runs its examples
    def __init__(self, site: Site) -> None:
        self.site = site

    def __enter__(self) -> int:
        server = _SERVERS.get(self.site.root)
        if server is None:
            for old in _SERVERS.values():
                old.__exit__()
            _SERVERS.clear()
            server = _SERVERS[self.site.root] = ServerThread(self.site.settings(), outputs(self.site).files).__enter__()
        return server.port

    def __exit__(self, *exc: object) -> None:
        pass


@pytest.fixture(autouse=True, scope="module")
def _close_shared() -> object:
    yield
    for server in _SERVERS.values():
        server.__exit__()
    _SERVERS.clear()


def test_readers_never_see_half_a_feed_or_a_mix(built: Site) -> None:
    target = built.out / "rss.xml"
    versions = [target.read_bytes(), target.read_bytes().replace(b"</channel>", b"<!--" + b"x" * 200_000 + b"--></channel>")]
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            write_if_changed(target, versions[i % 2])

    thread = threading.Thread(target=writer)
    with ServerThread(built.settings(), outputs(built).files) as server, httpx.Client() as client:
        thread.start()
        try:
            seen = set()
            for _ in range(300):
                r = client.get(server.url + "rss.xml", headers={"Accept-Encoding": "identity"})
                assert r.content in versions
                seen.add(versions.index(r.content))
        finally:
            stop.set()
            thread.join()
    assert seen == {0, 1}


def test_healthz_200_then_503_when_publishing_stops(built: Site) -> None:
    now = [1_000_000.0]
    monitor = HealthMonitor(stale_after=300, clock=lambda: now[0])
    with ServerThread(built.settings(), outputs(built).files, health=monitor) as server:
        r = httpx.get(server.url + "healthz")
        assert r.status_code == 200  # starting, within stale_after
        monitor.published(42)
        monitor.polled("a", ok=False, next_due=now[0] + 60)
        monitor.polled("b", ok=True, next_due=now[0] + 30)
        now[0] += 200
        r = httpx.get(server.url + "healthz")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        data = r.json()
        assert data["status"] == "ok" and data["items"] == 42 and data["sources_failing"] == 1
        assert data["last_publish"] == 1_000_000.0 and data["oldest_due"] == 1_000_030.0
        now[0] += 200
        r = httpx.get(server.url + "healthz")
        assert r.status_code == 503
        assert "no publish succeeded for 400s" in r.json()["reason"]
        monitor.published(43)
        assert httpx.get(server.url + "healthz").status_code == 200


def test_metrics_parse_as_prometheus_text(built: Site) -> None:
    metrics = Metrics()
    metrics.poll("updated", 0.25)
    metrics.poll("failed", 3.0)
    metrics.items_stored(17)
    metrics.publish(0.4, written=5, at=1_700_000_000.0)
    with ServerThread(built.settings(), outputs(built).files, metrics=metrics) as server:
        httpx.get(server.url + "rss.xml")
        httpx.get(server.url + "nothing")
        r = httpx.get(server.url + "metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    assert samples[("feeds_polls_total", (("outcome", "updated"),))] == 1
    assert samples[("feeds_poll_duration_seconds_count", (("outcome", "failed"),))] == 1
    assert samples[("feeds_items", ())] == 17
    assert samples[("feeds_files_written_total", ())] == 5
    assert samples[("feeds_last_publish_timestamp_seconds", ())] == 1_700_000_000.0
    assert samples[("feeds_publish_duration_seconds_count", ())] == 1
    assert samples[("feeds_http_requests_total", (("status", "200"),))] == 1
    assert samples[("feeds_http_requests_total", (("status", "404"),))] == 1


def test_health_and_metrics_can_be_disabled(built: Site) -> None:
    cfg = built.config_path.read_text(encoding="utf-8") + "\n[serve]\nhealth = false\nmetrics = false\n"
    built.config_path.write_text(cfg, encoding="utf-8")
    monitor = HealthMonitor(stale_after=300)
    with ServerThread(built.settings(), outputs(built).files, health=monitor, metrics=Metrics()) as server:
        assert httpx.get(server.url + "healthz").status_code == 404
        assert httpx.get(server.url + "metrics").status_code == 404


def test_served_address_is_the_default_output_url(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '\n[serve]\nlisten = "127.0.0.1:8080"\nmax_age = 300\nstale_after = "1h"\n')
    settings = config.load(cfg)
    assert settings.output.url == "http://127.0.0.1:8080/"
    assert settings.serve.max_age == 300 and settings.serve.stale_seconds(900) == 3600
    assert config.load(write_config(tmp_path)).serve.stale_seconds(900) == 2700
    moved = with_listen(settings, "0.0.0.0:9000")  # --listen: where to serve, not what the files say
    assert moved.output.url == "http://127.0.0.1:8080/" and moved.serve.listen == "0.0.0.0:9000"
    plain = config.load(write_config(tmp_path))
    assert with_listen(plain, "127.0.0.1:9000").output.url == plain.output.url == "https://finews.example.com/"
    text = cfg.read_text(encoding="utf-8").replace("[output]\n", '[output]\nurl = "https://f.example.com/x/"\n')
    cfg.write_text(text, encoding="utf-8")
    fixed = with_listen(config.load(cfg), "127.0.0.1:9000")
    assert fixed.output.url == "https://f.example.com/x/"
    bad = write_config(tmp_path, '\n[serve]\nlisten = "localhost"\n')
    with pytest.raises(config.ConfigError, match=r"serve\.listen"):
        config.load(bad)


def _start_cli(site: Site, port: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "feeds", "serve", "-c", str(site.config_path), "--listen", f"127.0.0.1:{port}"],
        cwd=site.root, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503):
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(proc.stderr.read() if proc.stderr else "feeds serve did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_feeds_serve_command_etag_across_restart(built: Site) -> None:
    port = _free_port()
    etags = []
    for _ in range(2):
        proc = _start_cli(built, port)
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/rss.xml")
            assert r.status_code == 200 and r.headers["content-type"] == TYPES["rss.xml"]
            etags.append(r.headers["etag"])
            health = httpx.get(f"http://127.0.0.1:{port}/healthz")
            assert health.status_code == 200 and health.json()["items"] == 2
            assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
    assert etags[0] == etags[1]
