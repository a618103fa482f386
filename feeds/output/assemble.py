"""The ``[[rules]]`` applied when the feeds are assembled: at settle time, to every merged article.

An article is judged by its winning version (what the feeds show of it: its
title, plain-text content, link, author and source) with the merged
categories.  Rules run over stored history too: a change of the rules changes
the merge fingerprint, so every article is merged and judged again at the next
publish, without any refetch; a dropped article stays stored, and reverting
the rule brings it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from feeds.config import Settings
from feeds.core import rules as rulebook
from feeds.core.models import Merged
from feeds.runtime.workers import Workers
from feeds.sources.postfile import PostContext, load_full, read_post
from feeds.store import Judge, PostRef, Store

_TEXT_FIELDS = frozenset({"title", "content", "link", "author"})


class _PostFields:
    """Picklable ``posts -> (title, content text, link, author)`` for the worker processes."""

    def __init__(self, contexts: Mapping[str, PostContext], content: bool) -> None:
        self.contexts = contexts
        self.content = content

    def __call__(self, refs: list[PostRef]) -> list[tuple[str, str, str, str] | None]:
        from feeds.core.neardup import html_to_text

        out: list[tuple[str, str, str, str] | None] = []
        for ref in refs:
            ctx = self.contexts.get(ref.source)
            if ctx is None:
                out.append(None)
                continue
            if self.content:
                record, html, _ = load_full(ref.path, ctx)
                text = " ".join(html_to_text(html).split())
            else:
                record, text = read_post(ref.path, ctx), ""
            out.append((record.title, text, record.link, record.author) if record.status == "ok" else None)
        return out


def item_fields(
    merged: Sequence[Merged], store: Store, contexts: Mapping[str, PostContext], workers: Workers | None,
    *, content: bool = True,
) -> list[rulebook.ItemFields]:  # fmt: skip
    """What the rules see of each merged article (its winning version)."""
    from feeds.core.neardup import html_to_text

    ids = [m.best.ref for m in merged if isinstance(m.best.ref, int)]
    items = store.load_items(ids) if ids else {}
    posts = [m.best.ref for m in merged if isinstance(m.best.ref, PostRef)]
    pool = workers or Workers(1)
    read = [row for chunk in pool.map_chunks(_PostFields(contexts, content), posts, min_parallel=200, chunk=200)
            for row in chunk]  # fmt: skip
    by_post = dict(zip(posts, read, strict=True))
    out: list[rulebook.ItemFields] = []
    for m in merged:
        best = m.best
        title = text = link = author = ""
        if isinstance(best.ref, int) and best.ref in items:
            item = items[best.ref]
            title, link, author = item.title, item.link, item.author
            text = " ".join(html_to_text(item.content or item.summary).split()) if content else ""
        elif (fields := by_post.get(best.ref)) is not None:
            title, text, link, author = fields
        out.append(rulebook.ItemFields(title, text, link, author, m.categories, best.source))
    return out


def judge(
    settings: Settings, store: Store, contexts: Mapping[str, PostContext], workers: Workers | None
) -> Judge | None:
    """The rules as a settle-time judge (None without rules)."""
    rules = settings.rules
    if not rules:
        return None
    used = {name for rule in rules for name, _ in rule.patterns}
    light = not used & _TEXT_FIELDS  # only category and source: nothing to read

    def verdicts(merged: Sequence[Merged]) -> list[tuple[str, ...] | None]:
        if light:
            fields = [rulebook.ItemFields(categories=m.categories, source=m.best.source) for m in merged]
        else:
            fields = item_fields(merged, store, contexts, workers, content="content" in used)
        out: list[tuple[str, ...] | None] = []
        for one in fields:
            verdict = rulebook.apply_rules(rules, one)
            out.append(verdict.categories if verdict.kept else None)
        return out

    return verdicts
