"""Publish: which files change, render them, write them atomically, remove stale ones.

1. :meth:`Store.settle` merges the articles that changed since the last publish
   (only those);
2. each feed's newest items are read from the store's indexes: the combined
   feed and one per category that has any item now;
3. a feed whose items (their versions) and settings are the same as when its
   file was written, and whose file is still there, is not rendered again;
4. the rest are rendered, written only where their bytes changed
   (:mod:`feeds.output.files`), and the feed files of categories that have no item any
   more are removed: only files feeds itself wrote, as the store recorded them.

Each feed's HTML page (:mod:`feeds.output.formats.pages`) is planned like a feed file:
its fingerprint covers its items, the list of feeds it links to and the
templates, so it is rendered only when one of them changed.

So a publish costs what changed, not everything ever stored.  ``feeds build``
and the daemon both call :func:`publish`.
"""

from __future__ import annotations

import contextlib
import hashlib
import html as htmllib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from feeds import __version__
from feeds.config import Settings
from feeds.core import merge as merging
from feeds.core import rules as rulebook
from feeds.core.errors import OutputError, display
from feeds.core.identity import fingerprint
from feeds.core.models import Entry, FeedSpec, Item, Merged, PostRecord, instant
from feeds.core.safety import safe_url
from feeds.core.text import clean_line
from feeds.output import assemble, files, layout
from feeds.output.formats import opml, pages
from feeds.output.render import Renderer
from feeds.runtime.workers import Workers
from feeds.sources.posts import Full, PostContext, context_fingerprint, load_many
from feeds.store import Article, PostRef, Store
from feeds.store.siteids import fix_ids

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
    files: tuple[str, ...] = ()  # every file feeds keeps in the output folder now


def merge_key(settings: Settings) -> str:
    """What every article's merge depends on besides its versions: when it changes, all are merged again."""
    return fingerprint(__version__, sorted(settings.priorities().items()), rulebook.fingerprint(settings.rules))


def materialize(merged: Merged, full: Mapping[object, Item], language: str = "zh-CN", site_title: str = "") -> Item:
    """The item of a merged article: its best version, with the merged id, date, categories and tags;
    the other outlets' versions are linked at the end of its content (in ``language``), each named as
    a reader knows it: a remote one by its feed's title, a post by ``site_title``."""
    best = full[merged.best.ref]
    tags: dict[str, None] = {}
    for version in merged.versions:
        for tag in full[version.ref].tags:
            tags.setdefault(tag, None)
    related = _related(best, [full[v.ref] for v in merged.versions], site_title)
    content = best.content
    if best.original:
        content += _original(best.original, language)
    if related:
        content += _also_reported(related, language)
    return replace(
        best,
        key=merged.key,
        published=instant(merged.timestamp, merged.utcoffset),
        categories=merged.categories,
        tags=tuple(tags),
        content=content,
        related=related,
    )


def _original(link: str, language: str) -> str:
    label = "原文" if language.lower().startswith("zh") else "Original article"
    return f'<p class="original"><a href="{htmllib.escape(link)}">{label}</a></p>'



def _related(best: Item, versions: Sequence[Item], site_title: str) -> tuple[tuple[str, str], ...]:
    """(name, link) of the versions of other sources than the winner's, each link once; the name is
    the one the pages show: a remote version's feed title (its source's name when the feed has none),
    a post's ``site_title`` (never the config's source name, which only the config knows)."""
    seen = {best.link}
    out: list[tuple[str, str]] = []
    for item in versions:
        link = safe_url(item.link)
        if item.source != best.source and link and link not in seen:
            seen.add(link)
            name = item.feed_title if item.feed_url else site_title
            out.append((clean_line(name) or item.source, link))
    return tuple(out)


def _also_reported(related: Sequence[tuple[str, str]], language: str) -> str:
    zh = language.lower().startswith("zh")
    label, comma = ("另见：", "、") if zh else ("Also reported by: ", ", ")
    links = comma.join(f'<a href="{htmllib.escape(link)}">{htmllib.escape(source)}</a>' for source, link in related)
    return f'<p class="also-reported">{label}{links}</p>'



def load_posts(
    refs: Sequence[PostRef], contexts: Mapping[str, PostContext], store: Store, workers: Workers | None,
    read: Mapping[tuple[str, str], Full] | None = None,
) -> list[tuple[PostRecord, str, str]]:  # fmt: skip
    """Each post read in full, in order; one read for an earlier publish and unchanged since
    (same size, mtime and settings) comes from the store instead of the file, one ``read`` in full by
    this build's scan (by (source, path)) from there."""
    fingerprints = {name: context_fingerprint(ctx) for name, ctx in contexts.items()}

    def stamp(source: str, mark: str) -> str:
        return f"{mark}:{fingerprints[source]}"

    held = store.rendered({(r.source, r.path): stamp(r.source, r.stamp) for r in refs})
    stamps = {(r.source, r.path): r.stamp for r in refs}
    # This build's own reads, of the very file (size and mtime) each entry was made from.
    read = {k: v for k, v in (read or {}).items() if f"{v[0].size}:{v[0].mtime_ns}" == stamps.get(k)}
    todo = [r for r in refs if (r.source, r.path) not in held and (r.source, r.path) not in read]
    fresh = iter(load_many(todo, contexts, workers=workers))
    out: list[tuple[PostRecord, str, str]] = []
    save: list[tuple[str, str, str, tuple[object, ...]]] = []
    make = tuple.__new__
    for ref in refs:
        value = held.get((ref.source, ref.path))
        if value is not None:
            out.append((make(PostRecord, value[0]), value[1], value[2]))
            continue
        whole = read.get((ref.source, ref.path))
        record, html, summary = whole if whole is not None else next(fresh)
        if record.status == "ok":  # stamped as read: a file that changed meanwhile is read again next time
            mark = stamp(ref.source, f"{record.size}:{record.mtime_ns}")
            save.append((ref.source, ref.path, mark, (tuple(record), html, summary)))
        out.append((record, html, summary))
    if save:
        store.save_rendered(save)
    return out


def load_versions(
    versions: Sequence[Entry], contexts: Mapping[str, PostContext], store: Store, report: Report,
    workers: Workers | None, read: Mapping[tuple[str, str], Full] | None = None,
) -> dict[object, Item]:  # fmt: skip
    """Every version in full, by its ref: posts read (or their stored read), remote items loaded.

    A version that cannot be read now (a post changed or removed meanwhile) gets a
    placeholder made from its entry, with no link: :func:`readable` tells.
    """
    full: dict[object, Item] = {}
    posts = {v.ref: v for v in versions if isinstance(v.ref, PostRef) and v.ref.source in contexts}
    ids = [v.ref for v in versions if isinstance(v.ref, int)]
    full.update(store.load_items(ids))
    loaded = load_posts(list(posts), contexts, store, workers, read)
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


def readable(merged: Merged, full: Mapping[object, Item]) -> bool:
    """Whether the winning version of ``merged`` was read (not a placeholder)."""
    best = full.get(merged.best.ref)
    return best is not None and bool(best.link or best.content)


@dataclass(frozen=True)
class _Plan:
    path: str
    spec: FeedSpec
    fmt: str
    picked: list[Article]
    fingerprint: str


def _plans(
    settings: Settings, picks: Mapping[str | None, list[Article]], templates: str, reading: str
) -> tuple[list[FeedSpec], list[_Plan]]:
    """``reading``: what the posts are read with (a change there changes the items, not their entries)."""
    specs = layout.plan(settings, [slug for slug in picks if slug is not None])
    settings_fp = fingerprint(__version__, settings.site, settings.output, settings.categories, settings.websub,
                              reading)  # fmt: skip
    # A page shows its items, links every other page and is drawn by the templates.
    page_fp = fingerprint(settings_fp, templates, settings.sources, *specs)
    plans: list[_Plan] = []
    for spec in specs:
        picked = picks[spec.slug]
        for fmt in (*settings.output.formats, "html"):
            if fmt == "html":
                path, base = layout.page_path(spec), page_fp
            else:
                path, base = spec.path(fmt), settings_fp
            fp = fingerprint(base, spec, fmt, *(f"{a.id}\x1f{a.sig}" for a in picked))
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
    renderer: Renderer | None = None,
    read: Mapping[tuple[str, str], Full] | None = None,
) -> Published:
    """Bring the output folder up to date with the store (see the module docstring).

    ``contexts``: the settings each posts source's files are read with.
    ``renderer``: keeps each item's rendered entries between publishes (the
    daemon passes the same one every time).  ``read``: posts this build's scan read in full already.
    Raises OutputError when the output folder cannot be written.
    """
    if renderer is None:
        renderer = Renderer()
    settings = fix_ids(settings, store)
    renderer.reset_if_changed(settings)
    out_dir = settings.output.dir
    combine = merging.combiner(settings.priorities())
    rules = assemble.judge(settings, store, contexts, workers)
    settled = store.settle(combine, merge_key=merge_key(settings), judge=rules)
    previous = store.output_fingerprints()
    templates = pages.templates_fingerprint(settings)
    state = fingerprint(__version__, settings, store.generation(), templates)
    if (
        store.meta("published") == state
        and now < float(store.meta("next_due") or "inf")
        and previous
        and all(_current(out_dir, p, size) for p, (_, size) in previous.items())
    ):  # nothing changed and nothing became due since the last publish: the files are current
        return Published(unchanged=tuple(previous), items=int(store.meta("items") or 0), settled=settled,
                         files=tuple(previous))  # fmt: skip

    limit = settings.output.limit
    picks: dict[str | None, list[Article]] = {None: store.top(None, now, limit)}
    for slug in store.categories():
        top = store.top(slug, now, limit)
        if top:
            picks[slug] = top
    reading = fingerprint(*sorted(context_fingerprint(ctx) for ctx in contexts.values()))
    specs, plans = _plans(settings, picks, templates, reading)
    stale = [p for p in plans if previous.get(p.path, ("",))[0] != p.fingerprint
             or not _current(out_dir, p.path, previous[p.path][1])]  # fmt: skip
    # Items needed in full: those of stale files that the Renderer has not rendered yet.
    wanted = {aid for aid, _ in renderer.missing({(a.id, a.sig) for p in stale for a in p.picked})}
    by_article = store.versions(wanted)
    merged = {aid: combine(vs)._replace(key=aid) for aid, vs in by_article.items()}
    full = load_versions([v for vs in by_article.values() for v in vs], contexts, store, report, workers, read)
    # The categories are the article's as settled (the rules may have added some).
    arts = {a.id: a for p in stale for a in p.picked}
    language = settings.site.language
    # An article whose winner cannot be read now is left out of this publish: its post changed
    # meanwhile, so its entry changes too and the next publish shows it.
    items = {aid: replace(materialize(m, full, language, settings.site.title), key=arts[aid].shown or aid,
                          categories=arts[aid].categories)
             for aid, m in merged.items() if readable(m, full)}  # fmt: skip
    # The cards now, the entries on the workers while the pages are drawn (they need only the cards).
    entries = renderer.start([((aid, arts[aid].sig), item) for aid, item in items.items() if aid in arts], settings,
                             workers)  # fmt: skip

    del by_article, merged, full  # memory: from here on only the items are needed
    fingerprints: dict[str, tuple[str, int]] = {}
    stale_paths = {p.path for p in stale}

    def rendered() -> Iterator[tuple[str, bytes | None]]:
        """Each file's bytes (None: unchanged), rendered as it is written: memory, a publish of
        every feed held them all at once (~40 MB with 30 categories of 200 items).  The pages first."""
        waiting = [entries]
        for plan in sorted(plans, key=lambda p: p.fmt != "html"):
            if plan.path in stale_paths:
                if plan.fmt == "html":
                    cards = (renderer.card((a.id, a.sig)) for a in plan.picked)
                    data = pages.render_page(plan.spec, [c for c in cards if c is not None], specs, settings,
                                             templates)  # fmt: skip
                else:
                    while waiting:
                        waiting.pop()()
                    data = renderer.feed(plan.spec, [(a.id, a.sig) for a in plan.picked], settings, plan.fmt)
                fingerprints[plan.path] = (plan.fingerprint, len(data))
                yield plan.path, data
            else:
                fingerprints[plan.path] = previous[plan.path]
                yield plan.path, None
        while waiting:
            waiting.pop()()
        data = opml.render_opml(specs, settings)
        fingerprints["feeds.opml"] = (hashlib.sha1(data).hexdigest(), len(data))
        yield "feeds.opml", data

    written, unchanged = _write(out_dir, [*(p.path for p in plans), "feeds.opml"], rendered())
    # published: its id never changes now (those pinned by an earlier publish of this renderer are not
    # written again: cost of the change, not of every item of every file rewritten)
    store.pin(renderer.unpinned((aid, art.shown or aid) for aid, art in arts.items()))
    renderer.pinned((aid, art.shown or aid) for aid, art in arts.items())
    shown = dict.fromkeys((a.id, a.sig) for picked in picks.values() for a in picked)
    renderer.keep(shown)
    pages.keep_drawn([card for card in map(renderer.card, shown) if card is not None])
    removed = _remove_stale(out_dir, [p for p in previous if p not in fingerprints], report)
    if fingerprints != previous:
        store.save_outputs(fingerprints)
    count = store.count_articles(now)
    due = store.next_due(now)
    upcoming = repr(due if due is not None else float("inf"))
    store.set_meta({"published": state, "items": str(count), "next_due": upcoming})
    return Published(tuple(written), tuple(unchanged), tuple(removed), count, settled, tuple(fingerprints))


def _write(
    out_dir: os.PathLike[str], paths: Sequence[str], rendered: Iterable[tuple[str, bytes | None]]
) -> tuple[list[str], list[str]]:
    """Write each of ``rendered`` (the files ``paths``) where its bytes changed.

    Each file goes to a temporary file as it is rendered (memory: never every file at once), and
    all are renamed into place at the end: a reader sees the feeds of one publish together.
    """
    written: list[str] = []
    unchanged: list[str] = []
    staged: list[tuple[str, str]] = []
    try:
        files.sweep_temporaries(out_dir, (os.path.dirname(rel) for rel in paths))
        for rel, data in rendered:
            tmp = files.stage(out_dir / rel, data) if data is not None else None  # type: ignore[operator]
            if tmp is None:
                unchanged.append(rel)
            else:
                staged.append((rel, tmp))
        while staged:
            rel, tmp = staged[0]
            os.replace(tmp, os.path.join(out_dir, rel))
            staged.pop(0)
            written.append(rel)
    except OSError as exc:
        where = exc.filename or out_dir
        raise OutputError(display(where), f"cannot write the output: {exc.strerror or exc}") from None
    finally:
        for _, tmp in staged:  # not renamed (an error): the temporaries go
            with contextlib.suppress(OSError):
                os.unlink(tmp)
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
