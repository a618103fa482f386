"""The ``[serve]`` and ``[websub]`` settings, and the served address (read by :mod:`feeds.config`).

When ``[serve] listen`` is set and ``output.url`` is not, ``output.url`` is the
served address, ``http://<listen>/`` (a wildcard host such as ``0.0.0.0``
becomes ``localhost``): self links, the OPML and index.html then point at the
feeds as served.  ``--listen`` on the command line does the same
(:func:`with_listen`).  Serving to other machines or behind a reverse proxy:
set ``output.url`` to the public address.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from feeds.config import Settings

    S = TypeVar("S", bound=Settings)

DEFAULT_LISTEN = "127.0.0.1:8080"


@dataclass(frozen=True, slots=True)
class ServeSettings:
    listen: str | None = None  # "host:port"; set: `feeds run` serves the output folder there
    max_age: int = 60  # Cache-Control: max-age of every served file, seconds
    health: bool = True  # GET /healthz
    metrics: bool = True  # GET /metrics
    stale_after: float | None = None  # /healthz is 503 after this long without a publish (None: see below)

    def stale_seconds(self, interval: float) -> float:
        """``stale_after``, else three default poll intervals."""
        return self.stale_after if self.stale_after is not None else 3 * interval


@dataclass(frozen=True, slots=True)
class WebSubSettings:
    hubs: tuple[str, ...] = ()  # hub URLs: announced in every feed, pinged when a feed changes


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


def with_listen(settings: S, listen: str | None) -> S:
    """``settings`` serving at ``listen`` (the ``--listen`` option): ``[serve] listen`` replaced, and
    ``output.url`` too unless the config sets it.  Raises ValueError for a bad address."""
    if listen is None:
        return settings
    listen = parse_listen(listen)
    output = settings.output
    if not output.url_set:
        output = replace(output, url=served_url(listen))
    return replace(settings, serve=replace(settings.serve, listen=listen), output=output)
