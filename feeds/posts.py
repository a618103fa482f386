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
goes through python-frontmatter's YAML handler.  The body is not kept: the
item carries a :class:`~feeds.models.BodyRef` and :func:`render` turns it into
HTML only for the items that reach a feed.  Files are read on all cores.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin
from zoneinfo import ZoneInfo

from feeds.errors import PostError
from feeds.identity import Identity, item_key
from feeds.models import BodyRef, Item
from feeds.text import absolutize, clean_line, clean_text, render_markdown

SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt"})


@dataclass(frozen=True, slots=True)
class PostContext:
    """What reading a post needs from the settings (small and picklable)."""

    site_url: str
    timezone: str
    permalink: str
    patterns: tuple[str, ...]
    source: str = "posts"


@dataclass(frozen=True, slots=True)
class PostResult:
    """The outcome of reading one file: an item, or left out, or an error.

    ``item`` is None for an unpublished post (``published: false``) and for an
    error; ``error`` is the reason a post was rejected; ``warning`` says what was
    repaired in a post that was read anyway.
    """

    path: str
    size: int
    mtime_ns: int
    item: Item | None = None
    error: str | None = None
    warning: str | None = None

    @property
    def unpublished(self) -> bool:
        return self.item is None and self.error is None


# ---------------------------------------------------------------- discovery


def discover(root: Path) -> list[tuple[str, int, int]]:
    """Every post file below ``root``: (path, size, mtime_ns), sorted by path.

    Hidden files and folders (``.x``), editor backups (``x~``, ``#x#``) and
    files of other types are passed over, as Jekyll does.
    """
    found: list[tuple[str, int, int]] = []
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name[0] in ".#_" or name[-1] == "~":
                    continue
                if entry.is_dir(follow_symlinks=True):
                    stack.append(entry.path)
                elif os.path.splitext(name)[1].lower() in SUFFIXES:
                    try:
                        st = entry.stat()
                    except OSError:
                        continue
                    found.append((entry.path, st.st_size, st.st_mtime_ns))
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
        return timezone.utc
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
                int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro,
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


def permalink(template: str, *, categories: Sequence[str], when: datetime, slug: str) -> str:
    """Expand a Jekyll permalink template into a site-relative path."""
    values = {
        "categories": "/".join(categories),
        "year": f"{when.year:04d}",
        "short_year": f"{when.year % 100:02d}",
        "month": f"{when.month:02d}",
        "i_month": str(when.month),
        "day": f"{when.day:02d}",
        "i_day": str(when.day),
        "hour": f"{when.hour:02d}",
        "minute": f"{when.minute:02d}",
        "second": f"{when.second:02d}",
        "title": slug,
        "slug": slug,
    }
    path = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    path = re.sub(r"/{2,}", "/", path)
    return quote(path, safe="/:@!$&'()*+,;=-._~%")


def _slug_from_name(stem: str) -> str:
    match = _FILE_DATE.match(stem)
    return match.group(4) if match else stem


# ---------------------------------------------------------------- one post


@cache
def _identity(patterns: tuple[str, ...]) -> Identity:
    return Identity(patterns)


def read_post(path: str, size: int, mtime_ns: int, ctx: PostContext) -> PostResult:
    """Read one post file; never raises for a bad post (the reason is in the result)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return PostResult(path, size, mtime_ns, error=f"cannot read: {exc.strerror or exc}")
    try:
        item, warning = parse_post(raw, path, size, mtime_ns, ctx)
    except PostError as exc:
        return PostResult(path, size, mtime_ns, error=exc.reason)
    return PostResult(path, size, mtime_ns, item=item, warning=warning)


def parse_post(raw: bytes, path: str, size: int, mtime_ns: int, ctx: PostContext) -> tuple[Item | None, str | None]:
    """The item of a post's bytes (None when unpublished) and a warning, or PostError."""
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
        return None, warning

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
    link = urljoin(ctx.site_url, target.lstrip("/")) if "://" not in target else target

    identity = _identity(ctx.patterns)
    code = data.get("infoCode")
    info_code = clean_line(str(code)) if code not in (None, "") else identity.code_in_text(text[offset:])

    author = data.get("author")
    if isinstance(author, dict):
        author = author.get("name")
    item = Item(
        key=item_key(info_code=info_code, link=link, guid=None, title=title, date=when),
        title=title,
        link=link,
        published=when,
        updated=when,
        categories=categories,
        tags=tags,
        author=clean_line(str(author)) if author else "",
        body=BodyRef(path=path, offset=offset, size=size, mtime_ns=mtime_ns),
        source=ctx.source,
        origin=path,
    )
    return item, warning


# ---------------------------------------------------------------- many posts


def _read_chunk(args: tuple[list[tuple[str, int, int]], PostContext]) -> list[PostResult]:
    files, ctx = args
    return [read_post(path, size, mtime, ctx) for path, size, mtime in files]


def read_posts(
    files: Sequence[tuple[str, int, int]],
    ctx: PostContext,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[PostResult]:
    """Read many posts, on all cores when there are enough of them; results in input order."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(files) < 2000:
        for path, size, mtime in files:
            yield read_post(path, size, mtime, ctx)
            if progress:
                progress(1)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(200, min(2000, len(files) // (workers * 8) or 1))
    chunks = [(list(files[i : i + chunk]), ctx) for i in range(0, len(files), chunk)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as pool:
        for results in pool.map(_read_chunk, chunks):
            yield from results
            if progress:
                progress(len(results))


def render(body: BodyRef, base_url: str) -> str:
    """The HTML of a post's body: Markdown + inline HTML rendered, links absolute, XML-safe.

    Raises PostError when the file changed or vanished since it was read.
    """
    try:
        with open(body.path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PostError(body.path, f"cannot read the body: {exc}") from None
    html = render_markdown(text[body.offset :])
    return clean_text(absolutize(html, base_url))


def render_many(bodies: Iterable[tuple[BodyRef, str]]) -> list[str | PostError]:
    out: list[str | PostError] = []
    for body, base in bodies:
        try:
            out.append(render(body, base))
        except PostError as exc:
            out.append(exc)
    return out
