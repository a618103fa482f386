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


def _sig(rows: Sequence[Sequence[Any]], merged_ts: float, merged_off: int, cats: str, best: Entry) -> str:
    parts = [repr(merged_ts), str(merged_off), cats, repr(best.ref)]
    parts.extend(sorted(f"{r[6]}\x1f{r[7]}\x1f{r[8]}\x1f{r[2]!r}" for r in rows))
    return hashlib.sha1("\x1e".join(parts).encode()).hexdigest()


def settled_rows(
    groups: Mapping[str, Sequence[Sequence[Any]]], combine: Combine, judge: Judge | None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Each article's entry rows (``groups``) merged: the ``articles`` rows (article, ts, off, cats, sig)
    and the ``article_cats`` rows (slug, article, ts) to store; an article a rule drops has none."""
    articles: list[tuple[Any, ...]] = []
    cats: list[tuple[Any, ...]] = []
    merged_all = [combine([entry_of(r) for r in rows])._replace(key=aid) for aid, rows in groups.items()]
    verdicts = judge(merged_all) if judge is not None else [m.categories for m in merged_all]
    for merged, categories in zip(merged_all, verdicts, strict=True):
        if categories is None:  # dropped by a rule: stored, not shown
            continue
        article, rows = merged.key, groups[merged.key]
        joined = SEP.join(categories)
        sig = _sig(rows, merged.timestamp, merged.utcoffset, joined, merged.best)
        articles.append((article, merged.timestamp, merged.utcoffset, joined, sig))
        cats.extend((slug, article, merged.timestamp) for slug in dict.fromkeys(categories))
    return articles, cats
