"""Items -> RSS 2.0 / Atom 1.0 / OPML / index.html files, atomically (feedgen inside).

Which feeds exist and where (:func:`plan`): the combined feed at ``rss.xml`` /
``atom.xml`` and one pair per category at ``category/<slug>/rss.xml`` /
``atom.xml``.  Every file is rendered to bytes deterministically (no clock: the
feed's date is its newest item's) and written only when its bytes changed, via a
temporary file renamed over the old one, so readers never see half a feed and
an unchanged feed keeps its mtime (stable Last-Modified/ETag).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from urllib.parse import quote, urljoin
from xml.etree import ElementTree as ET

from feeds import __version__
from feeds.config import Settings
from feeds.identity import stable_id
from feeds.models import FeedSpec, Item
from feeds.text import clean_line, clean_text, excerpt

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed with no items
_UNSAFE = re.compile(r'[/\\\x00-\x1f\x7f:*?"<>|]')
MAX_SEGMENT_BYTES = 180
MIME = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


# ---------------------------------------------------------------- layout


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


def _feed_id(authority: str, slug: str | None) -> str:
    if slug is None:
        return f"tag:{authority},2000:feed"
    return f"tag:{authority},2000:feed/{quote(slug, safe='')}"


def plan(settings: Settings, slugs: Sequence[str]) -> list[FeedSpec]:
    """The combined feed, then one feed per category (sorted by slug)."""
    site, output = settings.site, settings.output

    def spec(slug: str | None, folder: str) -> FeedSpec:
        rss_path = f"{folder}rss.xml"
        atom_path = f"{folder}atom.xml"
        if slug is None:
            title, html_url = site.title, site.url
            description = site.description or site.title
        else:
            label = settings.category_title(slug)
            title = f"{site.title} · {label}" if site.title else label
            page = quote(site.category_url.lstrip("/"), safe="/:%-._~").replace(":slug", quote(slug, safe=""))
            html_url = urljoin(site.url, page)
            description = f"{label} — {site.description}" if site.description else label
        return FeedSpec(
            slug=slug,
            title=clean_line(title),
            description=clean_line(description),
            html_url=html_url,
            rss_path=rss_path,
            atom_path=atom_path,
            rss_url=urljoin(output.url, quote(rss_path)),
            atom_url=urljoin(output.url, quote(atom_path)),
        )

    specs = [spec(None, "")]
    specs.extend(spec(slug, f"category/{safe_segment(slug)}/") for slug in sorted(set(slugs)))
    return specs


# ---------------------------------------------------------------- feeds


def render_feed(
    spec: FeedSpec,
    items: Sequence[Item],
    settings: Settings,
    fmt: str,
) -> bytes:
    """One feed as bytes (``fmt`` is "rss" or "atom")."""
    from feedgen.feed import FeedGenerator

    site = settings.site
    authority = site.host
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(_feed_id(authority, spec.slug))
    fg.title(spec.title)
    fg.subtitle(spec.description)  # RSS <description> and Atom <subtitle>
    fg.language(site.language)
    if site.author:
        fg.author({"name": clean_line(site.author)})
    fg.generator("feeds", version=__version__, uri="https://github.com/feeds-dev/feeds")
    # RSS takes the channel <link> from the last link() call: self first, page last.
    self_url = spec.rss_url if fmt == "rss" else spec.atom_url
    fg.link(href=self_url, rel="self", type=MIME[fmt])
    fg.link(href=spec.html_url, rel="alternate", type="text/html")
    fg.updated(max((i.updated for i in items), default=EPOCH, key=lambda d: d.timestamp()))

    for item in items:
        entry = fg.add_entry(order="append")
        guid = stable_id(item.key, authority)
        entry.id(guid)
        entry.guid(guid, permalink=False)
        entry.title(clean_line(item.title) or item.link)
        entry.link(href=item.link, rel="alternate")
        entry.published(item.published)
        entry.updated(item.updated)
        html = clean_text(item.content or "")
        if html:
            entry.content(html, type="html")  # Atom <content type="html">, RSS <content:encoded>
        # RSS <description> and Atom <summary>: a plain-text excerpt.
        summary = clean_line(item.summary) if item.summary else ""
        entry.summary(summary[:300] or (excerpt(html) if html else "") or clean_line(item.title))
        author = item.author or site.author
        if author:
            entry.author({"name": clean_line(author)})
            entry.dc.dc_creator(clean_line(author))
        for slug in item.categories:
            entry.category(term=clean_line(slug), label=clean_line(settings.category_title(slug)))
    if fmt == "rss":
        return fg.rss_str(pretty=True)
    return fg.atom_str(pretty=True)


# ---------------------------------------------------------------- OPML, index


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
            xmlUrl=spec.rss_url if fmt == "rss" else spec.atom_url,
            htmlUrl=spec.html_url,
        )
    ET.indent(opml)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, encoding="utf-8", xml_declaration=False) + b"\n"
    )


def render_index(specs: Sequence[FeedSpec], settings: Settings, counts: Mapping[str | None, int]) -> bytes:
    """A small HTML page listing every feed, with autodiscovery <link> tags."""
    site = settings.site
    formats = settings.output.formats
    links: list[str] = []
    rows: list[str] = []
    for spec in specs:
        urls = {"rss": spec.rss_url, "atom": spec.atom_url}
        for fmt in formats:
            links.append(
                f'<link rel="alternate" type="{MIME[fmt]}" title="{escape(spec.title)} ({fmt.upper()})" '
                f'href="{escape(urls[fmt])}">'
            )
        anchors = " · ".join(f'<a href="{escape(urls[fmt])}">{fmt.upper()}</a>' for fmt in formats)
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


# ---------------------------------------------------------------- files


_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]+\.tmp\Z")


def sweep_temporaries(out_dir: Path, folders: Iterable[str]) -> list[Path]:
    """Remove temporary files a killed writer left in ``folders`` (relative to ``out_dir``)."""
    removed: list[Path] = []
    for folder in sorted(set(folders)):
        try:
            entries = list(os.scandir(out_dir / folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if _TEMPORARY.match(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
                except FileNotFoundError:
                    pass
    return removed


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless it already holds exactly that.

    Returns True when the file was written.  The bytes go to a temporary file in
    the same folder, are flushed to disk, and the file is renamed over ``path``:
    a reader or a crash sees the old file or the new one, never a mix.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True
