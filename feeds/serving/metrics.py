"""Prometheus metrics (prometheus-client lives here and nowhere else).

One :class:`Metrics` per process, with its own registry (never the global one),
so tests and several daemons in one process do not share counters.  The daemon
calls the plain methods below; ``GET /metrics`` serves :meth:`Metrics.render`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_PUBLISH_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The counters, gauges and histograms of one feeds process."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._polls = Counter("feeds_polls", "Polls of remote sources and rescans of posts, by outcome",
                              ["outcome"], registry=r)  # fmt: skip
        self._poll_seconds = Histogram("feeds_poll_duration_seconds", "Duration of one poll", ["outcome"],
                                       buckets=_POLL_BUCKETS, registry=r)  # fmt: skip
        self._items = Gauge("feeds_items", "Articles held in the store (published, merged)", registry=r)
        self._publish_seconds = Histogram("feeds_publish_duration_seconds", "Duration of one publish",
                                          buckets=_PUBLISH_BUCKETS, registry=r)  # fmt: skip
        self._last_publish = Gauge("feeds_last_publish_timestamp_seconds",
                                   "Unix time of the last successful publish", registry=r)  # fmt: skip
        self._files = Counter("feeds_files_written", "Output files written (bytes changed)", registry=r)
        self._publish_failures = Counter("feeds_publish_failures", "Publishes that failed", registry=r)
        self._sources_failing = Gauge("feeds_sources_failing", "Remote sources whose last poll failed",
                                      registry=r)  # fmt: skip
        self._http = Counter("feeds_http_requests", "HTTP requests answered, by status", ["status"], registry=r)
        self._http_children: dict[int, Counter] = {}
        self._pings = Counter("feeds_websub_pings", "WebSub publish pings, by outcome", ["outcome"], registry=r)

    # ------------------------------------------------------------ the daemon calls these

    def poll(self, outcome: str, seconds: float) -> None:
        """One poll finished: ``outcome`` e.g. "updated", "unchanged", "not_modified", "failed"."""
        self._polls.labels(outcome).inc()
        self._poll_seconds.labels(outcome).observe(seconds)

    def items_stored(self, count: int) -> None:
        self._items.set(count)

    def sources_failing(self, count: int) -> None:
        self._sources_failing.set(count)

    def publish(self, seconds: float, *, written: int, at: float) -> None:
        """A publish succeeded at ``at`` (epoch seconds), took ``seconds`` and wrote ``written`` files."""
        self._publish_seconds.observe(seconds)
        self._files.inc(written)
        self._last_publish.set(at)

    def publish_failed(self) -> None:
        self._publish_failures.inc()

    def ping(self, outcome: str) -> None:
        """A WebSub ping: "ok" or "failed"."""
        self._pings.labels(outcome).inc()

    # ------------------------------------------------------------ the server calls these

    def http_request(self, status: int) -> None:
        child = self._http_children.get(status)
        if child is None:
            child = self._http_children[status] = self._http.labels(str(status))
        child.inc()

    def render(self) -> bytes:
        """Everything in the Prometheus text format (:attr:`content_type`)."""
        return generate_latest(self.registry)
