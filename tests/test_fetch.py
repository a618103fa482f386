"""feeds.sources.fetch against real HTTP servers on 127.0.0.1 (see servers.py)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from servers import FeedServer, Route

import feeds
from feeds.config import FetchSettings
from feeds.core.errors import FeedsError, FetchError
from feeds.core.models import FetchResult, Source
from feeds.sources.fetch import DEFAULT_USER_AGENT, Fetcher, parse_retry_after

FAST = FetchSettings(timeout=5.0, connect_timeout=2.0, read_timeout=2.0, max_bytes=100_000, max_redirects=5)
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def source(url: str, headers: tuple[tuple[str, str], ...] = ()) -> Source:
    return Source(name="test", type="feed", url=url, headers=headers)


def fetch(
    url: str,
    *,
    settings: FetchSettings = FAST,
    headers: tuple[tuple[str, str], ...] = (),
    fetcher_options: dict[str, Any] | None = None,
    **validators: str | None,
) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings, **(fetcher_options or {})) as fetcher:
            return await fetcher.fetch(source(url, headers), **validators)

    return asyncio.run(go())


def fetch_error(url: str, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, **kwargs)
    error = info.value
    assert isinstance(error, FeedsError)
    assert "\n" not in str(error)
    assert str(error).startswith(f"{url}: ")
    return error


# ---------------------------------------------------------------- 200 / 304


def test_etag_then_304(server: FeedServer) -> None:
    server.routes["/feed.xml"] = Route(body=RSS, etag='"v1"', headers={"Content-Type": "application/rss+xml"})
    first = fetch(server.url("/feed.xml"))
    assert first.status == 200
    assert first.body == RSS
    assert first.etag == '"v1"'
    assert first.header("content-type") == "application/rss+xml"
    assert first.url == server.url("/feed.xml")
    assert first.elapsed_ms > 0
    assert "if-none-match" not in server.headers("/feed.xml")[0]

    second = fetch(server.url("/feed.xml"), etag=first.etag)
    assert server.headers("/feed.xml")[1]["if-none-match"] == '"v1"'
    assert second.status == 304
    assert second.not_modified
    assert second.body is None
    assert second.etag == '"v1"'


def test_last_modified_then_304(server: FeedServer) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    server.routes["/feed.xml"] = Route(body=RSS, last_modified=stamp)
    first = fetch(server.url("/feed.xml"))
    assert (first.status, first.last_modified, first.etag) == (200, stamp, None)

    second = fetch(server.url("/feed.xml"), last_modified=first.last_modified)
    assert server.headers("/feed.xml")[1]["if-modified-since"] == stamp
    assert (second.status, second.body, second.last_modified) == (304, None, stamp)


def test_304_without_validators_keeps_the_old_ones(server: FeedServer) -> None:
    server.routes["/feed.xml"] = Route(status=304)
    result = fetch(server.url("/feed.xml"), etag='"old"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    assert result.status == 304
    assert result.etag == '"old"'
    assert result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    headers = server.headers("/feed.xml")[0]
    assert headers["if-none-match"] == '"old"'
    assert headers["if-modified-since"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_gzip_body_is_decoded(server: FeedServer) -> None:
    server.routes["/feed.xml"] = Route(body=RSS * 50, gzip=True)
    result = fetch(server.url("/feed.xml"))
    assert result.body == RSS * 50
    assert server.headers("/feed.xml")[0]["accept-encoding"] == "gzip, deflate"


def test_gbk_body_arrives_byte_identical(server: FeedServer) -> None:
    text = '<?xml version="1.0" encoding="gbk"?><rss><channel><title>中文订阅 — 新闻</title></channel></rss>'
    body = text.encode("gbk")
    server.routes["/gbk.xml"] = Route(
        body=body,
        headers={"Content-Type": "application/rss+xml; charset=gbk", "Content-Language": "zh-CN"},
    )
    result = fetch(server.url("/gbk.xml"))
    assert result.body == body
    assert result.header("content-type") == "application/rss+xml; charset=gbk"
    assert result.header("content-language") == "zh-CN"


def test_headers_sent(server: FeedServer) -> None:
    server.routes["/feed.xml"] = Route(body=RSS)
    fetch(server.url("/feed.xml"), headers=(("Authorization", "Bearer s3cret"), ("X-Feed-Token", "42")))
    sent = server.headers("/feed.xml")[0]
    assert sent["authorization"] == "Bearer s3cret"
    assert sent["x-feed-token"] == "42"
    assert sent["user-agent"] == DEFAULT_USER_AGENT
    assert sent["user-agent"].startswith(f"feeds/{feeds.__version__} (+https://")
    assert sent["accept"].startswith("application/rss+xml, application/atom+xml")
    assert "if-none-match" not in sent and "if-modified-since" not in sent

    fetch(server.url("/feed.xml"), fetcher_options={"user_agent": "my-reader/2.0"})
    assert server.headers("/feed.xml")[1]["user-agent"] == "my-reader/2.0"

    # A source's own header wins over the defaults.
    fetch(server.url("/feed.xml"), headers=(("User-Agent", "special/1"),))
    assert server.headers("/feed.xml")[2]["user-agent"] == "special/1"


# ---------------------------------------------------------------- HTTP errors


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"), (410, "HTTP 410 Gone")],
)
def test_http_error_status(server: FeedServer, status: int, reason: str) -> None:
    server.routes["/feed.xml"] = Route(status=status, body=b"nope")
    error = fetch_error(server.url("/feed.xml"))
    assert error.status == status
    assert error.reason == reason
    assert error.retry_after is None
    assert str(error) == f"{server.url('/feed.xml')}: {reason}"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds(server: FeedServer, status: int) -> None:
    server.routes["/feed.xml"] = Route(status=status, headers={"Retry-After": "120"})
    error = fetch_error(server.url("/feed.xml"))
    assert error.status == status
    assert error.retry_after == 120.0
    assert error.reason.endswith("(retry after 120s)")


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_http_date(server: FeedServer, status: int) -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)
    server.routes["/feed.xml"] = Route(status=status, headers={"Retry-After": format_datetime(when, usegmt=True)})
    error = fetch_error(server.url("/feed.xml"))
    assert error.status == status
    assert error.retry_after is not None
    assert 85 <= error.retry_after <= 91


def test_retry_after_parsing() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(" 30 ") == 30.0
    assert parse_retry_after("Wed, 01 May 2024 12:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 -0000", now=now) == 30.0
    for bad in (None, "", "-5", "1.5", "soon", "Wed, 99 Foo 2024"):
        assert parse_retry_after(bad, now=now) is None


def test_retry_after_ignored_when_garbage(server: FeedServer) -> None:
    server.routes["/feed.xml"] = Route(status=503, headers={"Retry-After": "later"})
    error = fetch_error(server.url("/feed.xml"))
    assert (error.status, error.retry_after, error.reason) == (503, None, "HTTP 503 Service Unavailable")


# ---------------------------------------------------------------- timeouts


def test_hang_past_read_timeout(server: FeedServer) -> None:
    server.routes["/slow.xml"] = Route(body=RSS, delay=3.0)
    settings = FetchSettings(timeout=5.0, connect_timeout=1.0, read_timeout=0.3)
    started = time.monotonic()
    error = fetch_error(server.url("/slow.xml"), settings=settings)
    assert time.monotonic() - started < 2.0
    assert error.reason.startswith("timed out after 0.3s")
    assert error.status is None


def test_drip_hits_total_deadline(server: FeedServer) -> None:
    # One byte every 0.1 s never trips the 0.5 s read timeout, but the whole fetch must end at 0.6 s.
    server.routes["/drip.xml"] = Route(body=b"x" * 200, drip=0.1)
    server.routes["/feed.xml"] = Route(body=RSS)
    settings = FetchSettings(timeout=0.6, connect_timeout=1.0, read_timeout=0.5)

    async def go() -> tuple[FetchError, float, FetchResult]:
        async with Fetcher(settings) as fetcher:
            started = time.monotonic()
            with pytest.raises(FetchError) as info:
                await fetcher.fetch(source(server.url("/drip.xml")))
            elapsed = time.monotonic() - started
            # The cancelled fetch leaves the shared client usable.
            return info.value, elapsed, await fetcher.fetch(source(server.url("/feed.xml")))

    error, elapsed, after = asyncio.run(go())
    assert 0.5 <= elapsed < 2.0
    assert str(error) == f"{server.url('/drip.xml')}: timed out after 0.6s"
    assert after.body == RSS


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="relies on Linux dropping SYNs to a full backlog")
def test_connect_timeout() -> None:
    # A listener whose accept queue is full: Linux drops further SYNs, so connect() hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(3):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            time.sleep(0.05)
            settings = FetchSettings(timeout=5.0, connect_timeout=0.3, read_timeout=0.3)
            error = fetch_error(f"http://127.0.0.1:{port}/feed.xml", settings=settings)
        finally:
            for filler in fillers:
                filler.close()
    assert error.reason == "timed out after 0.3s while connecting"


# ---------------------------------------------------------------- size limit


def test_too_large_with_content_length(server: FeedServer) -> None:
    server.routes["/big.xml"] = Route(body=b"x" * 5000)
    settings = FetchSettings(max_bytes=1000)
    error = fetch_error(server.url("/big.xml"), settings=settings)
    assert error.reason == "response larger than 1000 bytes"


def test_too_large_without_content_length(server: FeedServer) -> None:
    server.routes["/big.xml"] = Route(body=b"x" * 500_000, content_length=False)
    error = fetch_error(server.url("/big.xml"), settings=FetchSettings(max_bytes=1000))
    assert error.reason == "response larger than 1000 bytes"


def test_too_large_after_decompression(server: FeedServer) -> None:
    body = b"\0" * 2_000_000  # about 2 kB gzipped: the Content-Length is small, the decoded body is not
    server.routes["/bomb.xml"] = Route(body=body, gzip=True)
    assert len(gzip.compress(body)) < 10_000
    error = fetch_error(server.url("/bomb.xml"), settings=FetchSettings(max_bytes=10_000))
    assert error.reason == "response larger than 10000 bytes"


def test_body_of_exactly_max_bytes_is_fine(server: FeedServer) -> None:
    server.routes["/edge.xml"] = Route(body=b"y" * 1000, content_length=False)
    assert fetch(server.url("/edge.xml"), settings=FetchSettings(max_bytes=1000)).body == b"y" * 1000


# ---------------------------------------------------------------- redirects


def test_redirect_reports_final_url(server: FeedServer) -> None:
    server.routes["/old"] = Route(status=301, redirect="/middle")
    server.routes["/middle"] = Route(status=307, redirect="/new.xml")
    server.routes["/new.xml"] = Route(body=RSS, etag='"n"')
    result = fetch(server.url("/old"))
    assert result.status == 200
    assert result.url == server.url("/new.xml")
    assert result.body == RSS
    assert result.etag == '"n"'
    # The source's headers follow the redirect to the same host.
    fetch(server.url("/old"), headers=(("X-Token", "t"),))
    assert server.headers("/new.xml")[1]["x-token"] == "t"


def test_redirect_bodies_are_not_read(server: FeedServer) -> None:
    # A redirect whose body would take 500 s to drip, or is far over max_bytes, is closed unread.
    server.routes["/slow"] = Route(redirect="/big", body=b"x" * 1000, drip=0.5)
    server.routes["/big"] = Route(status=301, redirect="/feed.xml", body=b"y" * 5_000_000)
    server.routes["/feed.xml"] = Route(body=RSS)
    started = time.monotonic()
    result = fetch(server.url("/slow"))
    assert result.body == RSS and result.url == server.url("/feed.xml")
    assert time.monotonic() - started < 3


def test_conditional_headers_follow_a_redirect(server: FeedServer) -> None:
    server.routes["/moved"] = Route(status=308, redirect="/feed.xml")
    server.routes["/feed.xml"] = Route(body=RSS, etag='"v2"')
    result = fetch(server.url("/moved"), etag='"v2"')
    assert result.status == 304 and result.body is None and result.etag == '"v2"'


def test_redirect_loop(server: FeedServer) -> None:
    server.routes["/a"] = Route(redirect="/b")
    server.routes["/b"] = Route(redirect="/a")
    error = fetch_error(server.url("/a"))
    assert error.reason == "too many redirects (more than 5)"
    assert error.status is None


def test_max_redirects_setting(server: FeedServer) -> None:
    for i in range(3):
        server.routes[f"/r{i}"] = Route(redirect=f"/r{i + 1}")
    server.routes["/r3"] = Route(body=RSS)
    assert fetch(server.url("/r0"), settings=FetchSettings(max_redirects=3)).url == server.url("/r3")
    error = fetch_error(server.url("/r0"), settings=FetchSettings(max_redirects=2))
    assert error.reason == "too many redirects (more than 2)"


def test_redirect_to_unsupported_scheme(server: FeedServer) -> None:
    server.routes["/ftp"] = Route(redirect="ftp://127.0.0.1/feed.xml")
    error = fetch_error(server.url("/ftp"))
    assert error.reason == "unsupported URL scheme 'ftp' (only http and https)"


def test_redirect_without_location(server: FeedServer) -> None:
    server.routes["/moved"] = Route(status=302)
    error = fetch_error(server.url("/moved"))
    assert error.status == 302
    assert error.reason == "HTTP 302 Found (redirect without a Location)"


# ---------------------------------------------------------------- connection failures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused() -> None:
    error = fetch_error(f"http://127.0.0.1:{free_port()}/feed.xml")
    assert error.reason == "connection refused"
    assert error.status is None


def test_dns_failure() -> None:
    # .invalid never resolves (RFC 6761); without any network the lookup fails at once too.
    error = fetch_error("http://feeds-test.invalid/feed.xml")
    assert error.reason == "DNS lookup failed for feeds-test.invalid"


def test_tls_error(server: FeedServer) -> None:
    # https:// to a plain-HTTP port: the TLS handshake fails.
    server.routes["/feed.xml"] = Route(body=RSS)
    error = fetch_error(f"https://127.0.0.1:{server.port}/feed.xml")
    assert error.reason.startswith("TLS error: ")
    assert "_ssl.c" not in error.reason


def test_server_disconnects(server: FeedServer) -> None:
    server.routes["/feed.xml"] = Route(abort=True)
    error = fetch_error(server.url("/feed.xml"))
    assert error.reason.startswith("protocol error: ")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/feed.xml", "unsupported URL scheme 'ftp' (only http and https)"),
        ("example.com/feed.xml", "invalid URL"),
        ("http:///feed.xml", "invalid URL (no host)"),
        ("http://127.0.0.1:99999/feed.xml", "invalid URL ("),
        ("http://[::1/feed.xml", "invalid URL ("),
        ("http://xn--/feed.xml", "invalid URL ("),
    ],
)
def test_invalid_url(url: str, reason: str) -> None:
    error = fetch_error(url)
    assert error.reason.startswith(reason)


def test_non_ascii_header_is_rejected(server: FeedServer) -> None:
    error = fetch_error(server.url("/feed.xml"), headers=(("X-Name", "café"),))
    assert error.reason == "header 'X-Name' must be plain ASCII text"
    assert server.requests == []


def test_source_without_url() -> None:
    async def go() -> None:
        async with Fetcher(FAST) as fetcher:
            await fetcher.fetch(Source(name="local", type="posts"))

    with pytest.raises(FetchError, match=r"^local: source has no URL$"):
        asyncio.run(go())


def test_fetch_outside_context_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        asyncio.run(Fetcher(FAST).fetch(source("http://127.0.0.1/")))


# ---------------------------------------------------------------- concurrency


def fetch_many(urls: list[str], **options: int) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(FAST, **options) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(source(url)) for url in urls))

    return asyncio.run(go())


def test_per_host_limit(server: FeedServer) -> None:
    for i in range(5):
        server.routes[f"/slow{i}"] = Route(body=RSS, delay=0.25)
    results = fetch_many([server.url(f"/slow{i}") for i in range(5)], per_host=2)
    assert [r.status for r in results] == [200] * 5
    assert server.max_active == 2


def test_global_limit(server: FeedServer) -> None:
    server.routes["/slow"] = Route(body=RSS, delay=0.2)
    results = fetch_many([server.url("/slow")] * 4, concurrency=1, per_host=4)
    assert len(results) == 4
    assert server.max_active == 1


def test_queue_wait_does_not_count_against_the_deadline(server: FeedServer) -> None:
    # Three 0.4 s fetches one at a time take 1.2 s, more than the 0.8 s deadline of each.
    server.routes["/slow"] = Route(body=RSS, delay=0.4)

    async def go() -> list[FetchResult]:
        settings = FetchSettings(timeout=0.8, connect_timeout=0.5, read_timeout=0.6)
        async with Fetcher(settings, per_host=1) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(source(server.url("/slow"))) for _ in range(3)))

    assert [r.status for r in asyncio.run(go())] == [200] * 3
