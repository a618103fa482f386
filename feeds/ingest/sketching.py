"""Near-duplicate sketches of versions, made where the text is at hand, for the store to match.

* a remote item is sketched when it is new (title + the text of its content), on
  the worker processes;
* a post is sketched only when a version of another source is stored within
  the window of its date (:func:`near_days`): a posts-only site never sketches
  a post, and a cold build of 100k old posts sketches none of them;
* when new remote items arrive, the posts within their window that have no
  sketch yet are sketched first (:func:`prepare_poll`), so that the earlier
  version is found whichever side arrives first.

Matching is restricted to versions of different sources: an outlet does not
republish its own story (and template stories of one source stay apart).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from feeds.config import Settings
from feeds.core import neardup
from feeds.core.models import Item, Source
from feeds.runtime.workers import Workers
from feeds.store import NearDup, PostRef, Store

DAY = 86400


def near_settings(settings: Settings) -> NearDup | None:
    """The matching settings, None when near-duplicates are off."""
    merge = settings.merge
    if not merge.near_duplicates:
        return None
    return NearDup(merge.window, merge.similarity, tuple(settings.priorities().items()))


def sketch_items(pairs: Sequence[tuple[str, str]]) -> list[bytes]:
    """:func:`~feeds.core.neardup.html_sketch` of many (title, html); picklable, for the worker processes."""
    return [neardup.html_sketch(title, html) for title, html in pairs]


def near_days(days: Iterable[int], window: float) -> frozenset[int]:
    """The days a post may be dated on to be within ``window`` of a version dated on one of ``days``."""
    reach = math.ceil(window / DAY)
    return frozenset(day + step for day in days for step in range(-reach, reach + 1))


def sketch_posts(settings: Settings, refs: Sequence[tuple[PostRef, str, float]]) -> dict[str, list[tuple]]:
    """Sketches of stored posts (read again), by source: (key, date, sketch)."""
    from feeds.sources.postfile import load_full
    from feeds.sources.posts import post_context

    sources = {s.name: s for s in settings.sources if not s.remote}
    out: dict[str, list[tuple]] = {}
    for ref, key, ts in refs:
        source = sources.get(ref.source)
        if source is None:
            continue
        record, html, _ = load_full(ref.path, post_context(settings, source))
        if record.status == "ok" and record.key == key:
            out.setdefault(ref.source, []).append((key, ts, neardup.html_sketch(record.title, html)))
    return out


async def prepare_poll(
    settings: Settings, store: Store, source: Source, items: Sequence[Item], new: set[str], workers: Workers | None,
    ready: Mapping[str, bytes] | None = None,
) -> dict[str, bytes]:
    """The sketches of a poll's new items (by key), after sketching the posts within their window.
    ``ready``: sketches made already (where the items were parsed)."""
    import asyncio  # (a build of posts alone polls nothing: not imported for it)

    near = near_settings(settings)
    fresh = [item for item in items if item.key in new]
    if near is None or not fresh:
        return {}
    stamps = [item.published.timestamp() for item in fresh]
    refs = await asyncio.to_thread(store.unsketched_posts, min(stamps) - near.window, max(stamps) + near.window)
    if refs:
        for name, rows in (await asyncio.to_thread(sketch_posts, settings, refs)).items():
            await asyncio.to_thread(store.save_sketches, name, rows)
    done = {item.key: ready[item.key] for item in fresh if ready and item.key in ready}
    fresh = [item for item in fresh if item.key not in done]
    if not fresh:
        return done
    pairs = [(item.title, item.content or item.summary) for item in fresh]
    executor = workers.executor if workers else None
    if executor is not None and len(pairs) > 8:
        loop = asyncio.get_running_loop()
        half = (len(pairs) + 1) // 2
        parts = await asyncio.gather(*(loop.run_in_executor(executor, sketch_items, pairs[i : i + half])
                                       for i in range(0, len(pairs), half)))  # fmt: skip
        sketches = [s for part in parts for s in part]
    else:
        sketches = await asyncio.to_thread(sketch_items, pairs)
    return done | {item.key: data for item, data in zip(fresh, sketches, strict=True)}
