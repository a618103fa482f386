"""Merged articles, indexed by date and by category; outputs; small values (both backends).

A change to an entry marks its article dirty; :meth:`ArticleTables.settle`
merges only the dirty articles again.  A feed's newest items are then one
index range read (``article_cats_ts`` / ``articles_ts``), whatever the number
of articles stored.

A settle holds the articles lock exclusively (the changes that mark articles
dirty hold it shared), so it sees every committed change and no change is lost
between reading the dirty set and clearing it, whichever node settles.  On
PostgreSQL, outputs and the publish values (``published``, ``items``,
``next_due``) are this node's: every node writes its own output folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from feeds.core.models import Entry
from feeds.store.dialect import LOCK_ARTICLES, Tables, Tx
from feeds.store.records import Article, Combine, Judge
from feeds.store.schema import SEP
from feeds.store.settling import entry_of, settled_rows

_ENTRY = "SELECT article, key, ts, off, cats, origin, source, ref, stamp FROM entries"
COUNT_KEY = "article_count"  # meta: how many articles there are, kept by settle
ARTICLE_BYTES = 400  # what settling one article writes (SQLite: 390 B of WAL each, measured on 100k)
# The indexes of the articles by date (as schema 5 makes them), rebuilt after a first settle.
BULK_INDEXES = {
    "articles_ts": "CREATE INDEX articles_ts ON articles (ts DESC, article)",
    "article_cats_ts": "CREATE INDEX article_cats_ts ON article_cats (slug, ts DESC, article)",
}


def _chunked_groups(rows: Iterable[Sequence[Any]], size: int = 2000) -> Iterator[dict[str, list[Sequence[Any]]]]:
    """Rows ordered by article (their first column) as {article: rows}, ``size`` articles at a time."""
    groups: dict[str, list[Sequence[Any]]] = {}
    for row in rows:
        bucket = groups.get(row[0])
        if bucket is None:
            if len(groups) >= size:
                yield groups
                groups = {}
            groups[row[0]] = bucket = []
        bucket.append(row)
    if groups:
        yield groups


class ArticleTables(Tables):
    def settle(self, combine: Combine, *, merge_key: str | None = None, judge: Judge | None = None) -> int:
        """Merge every dirty article again from its entries; returns how many were.

        ``merge_key``: a fingerprint of the merge settings (priorities, rules);
        when it differs from the last one, every article is merged again.
        ``judge``: the rules, given merged articles (their ``key`` is the
        article id), answering each one's categories, or None: dropped (it is
        then absent from the articles, and its entries stay stored).  In a
        cluster only the leader settles (then tells the others); a follower's
        settle does nothing.  More dirty articles than one transaction may
        write (:attr:`~.dialect.Dialect.write_budget`) are settled in parts,
        one transaction each: an article is dirty until the part that merges it
        commits, so a crash between parts leaves the rest for the next settle.
        """
        if not self.may_settle():
            return 0
        with self.read() as tx:  # nothing to do: no write (nor the write lock's wait)
            same = merge_key is None or tx.one("SELECT value FROM meta WHERE key = 'merge'") == (merge_key,)
            if same and not tx.one("SELECT EXISTS (SELECT 1 FROM dirty)")[0]:
                return 0
        budget = self.dialect.write_budget
        part = None if budget is None else budget // ARTICLE_BYTES
        settled = 0
        while True:
            with self.write(urgent=True) as tx:
                self.lock(tx, LOCK_ARTICLES)
                if merge_key is not None and not settled:
                    _merge_again(tx, merge_key)
                limit = "" if part is None else f" LIMIT {part}"
                dirty = [row[0] for row in tx.execute(f"SELECT article FROM dirty{limit}")]
                last = part is None or len(dirty) < part
                if dirty:
                    _count(tx, _settle(tx, dirty, combine, judge, alone=last and not settled))
                    tx.run_in("DELETE FROM dirty WHERE article IN (?...)", dirty)
                if last and (dirty or settled):
                    tx.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT)"
                               " WHERE key = 'generation'")  # fmt: skip
                    self.notify(tx, "settled")
            settled += len(dirty)
            if last:
                return settled

    def generation(self) -> int:
        """Goes up whenever :meth:`settle` changed any article."""
        return int(self.meta("generation") or 0)

    def categories(self) -> list[str]:
        """Every category any article carries, sorted (a skip-scan: one index probe per category)."""
        rows = self.rows(
            "WITH RECURSIVE s(slug) AS (SELECT min(slug) FROM article_cats UNION ALL"
            " SELECT (SELECT min(slug) FROM article_cats WHERE slug > s.slug) FROM s WHERE s.slug IS NOT NULL)"
            " SELECT slug FROM s WHERE slug IS NOT NULL"
        )
        return [row[0] for row in rows]

    def top(self, category: str | None, now: float, limit: int) -> list[Article]:
        """The newest ``limit`` articles dated up to ``now`` (of ``category``, or of all): newest first."""
        if category is None:
            rows = self.rows(
                "SELECT article, ts, off, cats, sig, shown FROM articles WHERE ts <= ? ORDER BY ts DESC, article"
                " LIMIT ?",
                (now, limit),
            )
        else:
            rows = self.rows(
                "SELECT a.article, a.ts, a.off, a.cats, a.sig, a.shown FROM article_cats c"
                " JOIN articles a ON a.article = c.article"
                " WHERE c.slug = ? AND c.ts <= ? ORDER BY c.ts DESC, c.article LIMIT ?",
                (category, now, limit),
            )
        return [Article(r[0], r[1], r[2], tuple(r[3].split(SEP)) if r[3] else (), r[4], r[5] or r[0]) for r in rows]

    def versions(self, articles: Iterable[str]) -> dict[str, list[Entry]]:
        """Every version (entry) of each of ``articles``."""
        out: dict[str, list[Entry]] = {}
        with self.read() as tx:
            for row in tx.select_in(f"{_ENTRY} WHERE article IN (?...)", list(dict.fromkeys(articles))):
                out.setdefault(row[0], []).append(entry_of(row))
        return out

    def pin(self, articles: Iterable[tuple[str, str]]) -> None:
        """The ids these articles (article, shown) were published with: kept forever (a published id
        never changes, whatever versions arrive later)."""
        rows = sorted(set(articles))
        if rows:
            with self.write(urgent=True) as tx:
                tx.insert("pinned", ("article", "shown"), rows, ignore=True)

    def next_due(self, now: float) -> float | None:
        """The date of the next article dated after ``now``."""
        value = self.rows("SELECT min(ts) FROM articles WHERE ts > ?", (now,))[0][0]
        return None if value is None else float(value)

    def count_articles(self, now: float) -> int:
        """How many articles are dated up to ``now``: the count :meth:`settle` keeps, less the few dated
        later (a range of the date index; a count of every article was read at every publish)."""
        with self.read() as tx:
            held = tx.one(f"SELECT value FROM meta WHERE key = '{COUNT_KEY}'")
            if held is None:  # never settled since the count is kept
                return int(tx.one("SELECT count(*) FROM articles WHERE ts <= ?", (now,))[0])
            return int(held[0]) - int(tx.one("SELECT count(*) FROM articles WHERE ts > ?", (now,))[0])

    # ------------------------------------------------------------ outputs and small values

    def output_fingerprints(self) -> dict[str, tuple[str, int]]:
        where, mine = ("", ()) if self.node is None else (" WHERE node = ?", (self.node,))
        rows = self.rows(f"SELECT path, fingerprint, size FROM outputs{where}", mine)
        return {r[0]: (r[1], int(r[2])) for r in rows}

    def save_outputs(self, fingerprints: Mapping[str, tuple[str, int]]) -> None:
        rows = [(path, fp, size) for path, (fp, size) in fingerprints.items()]
        with self.write(urgent=True) as tx:
            if self.node is None:
                tx.execute("DELETE FROM outputs")
                tx.insert("outputs", ("path", "fingerprint", "size"), rows)
            else:  # this node's
                tx.execute("DELETE FROM outputs WHERE node = ?", (self.node,))
                tx.insert("outputs", ("node", "path", "fingerprint", "size"), [(self.node, *r) for r in rows])

    def meta(self, key: str) -> str | None:
        if key in self.node_keys:
            rows = self.rows("SELECT value FROM node_meta WHERE node = ? AND key = ?", (self.node, key))
        else:
            rows = self.rows("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, values: Mapping[str, str]) -> None:
        shared = [(k, v) for k, v in values.items() if k not in self.node_keys]
        mine = [(self.node, k, v) for k, v in values.items() if k in self.node_keys]
        with self.write(urgent=True) as tx:
            tx.insert("meta", ("key", "value"), shared, key=("key",))
            tx.insert("node_meta", ("node", "key", "value"), mine, key=("node", "key"))


def _merge_again(tx: Tx, merge_key: str) -> None:
    """A new fingerprint of the merge settings: every article is dirty (when there are any)."""
    held = tx.one("SELECT value FROM meta WHERE key = 'merge'")
    if held is None or held[0] != merge_key:
        if tx.one("SELECT EXISTS (SELECT 1 FROM articles)")[0]:
            tx.execute("INSERT INTO dirty (article) SELECT DISTINCT article FROM entries WHERE true"
                       " ON CONFLICT DO NOTHING")  # fmt: skip
        tx.insert("meta", ("key", "value"), [("merge", merge_key)], key=("key",))


def _count(tx: Tx, delta: int) -> None:
    """The count of articles kept in ``meta`` moved by ``delta`` (counted once, in full, where none is)."""
    if tx.one(f"SELECT 1 FROM meta WHERE key = '{COUNT_KEY}'") is None:
        count = tx.one("SELECT count(*) FROM articles")[0]
        tx.insert("meta", ("key", "value"), [(COUNT_KEY, str(count))], key=("key",))
    elif delta:
        tx.execute(f"UPDATE meta SET value = CAST(CAST(value AS BIGINT) + ? AS TEXT) WHERE key = '{COUNT_KEY}'",
                   (delta,))  # fmt: skip


def _settle(tx: Tx, dirty: Sequence[str], combine: Combine, judge: Judge | None, *, alone: bool) -> int:
    """Merge the ``dirty`` articles again from their entries (``alone``: they are all there are);
    returns how many more articles there are."""
    if alone and not tx.one("SELECT EXISTS (SELECT 1 FROM articles)")[0]:
        # No article yet (a first build): every entry is merged, read in one ordered scan.
        # Speed: one query instead of one per 500 articles, and nothing to delete
        # (the 100k-post cold build spent 2-3 s in those queries); SQLite's date indexes
        # are built once at the end, from sorted rows, instead of row by row
        # (100k articles: 1.5 s -> 0.66 s of inserting).
        pinned = dict(tx.all("SELECT article, shown FROM pinned"))  # (none, unless every article had gone)
        added = 0
        with tx.bulk(BULK_INDEXES):
            for groups in _chunked_groups(tx.execute(f"{_ENTRY} ORDER BY article")):
                added += _settle_groups(tx, groups, combine, judge, pinned)
        return added
    delta = 0
    for cond, chunk in tx.each_in(dirty):
        groups: dict[str, list[Sequence[Any]]] = {}
        for row in tx.execute(f"{_ENTRY} WHERE article {cond}", chunk):
            groups.setdefault(row[0], []).append(row)
        pinned = dict(tx.execute(f"SELECT article, shown FROM pinned WHERE article {cond}", chunk).fetchall())
        delta -= tx.execute(f"DELETE FROM articles WHERE article {cond}", chunk).rowcount
        tx.execute(f"DELETE FROM article_cats WHERE article {cond}", chunk)
        delta += _settle_groups(tx, groups, combine, judge, pinned)
    return delta


def _settle_groups(
    tx: Tx, groups: dict[str, list[Sequence[Any]]], combine: Combine, judge: Judge | None,
    pinned: Mapping[str, str] | None = None,
) -> int:  # fmt: skip
    """Merge each article's entry rows (``groups``) and store the articles and their categories;
    returns how many articles were stored (a rule's dropped ones are not)."""
    articles, cats = settled_rows(groups, combine, judge, pinned)
    tx.insert("articles", ("article", "ts", "off", "cats", "sig", "shown"), articles)
    tx.insert("article_cats", ("slug", "article", "ts"), cats, ignore=True)
    return len(articles)
