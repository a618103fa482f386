"""The post cache (one index row per post file), posts read in full, and posts' entries (both backends)."""

from __future__ import annotations

import marshal
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext, suppress
from typing import Any

from feeds.core.models import PostIndex
from feeds.store import schema
from feeds.store.dialect import LOCK_ARTICLES, Tables, Tx
from feeds.store.neardup import SKETCH_BYTES, assign
from feeds.store.records import NearDup
from feeds.store.schema import SEP
from feeds.store.sources import ENTRY_COLUMNS

BULK_ROWS = 10_000  # entries written at once from which the bulk ways pay
ENTRY_BYTES = 600  # what writing one post's entry puts in a transaction (SQLite: 530 B of WAL, measured)
# The indexes of the entries besides their key (as schemas 5 and 8 make them).
_ENTRY_INDEXES = {
    "entries_article": "CREATE INDEX entries_article ON entries (article)",
    "entries_ts": "CREATE INDEX entries_ts ON entries (ts)",
}


class PostTables(Tables):
    def post_cache(self, source: str, context: str) -> dict[str, PostIndex]:
        """The cached index rows of a posts source, by path (empty if its settings changed).

        The rows of a source are kept as one marshalled blob (loading 100k of
        them is one read, not 100k row fetches) plus the rows changed since
        the blob was written.
        """
        with self.read() as tx:
            row = tx.one("SELECT context, data FROM post_cache WHERE source = ?", (source,))
            if row is None or row[0] != context:
                return {}
            delta = tx.all("SELECT path, data FROM post_delta WHERE source = ?", (source,))
        try:
            make = tuple.__new__
            rows = {r[0]: make(PostIndex, r) for r in marshal.loads(bytes(row[1]))}
            for path, data in delta:
                if data is None:
                    rows.pop(path, None)
                else:
                    rows[path] = make(PostIndex, marshal.loads(bytes(data)))
        except (EOFError, ValueError, TypeError):
            return {}  # damaged: read every post again
        return rows

    def has_post_cache(self, source: str, context: str) -> bool:
        """Whether :meth:`post_cache` has rows for ``source`` made with these settings (cheap)."""
        with self.read() as tx:
            row = tx.one("SELECT context = ? FROM post_cache WHERE source = ?", (context, source))
            entries = tx.one("SELECT value FROM meta WHERE key = ?", (f"entries:{source}",))
        return bool(row and row[0]) and entries is not None and entries[0] == context

    def save_posts(
        self,
        source: str,
        context: str,
        rows: Sequence[PostIndex],
        *,
        changed: Sequence[PostIndex] | None = None,
        removed: Sequence[str] = (),
        sketches: Mapping[str, bytes] | None = None,
        near: NearDup | None = None,
    ) -> None:
        """Record the posts of a source: ``rows`` are all of them now.

        ``sketches`` (by key, of some new or changed posts) are matched against
        other sources' versions (``near``) to pick their article.

        ``changed`` and ``removed`` (new or changed rows, paths gone) are the
        difference from what :meth:`post_cache` gave; with them only that is
        written, until the differences held add up to :data:`DELTA_LIMIT` (or
        a tenth of the rows) and the blob is written anew.  Without them (the
        cache was empty or its settings changed) the blob is written anew.
        """
        budget = self.dialect.write_budget
        if changed is None and budget is not None and _cost(rows, sketches) > budget:
            self._save_posts_in_parts(source, context, rows, sketches, near, budget)
            return
        with self.write() as tx:
            self.lock(tx, LOCK_ARTICLES, shared=True)  # marks articles dirty: not while a settle runs
            held = tx.one("SELECT value FROM meta WHERE key = ?", (f"entries:{source}",))
            whole = changed is None or held is None or held[0] != context
            dated = [(r.key, r.timestamp) for r in (rows if whole or changed is None else changed) if r.status == "ok"]
            articles = assign(self, tx, source, dated, sketches, near)
            if whole:
                _replace_entries(tx, source, rows, articles)
                tx.insert("meta", ("key", "value"), [(f"entries:{source}", context)], key=("key",))
            else:
                assert changed is not None
                _update_entries(tx, source, changed, removed, articles)
            self.notify(tx, "changed")
            if changed is not None:
                count = tx.one("SELECT count(*) FROM post_delta WHERE source = ?", (source,))[0]
                if count + len(changed) + len(removed) <= max(schema.DELTA_LIMIT, len(rows) // 10):
                    tx.insert(
                        "post_delta", ("source", "path", "data"),
                        [(source, r.path, marshal.dumps(tuple(r))) for r in changed]
                        + [(source, path, None) for path in removed],
                        key=("source", "path"),
                    )  # fmt: skip
                    return
            data = marshal.dumps([tuple(r) for r in rows])
            tx.execute("DELETE FROM post_delta WHERE source = ?", (source,))
            tx.insert("post_cache", ("source", "context", "data"), [(source, context, data)], key=("source",))

    def _save_posts_in_parts(
        self, source: str, context: str, rows: Sequence[PostIndex], sketches: Mapping[str, bytes] | None,
        near: NearDup | None, budget: int,
    ) -> None:  # fmt: skip
        """:meth:`save_posts` of every post of a source, more than one transaction may write: in parts.

        The source's mark (``entries:<source>`` in meta) goes first and comes back with the
        last part, with the post cache: a crash between parts leaves a source whose posts
        are all read again (:meth:`has_post_cache` is False).  Each part writes its posts'
        entries anew (as a change of those posts: readers meanwhile see each post's old or
        new entry, never none); the last one drops the entries of posts that are gone.
        """
        with self.write() as tx:
            self.lock(tx, LOCK_ARTICLES, shared=True)
            tx.execute("DELETE FROM meta WHERE key = ?", (f"entries:{source}",))
            tx.execute("DELETE FROM rendered WHERE source = ?", (source,))
            held = {r[0] for r in tx.execute("SELECT ref FROM entries WHERE source = ?", (source,))}
        sketched: set[str] = set()  # a key's first row stores its sketch (as in one transaction)
        start = 0
        while start < len(rows):
            end, cost = start, 0
            while end < len(rows) and (end == start or cost < budget):
                cost += _cost(rows[end : end + 1], sketches)
                end += 1
            part = rows[start:end]
            mine = {r.key: sketches[r.key] for r in part if sketches and r.key in sketches and r.key not in sketched}
            sketched.update(mine)
            with self.write() as tx:
                self.lock(tx, LOCK_ARTICLES, shared=True)
                articles = assign(self, tx, source, [(r.key, r.timestamp) for r in part if r.status == "ok"],
                                  mine, near)  # fmt: skip
                _update_entries(tx, source, part, (), articles)
                self.notify(tx, "changed")
            start = end
        with self.write() as tx:
            self.lock(tx, LOCK_ARTICLES, shared=True)
            _update_entries(tx, source, (), sorted(held - {r.path for r in rows}), {})
            tx.insert("meta", ("key", "value"), [(f"entries:{source}", context)], key=("key",))
            tx.execute("DELETE FROM post_delta WHERE source = ?", (source,))
            tx.insert("post_cache", ("source", "context", "data"),
                      [(source, context, marshal.dumps([tuple(r) for r in rows]))], key=("source",))  # fmt: skip
            self.notify(tx, "changed")

    # ------------------------------------------------------------ rendered posts

    def rendered(self, wanted: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], tuple[Any, ...]]:
        """The stored full reads of the posts ``wanted`` ((source, path) -> stamp) whose stamp matches."""
        paths = list(dict.fromkeys(path for _, path in wanted))
        found: dict[tuple[str, str], tuple[Any, ...]] = {}
        with self.read() as tx:
            rows = list(tx.select_in("SELECT source, path, stamp, data FROM rendered WHERE path IN (?...)", paths))
        for source, path, held, data in rows:
            if wanted.get((source, path)) == held:
                with suppress(EOFError, ValueError, TypeError):  # damaged: read the post again
                    found[(source, path)] = marshal.loads(bytes(data))
        return found

    def save_rendered(self, rows: Sequence[tuple[str, str, str, tuple[Any, ...]]]) -> None:
        """Store full reads ((source, path, stamp, value)).  A post's read is dropped with its entry."""
        with self.write(urgent=True) as tx:
            tx.insert("rendered", ("source", "path", "stamp", "data"),
                      [(source, path, mark, marshal.dumps(value)) for source, path, mark, value in rows],
                      key=("source", "path"))  # fmt: skip

    def post_counts(self) -> dict[str, int]:
        """Published posts (dated now or later) held, per posts source."""
        return dict(self.rows("SELECT source, count(*) FROM entries WHERE substr(ref, 1, 1) = '/' GROUP BY source"))


def _cost(rows: Sequence[PostIndex], sketches: Mapping[str, bytes] | None) -> int:
    """What writing ``rows`` puts in a transaction (bytes, estimated)."""
    sketched = sum(1 for r in rows if r.key in sketches) if sketches else 0
    return len(rows) * ENTRY_BYTES + sketched * SKETCH_BYTES


def _entry_rows(source: str, rows: Iterable[PostIndex], articles: Mapping[str, str]) -> list[tuple[object, ...]]:
    get = articles.get
    return [
        (source, r.path, r.key, get(r.key, r.key), r.timestamp, r.utcoffset, SEP.join(r.categories), r.path,
         f"{r.size}:{r.mtime_ns}")
        for r in rows
        if r.status == "ok"
    ]  # fmt: skip


def _replace_entries(tx: Tx, source: str, rows: Sequence[PostIndex], articles: Mapping[str, str]) -> None:
    """Every entry of a posts source anew: the articles they were and are in are dirty."""
    tx.execute("INSERT INTO dirty (article) SELECT article FROM entries WHERE source = ? ON CONFLICT DO NOTHING",
               (source,))  # fmt: skip
    tx.execute("DELETE FROM entries WHERE source = ?", (source,))
    tx.execute("DELETE FROM rendered WHERE source = ?", (source,))
    entries = _entry_rows(source, rows, articles)
    bulk = len(entries) >= BULK_ROWS  # a first scan of a big folder: a bigger cache, and the
    alone = bulk and tx.one("SELECT 1 FROM entries LIMIT 1") is None  # indexes built once
    with tx.bulk(_ENTRY_INDEXES if alone else {}) if bulk else nullcontext():
        _insert_entries(tx, entries)


def _update_entries(
    tx: Tx, source: str, changed: Sequence[PostIndex], removed: Sequence[str], articles: Mapping[str, str]
) -> None:
    paths = [r.path for r in changed] + list(removed)
    tx.run_in("INSERT INTO dirty (article) SELECT article FROM entries WHERE source = ? AND ref IN (?...)"
              " ON CONFLICT DO NOTHING", paths, (source,))  # fmt: skip
    tx.run_in("DELETE FROM entries WHERE source = ? AND ref IN (?...)", paths, (source,))
    tx.run_in("DELETE FROM rendered WHERE source = ? AND path IN (?...)", list(removed), (source,))
    _insert_entries(tx, _entry_rows(source, changed, articles))


def _insert_entries(tx: Tx, entries: Sequence[Sequence[object]]) -> None:
    """Entries written anew, and their articles dirty."""
    tx.insert("entries", ENTRY_COLUMNS, entries, key=("source", "ref"))
    tx.insert("dirty", ("article",), [(e[3],) for e in entries], ignore=True)
