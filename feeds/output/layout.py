"""Which feeds exist and where they live (as jekyll-feed's generator decides it).

The combined feed at the output folder's top (``rss.xml``, ``atom.xml``…: each
format's file name) and one set per category in ``category/<slug>/``; every
path relative to the output folder, every URL absolute against ``output.url``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from urllib.parse import quote, urljoin

from feeds.config import Settings
from feeds.core.models import FeedSpec
from feeds.core.safety import plain_text, safe_url
from feeds.core.text import clean_line, clean_text
from feeds.output.formats.base import configured

_UNSAFE = re.compile(r'[/\\\x00-\x1f\x7f:*?"<>|]')


MAX_SEGMENT_BYTES = 180


def safe_segment(slug: str) -> str:
    """A category slug as one safe folder name.

    Unicode and ``·`` are kept; path separators, control characters and
    characters Windows forbids become ``-``; leading dots become ``_``; an empty
    or overlong name is shortened.  A slug that had to change gets a short hash
    of the original, so two different categories never share a folder.
    """
    name = _UNSAFE.sub("-", clean_text(slug)).strip()
    stripped = name.lstrip(".")
    name = "_" * (len(name) - len(stripped)) + stripped
    name = name.rstrip(". ")
    if len(name.encode()) > MAX_SEGMENT_BYTES:
        name = name.encode()[:MAX_SEGMENT_BYTES].decode(errors="ignore")
    if name != slug or not name:
        name = f"{name or '_'}-{hashlib.sha1(slug.encode()).hexdigest()[:8]}"
    return name


def feed_id(authority: str, slug: str | None) -> str:
    if slug is None:
        return f"tag:{authority},2000:feed"
    return f"tag:{authority},2000:feed/{quote(slug, safe='')}"


def plan(settings: Settings, slugs: Sequence[str]) -> list[FeedSpec]:
    """The combined feed, then one feed per category (sorted by slug)."""
    site, output = settings.site, settings.output
    formats = configured(settings)

    def spec(slug: str | None, folder: str) -> FeedSpec:
        files = tuple((f.name, path := f"{folder}{f.filename}", urljoin(output.url, quote(path))) for f in formats)
        if slug is None:
            title, html_url = site.title, site.url
            description = site.description or site.title
        else:
            label = settings.category_title(slug)
            title = f"{site.title} · {label}" if site.title else label
            page = quote(site.category_url.lstrip("/"), safe="/:%-._~").replace(":slug", quote(slug, safe=""))
            html_url = safe_url(urljoin(site.url, page)) or site.url  # (the config refuses other schemes)
            description = f"{label} — {site.description}" if site.description else label
        return FeedSpec(
            slug=slug,
            title=clean_line(title),  # text: each format escapes it
            description=clean_line(plain_text(description)),
            html_url=html_url,
            files=files,
            folder=folder,
        )

    specs = [spec(None, "")]
    specs.extend(spec(slug, f"category/{safe_segment(slug)}/") for slug in sorted(set(slugs)))
    return specs


def page_path(spec: FeedSpec) -> str:
    """The HTML page of a feed, beside its feed files: ``index.html`` (the combined
    feed: the root page) or ``category/<slug>/index.html``."""
    return f"{spec.folder}index.html"
