"""``feeds migrate --to postgresql://…``: copy a SQLite store into PostgreSQL, then verify the counts.

Everything is copied as it is (fetch state, items with their ids, the post
cache, posts read in full, entries, articles, outputs, small values), in one
transaction: the PostgreSQL store has all of it or none of it.  The target must
be empty, or hold an earlier migration of the same file (it is then replaced:
running the command twice is harmless); anything else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from feeds.core.errors import StoreError


@dataclass(frozen=True)
class Migrated:
    counts: dict[str, int]  # rows per table, equal on both sides
    replaced: bool  # an earlier migration of the same file was replaced


def migrate(sqlite_path: Path, url: str, *, node: str) -> Migrated:
    """Copy the SQLite store at ``sqlite_path`` into the PostgreSQL store at ``url``; raises StoreError.

    ``node``: the node the SQLite store's outputs belong to (the output folder it wrote).
    """
    from feeds.store import postgres_backend
    from feeds.store.sqlite import SQLiteStore

    if not sqlite_path.exists():
        raise StoreError(str(sqlite_path), "no SQLite store here to migrate (run `feeds build` first?)")
    backend = postgres_backend(url)  # (without psycopg: a StoreError saying how to install it)
    with SQLiteStore(sqlite_path) as source, backend.PostgresStore(url, node=node) as target:
        if source.schema_version != target.schema_version:
            raise StoreError(str(sqlite_path), f"schema {source.schema_version} cannot be copied into schema "
                             f"{target.schema_version}; open it once with this feeds to migrate it first")  # fmt: skip
        tables = source.dump()
        origin = f"{sqlite_path.resolve()}"
        replaced = target.load_dump(tables, origin=origin)
        wanted = {name: len(rows) for name, (_, rows) in tables.items()}
        counts = target.dump_counts(list(wanted))
    if counts != wanted:
        raise StoreError(url, f"verification failed: copied {counts}, expected {wanted}")
    return Migrated(counts, replaced)
