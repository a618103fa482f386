"""Serving the output folder over HTTP (aiohttp lives here and nowhere else).

:func:`start_server` starts a server on the running event loop and returns a
:class:`ServerHandle` (``await handle.close()``).  It answers:

* every file feeds wrote (``files()``: feeds, index.html, feeds.opml; see
  :mod:`feeds.serving.files`) with its Content-Type, a strong ETag from its bytes,
  Last-Modified, ``Cache-Control: max-age``, 304 to If-None-Match /
  If-Modified-Since, gzip when accepted (its own ETag, ``Vary: Accept-Encoding``),
  HEAD; ``/`` is index.html, ``/category/<slug>/`` that folder's index.html;
* ``GET /healthz``: 200 and a small JSON while publishing, 503 and the reason
  when stale (``health``; absent or ``[serve] health = false``: 404);
* ``GET /metrics``: the Prometheus text of ``metrics`` (absent or
  ``[serve] metrics = false``: 404);
* anything else 404; a method other than GET or HEAD 405.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Collection
from dataclasses import asdict
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from aiohttp import web

from feeds.config import Settings
from feeds.config.serve import split_listen
from feeds.core.models import Health
from feeds.serving.files import OutputFiles, Version

if TYPE_CHECKING:
    from feeds.serving.metrics import Metrics

_ALLOWED = "GET, HEAD"


class ServerHandle:
    """A running server: ``url`` is its base URL (the real port when 0 was asked for)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int) -> None:
        self._runner = runner
        self.host = host
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/"

    async def close(self) -> None:
        """Stop listening and finish the requests in progress (briefly)."""
        await self._runner.cleanup()


async def start_server(
    settings: Settings,
    *,
    listen: str,
    files: Callable[[], Collection[str]],
    health: Callable[[], Health] | None = None,
    metrics: Metrics | None = None,
) -> ServerHandle:
    """Serve ``settings.output.dir`` at ``listen`` ("host:port"; port 0 picks a free one).

    ``files()`` is called on each request for a file: the relative paths feeds
    wrote (keep it cheap: a set the caller updates, or a cached read).
    Raises OSError when the address cannot be bound.
    """
    app = _App(settings, OutputFiles(settings.output.dir, files), health, metrics)
    runner = web.ServerRunner(web.Server(app.handle, access_log=None), handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    host, port = split_listen(listen)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        await runner.cleanup()
        raise
    site = web.SockSite(runner, sock)
    await site.start()
    return ServerHandle(runner, host, sock.getsockname()[1])


class _App:
    def __init__(
        self, settings: Settings, files: OutputFiles, health: Callable[[], Health] | None, metrics: Metrics | None
    ) -> None:
        self.files = files
        self.max_age = f"max-age={settings.serve.max_age}"
        self.health = health if settings.serve.health else None
        self.metrics = metrics
        self.expose_metrics = metrics is not None and settings.serve.metrics

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        response = self.answer(request)
        if self.metrics is not None:
            self.metrics.http_request(response.status)
        return response

    def answer(self, request: web.BaseRequest) -> web.Response:
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="method not allowed\n", headers={"Allow": _ALLOWED})
        raw = request.raw_path
        path = raw.split("?", 1)[0]
        if path == "/healthz" and self.health is not None:
            return self.healthz(self.health())
        if path == "/metrics" and self.expose_metrics and self.metrics is not None:
            return web.Response(
                body=self.metrics.render(),
                headers={"Content-Type": self.metrics.content_type, "Cache-Control": "no-store"},
            )
        version = self.files.lookup(raw)
        if version is None:
            return web.Response(status=404, text="not found\n")
        return self.file(request, version)

    def file(self, request: web.BaseRequest, version: Version) -> web.Response:
        headers = {
            "Cache-Control": self.max_age,
            "Last-Modified": version.last_modified,
            "Vary": "Accept-Encoding",
        }
        if _accepts_gzip(request.headers.get("Accept-Encoding", "")):
            body, etag = version.gzipped()
            headers["Content-Encoding"] = "gzip"
        else:
            body, etag = version.data, version.etag
        headers["ETag"] = etag
        if _not_modified(request, etag, version.mtime):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = version.content_type
        return web.Response(body=body, headers=headers)

    @staticmethod
    def healthz(health: Health) -> web.Response:
        data = asdict(health)
        data["status"] = "ok" if health.ok else "stale"
        if health.ok:
            data.pop("reason", None)
        body = json.dumps(data, sort_keys=True) + "\n"
        return web.Response(
            status=200 if health.ok else 503,
            text=body,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )


def _accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip (``gzip`` or ``*`` with a q above 0)."""
    star = False
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        name = name.strip()
        if name in ("gzip", "x-gzip"):
            return q > 0
        if name == "*":
            star = q > 0
    return star


def _not_modified(request: web.BaseRequest, etag: str, mtime: int) -> bool:
    """RFC 9110: If-None-Match (weak comparison) when present, else If-Modified-Since."""
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            return mtime <= parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False
