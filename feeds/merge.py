"""Pure functions: deduplicate items by identity, order them, pick each feed's items.

Nothing here touches files, the clock or the network.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from datetime import datetime

from feeds.models import Item


def order_key(item: Item) -> tuple[float, str]:
    """Newest first; ties broken by the identity key, so the order never wobbles."""
    return (-item.published.timestamp(), item.key)


def _version_key(item: Item) -> tuple[float, str, str]:
    # The most recently dated version wins; ties go to a fixed origin order.
    return (-item.updated.timestamp(), item.origin, item.source)


def _union(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for value in group:
            seen.setdefault(value, None)
    return tuple(seen)


def combine(versions: Sequence[Item]) -> Item:
    """One item from several versions of the same article (same key).

    The most recently dated version gives title, content, link, author and
    summary; categories and tags are the union (newest version's first);
    ``published`` is the earliest date, ``updated`` the newest.
    """
    if len(versions) == 1:
        return versions[0]
    ordered = sorted(versions, key=_version_key)
    best = ordered[0]
    published: datetime = min((v.published for v in ordered), key=lambda d: d.timestamp())
    return Item(
        key=best.key,
        title=best.title,
        link=best.link,
        published=published,
        updated=best.updated,
        categories=_union(v.categories for v in ordered),
        tags=_union(v.tags for v in ordered),
        author=best.author or next((v.author for v in ordered if v.author), ""),
        content=best.content,
        summary=best.summary,
        body=best.body,
        source=best.source,
        origin=best.origin,
    )


def merge(items: Iterable[Item]) -> list[Item]:
    """Deduplicate by key and return the items newest first."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        group = groups.get(item.key)
        if group is None:
            groups[item.key] = [item]
        else:
            group.append(item)
    merged = [combine(group) for group in groups.values()]
    merged.sort(key=order_key)
    return merged


def newest(items: Iterable[Item], limit: int) -> list[Item]:
    """The ``limit`` newest items, newest first."""
    return heapq.nsmallest(limit, items, key=order_key)


def select(ordered: Sequence[Item], limit: int) -> tuple[list[Item], dict[str, list[Item]]]:
    """From merged items (newest first): the combined feed's items and each category's.

    Every category that any item carries gets a list, even when it is full of
    older items only the newest ``limit`` are kept.
    """
    combined = list(ordered[:limit])
    per_category: dict[str, list[Item]] = {}
    for item in ordered:
        for slug in item.categories:
            bucket = per_category.get(slug)
            if bucket is None:
                per_category[slug] = [item]
            elif len(bucket) < limit:
                bucket.append(item)
    return combined, per_category
