"""What several ``feeds run`` nodes on one PostgreSQL store need (SQLite is one node).

* **poll leases** — :meth:`NodeTables.claim_due` hands each due source to
  exactly one node (``SELECT … FOR UPDATE SKIP LOCKED``, then a lease with an
  expiry in ``sources.lease_until``): a source is polled by the node that
  claimed it, released when its poll is stored, and claimable by any node once
  the lease expires (its node died).  A host never has more than ``per_host``
  live leases across the cluster (claims on one host are serialized by an
  advisory lock of that host).
* **change notifications** — a change to the articles NOTIFYs ``changed``, a
  settle ``settled``; :meth:`NodeTables.watch` LISTENs on its own connection,
  in its own thread, and tells the node.
* **the leader** — the node holding a session advisory lock (on that same
  connection) settles the changes for the cluster; the others publish when it
  tells them it has.  When the leader dies its connection goes, the lock is
  free at once, and another node takes it within a second.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import PoolTimeout

from feeds.core.models import Source
from feeds.store.dialect import LOCK_LEADER, Tables
from feeds.store.records import Claim

log = logging.getLogger("feeds")
HOST_FULL_RETRY = 0.5  # seconds before a claim refused for a busy host is tried again


def reason(exc: BaseException) -> str:
    """Why PostgreSQL (or the pool) failed, in one line."""
    if isinstance(exc, PoolTimeout):
        return "the database cannot be reached (no connection within the timeout)"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class NodeTables(Tables):
    clustered = True
    # the backend's (see postgres.PgDatabase)
    url: str
    name: str
    channel: str
    lock_key: int
    leading: bool
    following: bool

    def claim_due(
        self, sources: Sequence[Source], now: float, lease: float, per_host: int, *, force: bool = False
    ) -> Claim:
        """Claim those of ``sources`` that are due and not held by a live lease; see the module docstring."""
        wanted = {s.name: s for s in sources if s.url}
        if not wanted:
            return Claim((), None)
        names = sorted(wanted)
        hosts = [wanted[n].host for n in names]
        with self.write() as tx:
            tx.execute(
                "INSERT INTO sources (name, host) SELECT * FROM unnest(?::text[], ?::text[]) ON CONFLICT DO NOTHING",
                (names, hosts),
            )
            tx.execute(
                "UPDATE sources s SET host = w.host FROM unnest(?::text[], ?::text[]) AS w(name, host)"
                " WHERE s.name = w.name AND s.host IS DISTINCT FROM w.host",
                (names, hosts),
            )
            rows = tx.all(
                "SELECT s.name, s.host, s.lease_until,"
                " CASE WHEN s.url IS DISTINCT FROM w.url OR s.next_due IS NULL THEN 0"
                " WHEN s.failures = 0 AND s.last_success IS NOT NULL THEN least(s.next_due, s.last_success + w.every)"
                " ELSE s.next_due END AS due FROM sources s"
                " JOIN unnest(?::text[], ?::text[], ?::float8[]) AS w(name, url, every) ON w.name = s.name"
                " ORDER BY due, s.name FOR UPDATE OF s SKIP LOCKED",
                (names, [wanted[n].url for n in names], [wanted[n].interval for n in names]),
            )
            # a source held by a live lease: claimable when the lease ends (its node died);
            # one not due yet: when it is (whichever node asks first then gets it)
            later = [r[2] for r in rows if r[2] is not None and r[2] >= now]
            later += [r[3] for r in rows if (r[2] is None or r[2] < now) and not force and r[3] > now]
            free = [(r[0], r[1]) for r in rows if (r[2] is None or r[2] < now) and (force or r[3] <= now)]
            granted: list[str] = []
            busy_host = False
            for host in sorted({h for _, h in free}):
                tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, ?))", (host, self.lock_key))
                active = tx.one("SELECT count(*) FROM sources WHERE host = ? AND lease_until >= ?", (host, now))[0]
                room = max(0, per_host - active)
                mine = [name for name, h in free if h == host]
                granted += mine[:room]
                busy_host = busy_host or len(mine) > room
            if granted:
                tx.execute("UPDATE sources SET lease_node = ?, lease_until = ? WHERE name = ANY(?)",
                           (self.node, now + lease, granted))  # fmt: skip
        return Claim(tuple(granted), min(later) if later else None, HOST_FULL_RETRY if busy_host else 0.0)

    def release(self, names: Sequence[str]) -> None:
        """End this node's leases of ``names`` (their polls are stored)."""
        with self.write() as tx:
            tx.execute("UPDATE sources SET lease_node = NULL, lease_until = NULL"
                       " WHERE name = ANY(?) AND lease_node = ?", (list(names), self.node))  # fmt: skip

    # ------------------------------------------------------------ notifications and the leader

    def watch(self, on_event: Callable[[str], None]) -> Callable[[], None]:
        """LISTEN for changes in a thread of its own; ``on_event`` gets ``"settled"`` (publish),
        ``"changed"`` (settle: only while this node leads), ``"leader"`` and ``"reconnected"``.
        Returns the function that stops it.  A lost connection is logged once and retried with backoff."""
        stop = threading.Event()
        self.following = True
        thread = threading.Thread(target=self._listen, args=(on_event, stop), name="feeds-listen", daemon=True)
        thread.start()

        def stopping() -> None:
            stop.set()
            thread.join(timeout=5)
            self.following = False

        return stopping

    def _listen(self, on_event: Callable[[str], None], stop: threading.Event) -> None:
        delay, lost = 0.5, False
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as db:
                    db.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    if lost:
                        log.info("%s: the database is back", self.name)
                        on_event("reconnected")
                    delay, lost = 0.5, False
                    while not stop.is_set():
                        self._try_to_lead(db, on_event)
                        for note in db.notifies(timeout=1.0):
                            if note.payload != "changed" or self.leading:
                                on_event(note.payload)
            except psycopg.Error as exc:
                self.leading = False
                if not lost:
                    log.error("%s: the database is unreachable (%s); serving what is published, retrying",
                              self.name, reason(exc))  # fmt: skip
                lost = True
                stop.wait(delay)
                delay = min(delay * 2, 15.0)
            except Exception as exc:  # a bug: logged, the watch goes on
                log.error("%s: listening: %s: %s", self.name, type(exc).__name__, exc)
                stop.wait(delay)

    def _try_to_lead(self, db: psycopg.Connection[Any], on_event: Callable[[str], None]) -> None:
        if self.leading:
            return
        got = db.execute("SELECT pg_try_advisory_lock(%s, %s)", (self.lock_key, LOCK_LEADER)).fetchone()
        if got and got[0]:
            self.leading = True
            log.info("%s: this node (%s) leads: it settles the changes", self.name, self.node)
            on_event("leader")
