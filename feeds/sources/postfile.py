"""Local posts: one Jekyll-style file -> :class:`~feeds.core.models.Item`, or a reason why not.

A post is a ``.md``/``.markdown``/``.html``/``.txt`` file that starts with YAML
front matter between ``---`` lines.  Reading follows Jekyll's conventions:

* ``date``: every form Jekyll accepts (``2022-01-25 20:54:37 +0800`` stays a
  string in YAML and is parsed here), YAML timestamps, date only; no offset means
  ``site.timezone``; no date means the ``YYYY-MM-DD-`` file-name prefix.
* ``category`` (one value) or ``categories`` (list or space-separated string);
  likewise ``tag``/``tags``.
* ``published: false`` leaves the post out.
* ``last_modified_at`` (or ``updated``): the item's updated date.
* ``excerpt`` (or ``description``/``summary``): the item's summary; without
  one the summary is the start of the article's text.
* ``author``: a name, ``Name <email>``, or a mapping with ``name``, ``email``
  and ``uri`` (or ``url``); ``image`` (a URL, site-relative or absolute, or a
  mapping with ``path``/``url``): the item's thumbnail.
* the body's closing lines that match one of the source's ``strip_lines``
  (by default the site's ``<…infoCode=…>`` source line and its ``[返回…](…)``
  back-links) are not part of the article: the URL of the one with a group
  named ``original`` is kept as the link to the original article.
* the link is ``permalink`` or the site's permalink template, absolute.
* the article id ``infoCode``: front matter, else the first URL of the body
  that matches an identity pattern.

Speed: a folder of 100k posts is read cold in a couple of seconds.  Front
matter made of plain ``key: value`` lines (what the site's scraper writes) is
read by a small exact reader; anything else (lists, block scalars, escapes…)
goes through python-frontmatter's YAML handler.  A build keeps only a small
:class:`~feeds.core.models.PostIndex` row per post; :func:`load_full` reads a post
again and renders its body only for the posts that reach a feed.  Files are
read on all cores.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from feeds.core.dates import bounded, parse_date
from feeds.core.errors import PostError, one_line
from feeds.core.identity import Identity, item_key
from feeds.core.models import PostRecord, stamp
from feeds.core.safety import normalise_url, safe_url, sanitize_html
from feeds.core.text import absolutize, clean_line, clean_text, excerpt, render_markdown, sanitized_excerpt
from feeds.sources.frontmatter import OPENING, read_front_matter, split_front_matter
from feeds.sources.postfields import (
    DEFAULT_STRIP_LINES,
    SCHEME,
    absolute,
    author_of,
    front_excerpt,
    id_link,
    image_of,
    permalink,
    pluralized,
    strip_closing,
)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_CATEGORIES = 100  # per post, and as many tags: each category is a feed of its own
MAX_TITLE = 1000  # characters: a longer title is cut (with a warning)
SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt"})


@dataclass(frozen=True, slots=True)
class PostContext:
    """What reading a post needs from the settings (small and picklable)."""

    site_url: str
    timezone: str
    permalink: str
    patterns: tuple[str, ...]
    source: str = "posts"
    max_bytes: int = DEFAULT_MAX_BYTES  # a larger post file is refused with that reason
    trusted_html: bool = False  # True: the body's HTML is kept as written (not sanitised)
    strip_lines: tuple[str, ...] = DEFAULT_STRIP_LINES  # closing lines that are not part of the article (RE2)
    id_base: str = ""  # the site URL a post without infoCode is keyed by its link under ("": site_url)


# ---------------------------------------------------------------- discovery


# ---------------------------------------------------------------- front matter


# ---------------------------------------------------------------- dates

_FILE_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(.+)\Z")


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# ---------------------------------------------------------------- fields

_FALSE = frozenset({"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"})


def _slug_from_name(stem: str) -> str:
    match = _FILE_DATE.match(stem)
    return match.group(4) if match else stem


# ---------------------------------------------------------------- one post


@cache
def _identity(patterns: tuple[str, ...]) -> Identity:
    return Identity(patterns)


_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket"}  # fmt: skip


def _load(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[bytes, int, int]:
    """(bytes, size, mtime_ns) of a regular file of at most ``max_bytes``, or PostError.

    Opened without blocking (a FIFO would wait forever for a writer) and checked
    to be a regular file before anything is read (a symlink to /dev/zero never ends).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise PostError(path, f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL in the name
        raise PostError(path, f"cannot read: {exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise PostError(path, f"not a regular file ({kind}): not read")
        if st.st_size > max_bytes:
            raise PostError(path, f"file too large ({st.st_size} bytes, the limit is {max_bytes}): not read")
        chunks = [os.read(fd, st.st_size + 1)]
        total = len(chunks[0])
        while len(chunks[-1]) and total > st.st_size:  # the file grew while we read it
            if total > max_bytes:
                raise PostError(path, f"file too large (more than {max_bytes} bytes): not read")
            more = os.read(fd, 1 << 20)
            if not more:
                break
            chunks.append(more)
            total += len(more)
    except OSError as exc:
        raise PostError(path, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), st.st_size, st.st_mtime_ns


def read_post(path: str, ctx: PostContext) -> PostRecord:
    """Read one post file; never raises for a bad post (the reason is in the record)."""
    try:
        raw, size, mtime_ns = _load(path, ctx.max_bytes)
    except PostError as exc:
        return PostRecord(path, 0, 0, "error", exc.reason, source=ctx.source)
    try:
        return parse_post(raw, path, size, mtime_ns, ctx)
    except PostError as exc:
        return PostRecord(path, size, mtime_ns, "error", exc.reason, source=ctx.source)


def load_full(path: str, ctx: PostContext) -> tuple[PostRecord, str, str]:
    """A post read again in full: (record, body HTML, plain-text excerpt).

    The body is rendered (Markdown + inline HTML), its links made absolute
    against the post's own link, and characters XML forbids removed.
    """
    try:
        raw, size, mtime_ns = _load(path, ctx.max_bytes)
        record = parse_post(raw, path, size, mtime_ns, ctx)
    except PostError as exc:
        return PostRecord(path, 0, 0, "error", exc.reason, source=ctx.source), "", ""
    return _rendered(raw, record, ctx)


def read_post_full(path: str, ctx: PostContext) -> tuple[PostRecord, tuple[PostRecord, str, str] | None]:
    """One read of a post for both passes: :func:`read_post`'s record, and :func:`load_full`'s result
    when the post is ``ok`` (else None)."""
    try:
        raw, size, mtime_ns = _load(path, ctx.max_bytes)
    except PostError as exc:
        return PostRecord(path, 0, 0, "error", exc.reason, source=ctx.source), None
    try:
        record = parse_post(raw, path, size, mtime_ns, ctx)
    except PostError as exc:
        return PostRecord(path, size, mtime_ns, "error", exc.reason, source=ctx.source), None
    return record, (_rendered(raw, record, ctx) if record.status == "ok" else None)


def _rendered(raw: bytes, record: PostRecord, ctx: PostContext) -> tuple[PostRecord, str, str]:
    if record.status != "ok":
        return record, "", ""
    text = raw.decode("utf-8")  # parse_post checked it is UTF-8
    body, original = strip_closing(text[record.body_offset :], ctx.strip_lines)
    rendered = render_markdown(body)
    if ctx.trusted_html:
        html = clean_text(absolutize(rendered, record.link))
        summary = record.excerpt or excerpt(html)
    else:  # scraped from other publishers: as untrusted as a remote feed
        html = sanitize_html(absolutize(rendered, record.link), record.link)
        summary = record.excerpt or sanitized_excerpt(html)
    if original:
        record = record._replace(original=safe_url(original, record.link) or "")
    return record, html, summary


def parse_post(raw: bytes, path: str, size: int, mtime_ns: int, ctx: PostContext) -> PostRecord:
    """The record of a post's bytes, or PostError."""
    if not raw.strip():
        raise PostError(path, "empty file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PostError(path, f"not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    split = split_front_matter(text)
    if split is None:
        if OPENING.match(text):
            raise PostError(path, "front matter is not closed (no second '---' line)")
        raise PostError(path, "no front matter (a post starts with a '---' line)")
    header, offset = split
    try:
        data, warning = read_front_matter(header)
    except ValueError as exc:
        raise PostError(path, str(exc)) from None

    published = data.get("published")
    if published is False or (isinstance(published, str) and published in _FALSE):
        return PostRecord(path, size, mtime_ns, "unpublished", warning)

    tz = _zone(ctx.timezone)
    name = os.path.basename(path)
    stem = os.path.splitext(name)[0]
    raw_date = data.get("date")
    if raw_date is not None:
        try:
            when = parse_date(raw_date, tz)
        except (ValueError, OverflowError) as exc:
            raise PostError(path, str(exc)) from None
    else:
        match = _FILE_DATE.match(stem)
        if not match:
            raise PostError(path, "no date: give 'date:' in the front matter or name the file YYYY-MM-DD-title.md")
        try:
            when = datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=tz)
        except ValueError:
            raise PostError(path, f"file name date {stem[:10]!r} is not a valid date") from None
    when, clamped = bounded(when)
    warnings = [w for w in (warning, clamped) if w]

    categories = pluralized(data, "category", "categories")
    tags = pluralized(data, "tag", "tags")
    if len(categories) > MAX_CATEGORIES or len(tags) > MAX_CATEGORIES:
        warnings.append(f"more than {MAX_CATEGORIES} categories or tags: only the first {MAX_CATEGORIES} are used")
        categories, tags = categories[:MAX_CATEGORIES], tags[:MAX_CATEGORIES]
    slug = _slug_from_name(stem)
    title = clean_line(str(data["title"])) if data.get("title") is not None else ""  # text: escaped where written
    if not title:
        title = clean_line(slug.replace("-", " "))
    if len(title) > MAX_TITLE:
        title = title[:MAX_TITLE].rstrip() + "…"
        warnings.append(f"title longer than {MAX_TITLE} characters: cut")

    link_value = data.get("permalink")
    local = when.astimezone(tz)
    link = None
    if isinstance(link_value, str) and link_value.strip():
        target = link_value.strip()
        if SCHEME.match(normalise_url(target)):  # a URL of its own: http(s) only
            link = safe_url(target)
        else:  # a template, relative to the site
            link = safe_url(absolute(ctx.site_url, permalink(target, categories=categories, when=local, slug=slug)))
        if link is None:
            warnings.append(f"permalink {one_line(repr(link_value[:200]))} is not an http(s) URL: ignored")
    if link is None:
        link = absolute(ctx.site_url, permalink(ctx.permalink, categories=categories, when=local, slug=slug))

    identity = _identity(ctx.patterns)
    code = data.get("infoCode")
    info_code = clean_line(str(code))[:200] if code not in (None, "") else identity.code_in_text(text[offset:])

    author, email, uri = author_of(data.get("author"))
    updated, updated_offset = 0.0, 0
    raw_updated = data.get("last_modified_at", data.get("updated"))
    if raw_updated is not None and raw_updated != "":
        try:
            changed, _ = bounded(parse_date(raw_updated, tz))
        except (ValueError, OverflowError, TypeError) as exc:
            warnings.append(f"last_modified_at: {one_line(str(exc))[:200]}: ignored")
        else:
            if changed > when:
                updated, updated_offset = stamp(changed)
    image = image_of(data.get("image"), ctx.site_url)
    timestamp, utcoffset = stamp(when)
    return PostRecord(
        path,
        size,
        mtime_ns,
        "ok",
        "; ".join(warnings) or None,
        key=item_key(
            info_code=info_code, link=id_link(link, ctx.site_url, ctx.id_base), guid=None, title=title, date=when
        ),
        title=title,
        link=link,
        timestamp=timestamp,
        utcoffset=utcoffset,
        categories=categories,
        tags=tags,
        author=author,
        body_offset=offset,
        source=ctx.source,
        updated=updated,
        updated_offset=updated_offset,
        excerpt=front_excerpt(data, ctx.site_url),
        author_email=email,
        author_uri=uri,
        image=image,
    )
