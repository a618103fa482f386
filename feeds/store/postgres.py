"""The PostgreSQL backend of the store: several ``feeds run`` nodes on one database.

The same tables and behaviour as the SQLite backend (one class per group of
tables, put together here), plus what a cluster of nodes needs
(:mod:`feeds.store.postgres_cluster`): poll leases, change notifications, and
the leader lock.  Every public method is one transaction.
"""

from __future__ import annotations

from feeds.store.postgres_articles import PgArticleTables
from feeds.store.postgres_cluster import PgCluster
from feeds.store.postgres_migrate import PgMigrate
from feeds.store.postgres_neardup import PgNearDupTables
from feeds.store.postgres_posts import PgPostTables
from feeds.store.postgres_sources import PgSourceTables


class PostgresStore(PgSourceTables, PgPostTables, PgArticleTables, PgNearDupTables, PgCluster, PgMigrate):
    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
