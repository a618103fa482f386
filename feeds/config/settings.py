"""The only reader of the TOML config: ``config/feeds.toml`` -> :class:`Settings`.

Every problem is a :class:`~feeds.core.errors.ConfigError` naming the file and the key
(``sources[2].url``) and the reason.  Relative paths in the config (``output.dir``,
``state.path``, a posts source's ``path``) are relative to the folder that holds
the config file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.config.merge import MergeSettings, parse_merge
from feeds.config.paths import check_paths
from feeds.config.reader import TableReader, parse_duration, table, type_name
from feeds.config.serve import ServeSettings, WebSubSettings, parse_listen, served_url
from feeds.config.sources import parse_source
from feeds.core.errors import ConfigError
from feeds.core.identity import DEFAULT_PATTERNS
from feeds.core.models import Source
from feeds.core.rules import Rule, parse_rules

DEFAULT_CONFIG = Path("config/feeds.toml")
DEFAULT_PERMALINK = "/:categories/:year/:month/:day/:title.html"
DEFAULT_CATEGORY_URL = "/category/:slug.html"
FORMATS = ("rss", "atom", "json")
DEFAULT_FORMATS = ("rss", "atom")
MAX_BYTES = 1 << 30  # the largest max_bytes (of a fetch or a post) accepted
DEFAULT_POST_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SiteSettings:
    title: str
    url: str
    description: str = ""
    language: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    author: str = ""
    permalink: str = DEFAULT_PERMALINK
    category_url: str = DEFAULT_CATEGORY_URL
    id_authority: str = ""  # the authority of every id (tag:<authority>,2000:…); "" until fixed (feeds.store.siteids)
    id_base: str = ""  # the site URL post links are keyed with (never set by the config); "" until fixed

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "localhost"

    @property
    def authority(self) -> str:
        """What item and feed ids are made with: fixed once (see :mod:`feeds.store.siteids`)."""
        return self.id_authority or self.host


@dataclass(frozen=True, slots=True)
class OutputSettings:
    dir: Path
    url: str
    formats: tuple[str, ...] = DEFAULT_FORMATS
    limit: int = 50
    url_set: bool = True  # False: url was derived (site.url, or the served address when [serve] listen is set)
    templates: Path | None = None  # a folder of page templates that win over the bundled ones


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    interval: float = 900.0
    concurrency: int = 16
    per_host: int = 4
    max_backoff: float = 6 * 3600.0
    jitter: float = 0.1  # fraction of the interval
    publish_delay: float = 0.2  # the daemon waits this long after a change, to publish what changes together
    watch: bool = True  # the daemon rescans a posts folder on a filesystem notification


@dataclass(frozen=True, slots=True)
class FetchSettings:
    timeout: float = 30.0  # total seconds for one fetch
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class Settings:
    path: Path  # the config file
    site: SiteSettings
    output: OutputSettings
    categories: tuple[tuple[str, str], ...]
    sources: tuple[Source, ...]
    identity_patterns: tuple[str, ...]
    schedule: ScheduleSettings
    fetch: FetchSettings
    state_path: Path
    state_timeout: float = 120.0  # how long a store write waits for another to finish
    state_url: str | None = None  # postgresql://…: the PostgreSQL store (else SQLite at state_path)
    state_lease: float = 0.0  # seconds a node holds a claimed source (0: twice the fetch timeout, plus 30s)
    node: str | None = None  # this node's name (`feeds run --node`): which posts sources it scans
    serve: ServeSettings = field(default_factory=ServeSettings)
    websub: WebSubSettings = field(default_factory=WebSubSettings)
    merge: MergeSettings = field(default_factory=MergeSettings)
    rules: tuple[Rule, ...] = ()

    @property
    def lease(self) -> float:
        return self.state_lease or 2 * self.fetch.timeout + 30.0

    def priorities(self) -> dict[str, int]:
        """Each source's merge priority, by name."""
        return {source.name: source.rank for source in self.sources}

    def category_title(self, slug: str) -> str:
        for key, title in self.categories:
            if key == slug:
                return title
        return slug


# ---------------------------------------------------------------- helpers


def _url(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"must be a string, not {type_name(type(value))}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
    return value.rstrip("/") + "/"


def _database_url(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"must be a string, not {type_name(type(value))}")
    if urlsplit(value).scheme not in ("postgresql", "postgres"):
        raise ValueError('must be a PostgreSQL URL like "postgresql://feeds@db.example:5432/feeds"')
    return value


_AUTHORITY = re.compile(r"(?:[A-Za-z0-9._%+-]+@)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _authority(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("must be a string")
    if not _AUTHORITY.fullmatch(value):
        raise ValueError(f"must be a domain name or an e-mail address (the authority of a tag: URI), got {value!r}")
    return value.lower()


def _site_path(value: Any) -> str:
    """A site-relative path or an absolute http(s) URL (``javascript:`` and the like are refused)."""
    if not isinstance(value, str):
        raise TypeError(f"must be a string, not {type_name(type(value))}")
    from feeds.core.safety import normalise_url, safe_url

    text = normalise_url(value)
    if ":" in text.split("/", 1)[0] and safe_url(text) is None:
        raise ValueError(f"must be a site path (/category/:slug.html) or an http(s) URL, got {value!r}")
    return value


def resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return Path(os.path.abspath(path if path.is_absolute() else base / path))


# ---------------------------------------------------------------- loading


def load(path: str | Path = DEFAULT_CONFIG) -> Settings:
    """Read and validate the config file; raise :class:`ConfigError` on any problem."""
    path = Path(path)
    file = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(file, "config file not found (pass -c PATH)") from None
    except OSError as exc:
        raise ConfigError(file, f"cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(file, f"not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, f"TOML syntax error: {exc}") from None
    return parse(data, path)


def parse(data: Mapping[str, Any], path: Path) -> Settings:
    file = str(path)
    base = path.parent
    known_tables = {"site", "output", "categories", "sources", "identity", "schedule", "fetch", "state", "serve",
                    "websub", "merge", "rules"}  # fmt: skip
    for name in data:
        if name not in known_tables:
            raise ConfigError(file, f"unknown key (known: {', '.join(sorted(known_tables))})", key=name)

    # [site]
    r = TableReader(file, "site", table(file, data, "site"))
    title = r.get("title", str, required=True)
    site_url = r.convert("url", _url, None)
    if site_url is None:
        raise r.fail("url", 'is required (the site\'s base URL, e.g. "https://news.example.com/")')
    timezone = r.get("timezone", str, "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail("timezone", f'unknown IANA time zone {timezone!r} (e.g. "Asia/Shanghai")') from None
    permalink = r.convert("permalink", _site_path, DEFAULT_PERMALINK)
    site = SiteSettings(
        title=title,
        url=site_url,
        description=r.get("description", str, ""),
        language=r.get("language", str, "zh-CN"),
        timezone=timezone,
        author=r.get("author", str, ""),
        permalink=permalink,
        category_url=r.convert("category_url", _site_path, DEFAULT_CATEGORY_URL),
        id_authority=r.convert("id_authority", _authority, ""),
    )
    r.done()

    # [serve]
    r = TableReader(file, "serve", table(file, data, "serve"))
    serve = ServeSettings(
        listen=r.convert("listen", parse_listen, None),
        max_age=r.get("max_age", int, 60),
        health=r.get("health", bool, True),
        metrics=r.get("metrics", bool, True),
        stale_after=r.convert("stale_after", parse_duration, None),
    )
    if serve.max_age < 0:
        raise r.fail("max_age", "must not be negative")
    r.done()

    # [websub]
    r = TableReader(file, "websub", table(file, data, "websub"))
    hubs = r.get("hubs", list, [])
    for i, hub in enumerate(hubs):
        if not isinstance(hub, str) or urlsplit(hub).scheme not in ("http", "https") or not urlsplit(hub).netloc:
            raise r.fail(f"hubs[{i}]", f"must be an absolute http(s) URL, got {hub!r}")
    websub = WebSubSettings(hubs=tuple(dict.fromkeys(hubs)))
    r.done()

    # [output]
    r = TableReader(file, "output", table(file, data, "output"))
    out_dir = resolve(base, r.get("dir", str, "out"))
    url_set = "url" in r.table
    out_url = r.convert("url", _url, served_url(serve.listen) if serve.listen else site.url)
    formats = r.get("formats", list, list(DEFAULT_FORMATS))
    for fmt in formats:
        if fmt not in FORMATS:
            raise r.fail("formats", f'unknown format {fmt!r} (choose from "rss", "atom", "json")')
    if not formats:
        raise r.fail("formats", "must name at least one format")
    limit = r.get("limit", int, 50)
    if not 1 <= limit <= 100_000:
        raise r.fail("limit", f"must be between 1 and 100000, got {limit}")
    templates = r.get("templates", str, None)
    templates_dir = resolve(base, templates) if templates is not None else None
    if templates_dir is not None and not templates_dir.is_dir():
        raise r.fail("templates", f"{templates!r} is not a folder (it holds page templates, e.g. feed.html)")
    output = OutputSettings(dir=out_dir, url=out_url, formats=tuple(dict.fromkeys(formats)), limit=limit,
                            url_set=url_set, templates=templates_dir)  # fmt: skip
    r.done()

    # [categories]
    cats = table(file, data, "categories")
    categories: list[tuple[str, str]] = []
    for slug, label in cats.items():
        if not isinstance(label, str):
            raise ConfigError(
                file, f"must be a string (the display title), not {type_name(type(label))}", key=f"categories.{slug}"
            )
        categories.append((slug, label))

    # [identity]
    r = TableReader(file, "identity", table(file, data, "identity"))
    patterns = r.get("patterns", list, list(DEFAULT_PATTERNS))
    for i, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            raise r.fail(f"patterns[{i}]", "must be a string")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise r.fail(f"patterns[{i}]", f"bad regular expression: {exc}") from None
        if "code" not in compiled.groupindex:
            raise r.fail(f"patterns[{i}]", "needs a named group (?P<code>...)")
    r.done()

    # [schedule]
    r = TableReader(file, "schedule", table(file, data, "schedule"))
    schedule = ScheduleSettings(
        interval=r.convert("interval", parse_duration, 900.0),
        concurrency=r.get("concurrency", int, 16),
        per_host=r.get("per_host", int, 4),
        max_backoff=r.convert("max_backoff", parse_duration, 6 * 3600.0),
        jitter=float(r.get("jitter", (int, float), 0.1)),
        publish_delay=r.convert("publish_delay", parse_duration, 0.2),
        watch=r.get("watch", bool, True),
    )
    if not 1 <= schedule.concurrency <= 1000:
        raise r.fail("concurrency", "must be between 1 and 1000")
    if not 1 <= schedule.per_host <= 1000:
        raise r.fail("per_host", "must be between 1 and 1000")
    if not 0 <= schedule.jitter <= 1:  # (NaN fails this too)
        raise r.fail("jitter", "must be between 0 and 1 (a fraction of the interval)")
    r.done()

    # [fetch]
    r = TableReader(file, "fetch", table(file, data, "fetch"))
    fetch = FetchSettings(
        timeout=r.convert("timeout", parse_duration, 30.0),
        connect_timeout=r.convert("connect_timeout", parse_duration, 10.0),
        read_timeout=r.convert("read_timeout", parse_duration, 20.0),
        max_bytes=r.get("max_bytes", int, 10 * 1024 * 1024),
        max_redirects=r.get("max_redirects", int, 5),
    )
    if not 1 <= fetch.max_bytes <= MAX_BYTES:
        raise r.fail("max_bytes", f"must be between 1 and {MAX_BYTES}")
    if not 0 <= fetch.max_redirects <= 50:
        raise r.fail("max_redirects", "must be between 0 and 50")
    r.done()

    # [state]
    r = TableReader(file, "state", table(file, data, "state"))
    state_path = resolve(base, r.get("path", str, ".feeds/state.db"))
    state_timeout = r.convert("busy_timeout", parse_duration, 120.0)
    state_url = r.convert("url", _database_url, None)
    if state_url is not None and "path" in r.table:
        raise r.fail("url", "set either state.path (SQLite) or state.url (PostgreSQL), not both")
    state_lease = r.convert("lease", parse_duration, 0.0)
    r.done()

    merge = parse_merge(TableReader(file, "merge", table(file, data, "merge")))  # [merge]
    rules = parse_rules(data.get("rules"), file)  # [[rules]]

    # [[sources]]
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(file, "must be an array of tables ([[sources]])", key="sources")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw_sources):
        if not isinstance(entry, dict):
            raise ConfigError(file, "must be a table", key=f"sources[{i}]")
        sources.append(parse_source(TableReader(file, f"sources[{i}]", entry), base, schedule.interval, seen))
    check_paths(file, output.dir, state_path, sources)
    return Settings(
        path=path,
        site=site,
        output=output,
        categories=tuple(categories),
        sources=tuple(sources),
        identity_patterns=tuple(patterns),
        schedule=schedule,
        fetch=fetch,
        state_path=state_path,
        state_timeout=state_timeout,
        state_url=state_url,
        state_lease=state_lease,
        serve=serve,
        websub=websub,
        merge=merge,
        rules=rules,
    )
