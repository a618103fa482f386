"""The values of a post's fields: what :mod:`feeds.sources.postfile` makes of its front matter and body.

Categories and tags (Jekyll's plural rules), the permalink, the author, the
thumbnail, the front matter's own excerpt, the closing lines that are not the
article (and the original article's URL among them), the link a post is keyed by.
Pure functions of their arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any
from urllib.parse import quote, urljoin

from feeds.core.safety import plain_text, safe_email, safe_url, sanitize_html
from feeds.core.text import clean_line, clean_text, excerpt

EXCERPT_CHARS = 300  # a front-matter excerpt longer than this is cut
# The closing lines of the site's posts (RE2, matched against the whole line, spaces trimmed):
# the original article's link ``<http://…?infoCode=NW…>`` and the back-links
# ``[返回<outlet>新闻](//…)｜[返回首页](//…)``.
DEFAULT_STRIP_LINES = (
    r"<(?P<original>(?:https?:)?//[^\s<>]*[?&]infoCode=[^\s<>]+)>",
    r"(?:\[返回[^\]]*\]\([^)\s]*\)\s*[｜|]?\s*)+",
)
CLOSING_LINES = 20  # at most this many closing lines are looked at


def pluralized(data: Mapping[str, Any], singular: str, plural: str) -> tuple[str, ...]:
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
        text = clean_line(str(v))[:200]
        if text:
            out[text] = None
    return tuple(out)


_PLACEHOLDER = re.compile(r":(categories|year|short_year|month|i_month|day|i_day|hour|minute|second|title|slug)")
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:|//")
_URL_SAFE = "/:@!$&'()*+,;=-._~%"


_PATH_SAFE = re.compile(r"[A-Za-z0-9/:@!$&'()*+,;=\-._~%]*")  # what _quoted leaves as it is


def _quoted(text: str) -> str:
    if _PATH_SAFE.fullmatch(text):
        return text
    # A file name that is not UTF-8 holds surrogate escapes: its own bytes are percent-encoded.
    return quote(text, safe=_URL_SAFE, errors="surrogateescape")


@lru_cache(maxsize=1024)
def _joined(categories: tuple[str, ...]) -> str:
    return _quoted("/".join(categories))


_FIELDS: dict[str, Callable[[datetime], str]] = {
    "year": lambda when: f"{when.year:04d}",
    "month": lambda when: f"{when.month:02d}",
    "day": lambda when: f"{when.day:02d}",
    "short_year": lambda when: f"{when.year % 100:02d}",
    "i_month": lambda when: str(when.month),
    "i_day": lambda when: str(when.day),
    "hour": lambda when: f"{when.hour:02d}",
    "minute": lambda when: f"{when.minute:02d}",
    "second": lambda when: f"{when.second:02d}",
}


@lru_cache(maxsize=64)
def _template(template: str) -> tuple[str | Callable[[datetime], str], ...]:
    """A permalink template as its parts: literal text, "categories", "slug", or a date field's function."""
    parts = _PLACEHOLDER.split(_quoted(template))
    return tuple(part if index % 2 == 0 else "slug" if part in ("title", "slug") else
                 part if part == "categories" else _FIELDS[part] for index, part in enumerate(parts))  # fmt: skip


def permalink(template: str, *, categories: Sequence[str], when: datetime, slug: str) -> str:
    """Expand a Jekyll permalink template into a percent-encoded site-relative path."""
    out: list[str] = []
    literal = True
    for part in _template(template):
        if literal:
            out.append(part)  # type: ignore[arg-type]
        elif part == "categories":
            out.append(_joined(tuple(categories)))
        elif part == "slug":
            out.append(_quoted(slug))
        else:
            out.append(part(when))  # type: ignore[operator]
        literal = not literal
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


@cache
def _closing_patterns(patterns: tuple[str, ...]) -> tuple[Any, ...]:
    import re2

    return tuple(re2.compile(pattern) for pattern in patterns)  # checked when the config was read


def strip_closing(body: str, patterns: tuple[str, ...]) -> tuple[str, str]:
    """``body`` without its closing lines that match one of ``patterns`` (blank lines between them
    go too), and the text of the first ``original`` group among them ("" when none)."""
    if not patterns:
        return body, ""
    compiled = _closing_patterns(patterns)
    lines = body.splitlines(keepends=True)
    end = len(lines)
    original = ""
    looked = 0
    while end and looked < CLOSING_LINES:
        line = lines[end - 1].strip()
        if line:
            match = next((m for p in compiled if (m := p.fullmatch(line)) is not None), None)
            if match is None:
                break
            group = match.groupdict().get("original") if match.re.groupindex else None
            if group:
                original = group
            looked += 1
        end -= 1
    if end == len(lines):
        return body, ""
    return "".join(lines[:end]), original


def id_link(link: str, site_url: str, id_base: str) -> str:
    """The link a post is keyed by: under the site URL ids were first made with (the site may have moved)."""
    if id_base and id_base != site_url and link.startswith(site_url):
        return id_base + link[len(site_url) :]
    return link


_NAMED_EMAIL = re.compile(r"(.*?)\s*<([^<>\s]+)>\s*")


def author_of(value: Any) -> tuple[str, str, str]:
    """(name, email, uri) of a front matter ``author``: ``Name``, ``Name <email>`` or a mapping."""
    if value is None or value == "":
        return "", "", ""
    if isinstance(value, dict):
        name = value.get("name")
        email = safe_email(value.get("email"))
        uri = safe_url(value.get("uri") or value.get("url")) or ""
    else:
        name, email, uri = value, "", ""
        if isinstance(value, str) and (match := _NAMED_EMAIL.fullmatch(value)) and safe_email(match.group(2)):
            name, email = match.group(1), match.group(2)
    text = clean_line(plain_text(str(name))) if name is not None and not isinstance(name, dict | list) else ""
    return (text[:200] or email), email, uri


def image_of(value: Any, site_url: str) -> str:
    if isinstance(value, dict):
        value = value.get("path") or value.get("url")
    if not isinstance(value, str) or not value.strip() or len(value) > 2000:
        return ""
    return safe_url(value.strip(), site_url) or ""


def front_excerpt(data: Mapping[str, Any], site_url: str) -> str:
    """The front matter's own summary of the post, as plain text without URLs ("" when none).

    It may be written as HTML: sanitised first (a ``<script>``'s text is no summary).
    """
    for name in ("excerpt", "description", "summary"):
        value = data.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = excerpt(sanitize_html(clean_text(str(value)), site_url), EXCERPT_CHARS)
            if text:
                return text
    return ""
