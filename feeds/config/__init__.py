"""The configuration: ``config/feeds.toml`` -> :class:`Settings`.

The bottom of the house: it imports nothing from the stages (only :mod:`feeds.core`).
One module per table; :mod:`.settings` is the one parser that reads them all.
"""

from feeds.config.output import OutputSettings
from feeds.config.paths import resolve
from feeds.config.reader import parse_duration
from feeds.config.schedule import MAX_BYTES, FetchSettings, ScheduleSettings
from feeds.config.settings import DEFAULT_CONFIG, Settings, load, parse, with_listen
from feeds.config.site import SiteSettings
from feeds.core.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
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
    "with_listen",
]
