"""Remote sources' fetch state and the items fetched from them (both backends)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from feeds.core.models import Item, instant
from feeds.store.dialect import LOCK_ARTICLES, Tables, Tx
from feeds.store.neardup import assign
from feeds.store.polls import HELD_COLUMNS, classify, with_extra
from feeds.store.records import NearDup, SourceState, UnknownKeys
from feeds.store.schema import SEP

_STATE_COLUMNS = (
    "name", "url", "etag", "last_modified", "body_hash", "last_attempt", "last_success", "failures", "next_due",
    "last_error",
)  # fmt: skip
_STATE = ", ".join(_STATE_COLUMNS)
# the columns of a new item: its id, then a row of polls.classify's inserts
_ITEM_COLUMNS = (
    "id", "source", "key", "title", "link", "published", "published_offset", "updated", "updated_offset",
    "categories", "tags", "author", "content", "summary", "origin", "first_seen", "last_seen", "extra",
)  # fmt: skip
# the columns a change sets (a row of polls.classify's changes, before its id)
_CHANGED_COLUMNS = (
    "title", "link", "published", "published_offset", "updated", "updated_offset", "categories", "tags",
    "author", "content", "summary", "origin", "last_seen", "extra",
)  # fmt: skip
ENTRY_COLUMNS = ("source", "ref", "key", "article", "ts", "off", "cats", "origin", "stamp")
_REMOTE = "substr(ref, 1, 1) BETWEEN '0' AND '9'"  # an entry of a remote item (its ref is the item's id)


class SourceTables(Tables):
    def source_state(self, name: str, *, counts: bool = True) -> SourceState:
        """A remote source's state; with ``counts``, how many items it holds (a count of them all:
        a poll, which needs none, asks without)."""
        with self.read() as tx:
            row = tx.one(f"SELECT {_STATE} FROM sources WHERE name = ?", (name,))
            if row is None:
                return SourceState(name=name)
            count = tx.one("SELECT count(*) FROM items WHERE source = ?", (name,))[0] if counts else 0
        return SourceState(*row, items=count)

    def source_states(self, *, counts: bool = False) -> dict[str, SourceState]:
        """Every remote source's state; with ``counts``, how many items each holds (a full count)."""
        with self.read() as tx:
            held = dict(tx.all("SELECT source, count(*) FROM items GROUP BY source")) if counts else {}
            rows = tx.all(f"SELECT {_STATE} FROM sources")
        return {row[0]: SourceState(*row, items=held.get(row[0], 0)) for row in rows}

    def save_source(self, state: SourceState) -> None:
        with self.write(urgent=True) as tx:
            _save_source(tx, state)

    def save_poll(
        self, state: SourceState, items: Sequence[Item], undated: Iterable[str], now: float,
        *, sketches: Mapping[str, bytes] | None = None, near: NearDup | None = None, seen: Sequence[str] = (),
    ) -> tuple[int, int]:  # fmt: skip
        """Store a successful poll's items and the source's state in one transaction.

        Items already held keep their ``first_seen``; an entry that had no date
        keeps the date it was first seen with.  Items the source no longer lists
        are kept.  New and changed items mark their article dirty.  Returns
        (new, updated) counts.  ``sketches`` (by key, of new items) are matched
        against other sources' versions (``near``) to pick each new item's
        article (see :mod:`feeds.store.neardup`); the other nodes are told.
        ``seen``: the keys of the poll's other items, whose entries are the very
        ones stored (only seen again); when one is not held, UnknownKeys is
        raised and nothing written.
        """
        with self.write() as tx:
            self.lock(tx, LOCK_ARTICLES, shared=True)  # marks articles dirty: not while a settle runs
            keys = [item.key for item in items]
            rows = tx.select_in(f"SELECT {HELD_COLUMNS} FROM items WHERE source = ? AND key IN (?...)",
                                [*keys, *seen], (state.name,))  # fmt: skip
            held: dict[str, Sequence[Any]] = {row[0]: row[1:] for row in rows}
            if any(key not in held for key in seen):
                raise UnknownKeys(state.name)
            inserts, changes, again = classify(state.name, items, held, undated, now)
            again += [(now, held[key][0]) for key in seen]
            ids = tx.new_ids("items", "id", len(inserts))
            tx.insert("items", _ITEM_COLUMNS, [(i, *row) for i, row in zip(ids, inserts, strict=True)])
            tx.update("items", _CHANGED_COLUMNS, ("id",), changes, also="rev = rev + 1")
            tx.run_in("UPDATE items SET last_seen = ? WHERE id IN (?...)", [row[1] for row in again], (now,))
            touched = sorted([row[-1] for row in changes] + ids)
            versions = sorted(tx.select_in("SELECT id, key, published, published_offset, categories, origin, rev"
                                           " FROM items WHERE id IN (?...)", touched))  # fmt: skip
            # each version's article: decided now, once and for all
            articles = assign(self, tx, state.name, [(r[1], r[2]) for r in versions], sketches, near)
            _save_entries(tx, state.name, versions, articles)
            _save_source(tx, state)
            if touched:
                self.notify(tx, "changed")
        return len(inserts), len(changes)

    def load_items(self, ids: Iterable[int]) -> dict[int, Item]:
        """Full items by id."""
        out: dict[int, Item] = {}
        with self.read() as tx:
            for row in tx.select_in(
                "SELECT id, key, title, link, published, published_offset, updated, updated_offset, categories,"
                " tags, author, content, summary, source, origin, extra FROM items WHERE id IN (?...)",
                list(ids),
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
                ), row[15])  # fmt: skip
        return out

    def forget_sources(self, keep: Iterable[str]) -> None:
        """Drop the state and items of remote sources no longer in the config."""
        names = set(keep)
        with self.write() as tx:
            # (every item's source has a row in sources: save_poll writes both; only the sources are read)
            gone = [r[0] for r in tx.execute("SELECT name FROM sources") if r[0] not in names]
            if not gone:
                return
            self.lock(tx, LOCK_ARTICLES, shared=True)
            tx.run_in("INSERT INTO dirty (article) SELECT article FROM entries"
                      f" WHERE source IN (?...) AND {_REMOTE} ON CONFLICT DO NOTHING", gone)  # fmt: skip
            tx.run_in(f"DELETE FROM entries WHERE source IN (?...) AND {_REMOTE}", gone)
            tx.run_in("DELETE FROM items WHERE source IN (?...)", gone)
            tx.run_in("DELETE FROM sources WHERE name IN (?...)", gone)
            self.notify(tx, "changed")

    def new_keys(self, source: str, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` that ``source`` (a remote source) has no item of yet."""
        wanted = list(dict.fromkeys(keys))
        with self.read() as tx:
            held = {r[0] for r in tx.select_in("SELECT key FROM items WHERE source = ? AND key IN (?...)",
                                               wanted, (source,))}  # fmt: skip
        return set(wanted) - held


def _save_source(tx: Tx, state: SourceState) -> None:
    row = (state.name, state.url, state.etag, state.last_modified, state.body_hash, state.last_attempt,
           state.last_success, state.failures, state.next_due, state.last_error)  # fmt: skip
    tx.insert("sources", _STATE_COLUMNS, [row], key=("name",))


def _save_entries(tx: Tx, source: str, versions: Sequence[Sequence[Any]], articles: Mapping[str, str]) -> None:
    """The entries of remote items (their ``id, key, published, published_offset, categories, origin,
    rev``), written anew; their articles, old and new, dirty.

    ``articles``: the article of each key that is not its own (a near-duplicate's).
    """
    entries = [(source, str(i), key, articles.get(key, key), ts, off, cats, origin, str(rev))
               for i, key, ts, off, cats, origin, rev in versions]  # fmt: skip
    tx.run_in("INSERT INTO dirty (article) SELECT article FROM entries WHERE source = ? AND ref IN (?...)"
              " ON CONFLICT DO NOTHING", [e[1] for e in entries], (source,))  # fmt: skip
    tx.insert("entries", ENTRY_COLUMNS, entries, key=("source", "ref"))
    tx.insert("dirty", ("article",), [(e[3],) for e in entries], ignore=True)
