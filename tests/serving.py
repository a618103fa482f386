"""Helpers for the serving tests: a feeds server on its own event loop thread, raw HTTP requests."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Collection
from typing import Any

from feeds.config import Settings
from feeds.core.models import Health
from feeds.serving.http import ServerHandle, start_server
from feeds.serving.metrics import Metrics


class ServerThread:
    """``start_server`` on 127.0.0.1 and a free port, on an event loop in a thread."""

    def __init__(
        self,
        settings: Settings,
        files: Callable[[], Collection[str]],
        health: Callable[[], Health] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.kwargs: dict[str, Any] = {"files": files, "health": health, "metrics": metrics}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.handle: ServerHandle | None = None

    def __enter__(self) -> ServerThread:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(
            start_server(self.settings, listen="127.0.0.1:0", **self.kwargs), self.loop
        )
        self.handle = future.result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.handle is not None
        asyncio.run_coroutine_threadsafe(self.handle.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def url(self) -> str:
        assert self.handle is not None
        return self.handle.url

    @property
    def port(self) -> int:
        assert self.handle is not None
        return self.handle.port


def raw_get(port: int, target: bytes, method: bytes = b"GET") -> int:
    """Send ``target`` as the request target exactly as given; the response status."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 else 0
