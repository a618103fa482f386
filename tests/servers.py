"""A small real HTTP server on 127.0.0.1 for tests: ``from servers import FeedServer, Route``.

::

    with FeedServer({"/feed.xml": Route(body=b"<rss/>", etag='"v1"')}) as server:
        url = server.url("/feed.xml")
        ...
        server.routes["/feed.xml"] = Route(status=500)   # change it while it runs
        assert server.requests[-1][1]["if-none-match"] == '"v1"'

Each request is answered from ``routes`` (exact path, then the path without the
query string; unknown paths get 404).  ``requests`` records ``(path, headers)``
with lower-case header names; ``max_active`` is the most requests that were
being answered at the same time.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Route:
    """How the server answers one path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # sent as ETag; 304 when If-None-Match matches
    last_modified: str | None = None  # sent as Last-Modified; 304 when If-Modified-Since matches
    gzip: bool = False  # gzip the body, with Content-Encoding: gzip
    delay: float = 0.0  # seconds to wait before answering (a hang)
    drip: float = 0.0  # > 0: send the body one byte every `drip` seconds
    redirect: str | None = None  # a path ("/new") or URL: answer 302 (or `status` if 3xx) with Location
    content_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    abort: bool = False  # close the connection without answering


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client hung up (timeouts, size limits): expected in these tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        headers = {name.lower(): value for name, value in self.headers.items()}
        with owner.lock:
            owner.requests.append((self.path, headers))
            owner.times.append((time.monotonic(), self.path))
            owner.active += 1
            owner.max_active = max(owner.max_active, owner.active)
        try:
            self._answer(owner, headers)
        finally:
            with owner.lock:
                owner.active -= 1

    def _answer(self, owner: FeedServer, headers: dict[str, str]) -> None:
        route = owner.routes.get(self.path) or owner.routes.get(self.path.split("?", 1)[0])
        if route is None:
            route = Route(status=404, body=b"not found")
        if route.delay and owner.stopping.wait(route.delay):
            return
        if route.abort:
            self.close_connection = True
            return

        status, body = route.status, route.body
        extra = dict(route.headers)
        if route.redirect is not None:
            status = status if 300 <= status < 400 else 302
            location = route.redirect
            extra["Location"] = owner.url(location) if location.startswith("/") else location
        if route.etag is not None:
            extra["ETag"] = route.etag
        if route.last_modified is not None:
            extra["Last-Modified"] = route.last_modified
        inm = headers.get("if-none-match")
        if route.etag is not None and inm is not None:
            if route.etag in [tag.strip() for tag in inm.split(",")] or inm.strip() == "*":
                status = 304
        elif route.last_modified is not None and headers.get("if-modified-since") == route.last_modified:
            status = 304
        if status == 304 or status < 200 or status == 204:
            body = b""
        elif route.gzip:
            body = gzip.compress(body)
            extra["Content-Encoding"] = "gzip"

        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        if status != 304:
            if route.content_length:
                self.send_header("Content-Length", str(len(body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
        self.end_headers()
        if not body:
            return
        if route.drip > 0:
            for i in range(len(body)):
                if owner.stopping.wait(route.drip):
                    return
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
        else:
            self.wfile.write(body)


class FeedServer:
    """A threaded HTTP server on 127.0.0.1 and a free port, started by ``with`` (or :meth:`start`)."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.times: list[tuple[float, str]] = []  # (time.monotonic(), path) of every request
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # set on stop: wakes handlers that delay or drip
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FeedServer is not running")
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def headers(self, path: str) -> list[dict[str, str]]:
        """The headers of every request for ``path`` so far, oldest first."""
        with self.lock:
            return [headers for seen, headers in self.requests if seen == path]

    def start(self) -> FeedServer:
        self.stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="FeedServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
