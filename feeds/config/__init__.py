"""The configuration: ``config/feeds.toml`` -> :class:`Settings` (imports nothing from the stages)."""

from feeds.config.reader import parse_duration
from feeds.config.settings import (
    DEFAULT_CONFIG,
    DEFAULT_POST_BYTES,
    MAX_BYTES,
    FetchSettings,
    OutputSettings,
    ScheduleSettings,
    Settings,
    SiteSettings,
    load,
    parse,
    resolve,
)
from feeds.core.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_POST_BYTES",
    "MAX_BYTES",
    "ConfigError",
    "FetchSettings",
    "OutputSettings",
    "ScheduleSettings",
    "Settings",
    "SiteSettings",
    "load",
    "parse",
    "parse_duration",
    "resolve",
]
