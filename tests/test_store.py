"""The state store's post cache: a blob plus the changes since, always equal to a full read."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import CAT_A, CAT_B, Site, count_rows, post_text

from feeds import pipeline
from feeds.core.models import PostIndex
from feeds.store import open_store as Store
from feeds.store import schema as store


def row(path: str, size: int = 1, key: str = "k") -> PostIndex:
    return PostIndex(path, size, 10, "ok", None, key, 1.0, 28800, (CAT_A,), "posts")


def test_changes_are_kept_apart_until_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "DELTA_LIMIT", 3)
    path = tmp_path / "state.db"
    a, b, c = row("/p/a.md"), row("/p/b.md"), row("/p/c.md")
    with Store(path) as db:
        db.save_posts("posts", "ctx", [a, b])
        assert db.post_cache("posts", "ctx") == {"/p/a.md": a, "/p/b.md": b}
        assert db.post_cache("posts", "other settings") == {}
        b2 = row("/p/b.md", size=2, key="k2")
        db.save_posts("posts", "ctx", [a, b2, c], changed=[b2, c], removed=[])
        db.save_posts("posts", "ctx", [b2, c], changed=[], removed=["/p/a.md"])
    with Store(path) as db:  # reopened: the changes were kept
        assert db.post_cache("posts", "ctx") == {"/p/b.md": b2, "/p/c.md": c}
        held = db._db().execute("SELECT count(*) FROM post_delta").fetchone()[0]
        assert held == 3
        # one more change passes the limit: the blob is written anew, the changes dropped
        d = row("/p/d.md")
        db.save_posts("posts", "ctx", [b2, c, d], changed=[d], removed=[])
        assert db._db().execute("SELECT count(*) FROM post_delta").fetchone()[0] == 0
        assert db.post_cache("posts", "ctx") == {"/p/b.md": b2, "/p/c.md": c, "/p/d.md": d}


def test_a_state_file_of_schema_2_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    raw = sqlite3.connect(path)
    for number in range(2):
        raw.executescript(store.MIGRATIONS[number])
    raw.execute("PRAGMA user_version = 2")
    raw.commit()
    raw.close()
    with Store(path) as db:
        assert db.schema_version == len(store.MIGRATIONS) == 9
        db.save_posts("posts", "ctx", [row("/p/a.md")])
        db.save_posts("posts", "ctx", [], changed=[], removed=["/p/a.md"])
        assert db.post_cache("posts", "ctx") == {}


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_incremental_builds_equal_a_full_build(site: Site, tmp_path: Path) -> None:
    """Add, edit, touch and remove posts between cached builds: the feeds always
    equal those of a build that reads every post."""
    settings = site.settings()
    for i in range(30):
        day = 1 + i % 28
        site.add(
            f"2022/01/2022-01-{day:02d}-p{i}.md",
            post_text(
                f"文章{i}", f"2022-01-{day:02d} {i % 24:02d}:00:00 +0800", CAT_A if i % 2 else CAT_B,
                info_code=f"NW2022010{i:011d}",
            ),
        )  # fmt: skip

    def cached_build() -> pipeline.BuildReport:
        with Store(settings) as db:
            return pipeline.build(settings, store=db)

    def full_build() -> dict[str, bytes]:
        reference = tmp_path / "reference"
        shutil.rmtree(reference, ignore_errors=True)
        pipeline.build(replace(settings, output=replace(settings.output, dir=reference)))  # no store: reads all
        return _snapshot(reference)

    first = cached_build()
    assert first.posts_cached == 0 and first.posts_read == 30
    steps = [
        lambda: site.add("2022/02/2022-02-01-new.md", post_text("新文章", "2022-02-01 10:00:00 +0800", CAT_A,
                                                               info_code="NW202202010000000001")),
        lambda: site.add("2022/01/2022-01-03-p2.md", post_text("改过的文章", "2022-01-03 02:00:00 +0800", CAT_A,
                                                              info_code="NW20220100000000002")),
        lambda: (site.posts / "2022/01/2022-01-05-p4.md").unlink(),
        lambda: os.utime(site.posts / "2022/01/2022-01-07-p6.md", ns=(1, 1)),  # touched: read again, same
        lambda: shutil.rmtree(site.posts / "2022/02"),
    ]  # fmt: skip
    for step in steps:
        step()
        report = cached_build()
        assert report.posts_cached >= report.posts_read - 1
        assert _snapshot(site.out) == full_build()
    titles = [e.title for e in site.feed("rss.xml").entries]
    assert "改过的文章" in titles and "文章4" not in titles and "新文章" not in titles and len(titles) == 29


def test_rendered_posts_are_reused_only_while_unchanged(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as db:
        db.save_rendered([("posts", "/p/a.md", "10:1:ctx", (("/p/a.md",), "<p>a</p>", "a"))])
        assert db.rendered({("posts", "/p/a.md"): "10:1:ctx"}) == {
            ("posts", "/p/a.md"): (("/p/a.md",), "<p>a</p>", "a")
        }
        assert db.rendered({("posts", "/p/a.md"): "11:1:ctx"}) == {}  # the file changed
        assert db.rendered({("posts", "/p/a.md"): "10:1:other settings"}) == {}
        assert db.rendered({("other", "/p/a.md"): "10:1:ctx"}) == {}
        # a post's read is forgotten with the post
        many = [("posts", f"/p/{i}.md", "1:1:ctx", ((), "", "")) for i in range(3)]
        rows = [PostIndex(f"/p/{i}.md", 1, 1, "ok", None, f"k{i}", 1.0, 0, (), "posts") for i in range(3)]
        db.save_posts("posts", "ctx", rows)
        db.save_rendered(many)
        db.save_posts("posts", "ctx", rows[1:], changed=[], removed=["/p/0.md"])
        assert db._db().execute("SELECT path FROM rendered WHERE path LIKE '/p/_.md' ORDER BY path").fetchall() == [
            ("/p/1.md",), ("/p/2.md",)
        ]


def test_settings_change_renders_posts_again(site: Site) -> None:
    site.add("2022-01-25-a.md", post_text("甲", "2022-01-25 20:54:37 +0800", CAT_A, info_code="NW202201250000000001",
                                          paragraphs=('正文<a href="//finews.example.com/category/x.html">分类</a>',)))
    config = site.config_path.read_text(encoding="utf-8")  # (.test domains: ids never follow a placeholder)
    site.config_path.write_text(config.replace("https://finews.example.com/", "https://finews.test/"), encoding="utf-8")
    settings = site.settings()
    with Store(settings) as db:
        pipeline.build(settings, store=db)
        assert count_rows(db, "rendered") == 1
    site.config_path.write_text(config.replace("https://finews.example.com/", "https://news2.test/"), encoding="utf-8")
    settings = site.settings()
    with Store(settings) as db:
        pipeline.build(settings, store=db)
    entry = site.feed("atom.xml").entries[0]
    assert entry.link.startswith("https://news2.test/")
    # the body's protocol-relative and site links follow the new settings too
    assert 'href="https://finews.example.com/category/x.html"' in entry.content[0].value  # written so in the post
    assert entry.id == "tag:finews.test,2000:infocode:NW202201250000000001"  # the site moved: same id


def test_an_unchanged_posts_folder_is_not_written_again_even_when_empty(site: Site) -> None:
    settings = site.settings()
    for posts in (0, 1):
        if posts:
            site.add("2022-01-25-a.md", post_text("甲", info_code="NW202201250000000001"))
        with Store(settings) as db:
            pipeline.build(settings, store=db)
            generation = db.generation()
            again = pipeline.build(settings, store=db)
            assert db.generation() == generation  # nothing recorded: the publish was skipped
            assert again.written == () and again.posts_cached == again.posts_read == posts


@pytest.mark.skipif(os.environ.get("FEEDS_TEST_STATE_URL") is not None, reason="the SQLite file's own schema")
def test_a_first_build_leaves_the_schema_the_migrations_make(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first settle and a first big scan drop and rebuild indexes (bulk loads): they must come back
    exactly as the migrations define them, and a feed must read its items through them."""
    from feeds.store import posts

    monkeypatch.setattr(posts, "BULK_ROWS", 10)
    for i in range(30):
        site.add(f"2022-01-{i % 28 + 1:02d}-p{i}.md", post_text(f"第{i}篇", f"2022-01-{i % 28 + 1:02d} 10:00:00 +0800",
                                                               CAT_A if i % 2 else CAT_B, info_code=f"NW{i:04d}"))  # fmt: skip
    site.build()
    empty = tmp_path / "empty.db"
    with Store(empty):
        pass

    def schema(path: Path) -> set[tuple[str, str]]:
        with sqlite3.connect(path) as db:
            return set(db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall())

    built = next(site.root.rglob("state.db"))
    assert schema(built) == schema(empty)
    with sqlite3.connect(built) as db:
        plan = db.execute("EXPLAIN QUERY PLAN SELECT article FROM article_cats WHERE slug = ? ORDER BY ts DESC LIMIT 5",
                          (CAT_A,)).fetchall()  # fmt: skip
    assert "article_cats_ts" in str(plan)
    assert [e.title for e in site.feed(f"category/{CAT_A}/rss.xml").entries][:2] == ["第27篇", "第25篇"]
