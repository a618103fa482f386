"""What an output format is, and the registry's formats by name (see :mod:`feeds.core.registry`).

A format renders each item once into an entry (bytes), and a feed from the
entries of its items: a feed's entries are reused by every feed that shows the
item, and kept between publishes by :class:`feeds.output.render.Renderer`.
``document(spec, entries, updated, settings)`` must give the same bytes as
rendering the feed whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from feeds.core.registry import FORMATS, load

if TYPE_CHECKING:
    from feeds.config import Settings
    from feeds.core.models import FeedSpec, Item

# items, their plain-text excerpts, the settings -> one entry per item
Entries = Callable[[Sequence["Item"], Sequence[str], "Settings"], list[bytes]]
# the feed, its entries (in order), its date, the settings -> the feed's bytes
Document = Callable[["FeedSpec", Sequence[bytes], datetime, "Settings"], bytes]


@dataclass(frozen=True, slots=True)
class Format:
    """One output format: what the config calls it, its file in each feed's folder, its MIME type."""

    name: str  # as in [output] formats
    filename: str  # "rss.xml": the combined feed's, and each category's in its folder
    mime: str  # the type feeds and pages declare in their links
    content_type: str  # the Content-Type it is served with
    label: str  # how pages name it ("RSS 2.0")
    entries: Entries
    document: Document


@cache
def get(name: str) -> Format:
    """The registered format ``name`` (its module imported now); KeyError for an unknown one."""
    fmt = load(FORMATS[name], "FORMAT")
    assert isinstance(fmt, Format) and fmt.name == name
    return fmt


def configured(settings: Settings) -> list[Format]:
    """The formats ``[output] formats`` names, in its order."""
    return [get(name) for name in settings.output.formats]


def every() -> list[Format]:
    """Every registered format."""
    return [get(name) for name in FORMATS]
