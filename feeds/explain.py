"""``feeds explain ITEM``: why an item looks the way it does.

Which versions an article has, which one won and why (priority, then date),
which near-duplicates were merged into it (and how similar they are), which
rules matched and what they did.
"""

from __future__ import annotations

import re

from feeds.config import Settings
from feeds.core import merge as merging
from feeds.core import neardup
from feeds.core.identity import Identity, stable_id, strip_tracking
from feeds.core.models import instant
from feeds.core.rules import apply_rules
from feeds.output.assemble import item_fields
from feeds.output.publish import load_versions
from feeds.sources.posts import post_context, posts_sources
from feeds.store import Store
from feeds.store.siteids import recorded_authority

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


def explain(settings: Settings, store: Store, query: str) -> list[str] | None:
    """The lines of the explanation, or None when no stored article matches ``query``."""
    keys, link = _keys(settings, query)
    article = store.find_article(keys, link)
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
