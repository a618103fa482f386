"""One ``[[sources]]`` entry of the config -> :class:`~feeds.core.models.Source`.

Kept apart from :mod:`feeds.config`, which calls :func:`parse_source` with its
own table reader (``r``: names each key ``sources[N].key`` in its errors).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feeds.config.merge import full_text_selector
from feeds.core.models import Source

MAX_STRIP_LINES = 50


def parse_source(r: Any, base: Path, interval: float, seen: dict[str, int]) -> Source:
    """The source read by ``r`` (a :class:`feeds.config.reader.TableReader`); ``seen``: names so far, by index."""
    from feeds.config import DEFAULT_POST_BYTES, MAX_BYTES, parse_duration, resolve

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
    every = r.convert("interval", parse_duration, interval)
    rank = r.get("priority", int, None)
    if kind == "posts":
        folder = resolve(base, r.get("path", str, required=True))
        nodes = r.get("nodes", list, [])
        if not all(isinstance(n, str) and n for n in nodes):
            raise r.fail("nodes", "must be an array of node names (feeds run --node NAME)")
        max_bytes = r.get("max_bytes", int, DEFAULT_POST_BYTES)
        if not 1 <= max_bytes <= MAX_BYTES:
            raise r.fail("max_bytes", f"must be between 1 and {MAX_BYTES}")
        trusted = r.get("trusted_html", bool, False)
        source = Source(name=name, type="posts", path=folder, interval=every, max_bytes=max_bytes,
                        trusted_html=trusted, priority=rank, nodes=tuple(nodes),
                        strip_lines=strip_lines(r))  # fmt: skip
    elif kind == "feed":
        url = r.get("url", str, required=True)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise r.fail("url", f"must be an absolute http(s) URL, got {url!r}")
        category = r.get("category", str, None)
        headers = r.get("headers", dict, {})
        for key, value in headers.items():
            if not isinstance(value, str):
                raise r.fail(f"headers.{key}", "must be a string")
        source = Source(
            name=name,
            type="feed",
            url=url,
            category=category or None,
            interval=every,
            headers=tuple(sorted(headers.items())),
            priority=rank,
            full_text=r.get("full_text", bool, False),
            full_text_selector=full_text_selector(r),
        )
    else:
        raise r.fail("type", f'unknown source type {kind!r} (choose "posts" or "feed")')
    r.done()
    return source


def strip_lines(r: Any) -> tuple[str, ...] | None:
    """A posts source's ``strip_lines``: RE2 patterns of the closing lines that are not the article
    (None: the defaults of :mod:`feeds.sources.postfile`; ``[]``: none)."""
    patterns = r.get("strip_lines", list, None)
    if patterns is None:
        return None
    if len(patterns) > MAX_STRIP_LINES:
        raise r.fail("strip_lines", f"at most {MAX_STRIP_LINES} patterns")
    from feeds.core.rules import compile_pattern

    for i, pattern in enumerate(patterns):
        key = r.key(f"strip_lines[{i}]")
        compiled = compile_pattern(pattern, r.file, key)  # RE2: linear time; a bad one named with its reason
        if set(compiled.groupindex) - {"original"}:
            raise r.fail(f"strip_lines[{i}]", "the only named group allowed is (?P<original>…), the original's URL")
    return tuple(patterns)
