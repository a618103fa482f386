"""Scanning the posts folders into the store: only new and changed files are read.

:func:`scan_posts` lists every post of the posts sources and reads only the files
that are new or changed since the last scan (same size and mtime: the cached
index row is used); the store's entries follow the folder, and near-duplicate
sketches are made for the posts dated near another source's versions.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence

from feeds.config import Settings
from feeds.core.models import PostIndex, Source
from feeds.ingest.sketching import near_days, near_settings
from feeds.runtime.workers import Workers
from feeds.sources.postfile import SUFFIXES
from feeds.sources.posts import (
    Full,
    PostScan,
    context_fingerprint,
    discover,
    folder_problem,
    index_posts,
    may_hold_posts,
    post_context,
    scanned_here,
    stat_many,
)
from feeds.store import Store


def scan_posts(
    settings: Settings,
    store: Store | None = None,
    *,
    sources: Iterable[Source] | None = None,
    workers: Workers | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    full: bool = False,
) -> PostScan:
    """Index every post (of ``sources``, default every posts source).

    With a store, only new and changed files are read (the rest is cached)
    and the store's entries follow the folder.  A folder that is missing or
    unreadable is reported and its stored posts are left as they were.
    ``full``: posts of a small site are read in full too, into ``scan.full`` (a build's publish takes them).
    """
    scan = PostScan()
    for source in scanned_here(settings) if sources is None else sources:
        assert source.path is not None
        problem = folder_problem(source)
        if problem:
            scan.missing[source.name] = problem
            if store is not None:
                _record_scan(store, source.name, None, problem)
            continue
        ctx = scan.contexts[source.name] = post_context(settings, source)
        paths = discover(source.path, scan.unreadable)
        context = context_fingerprint(ctx)
        warm = store is not None and store.has_post_cache(source.name, context)
        cache: dict[str, PostIndex] = {}
        rows: dict[str, PostIndex] = {}
        todo: list[str] = []
        if store is not None and warm:
            stats = stat_many(paths, workers=workers)  # on the workers while the cache loads
            cache = store.post_cache(source.name, context)
        if not cache:
            todo = paths
        else:
            get = cache.get
            for path, (size, mtime_ns) in zip(paths, stats(), strict=True):
                cached = get(path)
                if cached is not None and size == cached.size and mtime_ns == cached.mtime_ns:
                    rows[path] = cached
                else:  # new, changed, or it cannot be stat'ed (its reader says why)
                    todo.append(path)
        if on_total:
            on_total(len(todo))
        near = near_settings(settings) if store is not None else None
        days = near_days(store.sketch_days(source.name), near.window) if store and near and todo else frozenset()
        sketches: dict[str, bytes] = {}
        whole: dict[str, Full] | None = {} if full and len(todo) <= _shown_at_most(settings) else None
        fresh = list(index_posts(todo, ctx, progress=progress, workers=workers, days=days, sketches=sketches,
                                 full=whole))  # fmt: skip
        if whole:
            scan.full.update(((source.name, path), value) for path, value in whole.items())
        added = 0
        for row in fresh:
            added += row.path not in cache
            rows[row.path] = row
        # A cached path not seen now: its file was removed (or vanished while listed).
        removed = sorted(cache.keys() - rows.keys()) if len(rows) - added != len(cache) else []
        results = [rows[p] for p in paths if p in rows]
        if store is not None:
            if not warm or (not cache and results):  # no usable cache yet: write it whole
                store.save_posts(source.name, context, results, sketches=sketches, near=near)
            elif fresh or removed:
                store.save_posts(source.name, context, results, changed=fresh, removed=removed, sketches=sketches,
                                 near=near)  # fmt: skip
        scan.fresh.extend(fresh)
        scan.removed += len(removed)
        scan.results.extend(results)
        if store is not None:
            _record_scan(store, source.name, results, None)
    return scan


FULL_FIRST = 500  # posts: so few are read in full as they are indexed, whatever the feeds show
FULL_FIRST_MAX = 3000  # and never more (memory: their bodies are held until the publish)


def _shown_at_most(settings: Settings) -> int:
    """How many posts to read in full in the index pass: about as many as the feeds can show (a
    small site shows nearly all of them, each then read once, not twice)."""
    return min(FULL_FIRST_MAX, max(FULL_FIRST, settings.output.limit * (1 + len(settings.categories))))


def scan_meta_key(source: str) -> str:
    """The store's meta key of what the last scan of a posts source found (``feeds status``)."""
    return f"scan:{source}"


def _record_scan(store: Store, source: str, rows: Sequence[PostIndex] | None, problem: str | None) -> None:
    """Remember what the last scan of ``source`` found, as JSON: ``{"at", "posts", "problems"}`` of
    the last successful scan, and ``{"error", "failed_at"}`` while its folder cannot be read."""
    key = scan_meta_key(source)
    value: dict[str, object] = {}
    if rows is not None:
        value = {"at": round(time.time(), 3), "posts": sum(1 for r in rows if r.status == "ok"),
                 "problems": sum(1 for r in rows if r.status == "error")}  # fmt: skip
    else:
        with contextlib.suppress(ValueError, TypeError):
            value = dict(json.loads(store.meta(key) or "{}"))
        value.update(error=problem, failed_at=round(time.time(), 3))
    store.set_meta({key: json.dumps(value, sort_keys=True)})


def scan_paths(settings: Settings, store: Store, source: Source, paths: Iterable[str]) -> PostScan | None:
    """Rescan only ``paths`` of the posts source ``source`` (a file notification named them): each
    one new, changed or gone is read or dropped, as a whole scan would, at a cost of those files
    rather than of the folder's thousands.  None when only a whole scan can tell (no cache made with
    these settings yet, the folder cannot be read, a folder changed, a name a whole scan would
    report), and then nothing was done."""
    assert source.path is not None
    root = str(source.path)
    ctx = post_context(settings, source)
    context = context_fingerprint(ctx)
    if folder_problem(source) or not store.has_post_cache(source.name, context):
        return None
    cache = store.post_cache(source.name, context)
    if not cache:
        return None
    todo: list[str] = []
    removed: list[str] = []
    top = root.rstrip(os.sep) + os.sep
    for path in sorted(set(paths)):
        if not path.startswith(top):
            return None  # the folder itself
        if not may_hold_posts(root, path):
            continue  # a name a scan passes over
        name = os.path.basename(path)
        if not name.isprintable() or "." + name.rpartition(".")[2].lower() not in SUFFIXES:
            return None  # a folder, or a name a whole scan reports
        try:
            info = os.stat(path)
        except FileNotFoundError:
            inside = path + os.sep
            if any(held.startswith(inside) for held in cache):
                return None  # a folder that held posts
            if path in cache:
                removed.append(path)
            continue
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode) or os.path.realpath(os.path.dirname(path)) != os.path.dirname(path):
            return None  # not a plain file in a plain folder: what a whole scan finds there may differ
        held = cache.get(path)
        if held is None or (held.size, held.mtime_ns) != (info.st_size, info.st_mtime_ns):
            todo.append(path)
    scan = PostScan()
    scan.contexts[source.name] = ctx
    near = near_settings(settings)
    days = near_days(store.sketch_days(source.name), near.window) if near and todo else frozenset()
    sketches: dict[str, bytes] = {}
    fresh = list(index_posts(todo, ctx, days=days, sketches=sketches))
    rows = dict(cache)
    for path in removed:
        del rows[path]
    rows.update((row.path, row) for row in fresh)
    results = [rows[p] for p in sorted(rows)]
    if fresh or removed:
        store.save_posts(source.name, context, results, changed=fresh, removed=removed, sketches=sketches, near=near)
    scan.fresh, scan.removed, scan.results = fresh, len(removed), results
    _record_scan(store, source.name, results, None)
    return scan
