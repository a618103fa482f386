"""PostgreSQL: remote sources' fetch state and the items fetched from them (as :mod:`.sqlite_sources`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from feeds.core.models import Item, instant
from feeds.store import NearDup, SourceState
from feeds.store.polls import HELD_COLUMNS, classify, with_extra
from feeds.store.postgres_db import LOCK_ARTICLES, PgDatabase, columns
from feeds.store.postgres_neardup import assign
from feeds.store.schema import SEP

_STATE_COLUMNS = (
    "name, url, etag, last_modified, body_hash, last_attempt, last_success, failures, next_due, last_error"
)


class PgSourceTables(PgDatabase):
    def source_state(self, name: str) -> SourceState:
        with self.read() as db:
            row = db.execute(f"SELECT {_STATE_COLUMNS} FROM sources WHERE name = %s", (name,)).fetchone()
            if row is None:
                return SourceState(name=name)
            count = db.execute("SELECT count(*) FROM items WHERE source = %s", (name,)).fetchone()[0]
        return SourceState(*row, items=count)

    def source_states(self, *, counts: bool = False) -> dict[str, SourceState]:
        """Every remote source's state; with ``counts``, how many items each holds (a full count)."""
        with self.read() as db:
            held = dict(db.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall()) if counts else {}
            rows = db.execute(f"SELECT {_STATE_COLUMNS} FROM sources").fetchall()
        return {row[0]: SourceState(*row, items=held.get(row[0], 0)) for row in rows}

    def save_source(self, state: SourceState) -> None:
        with self.write() as db:
            _save_source(db, state)

    def save_poll(
        self, state: SourceState, items: Sequence[Item], undated: Iterable[str], now: float,
        *, sketches: Mapping[str, bytes] | None = None, near: NearDup | None = None,
    ) -> tuple[int, int]:  # fmt: skip
        """As :meth:`feeds.store.sqlite_sources.SourceTables.save_poll` (``sketches`` and ``near``: see
        :mod:`feeds.store.postgres_neardup`); tells the other nodes of a change."""
        with self.write() as db:
            self.lock(db, LOCK_ARTICLES, shared=True)  # marks articles dirty: not while a settle runs
            held: dict[str, tuple[Any, ...]] = {
                row[0]: row[1:]
                for row in db.execute(
                    f"SELECT {HELD_COLUMNS} FROM items WHERE source = %s AND key = ANY(%s)",
                    (state.name, [item.key for item in items]),
                )
            }
            inserts, changes, seen = classify(state.name, items, held, undated, now)
            touched = [row[-1] for row in changes]
            if inserts:  # one statement each, whatever the number of items
                touched += [row[0] for row in db.execute(
                    "INSERT INTO items (source, key, title, link, published, published_offset, updated,"
                    " updated_offset, categories, tags, author, content, summary, origin, first_seen, last_seen,"
                    " extra) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[],"
                    " %s::int[], %s::float8[], %s::int[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
                    " %s::text[], %s::float8[], %s::float8[], %s::text[]) RETURNING id",
                    columns(inserts),
                )]  # fmt: skip
            if changes:
                db.execute(
                    "UPDATE items i SET title = c.title, link = c.link, published = c.published,"
                    " published_offset = c.poff, updated = c.updated, updated_offset = c.uoff,"
                    " categories = c.categories, tags = c.tags, author = c.author, content = c.content,"
                    " summary = c.summary, origin = c.origin, last_seen = c.seen, extra = c.extra, rev = i.rev + 1"
                    " FROM unnest(%s::text[], %s::text[], %s::float8[], %s::int[], %s::float8[], %s::int[],"
                    " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[],"
                    " %s::text[], %s::bigint[]) AS c(title, link, published, poff, updated, uoff, categories, tags,"
                    " author, content, summary, origin, seen, extra, id) WHERE i.id = c.id",
                    columns(changes),
                )
            if seen:
                db.execute(
                    "UPDATE items SET last_seen = %s WHERE id = ANY(%s)", (now, [row[1] for row in seen])
                )
            articles: dict[str, str] = {}
            if touched:  # each version's article: decided now, once and for all
                dated = db.execute("SELECT key, published FROM items WHERE id = ANY(%s) ORDER BY id", (touched,))
                articles = assign(self, db, state.name, dated.fetchall(), sketches, near)
            _save_entries(db, touched, state.name, articles)
            _save_source(db, state)
            if touched:
                db.execute("SELECT pg_notify(%s, 'changed')", (self.channel,))
        return len(inserts), len(changes)

    def load_items(self, ids: Iterable[int]) -> dict[int, Item]:
        """Full items by id."""
        out: dict[int, Item] = {}
        with self.read() as db:
            for row in db.execute(
                "SELECT id, key, title, link, published, published_offset, updated, updated_offset, categories,"
                " tags, author, content, summary, source, origin, extra FROM items WHERE id = ANY(%s)",
                (list(ids),),
            ):
                out[row[0]] = with_extra(Item(
                    key=row[1],
                    title=row[2],
                    link=row[3],
                    published=instant(row[4], row[5]),
                    updated=instant(row[6], row[7]),
                    categories=tuple(row[8].split(SEP)) if row[8] else (),
                    tags=tuple(json.loads(row[9])),
                    author=row[10],
                    content=row[11],
                    summary=row[12],
                    source=row[13],
                    origin=row[14],
                ), row[15])
        return out

    def forget_sources(self, keep: Iterable[str]) -> None:
        """Drop the state and items of remote sources no longer in the config."""
        names = list(keep)
        with self.write() as db:
            gone = [r[0] for r in db.execute("SELECT name FROM sources WHERE NOT name = ANY(%s)", (names,))]
            gone += [
                r[0] for r in db.execute("SELECT DISTINCT source FROM items WHERE NOT source = ANY(%s)", (names,))
            ]
            if not gone:
                return
            self.lock(db, LOCK_ARTICLES, shared=True)
            gone = list(dict.fromkeys(gone))
            db.execute(
                "INSERT INTO dirty (article) SELECT article FROM entries"
                " WHERE source = ANY(%s) AND ref ~ '^[0-9]' ON CONFLICT DO NOTHING",
                (gone,),
            )
            db.execute("DELETE FROM entries WHERE source = ANY(%s) AND ref ~ '^[0-9]'", (gone,))
            db.execute("DELETE FROM items WHERE source = ANY(%s)", (gone,))
            db.execute("DELETE FROM sources WHERE name = ANY(%s)", (gone,))
            db.execute("SELECT pg_notify(%s, 'changed')", (self.channel,))


def _save_source(db: psycopg.Connection[Any], state: SourceState) -> None:
    db.execute(
        f"INSERT INTO sources ({_STATE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET url = excluded.url, etag = excluded.etag,"
        " last_modified = excluded.last_modified, body_hash = excluded.body_hash,"
        " last_attempt = excluded.last_attempt, last_success = excluded.last_success,"
        " failures = excluded.failures, next_due = excluded.next_due, last_error = excluded.last_error",
        (
            state.name, state.url, state.etag, state.last_modified, state.body_hash, state.last_attempt,
            state.last_success, state.failures, state.next_due, state.last_error,
        ),
    )  # fmt: skip


def _save_entries(db: psycopg.Connection[Any], ids: Sequence[int], source: str, articles: Mapping[str, str]) -> None:
    """The entries (versions) of remote items ``ids``, written anew; their articles, old and new, dirty.

    ``articles``: the article of each key that is not its own (a near-duplicate's).
    """
    if not ids:
        return
    ids = list(ids)
    db.execute(
        "INSERT INTO dirty (article) SELECT e.article FROM entries e JOIN items i"
        " ON e.source = i.source AND e.ref = i.id::text WHERE i.id = ANY(%s) ON CONFLICT DO NOTHING",
        (ids,),
    )
    db.execute(
        "INSERT INTO entries (source, ref, key, article, ts, off, cats, origin, stamp)"
        " SELECT source, id::text, key, key, published, published_offset, categories, origin, rev::text"
        " FROM items WHERE id = ANY(%s)"
        " ON CONFLICT (source, ref) DO UPDATE SET key = excluded.key, article = excluded.article, ts = excluded.ts,"
        " off = excluded.off, cats = excluded.cats, origin = excluded.origin, stamp = excluded.stamp",
        (ids,),
    )
    if articles:
        db.execute(
            "UPDATE entries e SET article = a.article FROM unnest(%s::text[], %s::text[]) AS a(key, article)"
            " WHERE e.source = %s AND e.key = a.key AND e.ref = ANY(%s)",
            (list(articles), list(articles.values()), source, [str(i) for i in ids]),
        )
    db.execute(
        "INSERT INTO dirty (article) SELECT e.article FROM entries e JOIN items i"
        " ON e.source = i.source AND e.ref = i.id::text WHERE i.id = ANY(%s) ON CONFLICT DO NOTHING",
        (ids,),
    )
