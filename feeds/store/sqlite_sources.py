"""SQLite: remote sources' fetch state and the items fetched from them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

from feeds.core.models import Item, instant, stamp
from feeds.store import NearDup, SourceState
from feeds.store.db import Database
from feeds.store.polls import HELD_COLUMNS, classify, with_extra
from feeds.store.schema import SEP
from feeds.store.sqlite_neardup import assign, prematch

_STATE_COLUMNS = (
    "name, url, etag, last_modified, body_hash, last_attempt, last_success, failures, next_due, last_error"
)


class SourceTables(Database):
    def source_state(self, name: str) -> SourceState:
        with self.read() as db:
            row = db.execute(f"SELECT {_STATE_COLUMNS} FROM sources WHERE name = ?", (name,)).fetchone()
            if row is None:
                return SourceState(name=name)
            count = db.execute("SELECT count(*) FROM items WHERE source = ?", (name,)).fetchone()[0]
        return SourceState(*row, items=count)

    def source_states(self, *, counts: bool = False) -> dict[str, SourceState]:
        """Every remote source's state; with ``counts``, how many items each holds (a full count)."""
        with self.read() as db:
            held = dict(db.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall()) if counts else {}
            rows = db.execute(f"SELECT {_STATE_COLUMNS} FROM sources").fetchall()
        return {row[0]: SourceState(*row, items=held.get(row[0], 0)) for row in rows}

    def save_source(self, state: SourceState) -> None:
        with self.write(urgent=True) as db:
            _save_source(db, state)

    def save_poll(
        self, state: SourceState, items: Sequence[Item], undated: Iterable[str], now: float,
        *, sketches: Mapping[str, bytes] | None = None, near: NearDup | None = None,
    ) -> tuple[int, int]:  # fmt: skip
        """Store a successful poll's items and the source's state in one transaction.

        Items already held keep their ``first_seen``; an entry that had no date
        keeps the date it was first seen with.  Items the source no longer lists
        are kept.  New and changed items mark their article dirty.  Returns
        (new, updated) counts.  ``sketches`` (by key, of new items) are matched
        against other sources' versions (``near``) to pick each new item's
        article (see :mod:`feeds.store.sqlite_neardup`).
        """
        held: dict[str, tuple] = {}
        early = None
        if sketches and near is not None:  # the matching's reads and comparisons, before the write lock
            dated = [(item.key, stamp(item.published)[0]) for item in items if item.key in sketches]
            # One poll at a time: more threads matching at once only fought the writer for the GIL.
            with self.matching() as db:
                early = prematch(db, state.name, dated, sketches, near)
        with self.write() as db:
            keys = [item.key for item in items]
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                held.update(
                    (row[0], row[1:])
                    for row in db.execute(
                        f"SELECT {HELD_COLUMNS} FROM items WHERE source = ? AND key IN ({','.join('?' * len(chunk))})",
                        (state.name, *chunk),
                    )
                )
            inserts, changes, seen = classify(state.name, items, held, undated, now)
            db.executemany(
                "INSERT INTO items (source, key, title, link, published, published_offset, updated,"
                " updated_offset, categories, tags, author, content, summary, origin, first_seen, last_seen, extra)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )
            db.executemany(
                "UPDATE items SET title = ?, link = ?, published = ?, published_offset = ?, updated = ?,"
                " updated_offset = ?, categories = ?, tags = ?, author = ?, content = ?, summary = ?,"
                " origin = ?, last_seen = ?, extra = ?, rev = rev + 1 WHERE id = ?",
                changes,
            )
            db.executemany("UPDATE items SET last_seen = ? WHERE id = ?", seen)
            touched = [row[-1] for row in changes] + _inserted_ids(db, state.name, [row[1] for row in inserts])
            articles = assign(db, state.name, _dated(db, touched), sketches, near, early)
            _save_entries(db, touched, state.name, articles)
            _save_source(db, state)
        return len(inserts), len(changes)

    def load_items(self, ids: Iterable[int]) -> dict[int, Item]:
        """Full items by id."""
        wanted = list(ids)
        out: dict[int, Item] = {}
        with self.read() as db:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in db.execute(
                    "SELECT id, key, title, link, published, published_offset, updated, updated_offset, categories,"
                    f" tags, author, content, summary, source, origin, extra FROM items WHERE id IN ({marks})",
                    chunk,
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
        marks = ",".join("?" * len(names)) or "''"
        with self.write() as db:
            # (every item's source has a row in sources: save_poll writes both)
            gone = [r[0] for r in db.execute(f"SELECT name FROM sources WHERE name NOT IN ({marks})", names)]
            for name in gone:
                db.execute(
                    "INSERT OR IGNORE INTO dirty (article) SELECT article FROM entries"
                    " WHERE source = ? AND ref GLOB '[0-9]*'",
                    (name,),
                )
                db.execute("DELETE FROM entries WHERE source = ? AND ref GLOB '[0-9]*'", (name,))
                db.execute("DELETE FROM items WHERE source = ?", (name,))
                db.execute("DELETE FROM sources WHERE name = ?", (name,))


def _save_source(db: sqlite3.Connection, state: SourceState) -> None:
    db.execute(
        f"INSERT INTO sources ({_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET url = excluded.url, etag = excluded.etag,"
        " last_modified = excluded.last_modified, body_hash = excluded.body_hash,"
        " last_attempt = excluded.last_attempt, last_success = excluded.last_success,"
        " failures = excluded.failures, next_due = excluded.next_due, last_error = excluded.last_error",
        (
            state.name, state.url, state.etag, state.last_modified, state.body_hash, state.last_attempt,
            state.last_success, state.failures, state.next_due, state.last_error,
        ),
    )  # fmt: skip


def _inserted_ids(db: sqlite3.Connection, source: str, keys: Sequence[str]) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        ids.extend(
            row[0]
            for row in db.execute(
                f"SELECT id FROM items WHERE source = ? AND key IN ({','.join('?' * len(chunk))})", (source, *chunk)
            )
        )
    return ids


def _dated(db: sqlite3.Connection, ids: Sequence[int]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.extend(db.execute(f"SELECT key, published FROM items WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    return out


def _save_entries(db: sqlite3.Connection, ids: Sequence[int], source: str, articles: Mapping[str, str]) -> None:
    """The entries (versions) of remote items ``ids``, written anew; their articles, old and new, dirty.

    ``articles``: the article of each key that is not its own (a near-duplicate's).
    """
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        refs = [str(i) for i in chunk]
        marks = ",".join("?" * len(chunk))
        db.execute(
            "INSERT OR IGNORE INTO dirty (article) SELECT e.article FROM entries e JOIN items i"
            f" ON e.source = i.source AND e.ref = CAST(i.id AS TEXT) WHERE i.id IN ({marks})",
            chunk,
        )
        db.execute(
            "INSERT OR REPLACE INTO entries (source, ref, key, article, ts, off, cats, origin, stamp)"
            " SELECT source, CAST(id AS TEXT), key, key, published, published_offset, categories, origin,"
            f" CAST(rev AS TEXT) FROM items WHERE id IN ({marks})",
            chunk,
        )
        if articles:
            db.executemany(
                f"UPDATE entries SET article = ? WHERE source = ? AND key = ? AND ref IN ({marks})",
                [(article, source, key, *refs) for key, article in articles.items()],
            )
        db.executemany(
            "INSERT OR IGNORE INTO dirty (article) SELECT article FROM entries WHERE source = "
            "(SELECT source FROM items WHERE id = ?) AND ref = ?",
            [(i, r) for i, r in zip(chunk, refs, strict=True)],
        )
