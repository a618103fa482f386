"""The schema of both backends, written once: versioned, migrations applied in order.

Each migration is a template; a backend fills in its words (:data:`_SQLITE`,
:data:`_PG`): ``{key}`` a text that is a key or sorted on (PostgreSQL compares
it bytewise, ``COLLATE "C"``, SQLite's order, so feeds come out identical),
``{real}``, ``{blob}``, ``{int8}``, ``{id}`` (a generated integer key), and a
few statements only one backend has (named in the template).

* SQLite (:data:`MIGRATIONS`): version in ``PRAGMA user_version``, migrations 1, 2, … in turn.
* PostgreSQL (:data:`PG_FIRST`, :data:`PG_LATER`): version in ``feeds_schema``,
  meaning the same thing; a new store starts at version 5 in one step (migrations
  1-5 at once), then 6, 7, ….  Besides SQLite's tables: ``outputs`` and the
  publish values in ``node_meta`` are per node (each node writes its own output
  folder); ``sources`` carries the poll lease (``lease_node``, ``lease_until``)
  and the host it is polled on (per-host limits across nodes); a few more indexes.
"""

from __future__ import annotations

SEP = "\x1f"  # joins category names in one column (never in a name: XML forbids it)

_TEMPLATES: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE sources (
        name {key} PRIMARY KEY,
        url TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_attempt {real},
        last_success {real},
        failures INTEGER NOT NULL DEFAULT 0,
        next_due {real},
        last_error TEXT{lease}
    );{lease_index}
    CREATE TABLE items (
        id {id},
        source {key} NOT NULL,
        key {key} NOT NULL,
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        published {real} NOT NULL,
        published_offset INTEGER NOT NULL,
        updated {real} NOT NULL,
        updated_offset INTEGER NOT NULL,
        categories TEXT NOT NULL,
        tags TEXT NOT NULL,
        author TEXT NOT NULL,
        content TEXT NOT NULL,
        summary TEXT NOT NULL,
        origin TEXT NOT NULL,
        first_seen {real} NOT NULL,
        last_seen {real} NOT NULL,
        rev INTEGER NOT NULL DEFAULT 0,
        UNIQUE (source, key)
    );
    CREATE TABLE post_cache (source {key} PRIMARY KEY, context TEXT NOT NULL, data {blob} NOT NULL);
    {outputs};
    """,
    # 2: what the last publish was made of, so an unchanged world is not merged again
    """
    CREATE TABLE meta (key {key} PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('posts_generation', '0');{node_meta}
    """,
    # 3: post cache changes since its blob was written (data NULL: the file is gone)
    """
    CREATE TABLE post_delta (source {key} NOT NULL, path {key} NOT NULL, data {blob}, PRIMARY KEY (source, path));
    """,
    # 4: posts read in full for the feeds, so an unchanged post is not rendered again
    """
    CREATE TABLE rendered (
        source {key} NOT NULL, path {key} NOT NULL, stamp TEXT NOT NULL, data {blob} NOT NULL, PRIMARY KEY (source, path)
    );{rendered_path}
    """,  # noqa: E501 (SQLite's text as it has always been)
    # 5: every version of every article (entries) and the merged articles, indexed
    # by date and by category, so a publish reads a feed's newest items with an
    # index instead of merging everything ever stored; changes mark articles dirty.
    """
    CREATE TABLE entries (
        source {key} NOT NULL,
        ref {key} NOT NULL,
        key {key} NOT NULL,
        article {key} NOT NULL,
        ts {real} NOT NULL,
        off INTEGER NOT NULL,
        cats TEXT NOT NULL,
        origin TEXT NOT NULL,
        stamp TEXT NOT NULL,
        PRIMARY KEY (source, ref)
    );
    CREATE INDEX entries_article ON entries (article);
    CREATE TABLE articles (
        article {key} PRIMARY KEY, ts {real} NOT NULL, off INTEGER NOT NULL, cats TEXT NOT NULL, sig TEXT NOT NULL
    );
    CREATE INDEX articles_ts ON articles (ts DESC, article);
    CREATE TABLE article_cats (
        slug {key} NOT NULL, article {key} NOT NULL, ts {real} NOT NULL, PRIMARY KEY (slug, article)
    );
    CREATE INDEX article_cats_ts ON article_cats (slug, ts DESC, article);
    CREATE TABLE dirty (article {key} PRIMARY KEY);{entries_of_items}
    """,
    # 6: the merger.  sketches: the MinHash sketch of a version (by source and identity
    # key) and the article it was put in; buckets: its LSH bucket keys (signed 64-bit),
    # dated, to find candidates; clusters: the article each sketched identity key was
    # assigned once and for all; pages: the article text fetched for a full-text source.
    """
    CREATE TABLE sketches (
        seq {id}, source {key} NOT NULL, key {key} NOT NULL, article {key} NOT NULL,
        ts {real} NOT NULL, data {blob} NOT NULL, UNIQUE (source, key)
    );{more_indexes}
    CREATE TABLE buckets (bucket {int8} NOT NULL, ts {real} NOT NULL, seq {int8} NOT NULL);
    CREATE INDEX buckets_lookup ON buckets (bucket, ts);{buckets_seq}
    CREATE TABLE clusters (key {key} PRIMARY KEY, article {key} NOT NULL);
    CREATE TABLE pages (
        url {key} PRIMARY KEY, ok INTEGER NOT NULL, content TEXT NOT NULL, reason TEXT,
        etag TEXT, last_modified TEXT, fetched {real} NOT NULL
    );
    """,
    # 7: what else a remote item says of itself (JSON: its author's e-mail and URI, its
    # thumbnail, its feed's title; "" when nothing), see feeds.store.polls.extra
    """
    ALTER TABLE items ADD COLUMN extra TEXT NOT NULL DEFAULT '';
    """,
    # 8: entries by date: the posts without a sketch within a new item's window are found
    # by a range of this index (it was a scan of every entry ever stored, at every poll)
    # (PostgreSQL has had it since 6)
    """{entries_ts}
    """,
    # 9: the merger's second sketch format (issue 16).  The previous format's sketches match
    # nothing: dropped (their clusters stay: an article never loses a version).  No bucket rows:
    # the LSH index is held in memory, built from the sketches of the window (by date) and kept up
    # to date by seq (and an article's sketches are found through its entries: no index by article).
    # clusters: only the keys put in another key's article (a key in its own is found by its
    # entries).  entries_posts_ts: the posts' entries by date (the posts near a new remote
    # version, whatever the number of remote entries).  pinned: the id an article was first
    # published with, kept forever; articles.shown: the id it is shown with (its canonical
    # version's key until it is pinned).  What was published before is pinned as it is.
    """
    DELETE FROM sketches;
    DROP TABLE buckets;
    CREATE INDEX sketches_ts ON sketches (ts);{sketches_article}
    DELETE FROM clusters WHERE key = article;
    CREATE INDEX entries_posts_ts ON entries (ts) WHERE substr(ref, 1, 1) = '/';
    CREATE TABLE pinned (article {key} PRIMARY KEY, shown {key} NOT NULL);
    INSERT INTO pinned (article, shown) SELECT article, article FROM articles;
    ALTER TABLE articles ADD COLUMN shown {key} NOT NULL DEFAULT '';
    """,
)

_SQLITE = {
    "key": "TEXT", "real": "REAL", "blob": "BLOB", "int8": "INTEGER", "id": "INTEGER PRIMARY KEY",
    "lease": "", "lease_index": "", "node_meta": "", "rendered_path": "", "more_indexes": "", "buckets_seq": "",
    "outputs": "CREATE TABLE outputs (path TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, size INTEGER NOT NULL)",
    # stores of schema 4 had their items, not yet their entries
    "entries_of_items": """
    INSERT INTO entries (source, ref, key, article, ts, off, cats, origin, stamp)
        SELECT source, CAST(id AS TEXT), key, key, published, published_offset, categories, origin, CAST(rev AS TEXT)
        FROM items;
    INSERT OR IGNORE INTO dirty (article) SELECT key FROM items;
    INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0');""",
    "entries_ts": "\n    CREATE INDEX entries_ts ON entries (ts);",
    "sketches_article": "",
}  # fmt: skip
_PG = {
    "key": 'TEXT COLLATE "C"', "real": "DOUBLE PRECISION", "blob": "BYTEA", "int8": "BIGINT",
    "id": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    "lease": ',\n        host TEXT COLLATE "C",\n        lease_node TEXT,\n        lease_until DOUBLE PRECISION',
    "lease_index": "\n    CREATE INDEX sources_lease ON sources (host, lease_until);",
    "outputs": 'CREATE TABLE outputs (\n        node TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C" NOT NULL,'
    " fingerprint TEXT NOT NULL,\n        size BIGINT NOT NULL, PRIMARY KEY (node, path)\n    )",
    "node_meta": "\n    INSERT INTO meta (key, value) VALUES ('generation', '0');\n    CREATE TABLE node_meta (\n"
    '        node TEXT COLLATE "C" NOT NULL, key TEXT COLLATE "C" NOT NULL, value TEXT NOT NULL,'
    " PRIMARY KEY (node, key)\n    );",
    "rendered_path": "\n    CREATE INDEX rendered_path ON rendered (path);",
    "entries_of_items": "",
    # a sketch's buckets are deleted by its seq, an article's sketches are looked up (feeds explain),
    # and the posts within a new item's window are found by date
    "more_indexes": "\n    CREATE INDEX sketches_article ON sketches (article);"
    "\n    CREATE INDEX entries_ts ON entries (ts);",
    "buckets_seq": "\n    CREATE INDEX buckets_seq ON buckets (seq);",
    "entries_ts": "",
    "sketches_article": "\n    DROP INDEX sketches_article;",
}  # fmt: skip

MIGRATIONS: tuple[str, ...] = tuple(template.format(**_SQLITE) for template in _TEMPLATES)

# A new PostgreSQL store is created at version FIRST_VERSION in one step (PG_FIRST); each later
# migration has its PostgreSQL form in PG_LATER (version FIRST_VERSION + 1, ...).
FIRST_VERSION = 5
PG_FIRST = "".join(template.format(**_PG) for template in _TEMPLATES[:FIRST_VERSION])
PG_LATER: tuple[str, ...] = tuple(template.format(**_PG) for template in _TEMPLATES[FIRST_VERSION:])
PG_VERSION = FIRST_VERSION + len(PG_LATER)

# The values publish keeps per node on PostgreSQL (its output folder), not shared.
NODE_KEYS = frozenset({"published", "items", "next_due"})

# The post cache's changes are kept apart from its blob until there are this
# many (or a tenth of the rows): adding one post writes one small row, not 100k.
DELTA_LIMIT = 5000
