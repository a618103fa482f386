"""The OPML 2.0 list of every feed (for importing them all into a reader)."""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree as ET

from feeds.config import Settings
from feeds.core.models import FeedSpec
from feeds.core.text import clean_line


def render_opml(specs: Sequence[FeedSpec], settings: Settings) -> bytes:
    """An OPML 2.0 list of the feeds, one per feed in the first configured format."""
    fmt = settings.output.formats[0]
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = clean_line(settings.site.title)
    body = ET.SubElement(opml, "body")
    for spec in specs:
        ET.SubElement(
            body,
            "outline",
            type="rss",
            text=spec.title,
            title=spec.title,
            xmlUrl=spec.url(fmt),
            htmlUrl=spec.html_url,
        )
    ET.indent(opml)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, encoding="utf-8", xml_declaration=False) + b"\n"
    )


