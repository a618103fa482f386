"""The only module that touches httpx: conditional, bounded HTTP GETs of remote feeds.

A :class:`Fetcher` owns one shared :class:`httpx.AsyncClient` (open it with
``async with``).  :meth:`Fetcher.fetch` returns a :class:`~feeds.core.models.FetchResult`
(status 200 with a body, or 304 without) or raises one
:class:`~feeds.core.errors.FetchError` whose ``str()`` is a one-line reason such as
``"https://example.com/feed: HTTP 404 Not Found"`` or ``"...: timed out after 30s"``.
No httpx exception (nor any other transport error) leaves this module.

Limits: a total deadline of ``FetchSettings.timeout`` seconds per fetch (on top of
httpx's connect/read timeouts, so a server dripping one byte at a time still
fails), at most ``max_bytes`` of decoded body (checked while streaming), at most
``max_redirects`` redirects (followed here, each closed without reading its
body), ``concurrency`` fetches at once overall and
``per_host`` at once per host name.  The deadline starts once both slots are held:
waiting in the queue does not count.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import ssl
import time
import zlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urlsplit

import httpx

import feeds
from feeds.config import FetchSettings
from feeds.core.errors import FetchError
from feeds.core.models import FetchResult, Source
from feeds.sources.inflate import Inflater

DEFAULT_USER_AGENT = f"feeds/{feeds.__version__} (+https://github.com/feeds-dev/feeds)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
ACCEPT_ENCODING = "gzip, deflate"

# Response headers copied into FetchResult.headers (lower-case names).
KEPT_HEADERS = ("content-type", "content-location", "content-language", "cache-control", "expires")

_RETRY_AFTER_STATUSES = frozenset({429, 503})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_REASON = 200


class Fetcher:
    """Fetches remote feeds over one shared HTTP client; use as ``async with Fetcher(...) as f``."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        concurrency: int = 16,
        per_host: int = 4,
        user_agent: str | None = None,
    ) -> None:
        if concurrency < 1 or per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        self.settings = settings
        self.concurrency = concurrency
        self.per_host = per_host
        self.user_agent = user_agent or DEFAULT_USER_AGENT
        self._client: httpx.AsyncClient | None = None
        # Created in __aenter__ so they belong to the running event loop.
        self._slots: asyncio.Semaphore | None = None
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        self._slots = asyncio.Semaphore(self.concurrency)
        self._host_slots = {}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=s.connect_timeout,
                read=s.read_timeout,
                write=s.read_timeout,
                pool=s.timeout,
            ),
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            follow_redirects=False,  # followed by _get, closing each redirect unread
            headers={
                "User-Agent": self.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def fetch(
        self,
        source: Source,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET ``source.url`` (conditionally when validators are given).

        Returns a 2xx status (normally 200) with the decoded body, or 304 with ``body=None`` and the
        validators (the old ones when the 304 does not resend them).  Raises
        :class:`FetchError` on every failure.
        """
        if self._client is None or self._slots is None:
            raise RuntimeError("Fetcher.fetch() called outside 'async with Fetcher(...)'")
        url = source.url or ""
        if not url:
            raise FetchError(source.name, "source has no URL")
        problem = _url_problem(url)
        if problem:
            raise FetchError(url, problem)
        headers = _request_headers(url, source.headers, etag, last_modified)
        host = (urlsplit(url).hostname or "").lower()
        host_slots = self._host_slots.get(host)
        if host_slots is None:
            host_slots = self._host_slots[host] = asyncio.Semaphore(self.per_host)
        # Host slot first, so a fetch queued behind a busy host holds no global slot.
        async with host_slots, self._slots:
            return await self._fetch(url, headers, etag, last_modified)

    async def _fetch(
        self,
        url: str,
        headers: list[tuple[str, str]],
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        settings = self.settings
        started = time.perf_counter()
        deadline = asyncio.timeout(settings.timeout)
        try:
            async with deadline:
                return await self._get(url, headers, etag, last_modified, started)
        except FetchError:
            raise
        except TimeoutError as exc:
            if deadline.expired():
                raise FetchError(url, f"timed out after {_seconds(settings.timeout)}") from None
            raise FetchError(url, _reason(exc, settings)) from None
        except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError, OverflowError) as exc:
            raise FetchError(url, _reason(exc, settings)) from None
        except ExceptionGroup as group:  # anyio's connect can wrap its errors in a group
            raise FetchError(url, _reason(_first_leaf(group), settings)) from None

    async def _get(
        self,
        url: str,
        headers: list[tuple[str, str]],
        etag: str | None,
        last_modified: str | None,
        started: float,
    ) -> FetchResult:
        client = self._client
        assert client is not None
        request = client.build_request("GET", url, headers=headers)
        # Redirects are followed here, not by httpx: it reads every redirect's body
        # whole (no max_bytes); here a redirect is closed unread.
        hops = 0
        while True:
            response = await client.send(request, stream=True, follow_redirects=False)
            if response.next_request is None:
                break
            await response.aclose()
            hops += 1
            if hops > self.settings.max_redirects:
                raise FetchError(url, f"too many redirects (more than {self.settings.max_redirects})")
            request = response.next_request
            scheme = request.url.scheme.lower()
            if scheme not in ("http", "https"):
                raise FetchError(url, f"unsupported URL scheme {scheme!r} (only http and https)")
        try:
            status = response.status_code
            final_url = str(response.url)
            kept = _kept_headers(response.headers)
            if status == 304:
                return FetchResult(
                    url=final_url,
                    status=304,
                    body=None,
                    etag=response.headers.get("etag") or etag,
                    last_modified=response.headers.get("last-modified") or last_modified,
                    headers=kept,
                    elapsed_ms=_elapsed_ms(started),
                )
            if not 200 <= status < 300:
                raise _status_error(url, response)
            body = await self._read_body(url, response)
            return FetchResult(
                url=final_url,
                status=status,
                body=body,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                headers=kept,
                elapsed_ms=_elapsed_ms(started),
            )
        finally:
            await response.aclose()

    async def post_form(self, url: str, form: Mapping[str, str]) -> int:
        """POST ``form`` form-encoded to ``url`` (a WebSub ping) within ``timeout``; the 2xx status, or FetchError."""
        if self._client is None:
            raise RuntimeError("Fetcher.post_form() called outside 'async with Fetcher(...)'")
        try:
            async with asyncio.timeout(self.settings.timeout):
                response = await self._client.post(url, data=dict(form), headers={"Accept": "*/*"})
        except TimeoutError:
            raise FetchError(url, f"timed out after {_seconds(self.settings.timeout)}") from None
        except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError, OverflowError) as exc:
            raise FetchError(url, _reason(exc, self.settings)) from None
        if not 200 <= response.status_code < 300:
            raise _status_error(url, response)
        return response.status_code

    async def _read_body(self, url: str, response: httpx.Response) -> bytes:
        """Stream the decoded body, giving up as soon as it passes ``max_bytes``."""
        limit = self.settings.max_bytes
        length = response.headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > limit:
            raise FetchError(url, f"response larger than {limit} bytes")
        body = bytearray()
        coding = response.headers.get("content-encoding", "").strip().lower()
        if coding in ("gzip", "x-gzip", "deflate"):
            # Decompressed here, never more than the limit at once: httpx would inflate
            # each network chunk whole (a 64 KiB chunk of a gzip bomb is 64 MiB).
            inflate = Inflater(coding)
            try:
                async for raw in response.aiter_raw():
                    body += inflate(raw, limit + 1 - len(body))
                    if len(body) > limit:
                        raise FetchError(url, f"response larger than {limit} bytes")
            except zlib.error as exc:
                raise FetchError(url, f"cannot decode the compressed body ({_clean(str(exc))})") from None
            return bytes(body)
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise FetchError(url, f"response larger than {limit} bytes")
        return bytes(body)


# ---------------------------------------------------------------- requests


def _url_problem(url: str) -> str | None:
    """Why httpx could not fetch ``url`` (checked first, for a clear message), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"invalid URL ({_clean(str(exc))})"
    if parts.scheme not in ("http", "https"):
        return f"unsupported URL scheme {parts.scheme!r} (only http and https)" if parts.scheme else "invalid URL"
    if not parts.hostname:
        return "invalid URL (no host)"
    if port is not None and not 0 < port < 65536:
        return f"invalid URL (port {port} out of range)"
    return None


def _request_headers(
    url: str,
    extra: tuple[tuple[str, str], ...],
    etag: str | None,
    last_modified: str | None,
) -> list[tuple[str, str]]:
    headers = list(extra)
    if etag:
        headers.append(("If-None-Match", etag))
    if last_modified:
        headers.append(("If-Modified-Since", last_modified))
    for name, value in headers:
        if not name.isascii() or not value.isascii():
            raise FetchError(url, f"header {name!r} must be plain ASCII text")
        if "\r" in value or "\n" in value:
            raise FetchError(url, f"header {name!r} must not contain a line break")
    return headers


# ---------------------------------------------------------------- responses


def _kept_headers(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    return tuple((name, headers[name]) for name in KEPT_HEADERS if name in headers)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def _status_error(url: str, response: httpx.Response) -> FetchError:
    status = response.status_code
    phrase = httpx.codes.get_reason_phrase(status)
    reason = f"HTTP {status} {phrase}" if phrase else f"HTTP {status}"
    if status in _REDIRECT_STATUSES and "location" not in response.headers:
        reason += " (redirect without a Location)"
    retry_after = None
    if status in _RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None:
            reason += f" (retry after {retry_after:.0f}s)"
    return FetchError(url, reason, status=status, retry_after=retry_after)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as delta-seconds (``"120"``) or an HTTP-date -> seconds from now (>= 0), else None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP-dates are always GMT
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


# ---------------------------------------------------------------- errors


def _reason(exc: BaseException, settings: FetchSettings) -> str:
    """One short readable line for a transport-level failure."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out after {_seconds(settings.connect_timeout)} while connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return f"timed out after {_seconds(settings.read_timeout)} waiting for data"
    if isinstance(exc, httpx.WriteTimeout):
        return f"timed out after {_seconds(settings.read_timeout)} sending the request"
    if isinstance(exc, httpx.PoolTimeout):
        return f"timed out after {_seconds(settings.timeout)} waiting for a free connection"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.UnsupportedProtocol):
        target = _request_url(exc)
        scheme = urlsplit(target).scheme if target else ""
        if scheme and scheme not in ("http", "https"):
            return f"unsupported URL scheme {scheme!r} (only http and https)"
        return f"invalid URL{f' {target}' if target else ''}"
    if isinstance(exc, httpx.InvalidURL | UnicodeError):
        return f"invalid URL ({_clean(str(exc))})"
    if isinstance(exc, OverflowError):
        return f"invalid URL ({_clean(str(exc))})"
    if isinstance(exc, httpx.DecodingError):
        return f"cannot decode the compressed body ({_clean(str(exc))})"
    if isinstance(exc, httpx.ProxyError):
        return f"proxy error: {_clean(str(exc))}"
    if isinstance(exc, httpx.ConnectError | OSError):
        return _connect_reason(exc)
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {_clean(str(exc))}"
    if isinstance(exc, httpx.LocalProtocolError):
        return f"invalid request: {_clean(str(exc))}"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return f"connection lost: {_clean(str(exc)) or 'closed by the server'}"
    return f"network error ({type(exc).__name__}): {_clean(str(exc))}".rstrip(": ")


def _connect_reason(exc: BaseException) -> str:
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            host = urlsplit(_request_url(exc)).hostname if _request_url(exc) else None
            return f"DNS lookup failed for {host}" if host else "DNS lookup failed"
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or _clean_ssl(str(cause))
            return f"TLS error: certificate verify failed: {detail}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {_clean_ssl(str(cause))}"
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by peer"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return f"cannot connect: {_clean(cause.strerror or str(cause)).lower()}"
    return f"cannot connect: {_clean(str(exc)) or type(exc).__name__}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it was raised from, including the members of exception groups."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(reversed(current.exceptions))
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                stack.append(nxt)


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _request_url(exc: BaseException) -> str:
    try:
        return str(exc.request.url)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when no request is attached
        return ""


def _clean(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _clean_ssl(text: str) -> str:
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", text)
    text = re.sub(r"^\[[A-Z0-9_: ]+\]\s*", "", text)
    return _clean(text).lower() or "handshake failed"


def _seconds(value: float) -> str:
    return f"{value:g}s"
