"""WebSub publishing: tell the hubs which feeds changed (https://www.w3.org/TR/websub/).

Every RSS/Atom feed links its hubs (``<atom:link rel="hub">``), a JSON Feed
lists them (``hubs``); see :mod:`feeds.output.formats`.  After a publish the daemon
calls :meth:`HubNotifier.notify` with the self URLs of exactly the feeds whose
bytes changed (:func:`changed_feed_urls` of ``Published.written``).  Each hub
then gets one form-encoded POST per feed, ``hub.mode=publish`` and
``hub.url=<feed self URL>``, in the background:

* ``notify`` never waits and never fails: a hub that is down never delays or
  fails a publish;
* a feed that changes again before its ping went out is pinged once
  (coalesced); one that changes while its ping is on the wire is pinged again;
* a failed ping is retried with exponential backoff (``initial_backoff`` doubling
  up to ``max_backoff``) until the hub takes it; the first failure of a hub is
  logged once with its reason, and its recovery once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin

from feeds.config import FetchSettings, Settings
from feeds.core.errors import FetchError

if TYPE_CHECKING:
    from feeds.serving.metrics import Metrics

log = logging.getLogger("feeds")

FEED_FILES = ("rss.xml", "atom.xml", "feed.json")
Post = Callable[[str, Mapping[str, str]], Awaitable[object]]


def changed_feed_urls(settings: Settings, written: Iterable[str]) -> list[str]:
    """The self URLs of the feeds among ``written`` (paths relative to the output folder)."""
    return [urljoin(settings.output.url, quote(rel)) for rel in written if rel.rpartition("/")[2] in FEED_FILES]


class _Hub:
    def __init__(self, url: str, backoff: float) -> None:
        self.url = url
        self.pending: dict[str, int] = {}  # feed URL -> the notify generation that asked for it
        self.wake = asyncio.Event()
        self.backoff = backoff
        self.failing = False
        self.task: asyncio.Task[None] | None = None


class HubNotifier:
    """Pings WebSub hubs in the background; ``async with HubNotifier(...) as hubs: hubs.notify(urls)``.

    ``post`` (for tests) replaces the HTTP POST; by default a
    :class:`~feeds.sources.fetch.Fetcher` with ``fetch`` settings is opened for the pings.
    """

    def __init__(
        self,
        hubs: Sequence[str],
        fetch: FetchSettings | None = None,
        *,
        initial_backoff: float = 2.0,
        max_backoff: float = 600.0,
        metrics: Metrics | None = None,
        post: Post | None = None,
    ) -> None:
        self.hub_urls = tuple(dict.fromkeys(hubs))
        self.fetch_settings = fetch or FetchSettings(timeout=15.0, connect_timeout=5.0, read_timeout=10.0)
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.metrics = metrics
        self._post = post
        self._stack = contextlib.AsyncExitStack()
        self._hubs: list[_Hub] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._generation = 0
        self.sent: list[tuple[str, str]] = []  # (hub, feed URL) of every ping a hub accepted

    @classmethod
    def from_settings(cls, settings: Settings, *, metrics: Metrics | None = None) -> HubNotifier:
        return cls(settings.websub.hubs, settings.fetch, metrics=metrics)

    async def __aenter__(self) -> HubNotifier:
        self._loop = asyncio.get_running_loop()
        if self._post is None and self.hub_urls:
            from feeds.sources.fetch import Fetcher

            fetcher = await self._stack.enter_async_context(Fetcher(self.fetch_settings, concurrency=4, per_host=2))
            self._post = fetcher.post_form
        for url in self.hub_urls:
            hub = _Hub(url, self.initial_backoff)
            hub.task = asyncio.create_task(self._run(hub), name=f"websub {url}")
            self._hubs.append(hub)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        tasks = [hub.task for hub in self._hubs if hub.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._hubs = []
        await self._stack.aclose()

    def notify(self, feed_urls: Iterable[str]) -> None:
        """Queue a ping of each of ``feed_urls`` to every hub; returns at once (any thread)."""
        urls = list(dict.fromkeys(feed_urls))
        if not urls or not self._hubs or self._loop is None:
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self._loop:
            self._queue(urls)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to ping with
            self._loop.call_soon_threadsafe(self._queue, urls)

    def _queue(self, urls: list[str]) -> None:
        self._generation += 1
        for hub in self._hubs:
            for url in urls:
                hub.pending.pop(url, None)  # re-queued at the end, with the new generation
                hub.pending[url] = self._generation
            hub.wake.set()

    @property
    def pending(self) -> int:
        """Pings not delivered yet (all hubs)."""
        return sum(len(hub.pending) for hub in self._hubs)

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued ping was delivered (True) or ``timeout`` seconds passed (False)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.pending:
                    await asyncio.sleep(0.02)
        return not self.pending

    async def _run(self, hub: _Hub) -> None:
        post = self._post
        assert post is not None
        while True:
            await hub.wake.wait()
            hub.wake.clear()
            while hub.pending:
                url, generation = next(iter(hub.pending.items()))
                try:
                    await post(hub.url, {"hub.mode": "publish", "hub.url": url})
                except FetchError as exc:
                    self._failed(hub, exc.reason)
                    await asyncio.sleep(hub.backoff)
                    hub.backoff = min(hub.backoff * 2, self.max_backoff)
                    continue
                if hub.pending.get(url) == generation:  # not changed again while on the wire
                    del hub.pending[url]
                self.sent.append((hub.url, url))
                if self.metrics is not None:
                    self.metrics.ping("ok")
                if hub.failing:
                    log.info("websub hub %s: pings delivered again", hub.url)
                hub.failing = False
                hub.backoff = self.initial_backoff

    def _failed(self, hub: _Hub, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.ping("failed")
        if not hub.failing:
            log.warning("websub hub %s: ping failed: %s; retrying in the background with backoff", hub.url, reason)
        hub.failing = True
