"""``feeds run`` on several nodes sharing one PostgreSQL store: a source is claimed before it is polled.

A node polls a source only while it holds its lease (:meth:`feeds.store.Store.claim_due`);
its polls of one host queue on a local slot, not in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Protocol

from feeds.config import Settings
from feeds.core.errors import FeedsError, reason
from feeds.core.models import Source
from feeds.store import Claim, Store

log = logging.getLogger("feeds")


class Host(Protocol):
    """What the cluster's polls use of the daemon that holds them."""

    settings: Settings
    store: Store
    stopping: asyncio.Event

    async def poll_once(self, source: Source) -> None: ...


class ClusterPolls:
    """This node's claims and polls of the sources several nodes share."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.host_slots: dict[str, asyncio.Semaphore] = {}  # this node's polls per host
        self.store_away = False  # the store cannot be reached (logged once)

    async def poll(self, source: Source, force: bool) -> None:
        """Claim ``source`` (:meth:`Store.claim_due`) and poll it.  This node's queue for a host waits
        on a local slot, not in the database; a claim refused for a busy host (the other nodes' polls)
        is tried again holding the slot.  Then it waits until the source is due, or until the lease
        of a node that died ends, within the source's interval, and claims again."""
        slots = self.host_slots.setdefault(source.host, asyncio.Semaphore(self.host.settings.schedule.per_host))
        while not self.host.stopping.is_set():
            async with slots:
                while True:
                    now = time.time()
                    claim = await self.claim(source, now, force)
                    if claim is None:
                        return
                    if claim.granted:
                        try:
                            await self.host.poll_once(source)
                        finally:
                            with contextlib.suppress(FeedsError):  # else the lease expires
                                await asyncio.to_thread(self.host.store.release, [source.name])
                        return
                    if not claim.busy_host or self.host.stopping.is_set():
                        break
                    await asyncio.sleep(claim.busy_host + random.uniform(0, 0.2))
            if claim.retry_at is None or claim.retry_at - now > source.interval:
                return  # polled by another node, or not due within the interval
            await asyncio.sleep(max(0.05, claim.retry_at - now) + random.uniform(0, 0.1))

    async def claim(self, source: Source, now: float, force: bool) -> Claim | None:
        """One claim of ``source``; None when the store is away (logged once, and once when back)."""
        try:
            claim = await asyncio.to_thread(self.host.store.claim_due, [source], now, self.host.settings.lease,
                                            self.host.settings.schedule.per_host, force=force)  # fmt: skip
        except FeedsError as exc:
            if not self.store_away:
                log.error("poll: %s; polls wait for the store", reason(exc))
            self.store_away = True
            return None
        if self.store_away:
            log.info("poll: the store is back")
            self.store_away = False
        return claim
