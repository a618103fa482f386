"""Publish: which files change, render them, write them atomically, remove stale ones.

1. :meth:`Store.settle` merges the articles that changed since the last publish
   (only those);
2. each feed's newest items are read from the store's indexes: the combined
   feed and one per category that has any item now;
3. a feed whose items (their versions) and settings are the same as when its
   file was written, and whose file is still there, is not rendered again;
4. the rest are rendered, written only where their bytes changed
   (:mod:`feeds.files`), and the feed files of categories that have no item any
   more are removed: only files feeds itself wrote, as the store recorded them.

So a publish costs what changed, not everything ever stored.  ``feeds build``
and the daemon both call :func:`publish`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from feeds import __version__, files, layout
from feeds import merge as merging
from feeds.config import Settings
from feeds.errors import OutputError, display
from feeds.formats import index, opml, rss_atom
from feeds.identity import fingerprint
from feeds.models import Entry, FeedSpec, Item, Merged, PostRecord, instant
from feeds.parallel import Workers
from feeds.sources.posts import PostContext, context_fingerprint, load_many
from feeds.store import Article, PostRef, Store

Report = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Published:
    """What one publish did."""

    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    items: int = 0
    settled: int = 0  # articles merged again


def materialize(merged: Merged, full: Mapping[object, Item]) -> Item:
    """The item of a merged article: its best version, with the merged id, date, categories and tags."""
    best = full[merged.best.ref]
    tags: dict[str, None] = {}
    for version in merged.versions:
        for tag in full[version.ref].tags:
            tags.setdefault(tag, None)
    return replace(
        best,
        key=merged.key,
        published=instant(merged.timestamp, merged.utcoffset),
        categories=merged.categories,
        tags=tuple(tags),
    )


def load_posts(
    refs: Sequence[PostRef], contexts: Mapping[str, PostContext], store: Store, workers: Workers | None
) -> list[tuple[PostRecord, str, str]]:
    """Each post read in full, in order; one read for an earlier publish and unchanged since
    (same size, mtime and settings) comes from the store instead of the file."""
    fingerprints = {name: context_fingerprint(ctx) for name, ctx in contexts.items()}

    def stamp(source: str, mark: str) -> str:
        return f"{mark}:{fingerprints[source]}"

    held = store.rendered({(r.source, r.path): stamp(r.source, r.stamp) for r in refs})
    fresh = iter(load_many([r for r in refs if (r.source, r.path) not in held], contexts, workers=workers))
    out: list[tuple[PostRecord, str, str]] = []
    save: list[tuple[str, str, str, tuple[object, ...]]] = []
    make = tuple.__new__
    for ref in refs:
        value = held.get((ref.source, ref.path))
        if value is not None:
            out.append((make(PostRecord, value[0]), value[1], value[2]))
            continue
        record, html, summary = next(fresh)
        if record.status == "ok":  # stamped as read: a file that changed meanwhile is read again next time
            mark = stamp(ref.source, f"{record.size}:{record.mtime_ns}")
            save.append((ref.source, ref.path, mark, (tuple(record), html, summary)))
        out.append((record, html, summary))
    if save:
        store.save_rendered(save)
    return out


def load_versions(
    versions: Sequence[Entry], contexts: Mapping[str, PostContext], store: Store, report: Report,
    workers: Workers | None,
) -> dict[object, Item]:  # fmt: skip
    """Every version in full, by its ref: posts read (or their stored read), remote items loaded."""
    full: dict[object, Item] = {}
    posts = {v.ref: v for v in versions if isinstance(v.ref, PostRef) and v.ref.source in contexts}
    ids = [v.ref for v in versions if isinstance(v.ref, int)]
    full.update(store.load_items(ids))
    loaded = load_posts(list(posts), contexts, store, workers)
    for (ref, entry), (record, html, summary) in zip(posts.items(), loaded, strict=True):
        item = record.item
        if item is None and store.clustered and not os.path.exists(ref.path):  # a node without the folder
            raise OutputError(display(ref.path), "not on this node, and the node that scans it has not stored "
                              "its read yet; publishing again shortly")  # fmt: skip
        if item is None or record.key != entry.key:
            report(f"{display(ref.path)}: changed while publishing; the next publish picks up the change")
            item = None
        else:
            full[ref] = replace(item, content=html, summary=summary)
    for version in versions:  # anything that could not be read: a placeholder from the entry itself
        if version.ref not in full:
            when = instant(version.timestamp, version.utcoffset)
            name = os.path.basename(version.origin)
            full[version.ref] = Item(key=version.key, title=name, link="", published=when, updated=when,
                                     categories=version.categories, origin=version.origin)  # fmt: skip
    return full


@dataclass(frozen=True)
class _Plan:
    path: str
    spec: FeedSpec
    fmt: str
    picked: list[Article]
    fingerprint: str


def _plans(settings: Settings, picks: Mapping[str | None, list[Article]]) -> tuple[list[FeedSpec], list[_Plan]]:
    specs = layout.plan(settings, [slug for slug in picks if slug is not None])
    settings_fp = fingerprint(__version__, settings.site, settings.output, settings.categories)
    plans: list[_Plan] = []
    for spec in specs:
        picked = picks[spec.slug]
        for fmt in settings.output.formats:
            path = spec.rss_path if fmt == "rss" else spec.atom_path
            fp = fingerprint(settings_fp, spec, fmt, *(f"{a.id}\x1f{a.sig}" for a in picked))
            plans.append(_Plan(path, spec, fmt, picked, fp))
    return specs, plans


def _current(out_dir: os.PathLike[str] | str, path: str, size: int) -> bool:
    try:
        return os.path.getsize(os.path.join(out_dir, path)) == size
    except OSError:
        return False


def publish(
    settings: Settings,
    store: Store,
    contexts: Mapping[str, PostContext],
    *,
    now: float,
    report: Report = _quiet,
    workers: Workers | None = None,
) -> Published:
    """Bring the output folder up to date with the store (see the module docstring).

    ``contexts``: the settings each posts source's files are read with.
    Raises OutputError when the output folder cannot be written.
    """
    out_dir = settings.output.dir
    settled = store.settle(merging.combine)
    previous = store.output_fingerprints()
    state = fingerprint(__version__, settings, store.generation())
    if (
        store.meta("published") == state
        and now < float(store.meta("next_due") or "inf")
        and previous
        and all(_current(out_dir, p, size) for p, (_, size) in previous.items())
    ):  # nothing changed and nothing became due since the last publish: the files are current
        return Published(unchanged=tuple(previous), items=int(store.meta("items") or 0), settled=settled)

    limit = settings.output.limit
    picks: dict[str | None, list[Article]] = {None: store.top(None, now, limit)}
    for slug in store.categories():
        top = store.top(slug, now, limit)
        if top:
            picks[slug] = top
    specs, plans = _plans(settings, picks)
    stale = [p for p in plans if previous.get(p.path, ("",))[0] != p.fingerprint
             or not _current(out_dir, p.path, previous[p.path][1])]  # fmt: skip
    wanted = {a.id: a for p in stale for a in p.picked}
    by_article = store.versions(wanted)
    merged = {aid: merging.combine(vs)._replace(key=aid) for aid, vs in by_article.items()}
    full = load_versions([v for vs in by_article.values() for v in vs], contexts, store, report, workers)
    items = {aid: materialize(m, full) for aid, m in merged.items()}

    rendered: list[tuple[str, bytes | None]] = []
    fingerprints: dict[str, tuple[str, int]] = {}
    stale_paths = {p.path for p in stale}
    for plan in plans:
        if plan.path in stale_paths:
            data = rss_atom.render_feed(plan.spec, [items[a.id] for a in plan.picked if a.id in items],
                                        settings, plan.fmt)  # fmt: skip
            rendered.append((plan.path, data))
            fingerprints[plan.path] = (plan.fingerprint, len(data))
        else:
            rendered.append((plan.path, None))
            fingerprints[plan.path] = previous[plan.path]
    counts = {slug: len(picked) for slug, picked in picks.items()}
    for path, data in (("feeds.opml", opml.render_opml(specs, settings)),
                       ("index.html", index.render_index(specs, settings, counts))):  # fmt: skip
        rendered.append((path, data))
        fingerprints[path] = (hashlib.sha1(data).hexdigest(), len(data))

    written, unchanged = _write(out_dir, rendered)
    removed = _remove_stale(out_dir, [p for p in previous if p not in fingerprints], report)
    if fingerprints != previous:
        store.save_outputs(fingerprints)
    count = store.count_articles(now)
    due = store.next_due(now)
    upcoming = repr(due if due is not None else float("inf"))
    store.set_meta({"published": state, "items": str(count), "next_due": upcoming})
    return Published(tuple(written), tuple(unchanged), tuple(removed), count, settled)


def _write(out_dir: os.PathLike[str], rendered: Sequence[tuple[str, bytes | None]]) -> tuple[list[str], list[str]]:
    written: list[str] = []
    unchanged: list[str] = []
    try:
        files.sweep_temporaries(out_dir, (os.path.dirname(rel) for rel, _ in rendered))
        for rel, data in rendered:
            if data is not None and files.write_if_changed(out_dir / rel, data):  # type: ignore[operator]
                written.append(rel)
            else:
                unchanged.append(rel)
    except OSError as exc:
        where = exc.filename or out_dir
        raise OutputError(display(where), f"cannot write the output: {exc.strerror or exc}") from None
    return written, unchanged


def _remove_stale(out_dir: os.PathLike[str], paths: Sequence[str], report: Report) -> list[str]:
    """Remove files feeds wrote earlier that no feed has now (a category with no item left)."""
    removed: list[str] = []
    for rel in sorted(paths):
        target = os.path.join(out_dir, rel)
        try:
            os.unlink(target)
        except FileNotFoundError:
            continue
        except OSError as exc:
            report(f"{display(target)}: cannot remove a stale feed: {exc.strerror or exc}")
            continue
        removed.append(rel)
        report(f"{display(target)}: removed (its category has no item any more)")
        folder = os.path.dirname(target)
        if os.path.dirname(rel):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only when empty: anything else of the user's stays
    return removed
