"""PostgreSQL: merged articles, outputs, small values (as :mod:`.sqlite_articles`).

A settle holds the articles lock exclusively (the changes that mark articles
dirty hold it shared), so it sees every committed change and no change is
lost between reading the dirty set and clearing it, whichever node settles.
Outputs and the publish values (``published``, ``items``, ``next_due``) are
this node's: every node writes its own output folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from feeds.core.models import Entry
from feeds.store import Article, Combine, Judge
from feeds.store.postgres_db import LOCK_ARTICLES, PgDatabase, columns
from feeds.store.postgres_schema import NODE_KEYS
from feeds.store.schema import SEP
from feeds.store.settling import entry_of, settled_rows

_ENTRY = "SELECT article, key, ts, off, cats, origin, source, ref, stamp FROM entries"


class PgArticleTables(PgDatabase):
    def settle(self, combine: Combine, *, merge_key: str | None = None, judge: Judge | None = None) -> int:
        """Merge every dirty article again from its entries; returns how many were.

        ``merge_key`` and ``judge``: as :meth:`feeds.store.sqlite_articles.ArticleTables.settle`
        (a new merge fingerprint merges every article again; the rules drop or file each one).
        In a cluster only the leader settles (then tells the others); a follower's settle does nothing."""
        if self.following and not self.leading:
            return 0
        with self.read() as db:
            same = merge_key is None or db.execute("SELECT value FROM meta WHERE key = 'merge'").fetchone() == (
                merge_key,
            )
            if same and not db.execute("SELECT EXISTS (SELECT 1 FROM dirty)").fetchone()[0]:
                return 0
        with self.write() as db:
            self.lock(db, LOCK_ARTICLES)
            if merge_key is not None:
                held = db.execute("SELECT value FROM meta WHERE key = 'merge'").fetchone()
                if held is None or held[0] != merge_key:
                    if db.execute("SELECT EXISTS (SELECT 1 FROM articles)").fetchone()[0]:
                        db.execute("INSERT INTO dirty (article) SELECT DISTINCT article FROM entries"
                                   " ON CONFLICT DO NOTHING")  # fmt: skip
                    db.execute("INSERT INTO meta (key, value) VALUES ('merge', %s)"
                               " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (merge_key,))  # fmt: skip
            dirty = [row[0] for row in db.execute("SELECT article FROM dirty")]
            if not dirty:
                return 0
            groups: dict[str, list[tuple[Any, ...]]] = {}
            for row in db.execute(f"{_ENTRY} WHERE article = ANY(%s)", (dirty,)):
                groups.setdefault(row[0], []).append(row)
            db.execute("DELETE FROM articles WHERE article = ANY(%s)", (dirty,))
            db.execute("DELETE FROM article_cats WHERE article = ANY(%s)", (dirty,))
            articles, cats = settled_rows(groups, combine, judge)
            if articles:  # one statement each, whatever the number of rows
                db.execute("INSERT INTO articles (article, ts, off, cats, sig)"
                           " SELECT * FROM unnest(%s::text[], %s::float8[], %s::int[], %s::text[], %s::text[])",
                           columns(articles))  # fmt: skip
            if cats:
                db.execute("INSERT INTO article_cats (slug, article, ts)"
                           " SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[])",
                           columns(cats))  # fmt: skip
            db.execute("DELETE FROM dirty WHERE article = ANY(%s)", (dirty,))
            db.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation'")
            db.execute("SELECT pg_notify(%s, 'settled')", (self.channel,))
        return len(dirty)

    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    def categories(self) -> list[str]:
        """Every category any article carries, sorted (a skip-scan: one index probe per category)."""
        rows = self._execute(
            "WITH RECURSIVE s(slug) AS (SELECT min(slug) FROM article_cats UNION ALL"
            " SELECT (SELECT min(slug) FROM article_cats WHERE slug > s.slug) FROM s WHERE s.slug IS NOT NULL)"
            " SELECT slug FROM s WHERE slug IS NOT NULL"
        )
        return [row[0] for row in rows]

    def top(self, category: str | None, now: float, limit: int) -> list[Article]:
        if category is None:
            rows = self._execute(
                "SELECT article, ts, off, cats, sig FROM articles WHERE ts <= %s ORDER BY ts DESC, article LIMIT %s",
                (now, limit),
            )
        else:
            rows = self._execute(
                "SELECT a.article, a.ts, a.off, a.cats, a.sig FROM article_cats c"
                " JOIN articles a ON a.article = c.article"
                " WHERE c.slug = %s AND c.ts <= %s ORDER BY c.ts DESC, c.article LIMIT %s",
                (category, now, limit),
            )
        return [Article(r[0], r[1], r[2], tuple(r[3].split(SEP)) if r[3] else (), r[4]) for r in rows]

    def versions(self, articles: Iterable[str]) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = {}
        for row in self._execute(f"{_ENTRY} WHERE article = ANY(%s)", (list(dict.fromkeys(articles)),)):
            out.setdefault(row[0], []).append(entry_of(row))
        return out

    def next_due(self, now: float) -> float | None:
        value = self._execute("SELECT min(ts) FROM articles WHERE ts > %s", (now,))[0][0]
        return None if value is None else float(value)

    def count_articles(self, now: float) -> int:
        return int(self._execute("SELECT count(*) FROM articles WHERE ts <= %s", (now,))[0][0])

    # ------------------------------------------------------------ outputs and small values

    def output_fingerprints(self) -> dict[str, tuple[str, int]]:
        rows = self._execute("SELECT path, fingerprint, size FROM outputs WHERE node = %s", (self.node,))
        return {r[0]: (r[1], int(r[2])) for r in rows}

    def save_outputs(self, fingerprints: Mapping[str, tuple[str, int]]) -> None:
        with self.write() as db:
            db.execute("DELETE FROM outputs WHERE node = %s", (self.node,))
            rows = [(self.node, path, fp, size) for path, (fp, size) in fingerprints.items()]
            if rows:
                with db.cursor() as cur:
                    cur.executemany("INSERT INTO outputs (node, path, fingerprint, size) VALUES (%s, %s, %s, %s)",
                                    rows)  # fmt: skip

    def meta(self, key: str) -> str | None:
        if key in NODE_KEYS:
            rows = self._execute("SELECT value FROM node_meta WHERE node = %s AND key = %s", (self.node, key))
        else:
            rows = self._execute("SELECT value FROM meta WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, values: Mapping[str, str]) -> None:
        shared = [(k, v) for k, v in values.items() if k not in NODE_KEYS]
        mine = [(self.node, k, v) for k, v in values.items() if k in NODE_KEYS]
        with self.write() as db, db.cursor() as cur:
            if shared:
                cur.executemany("INSERT INTO meta (key, value) VALUES (%s, %s)"
                                " ON CONFLICT (key) DO UPDATE SET value = excluded.value", shared)  # fmt: skip
            if mine:
                cur.executemany("INSERT INTO node_meta (node, key, value) VALUES (%s, %s, %s)"
                                " ON CONFLICT (node, key) DO UPDATE SET value = excluded.value", mine)  # fmt: skip
