"""SQLite: merged articles, indexed by date and by category; outputs; small values.

A change to an entry marks its article dirty; :meth:`ArticleTables.settle`
merges only the dirty articles again.  A feed's newest items are then one
index range read (``article_cats_ts`` / ``articles_ts``), whatever the number
of articles stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping

from feeds.core.models import Entry
from feeds.store import Article, Combine, Judge
from feeds.store.db import Database, rebuilt, roomy
from feeds.store.schema import SEP
from feeds.store.settling import entry_of, settled_rows

_ENTRY = "SELECT article, key, ts, off, cats, origin, source, ref, stamp FROM entries"
# The indexes of the articles by date (as schema 5 makes them), rebuilt after a first settle.
BULK_INDEXES = {
    "articles_ts": "CREATE INDEX articles_ts ON articles (ts DESC, article)",
    "article_cats_ts": "CREATE INDEX article_cats_ts ON article_cats (slug, ts DESC, article)",
}


def _chunked_groups(rows: Iterable[tuple], size: int = 2000) -> Iterator[dict[str, list[tuple]]]:
    """Rows ordered by article (their first column) as {article: rows}, ``size`` articles at a time."""
    groups: dict[str, list[tuple]] = {}
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


class ArticleTables(Database):
    def settle(self, combine: Combine, *, merge_key: str | None = None, judge: Judge | None = None) -> int:
        """Merge every dirty article again from its entries; returns how many were.

        ``merge_key``: a fingerprint of the merge settings (priorities, rules);
        when it differs from the last one, every article is merged again.
        ``judge``: the rules, given merged articles (their ``key`` is the
        article id), answering each one's categories, or None: dropped (it is
        then absent from the articles, and its entries stay stored).
        """
        with self.write(urgent=True) as db:
            if merge_key is not None:
                held = db.execute("SELECT value FROM meta WHERE key = 'merge'").fetchone()
                if held is None or held[0] != merge_key:
                    if db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is not None:
                        db.execute("INSERT OR IGNORE INTO dirty (article) SELECT DISTINCT article FROM entries")
                    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('merge', ?)", (merge_key,))
            dirty = [row[0] for row in db.execute("SELECT article FROM dirty")]
            if not dirty:
                return 0
            if db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None:
                # No article yet (a first build): every entry is merged, read in one ordered scan.
                # Speed: one query instead of one per 500 articles, and nothing to delete
                # (the 100k-post cold build spent 2-3 s in those queries); the date indexes
                # are built once at the end, from sorted rows, instead of row by row
                # (100k articles: 1.5 s -> 0.66 s of inserting).
                with roomy(db), rebuilt(db, BULK_INDEXES):
                    for groups in _chunked_groups(db.execute(f"{_ENTRY} ORDER BY article")):
                        self._settle_groups(db, groups, combine, judge)
            else:
                for start in range(0, len(dirty), 500):
                    chunk = dirty[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    groups: dict[str, list[tuple]] = {}
                    for row in db.execute(f"{_ENTRY} WHERE article IN ({marks})", chunk):
                        groups.setdefault(row[0], []).append(row)
                    db.execute(f"DELETE FROM articles WHERE article IN ({marks})", chunk)
                    db.execute(f"DELETE FROM article_cats WHERE article IN ({marks})", chunk)
                    self._settle_groups(db, groups, combine, judge)
            db.execute("DELETE FROM dirty")
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
        return len(dirty)

    @staticmethod
    def _settle_groups(
        db: sqlite3.Connection, groups: dict[str, list[tuple]], combine: Combine, judge: Judge | None
    ) -> None:
        """Merge each article's entry rows (``groups``) and store the articles and their categories."""
        articles, cats = settled_rows(groups, combine, judge)
        db.executemany("INSERT INTO articles (article, ts, off, cats, sig) VALUES (?, ?, ?, ?, ?)", articles)
        db.executemany("INSERT OR IGNORE INTO article_cats (slug, article, ts) VALUES (?, ?, ?)", cats)

    def generation(self) -> int:
        """Goes up whenever :meth:`settle` changed any article."""
        return int(self.meta("generation") or 0)

    def categories(self) -> list[str]:
        """Every category any article carries, sorted (a skip-scan: one index probe per category)."""
        with self.read() as db:
            rows = db.execute(
                "WITH RECURSIVE s(slug) AS (SELECT min(slug) FROM article_cats UNION ALL"
                " SELECT (SELECT min(slug) FROM article_cats WHERE slug > s.slug) FROM s WHERE s.slug IS NOT NULL)"
                " SELECT slug FROM s WHERE slug IS NOT NULL"
            ).fetchall()
        return [row[0] for row in rows]

    def top(self, category: str | None, now: float, limit: int) -> list[Article]:
        """The newest ``limit`` articles dated up to ``now`` (of ``category``, or of all): newest first."""
        with self.read() as db:
            if category is None:
                rows = db.execute(
                    "SELECT article, ts, off, cats, sig FROM articles WHERE ts <= ? ORDER BY ts DESC, article LIMIT ?",
                    (now, limit),
                ).fetchall()
            else:
                rows = db.execute(
                    "SELECT a.article, a.ts, a.off, a.cats, a.sig FROM article_cats c"
                    " JOIN articles a ON a.article = c.article"
                    " WHERE c.slug = ? AND c.ts <= ? ORDER BY c.ts DESC, c.article LIMIT ?",
                    (category, now, limit),
                ).fetchall()
        return [Article(r[0], r[1], r[2], tuple(r[3].split(SEP)) if r[3] else (), r[4]) for r in rows]

    def versions(self, articles: Iterable[str]) -> dict[str, list[Entry]]:
        """Every version (entry) of each of ``articles``."""
        wanted = list(dict.fromkeys(articles))
        out: dict[str, list[Entry]] = {}
        with self.read() as db:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                for row in db.execute(f"{_ENTRY} WHERE article IN ({','.join('?' * len(chunk))})", chunk):
                    out.setdefault(row[0], []).append(entry_of(row))
        return out

    def next_due(self, now: float) -> float | None:
        """The date of the next article dated after ``now``."""
        row = self._execute("SELECT min(ts) FROM articles WHERE ts > ?", (now,)).fetchone()
        return row[0]

    def count_articles(self, now: float) -> int:
        return int(self._execute("SELECT count(*) FROM articles WHERE ts <= ?", (now,)).fetchone()[0])

    # ------------------------------------------------------------ outputs and small values

    def output_fingerprints(self) -> dict[str, tuple[str, int]]:
        rows = self._execute("SELECT path, fingerprint, size FROM outputs").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def save_outputs(self, fingerprints: Mapping[str, tuple[str, int]]) -> None:
        with self.write(urgent=True) as db:
            db.execute("DELETE FROM outputs")
            db.executemany(
                "INSERT INTO outputs (path, fingerprint, size) VALUES (?, ?, ?)",
                ((path, fp, size) for path, (fp, size) in fingerprints.items()),
            )

    def meta(self, key: str) -> str | None:
        row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, values: Mapping[str, str]) -> None:
        with self.write(urgent=True) as db:
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())
