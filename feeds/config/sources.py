"""``[[sources]]``: one entry of the config -> :class:`~feeds.core.models.Source`.

The keys every source has (``name``, ``type``, ``interval``, ``priority``) and
those of each source type; a new source type adds its keys here (and its module
and registry line: :mod:`feeds.core.registry`).  Defaults are the
:class:`~feeds.core.models.Source` dataclass's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feeds.config.paths import resolve
from feeds.config.reader import TableReader, default_of, parse_duration
from feeds.config.schedule import MAX_BYTES
from feeds.core.models import Source
from feeds.core.registry import SOURCE_TYPES
from feeds.core.rules import compile_pattern
from feeds.core.selectors import check_selector, split_selector

MAX_STRIP_LINES = 50


def read_source(r: TableReader, base: Path, interval: float, seen: dict[str, int]) -> Source:
    """The source read by ``r``; ``seen``: names so far, by index; ``interval``: the default one."""
    index = len(seen)
    name = r.get("name", str, required=True)
    if not name.strip():
        raise r.fail("name", "must not be empty")
    if not name.isprintable() or len(name) > 200:
        raise r.fail("name", "must be at most 200 printable characters (no line breaks or control characters)")
    if name in seen:
        raise r.fail("name", f"duplicate source name {name!r} (also sources[{seen[name]}])")
    seen[name] = index
    kind = r.get("type", str, required=True)
    if kind not in SOURCE_TYPES:
        choices = " or ".join(f'"{t}"' for t in SOURCE_TYPES)
        raise r.fail("type", f"unknown source type {kind!r} (choose {choices})")
    common: dict[str, Any] = {
        "name": name,
        "type": kind,
        "interval": r.convert("interval", parse_duration, interval),
        "priority": r.get("priority", int, None),
    }
    source = Source(**common, **_READERS[kind](r, base))
    r.done()
    return source


def _nodes(r: TableReader) -> tuple[str, ...]:
    """Several nodes on PostgreSQL: the nodes that read this source (default: every node)."""
    nodes = r.get("nodes", list, [])
    if not all(isinstance(n, str) and n for n in nodes):
        raise r.fail("nodes", "must be an array of node names (feeds run --node NAME)")
    return tuple(nodes)


def _posts(r: TableReader, base: Path) -> dict[str, Any]:
    max_bytes = r.get("max_bytes", int, default_of(Source, "max_bytes"))
    if not 1 <= max_bytes <= MAX_BYTES:
        raise r.fail("max_bytes", f"must be between 1 and {MAX_BYTES}")
    return {
        "path": resolve(base, r.get("path", str, required=True)),
        "nodes": _nodes(r),
        "max_bytes": max_bytes,
        "trusted_html": r.get("trusted_html", bool, default_of(Source, "trusted_html")),
        "strip_lines": _strip_lines(r),
    }


def _remote(r: TableReader) -> dict[str, Any]:
    """The keys of every source fetched from a URL."""
    url = r.get("url", str, required=True)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise r.fail("url", f"must be an absolute http(s) URL, got {url!r}")
    headers = r.get("headers", dict, {})
    for key, value in headers.items():
        if not isinstance(value, str):
            raise r.fail(f"headers.{key}", "must be a string")
    return {
        "url": url,
        "nodes": _nodes(r),
        "category": r.get("category", str, None) or None,
        "headers": tuple(sorted(headers.items())),
        "full_text": r.get("full_text", bool, default_of(Source, "full_text")),
        "full_text_selector": _selector(r, "full_text_selector"),
    }


def _feed(r: TableReader, base: Path) -> dict[str, Any]:
    return _remote(r)


def _page(r: TableReader, base: Path) -> dict[str, Any]:
    """A list page read with CSS selectors (``selector@attribute`` reads an attribute)."""
    selectors: list[tuple[str, str]] = []
    for name in PAGE_FIELDS:
        text = r.get(name, str, None, required=name in PAGE_REQUIRED)
        if text is None:
            continue
        css, attribute = split_selector(text)
        if name == "item" and (attribute or not css):
            raise r.fail(name, "must be a CSS selector of the item elements (no @attribute)")
        if css and (problem := check_selector(css)):
            raise r.fail(name, problem)
        selectors.append((name, text.strip()))
    return {**_remote(r), "selectors": tuple(selectors)}


def _selector(r: TableReader, name: str, *, required: bool = False) -> str | None:
    """A CSS selector key, checked now."""
    selector = r.get(name, str, None, required=required)
    if selector is None:
        return None
    problem = check_selector(selector)
    if problem:
        raise r.fail(name, problem)
    return selector


def _strip_lines(r: TableReader) -> tuple[str, ...] | None:
    """A posts source's ``strip_lines``: RE2 patterns of the closing lines that are not the article
    (None: the defaults of :mod:`feeds.sources.postfile`; ``[]``: none)."""
    patterns = r.get("strip_lines", list, None)
    if patterns is None:
        return None
    if len(patterns) > MAX_STRIP_LINES:
        raise r.fail("strip_lines", f"at most {MAX_STRIP_LINES} patterns")
    for i, pattern in enumerate(patterns):
        compiled = compile_pattern(pattern, r.file, r.key(f"strip_lines[{i}]"))  # RE2: linear time
        if set(compiled.groupindex) - {"original"}:
            raise r.fail(f"strip_lines[{i}]", "the only named group allowed is (?P<original>…), the original's URL")
    return tuple(patterns)


# The keys of each source type (a type named in feeds.core.registry.SOURCE_TYPES).
_READERS = {"posts": _posts, "feed": _feed, "page": _page}
PAGE_FIELDS = ("item", "title", "link", "date", "summary")  # a page source's selector keys
PAGE_REQUIRED = ("item", "title", "link")
