"""Settling, the same for every backend (pure): entry rows -> merged articles and their categories.

A row is ``(article, key, ts, off, cats, origin, source, ref, stamp)`` as the
backends select it from ``entries``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from feeds.core.models import Entry
from feeds.store.records import Combine, Judge, PostRef
from feeds.store.schema import SEP


def entry_of(row: Sequence[Any]) -> Entry:
    _, key, ts, off, cats, origin, source, ref, mark = row
    # A post's ref is its (absolute) path; a remote item's is its id.
    target: object = PostRef(source, ref, mark) if ref[:1] == "/" else int(ref)
    return Entry(key, ts, off, tuple(cats.split(SEP)) if cats else (), origin, target, source)


def _sig(rows: Sequence[Sequence[Any]], merged_ts: float, merged_off: int, cats: str, best: Entry, shown: str) -> str:
    parts = [repr(merged_ts), str(merged_off), cats, repr(best.ref), shown]
    parts.extend(sorted(f"{r[6]}\x1f{r[7]}\x1f{r[8]}\x1f{r[2]!r}" for r in rows))
    return hashlib.sha1("\x1e".join(parts).encode()).hexdigest()


def settled_rows(
    groups: Mapping[str, Sequence[Sequence[Any]]], combine: Combine, judge: Judge | None,
    pinned: Mapping[str, str] | None = None,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:  # fmt: skip
    """Each article's entry rows (``groups``) merged: the ``articles`` rows (article, ts, off, cats, sig,
    shown) and the ``article_cats`` rows (slug, article, ts) to store; an article a rule drops has none.
    ``pinned``: the ids articles were first published with (an article keeps it forever); the others
    are shown with their canonical version's key (:func:`feeds.core.merge.canonical`)."""
    articles: list[tuple[Any, ...]] = []
    cats: list[tuple[Any, ...]] = []
    held = pinned or {}
    shown: dict[str, str] = {}
    merged_all = []
    for aid, rows in groups.items():
        merged = combine([entry_of(r) for r in rows])
        shown[aid] = held.get(aid) or merged.key
        merged_all.append(merged._replace(key=aid))
    verdicts = judge(merged_all) if judge is not None else [m.categories for m in merged_all]
    for merged, categories in zip(merged_all, verdicts, strict=True):
        if categories is None:  # dropped by a rule: stored, not shown
            continue
        article, rows = merged.key, groups[merged.key]
        joined = SEP.join(categories)
        sig = _sig(rows, merged.timestamp, merged.utcoffset, joined, merged.best, shown[article])
        articles.append((article, merged.timestamp, merged.utcoffset, joined, sig, shown[article]))
        cats.extend((slug, article, merged.timestamp) for slug in dict.fromkeys(categories))
    return articles, cats
