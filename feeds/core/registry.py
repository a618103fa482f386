"""The registries: every output format and every source type, by the name the config uses.

A new output format is one module in :mod:`feeds.output.formats` plus one line
in :data:`FORMATS`; a new source type is one module in :mod:`feeds.sources`
plus one line in :data:`SOURCE_TYPES` (and its keys in
:mod:`feeds.config.sources`).  The values are module paths, imported only when
used: a build that writes RSS never imports the JSON Feed writer, and the config
(which validates the names) imports no stage.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# [output] formats = [...] -> the module that declares FORMAT (feeds.output.formats.base.Format)
FORMATS: dict[str, str] = {
    "rss": "feeds.output.formats.rss",
    "atom": "feeds.output.formats.atom",
    "json": "feeds.output.formats.jsonfeed",
}

# [[sources]] type = "…" -> (where its items come from: "local" files or a "remote" URL, its module).
# A remote type's module has parse(body, *, url, source, identity, now, tz, content_type, content_location)
# -> ParsedFeed; it is fetched, stored and merged like any remote source.
SOURCE_TYPES: dict[str, tuple[str, str]] = {
    "posts": ("local", "feeds.sources.posts"),
    "feed": ("remote", "feeds.sources.feedparse"),
    "page": ("remote", "feeds.sources.page"),
}


def load(module: str, attribute: str) -> Any:
    """``attribute`` of a registered module, imported now."""
    return getattr(import_module(module), attribute)
