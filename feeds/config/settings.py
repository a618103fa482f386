"""The only reader of the TOML config: ``config/feeds.toml`` -> :class:`Settings`.

Each table is read by its own module (``[site]``: :mod:`.site`, ``[output]``:
:mod:`.output`, …), whose dataclass declares its keys and their defaults once.
Every problem is a :class:`~feeds.core.errors.ConfigError` naming the file and
the key (``sources[2].url``) and the reason.  Relative paths in the config
(``output.dir``, ``state.path``, a posts source's ``path``) are relative to the
folder that holds the config file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from feeds.config.merge import MergeSettings, read_merge
from feeds.config.output import OutputSettings, read_output
from feeds.config.paths import check_paths
from feeds.config.reader import TableReader, table
from feeds.config.schedule import FetchSettings, ScheduleSettings, read_fetch, read_schedule
from feeds.config.serve import ServeSettings, WebSubSettings, parse_listen, read_serve, read_websub, served_url
from feeds.config.site import IdentitySettings, SiteSettings, read_categories, read_identity, read_site
from feeds.config.sources import read_source
from feeds.config.state import StateSettings, read_state
from feeds.core.errors import ConfigError
from feeds.core.models import Source
from feeds.core.rules import Rule, parse_rules

DEFAULT_CONFIG = Path("config/feeds.toml")
TABLES = ("site", "output", "categories", "sources", "identity", "schedule", "fetch", "state", "serve", "websub",
          "merge", "rules")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole config, one dataclass per table."""

    path: Path  # the config file
    site: SiteSettings
    output: OutputSettings
    categories: tuple[tuple[str, str], ...] = ()
    sources: tuple[Source, ...] = ()
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    state: StateSettings = field(default_factory=StateSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    websub: WebSubSettings = field(default_factory=WebSubSettings)
    merge: MergeSettings = field(default_factory=MergeSettings)
    rules: tuple[Rule, ...] = ()
    node: str | None = None  # this node's name (`feeds run --node`): which posts sources it scans

    @property
    def identity_patterns(self) -> tuple[str, ...]:
        return self.identity.patterns

    @property
    def state_path(self) -> Path:
        return self.state.path

    @property
    def state_url(self) -> str | None:
        return self.state.url

    @property
    def state_timeout(self) -> float:
        return self.state.busy_timeout

    @property
    def lease(self) -> float:
        """How long a node holds a source it claimed: ``state.lease``, else twice the fetch timeout plus 30 s."""
        return self.state.lease or 2 * self.fetch.timeout + 30.0

    def priorities(self) -> dict[str, int]:
        """Each source's merge priority, by name."""
        return {source.name: source.rank for source in self.sources}

    def category_title(self, slug: str) -> str:
        for key, title in self.categories:
            if key == slug:
                return title
        return slug


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
    for name in data:
        if name not in TABLES:
            raise ConfigError(file, f"unknown key (known: {', '.join(sorted(TABLES))})", key=name)

    def reader(name: str) -> TableReader:
        return TableReader(file, name, table(file, data, name))

    site = read_site(reader("site"))
    serve = read_serve(reader("serve"))
    websub = read_websub(reader("websub"))
    output = read_output(reader("output"), base, served_url(serve.listen) if serve.listen else site.url)
    categories = read_categories(file, dict(table(file, data, "categories")))
    identity = read_identity(reader("identity"))
    schedule = read_schedule(reader("schedule"))
    fetch = read_fetch(reader("fetch"))
    state = read_state(reader("state"), base)
    merge = read_merge(reader("merge"))
    rules = parse_rules(data.get("rules"), file)
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(file, "must be an array of tables ([[sources]])", key="sources")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw_sources):
        if not isinstance(entry, dict):
            raise ConfigError(file, "must be a table", key=f"sources[{i}]")
        sources.append(read_source(TableReader(file, f"sources[{i}]", entry), base, schedule.interval, seen))
    check_paths(file, output.dir, state.path, sources)
    return Settings(path=path, site=site, output=output, categories=categories, sources=tuple(sources),
                    identity=identity, schedule=schedule, fetch=fetch, state=state, serve=serve, websub=websub,
                    merge=merge, rules=rules)  # fmt: skip


def with_listen(settings: Settings, listen: str | None) -> Settings:
    """``settings`` serving at ``listen`` (the ``--listen`` option): ``[serve] listen`` replaced, nothing
    else.  ``output.url`` stays what the config gives (its own, or derived from the config's ``[serve]
    listen``), so ``feeds build`` and ``feeds run --listen`` write the same files.  Raises ValueError
    for a bad address."""
    if listen is None:
        return settings
    return replace(settings, serve=replace(settings.serve, listen=parse_listen(listen)))
