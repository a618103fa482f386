"""A posts folder: find the post files and read them, on all cores.

:func:`discover` lists the post files of a folder, :func:`index_posts` reads
them into index rows, :func:`load_many` reads them in full; one file -> record
is :mod:`feeds.sources.postfile`.  Which files need reading (new and changed
since the last scan) is decided by :mod:`feeds.ingest.scan`, which keeps the
index in the store.
"""

from __future__ import annotations

import os
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from feeds import __version__
from feeds.config import Settings
from feeds.core.errors import display
from feeds.core.identity import fingerprint
from feeds.core.models import PostIndex, PostRecord, Source
from feeds.core.neardup import html_sketch
from feeds.runtime.workers import Workers
from feeds.sources.postfile import DEFAULT_STRIP_LINES, SUFFIXES, PostContext, load_full, read_post, read_post_full


def discover(root: Path, problems: list[str] | None = None) -> list[str]:
    """Every post file below ``root``, sorted by path.

    Hidden files and folders (``.x``), ``_x`` folders and files, editor backups
    (``x~``, ``#x#``) and files of other types are passed over, as Jekyll does.
    No file is opened or stat'ed here: the readers do that, on all cores.  A
    folder below ``root`` that cannot be read is one line in ``problems``
    (``folder: reason``); a post file that cannot be read is listed, and its
    reader reports why.
    """
    if problems is None:
        problems = []
    found: list[str] = []
    stack = [str(root)]
    try:
        top = os.stat(root)
    except OSError:
        return found
    seen = {(top.st_dev, top.st_ino)}  # every folder once, even through symlinks (and their loops)
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError as exc:
            problems.append(f"{display(folder)}: folder cannot be read: {exc.strerror or exc}; its posts are left out")
            continue
        with entries:
            while True:
                try:
                    entry = next(entries)
                except StopIteration:
                    break
                except OSError as exc:
                    problems.append(f"{display(folder)}: folder cannot be read to the end: {exc.strerror or exc}")
                    break
                name = entry.name
                if name[0] in ".#_" or name[-1] == "~":
                    continue
                is_post = "." + name.rpartition(".")[2].lower() in SUFFIXES
                if not name.isprintable() and _undecodable(name):
                    problems.append(f"{display(entry.path)}: the name is not valid UTF-8: not read (rename it)")
                    continue
                try:
                    if entry.is_dir():
                        info = entry.stat()
                        if (info.st_dev, info.st_ino) not in seen:
                            seen.add((info.st_dev, info.st_ino))
                            stack.append(entry.path)
                    elif is_post:
                        found.append(entry.path)  # (a broken or looping symlink too: its reader says why)
                except OSError as exc:
                    if is_post:
                        found.append(entry.path)
                    else:
                        problems.append(f"{display(entry.path)}: cannot be read: {exc.strerror or exc}")
    found.sort()
    return found


def may_hold_posts(root: str, path: str) -> bool:
    """Whether a change at ``path`` (in the posts folder ``root``) can change what a scan finds: not
    in a name the scan skips (``.feeds/state.db`` of a config kept in the posts folder, an editor's
    ``#x#`` or ``x~``), and a post file or a folder (or gone: it may have been one)."""
    rel = os.path.relpath(path, root)
    if rel == ".":
        return True
    if rel.startswith(".." + os.sep) or any(part[:1] in (".", "#", "_") or part.endswith("~")
                                            for part in rel.split(os.sep)):  # fmt: skip
        return False
    return "." + path.rpartition(".")[2].lower() in SUFFIXES or not os.path.isfile(path)


def _undecodable(name: str) -> bool:
    """A name with bytes that are not UTF-8 (os gives them as lone surrogates)."""
    try:
        name.encode()
    except UnicodeEncodeError:
        return True
    return False


Full = tuple[PostRecord, str, str]  # a post read in full (load_full)


class _IndexChunk:
    """Picklable ``paths -> (index rows, sketches by key, full reads)`` for the worker processes.

    A post dated on one of ``days`` is also sketched (near-duplicates: see :mod:`feeds.ingest.sketching`).
    With ``full``, every ``ok`` post is read in full from the same bytes (a small site shows them all:
    one read instead of two), by path.
    """

    def __init__(self, ctx: PostContext, days: frozenset[int] = frozenset(), full: bool = False) -> None:
        self.ctx = ctx
        self.days = days
        self.full = full

    def __call__(self, paths: list[str]) -> tuple[list[PostIndex], dict[str, bytes], dict[str, Full]]:
        out = []
        sketches: dict[str, bytes] = {}
        fulls: dict[str, Full] = {}
        for path in paths:
            whole: Full | None = None
            if self.full:
                record, whole = read_post_full(path, self.ctx)
                if whole is not None:
                    fulls[path] = whole
            else:
                record = read_post(path, self.ctx)
            row = record.index()
            # One string object per category name: the rows of a chunk share them.
            out.append(row._replace(categories=tuple(sys.intern(c) for c in row.categories)))
            if self.days and row.status == "ok" and int(row.timestamp // 86400) in self.days:
                record, html, _ = whole or load_full(path, self.ctx)
                if record.status == "ok":
                    sketches[record.key] = html_sketch(record.title, html)
        return out, sketches, fulls


def index_posts(
    paths: Sequence[str],
    ctx: PostContext,
    *,
    workers: Workers | None = None,
    progress: Callable[[int], None] | None = None,
    days: frozenset[int] = frozenset(),
    sketches: dict[str, bytes] | None = None,
    full: dict[str, Full] | None = None,
) -> Iterator[PostIndex]:
    """Read many posts into index rows, on all cores when there are enough; in input order.

    Posts dated on one of ``days`` are sketched too, into ``sketches`` (by key).  With ``full`` (a
    dict), every ``ok`` post is also read in full into it, by path (:func:`load_full`'s result).
    """
    pool = workers or Workers(1)
    reader = _IndexChunk(ctx, days, full is not None)
    # A full read costs ~5 times an index row: worth the workers from as few posts as load_many.
    many, chunk = (200, 100) if full is not None else (2000, 2000)
    for rows, sketched, fulls in pool.map_chunks(reader, paths, min_parallel=many, chunk=chunk):
        if sketches is not None:
            sketches.update(sketched)
        if full is not None:
            full.update(fulls)
        yield from rows
        if progress:
            progress(len(rows))


def _stat_chunk(paths: list[str]) -> array[int]:
    out = array("q")
    stat = os.stat
    for path in paths:
        try:
            st = stat(path)
        except OSError:
            out.extend((-1, -1))  # vanished since it was listed
        else:
            out.extend((st.st_size, st.st_mtime_ns))
    return out


def stat_many(paths: Sequence[str], *, workers: Workers | None = None) -> Callable[[], Iterator[tuple[int, int]]]:
    """Start reading (size, mtime_ns) of every path, on all cores; call the result to get them, in order.

    A file that is gone gives ``(-1, -1)``.  The work starts at once, so the
    caller can load its cache meanwhile.
    """
    pool = workers or Workers(1)
    chunks = pool.map_chunks(_stat_chunk, paths, min_parallel=5000, chunk=10000)

    def results() -> Iterator[tuple[int, int]]:
        for values in chunks:
            it = iter(values)
            yield from zip(it, it, strict=True)

    return results


class _FullChunk:
    def __init__(self, contexts: Mapping[str, PostContext]) -> None:
        self.contexts = contexts

    def __call__(self, rows: list[PostIndex]) -> list[tuple[PostRecord, str, str]]:
        return [load_full(row.path, self.contexts[row.source]) for row in rows]


def load_many(
    rows: Sequence[PostIndex], contexts: Mapping[str, PostContext], *, workers: Workers | None = None
) -> list[tuple[PostRecord, str, str]]:
    """:func:`load_full` for many posts (``contexts`` by source name), on all cores when worth it."""
    pool = workers or Workers(1)
    chunks = pool.map_chunks(_FullChunk(contexts), rows, min_parallel=200, chunk=100)
    return [result for chunk in chunks for result in chunk]


def context_fingerprint(ctx: PostContext) -> str:
    """Changes whenever what a post is read into may change: the settings it is read with, feeds' version."""
    return fingerprint(__version__, ctx)


def post_context(settings: Settings, source: Source) -> PostContext:
    return PostContext(
        site_url=settings.site.url,
        timezone=settings.site.timezone,
        permalink=settings.site.permalink,
        patterns=settings.identity_patterns,
        source=source.name,
        max_bytes=source.max_bytes,
        trusted_html=source.trusted_html,
        strip_lines=DEFAULT_STRIP_LINES if source.strip_lines is None else source.strip_lines,
        id_base=settings.site.id_base,
    )


@dataclass
class PostScan:
    """Every post of the scanned posts sources (index rows), and what was read anew."""

    results: list[PostIndex] = field(default_factory=list)
    contexts: dict[str, PostContext] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # source -> why its folder cannot be read
    unreadable: list[str] = field(default_factory=list)  # folders below a posts folder that cannot be read
    fresh: list[PostIndex] = field(default_factory=list)  # rows read this time (the rest came from the cache)
    full: dict[tuple[str, str], Full] = field(default_factory=dict)  # (source, path) -> read in full this time
    removed: int = 0  # files gone since the last scan

    @property
    def read(self) -> int:
        return len(self.fresh)

    @property
    def changed(self) -> bool:
        return bool(self.fresh or self.removed)

    @property
    def errors(self) -> list[PostIndex]:
        return [r for r in self.results if r.status == "error"]

    def problems(self, rows: Iterable[PostIndex] | None = None) -> list[str]:
        """One line per problem: the missing folders, then each bad post (of ``rows``, default all);
        a post read with a warning says ``warning:`` (``feeds build`` and ``feeds check`` print these)."""
        lines = list(self.missing.values()) + list(self.unreadable)
        for row in self.results if rows is None else rows:
            if row.status == "error":
                lines.append(f"{display(row.path)}: {row.message}")
            elif row.message:
                lines.append(f"{display(row.path)}: warning: {row.message}")
        return lines

    def log_lines(self, rows: Iterable[PostIndex] | None = None) -> list[str]:
        """:meth:`problems` as the daemon logs them, at level WARNING: a post read with a warning does
        not say ``warning:`` again (``WARNING posts/a.md: warning: …`` said it twice)."""
        lines = list(self.missing.values()) + list(self.unreadable)
        lines += [f"{display(r.path)}: {r.message}" for r in (self.results if rows is None else rows)
                  if r.status == "error" or r.message]  # fmt: skip
        return lines


def posts_sources(settings: Settings) -> list[Source]:
    return [s for s in settings.sources if not s.remote and s.path is not None]


def scanned_here(settings: Settings) -> list[Source]:
    """The posts sources this node scans: those without ``nodes``, and those that name it.
    (Every node publishes every source's posts, from the store.)"""
    return [s for s in posts_sources(settings) if not s.nodes or settings.node in s.nodes]


def folder_problem(source: Source) -> str | None:
    """Why a posts folder cannot be scanned, or None.  Missing is an error, never "no posts"."""
    assert source.path is not None
    try:
        with os.scandir(source.path):
            pass
    except FileNotFoundError:
        reason = "does not exist"
    except NotADirectoryError:
        reason = "is not a folder"
    except OSError as exc:
        reason = f"cannot be read: {exc.strerror or exc}"
    else:
        return None
    return (
        f"{display(source.path)}: posts folder of source {source.name!r} {reason};"
        " its posts' last known items are kept"
    )
