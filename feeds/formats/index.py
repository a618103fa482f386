"""``index.html``: every feed, with autodiscovery ``<link>`` tags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from urllib.parse import urljoin

from feeds.config import Settings
from feeds.formats.rss_atom import MIME
from feeds.models import FeedSpec
from feeds.text import clean_line

LABEL = {"rss": "RSS", "atom": "ATOM", "json": "JSON Feed"}


def render_index(specs: Sequence[FeedSpec], settings: Settings, counts: Mapping[str | None, int]) -> bytes:
    """A small HTML page listing every feed, with autodiscovery <link> tags."""
    site = settings.site
    formats = settings.output.formats
    links: list[str] = []
    rows: list[str] = []
    for spec in specs:
        urls = {fmt: spec.url(fmt) for fmt in formats}
        for fmt in formats:
            links.append(
                f'<link rel="alternate" type="{MIME[fmt]}" title="{escape(spec.title)} ({LABEL[fmt]})" '
                f'href="{escape(urls[fmt])}">'
            )
        anchors = " · ".join(f'<a href="{escape(urls[fmt])}">{LABEL[fmt]}</a>' for fmt in formats)
        rows.append(
            f'<li><a href="{escape(spec.html_url)}">{escape(spec.title)}</a> '
            f"({counts.get(spec.slug, 0)}): {anchors}</li>"
        )
    opml_url = urljoin(settings.output.url, "feeds.opml")
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{escape(site.language)}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(clean_line(site.title))} — feeds</title>",
            *links,
            "</head>",
            "<body>",
            f"<h1>{escape(clean_line(site.title))}</h1>",
            f"<p>{escape(clean_line(site.description))}</p>" if site.description else "",
            f'<p>Subscribe to a feed below, or import them all: <a href="{escape(opml_url)}">feeds.opml</a></p>',
            "<ul>",
            *rows,
            "</ul>",
            "</body>",
            "</html>",
            "",
        ]
    )
    return page.encode()


