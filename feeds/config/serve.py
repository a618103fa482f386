"""The ``[serve]`` and ``[websub]`` settings, and the served address (read by :mod:`feeds.config`).

When ``[serve] listen`` is set in the config and ``output.url`` is not,
``output.url`` is the served address, ``http://<listen>/`` (a wildcard host such
as ``0.0.0.0`` becomes ``localhost``): self links, the OPML and index.html then
point at the feeds as served.  ``--listen`` on the command line only says where
to serve (:func:`~feeds.config.settings.with_listen`): the files stay what
``feeds build`` writes.  Serving to other machines or behind a reverse proxy:
set ``output.url`` to the public address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from feeds.config.reader import TableReader, between, key, parse_duration

DEFAULT_LISTEN = "127.0.0.1:8080"


def parse_listen(value: object) -> str:
    """``"127.0.0.1:8080"``, ``"[::1]:8080"``, ``"localhost:80"``: checked, returned unchanged."""
    if not isinstance(value, str):
        raise TypeError(f"must be a string, not {type(value).__name__}")
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in host or " " in host:
        raise ValueError(f'must be "host:port", e.g. "127.0.0.1:8080", got {value!r}')
    return value


def split_listen(listen: str) -> tuple[str, int]:
    """``"[::1]:8080"`` -> ``("::1", 8080)``."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def served_url(listen: str) -> str:
    """The base URL of the output folder served at ``listen``."""
    host, _, port = listen.rpartition(":")
    if host in ("0.0.0.0", "::", "[::]", "*"):
        host = "localhost"
    return f"http://{host}:{port}/"


def _hubs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError("must be an array of hub URLs")
    for hub in value:
        if not isinstance(hub, str) or urlsplit(hub).scheme not in ("http", "https") or not urlsplit(hub).netloc:
            raise ValueError(f"must be absolute http(s) URLs, got {hub!r}")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """``[serve]``: `feeds serve`, and `feeds run` when listen is set."""

    listen: str | None = key(None, parse=parse_listen)  # "host:port": `feeds run` serves the output folder there
    max_age: int = key(60, check=between(0, 10 * 365 * 86400))  # Cache-Control: max-age of every file, seconds
    health: bool = key(True)  # GET /healthz
    metrics: bool = key(True)  # GET /metrics
    stale_after: float | None = key(None, parse=parse_duration)  # /healthz is 503 after this long without a publish

    def stale_seconds(self, interval: float) -> float:
        """``stale_after``, else three default poll intervals."""
        return self.stale_after if self.stale_after is not None else 3 * interval


@dataclass(frozen=True, slots=True)
class WebSubSettings:
    """``[websub]``."""

    hubs: tuple[str, ...] = key((), parse=_hubs)  # hub URLs: announced in every feed, pinged when a feed changes


def read_serve(r: TableReader) -> ServeSettings:
    return r.read(ServeSettings)


def read_websub(r: TableReader) -> WebSubSettings:
    return r.read(WebSubSettings)
