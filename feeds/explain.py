"""``feeds explain ITEM``: why an item looks the way it does.

Which versions an article has, which one won and why (priority, then date),
which near-duplicates were merged into it (and how similar they are), which
rules matched and what they did.

ITEM is what a user has at hand: an infoCode, a link, an item id or key; a
post's file (the post read again: its key, or why it is not an item); else a
title or a unique part of one (case-insensitive), searched among the stored
articles' versions (a remote item's title from the store, a post's from its
file).  Several titles match: :class:`Ambiguous` lists them.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from feeds.config import Settings
from feeds.core import merge as merging
from feeds.core import neardup
from feeds.core.errors import FeedsError, display
from feeds.core.identity import Identity, stable_id, strip_tracking
from feeds.core.models import Item, instant
from feeds.core.rules import apply_rules
from feeds.output.assemble import item_fields
from feeds.output.publish import load_versions
from feeds.sources.postfile import read_post
from feeds.sources.posts import post_context, posts_sources
from feeds.store import PostRef, Store
from feeds.store.siteids import recorded_authority, recorded_ids

MAX_LISTED = 20  # matching titles listed when several match

_CODE = re.compile(r"[A-Za-z0-9_.\-]+")
_TAG = re.compile(r"tag:[^,]+,2000:(?P<kind>[a-z]+):(?P<value>.+)")


def _keys(settings: Settings, query: str) -> tuple[list[str], str | None]:
    """The identity keys ``query`` may name (an infoCode, a link, a guid, a key) and its link."""
    query = query.strip()
    keys = [query]
    link = None
    tag = _TAG.fullmatch(query)
    if tag:
        keys.append(f"{tag['kind']}:{tag['value']}")
    if "://" in query:
        link = query
        code = Identity(settings.identity_patterns).code_in_url(query)
        if code:
            keys.append(f"infocode:{code}")
        keys.append(f"link:{strip_tracking(query)}")
    elif _CODE.fullmatch(query):
        keys.append(f"infocode:{query}")
    return keys, link


@dataclass(frozen=True, slots=True)
class Match:
    """A stored article whose title matches: its id (what ``feeds explain`` takes) and that title."""

    article: str
    title: str
    source: str


class Ambiguous(FeedsError):
    """Several articles' titles match: ``matches`` (at most :data:`MAX_LISTED`) of ``count``."""

    def __init__(self, query: str, matches: list[Match], count: int) -> None:
        self.matches = matches
        self.count = count
        super().__init__(f"{count} items match {query!r}: give one's id, infoCode or link, or more of its title")


def _post_file(settings: Settings, store: Store, query: str) -> tuple[list[str], str | None] | None:
    """The keys of the post file ``query`` names (read again as the builds read it), or None when it
    names no file; FeedsError when the file is no item (outside the posts folders, or a bad post)."""
    path = Path(os.path.expanduser(query.strip()))
    if not query.strip() or not path.is_file():
        return None
    target = path.resolve()
    settings = recorded_ids(settings, store)
    for source in posts_sources(settings):
        assert source.path is not None
        if target.is_relative_to(source.path.resolve()):
            record = read_post(str(target), post_context(settings, source))
            if record.status == "ok":
                return [record.key], record.link
            why = record.message if record.status == "error" else "not published (published: false)"
            raise FeedsError(f"{display(path)}: not an item: {why}")
    raise FeedsError(f"{display(path)}: not in a posts folder of the config")


def _titles(settings: Settings, store: Store) -> list[Match]:
    """Every version of every stored article, with its title."""
    articles = [a.id for a in store.top(None, math.inf, max(1, store.count_articles(math.inf)))]
    versions = store.versions(articles)
    remote = store.load_items({v.ref for vs in versions.values() for v in vs if isinstance(v.ref, int)})
    contexts = {s.name: post_context(recorded_ids(settings, store), s) for s in posts_sources(settings)}
    found: list[Match] = []
    for article in articles:
        for version in versions.get(article, ()):
            title = ""
            if isinstance(version.ref, PostRef) and version.ref.source in contexts:
                title = read_post(version.ref.path, contexts[version.ref.source]).title or ""
            elif isinstance(remote.get(version.ref), Item):
                title = remote[version.ref].title
            if title:
                found.append(Match(article, title, version.source))
    return found


def _by_title(settings: Settings, store: Store, query: str) -> str | None:
    """The one article whose title is ``query`` or holds it (case-insensitive); Ambiguous when several do."""
    wanted = " ".join(query.split()).casefold()
    if not wanted:
        return None
    titles = _titles(settings, store)
    for exact in (True, False):
        hits = [m for m in titles if (m.title.casefold() == wanted if exact else wanted in m.title.casefold())]
        articles = list(dict.fromkeys(m.article for m in hits))
        if len(articles) == 1:
            return articles[0]
        if len(articles) > 1:
            first = [next(m for m in hits if m.article == a) for a in articles[:MAX_LISTED]]
            raise Ambiguous(query, first, len(articles))
    return None


def find(settings: Settings, store: Store, query: str) -> str | None:
    """The stored article ``query`` names: by infoCode, link, id or key; by post file; else by title."""
    keys, link = _keys(settings, query)
    article = store.find_article(keys, link)
    if article is None and (post := _post_file(settings, store, query)) is not None:
        article = store.find_article(*post)
    return article if article is not None else _by_title(settings, store, query)


def explain(settings: Settings, store: Store, query: str) -> list[str] | None:
    """The lines of the explanation, or None when no stored article matches ``query``."""
    article = find(settings, store, query)
    if article is None:
        return None
    versions = store.versions([article]).get(article, [])
    if not versions:
        return None
    priorities = settings.priorities()
    merged = merging.combine(versions, priorities)._replace(key=article)
    contexts = {s.name: post_context(settings, s) for s in posts_sources(settings)}
    full = load_versions(versions, contexts, store, lambda _: None, None)
    authority = recorded_authority(settings, store)
    lines = [f"article {article}", f"  id: {stable_id(article, authority)}", f"versions: {len(versions)}"]
    for version in merged.versions:
        item = full[version.ref]
        when = instant(version.timestamp, version.utcoffset).isoformat()
        mark = "*" if version is merged.best else "-"
        rank = merging.priority(version, priorities)
        lines.append(f"  {mark} {version.source or '?'} (priority {rank}) {when} {version.key}")
        lines.append(f"      {item.title} <{item.link}>")
    best_rank = merging.priority(merged.best, priorities)
    others = [merging.priority(v, priorities) for v in merged.versions if v is not merged.best]
    if not others:
        why = "the only version"
    elif best_rank > max(others):
        why = f"highest priority ({best_rank})"
    else:
        why = f"newest of the versions of priority {best_rank}"
    lines.append(f"winner: {merged.best.source} ({why}): its title, content and link are shown")
    lines.extend(_near_duplicates(store, article, merged.versions))
    verdict = apply_rules(settings.rules, item_fields([merged], store, contexts, None)[0])
    lines.append("rules:" if verdict.outcomes else "rules: none applies")
    lines.extend(f"  {line}" for line in verdict.explain()[:-1])
    if verdict.kept:
        lines.append(f"shown: yes, in {', '.join(verdict.categories) or 'the combined feed only'}")
    else:
        lines.append(f"shown: no, dropped by rules[{verdict.dropped_by}] (still stored)")
    return lines


def _near_duplicates(store: Store, article: str, versions: tuple) -> list[str]:
    joined = [v for v in versions if v.key != article]
    if not joined:
        return ["near-duplicates: none"]
    sketches = store.sketches_of(article)
    head = next((data for (_, key), data in sketches.items() if key == article), None)
    lines = ["near-duplicates merged into it:"]
    for version in joined:
        data = sketches.get((version.source, version.key))
        score = ""
        if head is not None and data is not None:
            value = neardup.similar(neardup.Sketch.from_bytes(head), neardup.Sketch.from_bytes(data))
            score = f", similarity {value:.2f}"
        lines.append(f"  {version.source}: {version.key}{score}")
    return lines
