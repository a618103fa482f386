"""PostgreSQL: loading a copy of a SQLite store (``feeds migrate``, :mod:`feeds.store.migrate`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import sql

from feeds.core.errors import StoreError
from feeds.store.postgres_db import LOCK_ARTICLES, PgDatabase
from feeds.store.postgres_schema import NODE_KEYS

_TABLES = ("sources", "items", "post_cache", "post_delta", "rendered", "entries", "articles", "article_cats",
           "dirty", "meta", "outputs", "node_meta", "sketches", "buckets", "clusters", "pages")  # fmt: skip
Dump = Mapping[str, tuple[Sequence[str], Sequence[tuple[Any, ...]]]]


class PgMigrate(PgDatabase):
    def load_dump(self, tables: Dump, *, origin: str) -> bool:
        """Replace everything with ``tables`` (in one transaction); whether an earlier copy of ``origin``
        was replaced.  Refused (StoreError) when the store holds anything else."""
        with self.write() as db:
            self.lock(db, LOCK_ARTICLES)
            held = db.execute("SELECT value FROM meta WHERE key = 'migrated_from'").fetchone()
            used = db.execute(
                "SELECT EXISTS (SELECT 1 FROM items) OR EXISTS (SELECT 1 FROM sources WHERE url IS NOT NULL)"
                " OR EXISTS (SELECT 1 FROM entries) OR EXISTS (SELECT 1 FROM outputs)"
            ).fetchone()[0]
            if used and (held is None or held[0] != origin):
                raise StoreError(self.name, "already holds a store (not a migration of this file); "
                                 "migrate into an empty database")  # fmt: skip
            db.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, _TABLES))))
            for table, (columns, rows) in tables.items():
                if table == "meta":
                    _copy(db, "meta", ["key", "value"], [r for r in rows if r[0] not in NODE_KEYS])
                    _copy(db, "node_meta", ["node", "key", "value"],
                          [(self.node, *r) for r in rows if r[0] in NODE_KEYS])  # fmt: skip
                elif table == "outputs":
                    _copy(db, table, ["node", *columns], [(self.node, *r) for r in rows])
                else:
                    _copy(db, table, list(columns), rows)
            db.execute("INSERT INTO meta (key, value) VALUES ('migrated_from', %s)", (origin,))
            for table, column in (("items", "id"), ("sketches", "seq")):
                db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                           f" coalesce(max({column}), 0) + 1, false) FROM {table}")  # fmt: skip
            db.execute("SELECT pg_notify(%s, 'changed')", (self.channel,))
        return held is not None

    def dump_counts(self, tables: Sequence[str]) -> dict[str, int]:
        """Rows per table, counted as :meth:`load_dump` was given them."""
        out: dict[str, int] = {}
        with self.read() as db:
            for table in tables:
                count = db.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
                if table == "meta":  # its per-node values apart, and the migration's own mark
                    count += db.execute("SELECT count(*) FROM node_meta WHERE node = %s", (self.node,)).fetchone()[0]
                    count -= 1
                out[table] = int(count)
        return out


def _copy(db: Any, table: str, columns: list[str], rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with db.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
