"""A fetched body parsed into items on a worker: in full, or only its entries that changed.

A busy source adds one entry at a time to a feed of 20: parsing the whole body
again at every change parsed each entry twenty times (feedparser was most of
the CPU a daemon of 300 sources used).  So the daemon remembers, per source,
what the last body it stored was made of (:class:`Parsed`: a digest of each
entry's bytes and the key of its item), and the next body is parsed without the
entries it had already: an entry's item depends only on its own bytes and on
what it is read within (the prolog, the start tags around the entries, the
request's URL and headers, the source's settings and the feed's title), all of
which must be the same.  Anything unusual (a body not complete, entries in two
places, a warning, an entry that gives no item or two, a key given twice, more
than the entries read) parses the whole body, as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from feeds.core.models import ParsedFeed, Source

Job = tuple[ParsedFeed, dict[str, bytes], tuple[str, ...], "Parsed | None"]


@dataclass(frozen=True, slots=True)
class Parsed:
    """What the last body of a source that this process stored was made of."""

    body: str  # the body's digest (the source's body_hash once stored)
    context: bytes  # everything its items depend on besides their own bytes
    keys: Mapping[bytes, str]  # each entry's digest -> its item's key


def parse_body(
    body: bytes, url: str, source: Source, patterns: tuple[str, ...], now: datetime, ctype: str | None,
    loc: str | None, timezone: str, sketch: bool = False,
) -> tuple[ParsedFeed, dict[str, bytes]]:  # fmt: skip
    """Parse a fetched body with its source type's parser (:data:`feeds.core.registry.SOURCE_TYPES`);
    with ``sketch``, every item's near-duplicate sketch too, in the same job (a source's first poll:
    every item is new, and its text is here already)."""
    from zoneinfo import ZoneInfo

    from feeds.core.identity import Identity
    from feeds.core.registry import SOURCE_TYPES, load

    parse = load(SOURCE_TYPES[source.type][1], "parse")
    parsed = parse(body, url=url, source=source, identity=Identity(patterns), now=now, tz=ZoneInfo(timezone),
                   content_type=ctype, content_location=loc)  # fmt: skip
    if not sketch:
        return parsed, {}
    from feeds.core.neardup import html_sketch

    return parsed, {item.key: html_sketch(item.title, item.content or item.summary) for item in parsed.items}


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def parse_changed(
    body: bytes, url: str, source: Source, patterns: tuple[str, ...], now: datetime, ctype: str | None,
    loc: str | None, timezone: str, sketch: bool = False, last: Parsed | None = None,
) -> Job:  # fmt: skip
    """:func:`parse_body` of only the entries ``last`` did not have: (parsed, sketches, the keys of
    the entries that are unchanged, what this body is made of (None: not known)).

    The parsed feed holds the items of the new and changed entries, in order; the unchanged entries'
    items are the stored ones (their keys are returned).  Raises what :func:`parse_body` raises.
    """
    from feeds.sources.feedparse import MAX_ENTRIES
    from feeds.sources.xmlcut import split_entries

    args = (url, source, patterns, now, ctype, loc, timezone)
    split = split_entries(body) if source.type == "feed" else None
    if split is None or len(split.spans) > MAX_ENTRIES:
        return (*parse_body(body, *args, sketch), (), None)
    # (the clock is not part of it: an undated entry keeps the date it was first stored with)
    frame = _digest(b"\0".join([split.frame, repr((url, source, patterns, ctype, loc, timezone)).encode()]))
    digests = [_digest(body[start:end]) for start, end in split.spans]
    if last is not None and any(d in last.keys for d in digests):
        kept = [i for i, d in enumerate(digests) if d in last.keys]
        reused = tuple(last.keys[digests[i]] for i in kept)
        cut = bytearray(body)
        for i in reversed(kept):
            start, end = split.spans[i]
            del cut[start:end]
        parsed, sketches = parse_body(bytes(cut), *args, sketch)
        fresh = [d for d in digests if d not in last.keys]
        context = _digest(frame + parsed.title.encode())
        keys = [item.key for item in parsed.items]
        if (context == last.context and not parsed.warnings and len(keys) == len(fresh)
                and len(set(keys) | set(reused)) == len(keys) + len(reused)):  # fmt: skip
            made = {digests[i]: key for i, key in zip(kept, reused, strict=True)}
            made.update(zip(fresh, keys, strict=True))
            return parsed, sketches, reused, Parsed("", context, made)
    parsed, sketches = parse_body(body, *args, sketch)
    keys = [item.key for item in parsed.items]
    if parsed.warnings or len(keys) != len(digests) or len(set(keys)) != len(keys):
        return parsed, sketches, (), None  # no entry-to-item map to trust: the next body is parsed whole
    made = Parsed("", _digest(frame + parsed.title.encode()), dict(zip(digests, keys, strict=True)))
    return parsed, sketches, (), made


def stored(made: Parsed | None, body: str) -> Parsed | None:
    """``made`` once its body (digest ``body``) is stored."""
    return None if made is None else replace(made, body=body)
