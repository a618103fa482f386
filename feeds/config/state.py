"""``[state]``: the store (SQLite beside the config, or PostgreSQL shared by several nodes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feeds.config.paths import resolve
from feeds.config.reader import TableReader, key, parse_duration, type_name


def _database_url(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"must be a string, not {type_name(type(value))}")
    if urlsplit(value).scheme not in ("postgresql", "postgres"):
        raise ValueError('must be a PostgreSQL URL like "postgresql://feeds@db.example:5432/feeds"')
    return value


@dataclass(frozen=True, slots=True)
class StateSettings:
    """``[state]``."""

    path: Path = key(Path(".feeds/state.db"), kind=str)  # SQLite, relative to the config's folder
    url: str | None = key(None, parse=_database_url)  # postgresql://…: the PostgreSQL store instead
    busy_timeout: float = key(120.0, parse=parse_duration)  # how long a write waits for another's
    lease: float = key(0.0, parse=parse_duration)  # how long a node holds a claimed source (0: see Settings.lease)


def read_state(r: TableReader, base: Path) -> StateSettings:
    if "url" in r.table and "path" in r.table:
        raise r.fail("url", "set either state.path (SQLite) or state.url (PostgreSQL), not both")
    state = r.read(StateSettings)
    return StateSettings(resolve(base, str(state.path)), state.url, state.busy_timeout, state.lease)
