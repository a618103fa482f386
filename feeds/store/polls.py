"""What a poll changes in the stored items: the same decision for every backend (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from feeds.core.models import Item, stamp
from feeds.store.schema import SEP

# The columns a backend reads of each held item, by key: the decision below compares them.
HELD_COLUMNS = "key, id, title, link, content, categories, published, published_offset, updated, extra"


_EXTRA = ("author_email", "author_uri", "image", "feed_title")


def extra(item: Item) -> str:
    """The ``extra`` column of a stored item: the fields of :data:`_EXTRA` it has, as JSON ("" for none)."""
    held = {name: value for name in _EXTRA if (value := getattr(item, name))}
    return json.dumps(held, ensure_ascii=False, sort_keys=True) if held else ""


def with_extra(item: Item, text: str) -> Item:
    """``item`` as loaded from its columns, with its ``extra`` column and its feed (the item's origin)."""
    fields: dict[str, Any] = {"feed_url": item.origin}
    if text:
        try:
            held = json.loads(text)
        except ValueError:
            held = {}
        if isinstance(held, dict):
            fields.update((name, value) for name, value in held.items() if name in _EXTRA and isinstance(value, str))
    return replace(item, **fields)


def classify(
    source: str, items: Sequence[Item], held: Mapping[str, Sequence[Any]], undated: Iterable[str], now: float
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[float, int]]]:
    """(inserts, changes, seen) of a successful poll's ``items`` against the rows ``held`` (by key,
    the columns of :data:`HELD_COLUMNS` after the key).

    A new key is inserted (the first of a key given twice counts); a held item
    whose title, link, content, categories, dates or extra (author's e-mail and
    URI, thumbnail, feed title) changed is updated; the rest
    are only seen again.  An entry that had no date keeps the date it was first
    seen with.  Rows are in the column order of the backends' statements.
    """
    undated = set(undated)
    known = dict(held)
    inserts: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = []
    seen: list[tuple[float, int]] = []
    for item in items:
        published, published_offset = stamp(item.published)
        updated_at, updated_offset = stamp(item.updated)
        categories = SEP.join(item.categories)
        row = known.get(item.key)
        if row is None:
            inserts.append(
                (
                    source, item.key, item.title, item.link, published, published_offset,
                    updated_at, updated_offset, categories, json.dumps(list(item.tags), ensure_ascii=False),
                    item.author, item.content, item.summary, item.origin, now, now, extra(item),
                )
            )  # fmt: skip
            known[item.key] = (None,) * 9
            continue
        if row[0] is None:  # inserted above: a key twice in one poll
            continue
        if item.key in undated:  # keep the first-seen date
            published, published_offset = row[5], row[6]
            updated_at, updated_offset = row[7], row[6]
        more = extra(item)
        if (item.title, item.link, item.content, categories, published, updated_at, more) == (
            row[1], row[2], row[3], row[4], row[5], row[7], row[8]
        ):  # fmt: skip
            seen.append((now, row[0]))
            continue
        changes.append(
            (
                item.title, item.link, published, published_offset, updated_at, updated_offset,
                categories, json.dumps(list(item.tags), ensure_ascii=False), item.author,
                item.content, item.summary, item.origin, now, more, row[0],
            )
        )  # fmt: skip
    return inserts, changes, seen
