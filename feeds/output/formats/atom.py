"""Atom 1.0: one ``atom.xml`` per feed, rendered by feedgen (:mod:`.feedgen`)."""

from __future__ import annotations

from functools import partial

from feeds.output.formats import feedgen
from feeds.output.formats.base import Format

FORMAT = Format(
    name="atom",
    filename="atom.xml",
    mime="application/atom+xml",
    content_type="application/atom+xml; charset=utf-8",
    label="Atom 1.0",
    entries=partial(feedgen.entries, fmt="atom"),
    document=partial(feedgen.document, fmt="atom"),
)
