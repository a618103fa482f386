"""The SQLite schema: versioned (``PRAGMA user_version``), migrations applied in order."""

from __future__ import annotations

SEP = "\x1f"  # joins category names in one column (never in a name: XML forbids it)

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        url TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_attempt REAL,
        last_success REAL,
        failures INTEGER NOT NULL DEFAULT 0,
        next_due REAL,
        last_error TEXT
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        published REAL NOT NULL,
        published_offset INTEGER NOT NULL,
        updated REAL NOT NULL,
        updated_offset INTEGER NOT NULL,
        categories TEXT NOT NULL,
        tags TEXT NOT NULL,
        author TEXT NOT NULL,
        content TEXT NOT NULL,
        summary TEXT NOT NULL,
        origin TEXT NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        rev INTEGER NOT NULL DEFAULT 0,
        UNIQUE (source, key)
    );
    CREATE TABLE post_cache (source TEXT PRIMARY KEY, context TEXT NOT NULL, data BLOB NOT NULL);
    CREATE TABLE outputs (path TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, size INTEGER NOT NULL);
    """,
    # 2: what the last publish was made of, so an unchanged world is not merged again
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('posts_generation', '0');
    """,
    # 3: post cache changes since its blob was written (data NULL: the file is gone)
    """
    CREATE TABLE post_delta (source TEXT NOT NULL, path TEXT NOT NULL, data BLOB, PRIMARY KEY (source, path));
    """,
    # 4: posts read in full for the feeds, so an unchanged post is not rendered again
    """
    CREATE TABLE rendered (
        source TEXT NOT NULL, path TEXT NOT NULL, stamp TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (source, path)
    );
    """,
    # 5: every version of every article (entries) and the merged articles, indexed
    # by date and by category, so a publish reads a feed's newest items with an
    # index instead of merging everything ever stored; changes mark articles dirty.
    """
    CREATE TABLE entries (
        source TEXT NOT NULL,
        ref TEXT NOT NULL,
        key TEXT NOT NULL,
        article TEXT NOT NULL,
        ts REAL NOT NULL,
        off INTEGER NOT NULL,
        cats TEXT NOT NULL,
        origin TEXT NOT NULL,
        stamp TEXT NOT NULL,
        PRIMARY KEY (source, ref)
    );
    CREATE INDEX entries_article ON entries (article);
    CREATE TABLE articles (
        article TEXT PRIMARY KEY, ts REAL NOT NULL, off INTEGER NOT NULL, cats TEXT NOT NULL, sig TEXT NOT NULL
    );
    CREATE INDEX articles_ts ON articles (ts DESC, article);
    CREATE TABLE article_cats (
        slug TEXT NOT NULL, article TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (slug, article)
    );
    CREATE INDEX article_cats_ts ON article_cats (slug, ts DESC, article);
    CREATE TABLE dirty (article TEXT PRIMARY KEY);
    INSERT INTO entries (source, ref, key, article, ts, off, cats, origin, stamp)
        SELECT source, CAST(id AS TEXT), key, key, published, published_offset, categories, origin, CAST(rev AS TEXT)
        FROM items;
    INSERT OR IGNORE INTO dirty (article) SELECT key FROM items;
    INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0');
    """,
    # 6: the merger.  sketches: the MinHash sketch of a version (by source and identity
    # key) and the article it was put in; buckets: its LSH bucket keys (signed 64-bit),
    # dated, to find candidates; clusters: the article each sketched identity key was
    # assigned once and for all; pages: the article text fetched for a full-text source.
    """
    CREATE TABLE sketches (
        seq INTEGER PRIMARY KEY, source TEXT NOT NULL, key TEXT NOT NULL, article TEXT NOT NULL,
        ts REAL NOT NULL, data BLOB NOT NULL, UNIQUE (source, key)
    );
    CREATE TABLE buckets (bucket INTEGER NOT NULL, ts REAL NOT NULL, seq INTEGER NOT NULL);
    CREATE INDEX buckets_lookup ON buckets (bucket, ts);
    CREATE TABLE clusters (key TEXT PRIMARY KEY, article TEXT NOT NULL);
    CREATE TABLE pages (
        url TEXT PRIMARY KEY, ok INTEGER NOT NULL, content TEXT NOT NULL, reason TEXT,
        etag TEXT, last_modified TEXT, fetched REAL NOT NULL
    );
    """,
    # 7: what else a remote item says of itself (JSON: its author's e-mail and URI, its
    # thumbnail, its feed's title; "" when nothing), see feeds.store.polls.extra
    """
    ALTER TABLE items ADD COLUMN extra TEXT NOT NULL DEFAULT '';
    """,
    # 8: entries by date: the posts without a sketch within a new item's window are found
    # by a range of this index (it was a scan of every entry ever stored, at every poll)
    """
    CREATE INDEX entries_ts ON entries (ts);
    """,
)

# The post cache's changes are kept apart from its blob until there are this
# many (or a tenth of the rows): adding one post writes one small row, not 100k.
DELTA_LIMIT = 5000
