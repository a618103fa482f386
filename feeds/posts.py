"""Local posts: one Jekyll-style file -> :class:`~feeds.models.Item`, or a reason why not.

A post is a ``.md``/``.markdown``/``.html``/``.txt`` file that starts with YAML
front matter between ``---`` lines.  Reading follows Jekyll's conventions:

* ``date``: every form Jekyll accepts (``2022-01-25 20:54:37 +0800`` stays a
  string in YAML and is parsed here), YAML timestamps, date only; no offset means
  ``site.timezone``; no date means the ``YYYY-MM-DD-`` file-name prefix.
* ``category`` (one value) or ``categories`` (list or space-separated string);
  likewise ``tag``/``tags``.
* ``published: false`` leaves the post out.
* the link is ``permalink`` or the site's permalink template, absolute.
* the article id ``infoCode``: front matter, else the first URL of the body
  that matches an identity pattern.

Speed: a folder of 100k posts is read cold in a couple of seconds.  Front
matter made of plain ``key: value`` lines (what the site's scraper writes) is
read by a small exact reader; anything else (lists, block scalars, escapes…)
goes through python-frontmatter's YAML handler.  A build keeps only a small
:class:`~feeds.models.PostIndex` row per post; :func:`load_full` reads a post
again and renders its body only for the posts that reach a feed.  Files are
read on all cores.
"""

from __future__ import annotations

import os
import re
import sys
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin
from zoneinfo import ZoneInfo

from feeds.errors import PostError
from feeds.identity import Identity, item_key
from feeds.models import PostIndex, PostRecord, stamp
from feeds.parallel import Workers
from feeds.text import absolutize, clean_line, clean_text, excerpt, render_markdown

SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt"})


@dataclass(frozen=True, slots=True)
class PostContext:
    """What reading a post needs from the settings (small and picklable)."""

    site_url: str
    timezone: str
    permalink: str
    patterns: tuple[str, ...]
    source: str = "posts"


# ---------------------------------------------------------------- discovery


def discover(root: Path) -> list[str]:
    """Every post file below ``root``, sorted by path.

    Hidden files and folders (``.x``), ``_x`` folders and files, editor backups
    (``x~``, ``#x#``) and files of other types are passed over, as Jekyll does.
    No file is opened or stat'ed here: the readers do that, on all cores.
    """
    found: list[str] = []
    stack = [str(root)]
    try:
        top = os.stat(root)
    except OSError:
        return found
    seen = {(top.st_dev, top.st_ino)}  # every folder once, even through symlinks (and their loops)
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name[0] in ".#_" or name[-1] == "~":
                    continue
                try:
                    if entry.is_dir():
                        info = entry.stat()
                        if (info.st_dev, info.st_ino) not in seen:
                            seen.add((info.st_dev, info.st_ino))
                            stack.append(entry.path)
                    elif "." + name.rpartition(".")[2].lower() in SUFFIXES:
                        found.append(entry.path)
                except OSError:
                    continue
    found.sort()
    return found


# ---------------------------------------------------------------- front matter

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_OPEN = re.compile(r"\A\ufeff?---[ \t]*\r?\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_UNSAFE_PLAIN = frozenset("[]{}&*!|>%@`#\"',?:-")


class _Slow(Exception):
    """The header is not plain ``key: value`` lines: use the YAML reader."""


def split_front_matter(text: str) -> tuple[str, int] | None:
    """(front matter text, offset of the body), or None when there is none."""
    opening = _OPEN.match(text)
    if not opening:
        return None
    start = opening.end()
    if text.startswith(("---", "..."), start) and _CLOSE.match(text, start):  # empty front matter
        closing = _CLOSE.match(text, start)
        assert closing is not None
        return "", closing.end()
    closing = _CLOSE.search(text, start)
    if not closing:
        return None
    return text[start : closing.start()], closing.end()


def _plain_value(raw: str) -> str | None:
    """The value of ``key: raw`` exactly as YAML reads it, or raise :class:`_Slow`."""
    value = raw.strip()
    if not value or value == "~" or value in ("null", "Null", "NULL"):
        return None
    first = value[0]
    if first == '"':
        inner = value[1:-1]
        if len(value) >= 2 and value[-1] == '"' and '"' not in inner and "\\" not in inner:
            return inner
        raise _Slow
    if first == "'":
        inner = value[1:-1]
        if len(value) >= 2 and value[-1] == "'" and "'" not in inner:
            return inner
        raise _Slow
    if first in _UNSAFE_PLAIN or " #" in value or "\t#" in value or ": " in value or value[-1] == ":":
        raise _Slow
    return value


def _fast_header(header: str) -> dict[str, Any]:
    """Front matter of plain ``key: value`` lines, read exactly as YAML would."""
    data: dict[str, Any] = {}
    for line in header.split("\n"):
        line = line.removesuffix("\r")
        if not line or line.isspace() or line.lstrip().startswith("#"):
            continue
        key, sep, rest = line.partition(":")
        if not sep or not _KEY.match(key) or (rest and rest[0] not in " \t"):
            raise _Slow
        data[key] = _plain_value(rest)
    return data


def _yaml_header(header: str) -> dict[str, Any]:
    import frontmatter
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = frontmatter.YAMLHandler().load(header, Loader=loader)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"front matter is a {type(data).__name__}, not key: value pairs")
    return data


_LENIENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")


def _lenient_header(header: str) -> dict[str, Any] | None:
    """Read broken YAML whose intent is clear: every line ``key: value``.

    Real scrapers write titles like ``title: "他说"不"了"``: the value is taken
    as everything after the first colon, one pair of outer quotes removed.
    """
    data: dict[str, Any] = {}
    for line in header.split("\n"):
        line = line.removesuffix("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LENIENT.match(line)
        if not match:
            return None
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        data[key] = value or None
    return data


def read_front_matter(header: str) -> tuple[dict[str, Any], str | None]:
    """(data, warning).  Raises ValueError when the front matter cannot be read.

    Characters XML forbids (which YAML forbids too) are dropped first.
    """
    header = clean_text(header)
    try:
        return _fast_header(header), None
    except _Slow:
        pass
    import yaml

    try:
        return _yaml_header(header), None
    except yaml.YAMLError as exc:
        reason = _yaml_reason(exc)
        data = _lenient_header(header)
        if data is None:
            raise ValueError(f"front matter is not valid YAML: {reason}") from None
        return data, f"front matter is not valid YAML ({reason}); read it as plain 'key: value' lines"


def _yaml_reason(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} at line {mark.line + 2}, column {mark.column + 1}"
    return str(problem)


# ---------------------------------------------------------------- dates

_DATE = re.compile(
    r"\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:(?:[Tt]|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*\Z"
)
_FILE_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(.+)\Z")


@cache
def _offset(text: str) -> tzinfo:
    if text in ("Z", "z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_date(value: object, tz: tzinfo) -> datetime:
    """A front-matter date in any form Jekyll accepts -> aware datetime.

    Raises ValueError with a reason.
    """
    if isinstance(value, datetime):
        # PyYAML gives aware datetimes for timestamps with an offset, naive ones without.
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if not isinstance(value, str):
        raise ValueError(f"date {value!r} is not a date")
    match = _DATE.match(value)
    if match:
        y, mo, d, h, mi, s, frac, off = match.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        try:
            return datetime(
                int(y),
                int(mo),
                int(d),
                int(h or 0),
                int(mi or 0),
                int(s or 0),
                micro,
                tzinfo=_offset(off) if off else tz,
            )
        except ValueError as exc:
            raise ValueError(f"date {value!r} is not a valid date: {exc}") from None
    try:
        parsed = parsedate_to_datetime(value)  # RFC 2822: "Tue, 25 Jan 2022 20:54:37 +0800"
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        raise ValueError(f"date {value!r} is not a date Jekyll understands (e.g. 2022-01-25 20:54:37 +0800)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


# ---------------------------------------------------------------- fields

_FALSE = frozenset({"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"})


def _pluralized(data: Mapping[str, Any], singular: str, plural: str) -> tuple[str, ...]:
    """Jekyll's rule: ``category: a b`` is one value; ``categories: a b`` is two."""
    values: list[Any]
    if data.get(singular) is not None:
        value = data[singular]
        values = list(value) if isinstance(value, list) else [value]
    else:
        value = data.get(plural)
        if isinstance(value, str):
            values = value.split()
        elif isinstance(value, list):
            values = value
        elif value is None:
            values = []
        else:
            values = [value]
    out: dict[str, None] = {}
    for v in values:
        if v is None:
            continue
        text = clean_line(str(v))
        if text:
            out[text] = None
    return tuple(out)


_PLACEHOLDER = re.compile(r":(categories|year|short_year|month|i_month|day|i_day|hour|minute|second|title|slug)")
_URL_SAFE = "/:@!$&'()*+,;=-._~%"


@cache
def _quoted(text: str) -> str:
    return quote(text, safe=_URL_SAFE)


@cache
def _template(template: str) -> tuple[str, ...]:
    """A permalink template split into literal text (even places) and placeholder names (odd)."""
    return tuple(_PLACEHOLDER.split(_quoted(template)))


def permalink(template: str, *, categories: Sequence[str], when: datetime, slug: str) -> str:
    """Expand a Jekyll permalink template into a percent-encoded site-relative path."""
    parts = _template(template)
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(part)
        elif part == "categories":
            out.append(_quoted("/".join(categories)))
        elif part in ("title", "slug"):
            out.append(_quoted(slug))
        elif part == "year":
            out.append(f"{when.year:04d}")
        elif part == "month":
            out.append(f"{when.month:02d}")
        elif part == "day":
            out.append(f"{when.day:02d}")
        elif part == "short_year":
            out.append(f"{when.year % 100:02d}")
        elif part == "i_month":
            out.append(str(when.month))
        elif part == "i_day":
            out.append(str(when.day))
        elif part == "hour":
            out.append(f"{when.hour:02d}")
        elif part == "minute":
            out.append(f"{when.minute:02d}")
        else:
            out.append(f"{when.second:02d}")
    path = "".join(out)
    while "//" in path:
        path = path.replace("//", "/")
    return path


def absolute(site_url: str, path: str) -> str:
    """``path`` (site-relative) made absolute against ``site_url`` (which ends in '/')."""
    if "://" in path:
        return path
    if "/." in path or path.startswith("."):
        return urljoin(site_url, path.lstrip("/"))
    return site_url + path.lstrip("/")


def _slug_from_name(stem: str) -> str:
    match = _FILE_DATE.match(stem)
    return match.group(4) if match else stem


# ---------------------------------------------------------------- one post


@cache
def _identity(patterns: tuple[str, ...]) -> Identity:
    return Identity(patterns)


def _load(path: str) -> tuple[bytes, int, int]:
    """(bytes, size, mtime_ns) of a file, or PostError."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise PostError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        chunks = [os.read(fd, st.st_size + 1)]
        while len(chunks[-1]) > st.st_size:  # the file grew while we read it
            more = os.read(fd, 1 << 20)
            if not more:
                break
            chunks.append(more)
    except OSError as exc:
        raise PostError(path, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), st.st_size, st.st_mtime_ns


def read_post(path: str, ctx: PostContext) -> PostRecord:
    """Read one post file; never raises for a bad post (the reason is in the record)."""
    try:
        raw, size, mtime_ns = _load(path)
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
        raw, size, mtime_ns = _load(path)
        record = parse_post(raw, path, size, mtime_ns, ctx)
    except PostError as exc:
        return PostRecord(path, 0, 0, "error", exc.reason, source=ctx.source), "", ""
    if record.status != "ok":
        return record, "", ""
    text = raw.decode("utf-8")  # parse_post checked it is UTF-8
    html = clean_text(absolutize(render_markdown(text[record.body_offset :]), record.link))
    return record, html, excerpt(html)


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
        if _OPEN.match(text):
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
        except ValueError as exc:
            raise PostError(path, str(exc)) from None
    else:
        match = _FILE_DATE.match(stem)
        if not match:
            raise PostError(path, "no date: give 'date:' in the front matter or name the file YYYY-MM-DD-title.md")
        try:
            when = datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=tz)
        except ValueError:
            raise PostError(path, f"file name date {stem[:10]!r} is not a valid date") from None

    categories = _pluralized(data, "category", "categories")
    tags = _pluralized(data, "tag", "tags")
    slug = _slug_from_name(stem)
    title = clean_line(str(data["title"])) if data.get("title") is not None else ""
    if not title:
        title = slug.replace("-", " ")

    link_value = data.get("permalink")
    local = when.astimezone(tz)
    if isinstance(link_value, str) and link_value.strip():
        target = link_value.strip()
        if "://" not in target:
            target = permalink(target, categories=categories, when=local, slug=slug)
    else:
        target = permalink(ctx.permalink, categories=categories, when=local, slug=slug)
    link = absolute(ctx.site_url, target)

    identity = _identity(ctx.patterns)
    code = data.get("infoCode")
    info_code = clean_line(str(code)) if code not in (None, "") else identity.code_in_text(text[offset:])

    author = data.get("author")
    if isinstance(author, dict):
        author = author.get("name")
    timestamp, utcoffset = stamp(when)
    return PostRecord(
        path,
        size,
        mtime_ns,
        "ok",
        warning,
        key=item_key(info_code=info_code, link=link, guid=None, title=title, date=when),
        title=title,
        link=link,
        timestamp=timestamp,
        utcoffset=utcoffset,
        categories=categories,
        tags=tags,
        author=clean_line(str(author)) if author else "",
        body_offset=offset,
        source=ctx.source,
    )


# ---------------------------------------------------------------- many posts


class _IndexChunk:
    """Picklable ``paths -> index rows`` for the worker processes."""

    def __init__(self, ctx: PostContext) -> None:
        self.ctx = ctx

    def __call__(self, paths: list[str]) -> list[PostIndex]:
        out = []
        for path in paths:
            row = read_post(path, self.ctx).index()
            # One string object per category name: the rows of a chunk share them.
            out.append(row._replace(categories=tuple(sys.intern(c) for c in row.categories)))
        return out


def index_posts(
    paths: Sequence[str],
    ctx: PostContext,
    *,
    workers: Workers | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[PostIndex]:
    """Read many posts into index rows, on all cores when there are enough; in input order."""
    pool = workers or Workers(1)
    for rows in pool.map_chunks(_IndexChunk(ctx), paths, min_parallel=2000, chunk=2000):
        yield from rows
        if progress:
            progress(len(rows))


def _stat_chunk(paths: list[str]) -> array[int]:
    out = array("q")
    stat = os.stat
    for path in paths:
        try:
            st = stat(path)
        except OSError:
            out.extend((-1, -1))  # vanished since it was listed
        else:
            out.extend((st.st_size, st.st_mtime_ns))
    return out


def stat_many(paths: Sequence[str], *, workers: Workers | None = None) -> Callable[[], Iterator[tuple[int, int]]]:
    """Start reading (size, mtime_ns) of every path, on all cores; call the result to get them, in order.

    A file that is gone gives ``(-1, -1)``.  The work starts at once, so the
    caller can load its cache meanwhile.
    """
    pool = workers or Workers(1)
    chunks = pool.map_chunks(_stat_chunk, paths, min_parallel=5000, chunk=10000)

    def results() -> Iterator[tuple[int, int]]:
        for values in chunks:
            it = iter(values)
            yield from zip(it, it, strict=True)

    return results


class _FullChunk:
    def __init__(self, contexts: Mapping[str, PostContext]) -> None:
        self.contexts = contexts

    def __call__(self, rows: list[PostIndex]) -> list[tuple[PostRecord, str, str]]:
        return [load_full(row.path, self.contexts[row.source]) for row in rows]


def load_many(
    rows: Sequence[PostIndex], contexts: Mapping[str, PostContext], *, workers: Workers | None = None
) -> list[tuple[PostRecord, str, str]]:
    """:func:`load_full` for many posts (``contexts`` by source name), on all cores when worth it."""
    pool = workers or Workers(1)
    chunks = pool.map_chunks(_FullChunk(contexts), rows, min_parallel=200, chunk=100)
    return [result for chunk in chunks for result in chunk]
