"""``[schedule]`` and ``[fetch]``: when sources are polled, and how a fetch is bounded."""

from __future__ import annotations

from dataclasses import dataclass

from feeds.config.reader import TableReader, between, key, parse_duration

MAX_BYTES = 1 << 30  # the largest max_bytes (of a fetch or a post) accepted


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """``[schedule]``: `feeds run`, and which remote sources `feeds build` polls."""

    interval: float = key(900.0, parse=parse_duration)  # default poll / rescan interval of a source
    concurrency: int = key(16, check=between(1, 1000))  # polls at once
    per_host: int = key(4, check=between(1, 1000))  # polls at once per host
    max_backoff: float = key(6 * 3600.0, parse=parse_duration)  # longest wait of a failing source
    jitter: float = key(0.1, check=between(0, 1, " (a fraction of the interval)"))
    publish_delay: float = key(0.2, parse=parse_duration)  # the daemon publishes this long after a change
    watch: bool = key(True)  # the daemon rescans a posts folder on a filesystem notification


def read_schedule(r: TableReader) -> ScheduleSettings:
    return r.read(ScheduleSettings)


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """``[fetch]``: every HTTP fetch of a remote source."""

    timeout: float = key(30.0, parse=parse_duration)  # total seconds for one fetch
    connect_timeout: float = key(10.0, parse=parse_duration)
    read_timeout: float = key(20.0, parse=parse_duration)
    max_bytes: int = key(10 * 1024 * 1024, check=between(1, MAX_BYTES))  # a larger body fails the fetch
    max_redirects: int = key(5, check=between(0, 50))


def read_fetch(r: TableReader) -> FetchSettings:
    return r.read(FetchSettings)
