"""The PostgreSQL store on its own: `feeds migrate` from SQLite, schema versions, passwords never shown.
Run when FEEDS_TEST_STATE_URL names a PostgreSQL database (see .ci/run); skipped otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import CAT_A, POSTS_SOURCE, STATE_URL, feed_source, post_text, run_cli, state_url, write_config
from servers import FeedServer, Route
from test_daemon import RSS_TYPE, rss_feed

pytestmark = pytest.mark.skipif(STATE_URL is None, reason="FEEDS_TEST_STATE_URL is not set")


def outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def sqlite_config(root: Path, sources: str) -> Path:
    """The config of a site on SQLite (whatever the suite runs on)."""
    cfg = write_config(root, sources=sources)
    cfg.write_text("\n".join(line for line in cfg.read_text(encoding="utf-8").splitlines()
                             if not line.startswith("url = \"postgresql")), encoding="utf-8")  # fmt: skip
    return cfg


def test_migrate_a_built_store_gives_the_same_feeds_and_twice_is_harmless(tmp_path: Path) -> None:
    with FeedServer({"/f.xml": Route(body=rss_feed([1, 2, 3]), headers=RSS_TYPE, etag='"e1"')}) as server:
        posts = tmp_path / "posts"
        posts.mkdir()
        for i in range(5):
            (posts / f"2022-01-2{i}-p{i}.md").write_text(
                post_text(f"文章{i}", f"2022-01-2{i} 10:00:00 +0800", CAT_A, info_code=f"NW20220120000000{i:04d}"),
                encoding="utf-8",
            )
        cfg = sqlite_config(tmp_path, POSTS_SOURCE + feed_source("remote", server.url("/f.xml")))
        built = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path)
        assert built.returncode == 0, built.stderr
        reference = outputs(tmp_path / "out")
        url = state_url(tmp_path, fresh=True)
        assert url is not None
        for attempt in (1, 2):
            done = run_cli("migrate", "-c", "config/feeds.toml", "--to", url, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            assert "verified: " in done.stderr and "3 items" in done.stderr.replace("\n", " ")
            assert ("earlier copy replaced" in done.stderr) == (attempt == 2)
        # the same site on PostgreSQL: the same feeds, and the source is not due again (its state came along)
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(text.replace("\n[state]\n", f'\n[state]\nurl = "{url}"\n'), encoding="utf-8")
        shutil.rmtree(tmp_path / "out")
        again = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert outputs(tmp_path / "out") == reference
        assert len(server.requests) == 1
        status = run_cli("status", "-c", "config/feeds.toml", cwd=tmp_path)
        assert "remote" in status.stdout and " 3 " in status.stdout


def test_migrate_refuses_a_database_that_holds_another_store(tmp_path: Path) -> None:
    sqlite_config(tmp_path, POSTS_SOURCE)
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "2022-01-25-a.md").write_text(post_text("甲"), encoding="utf-8")
    assert run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path).returncode == 0
    other = tmp_path / "other"
    write_config(other)  # another site, on the same schema
    url = state_url(tmp_path, fresh=True)
    assert url is not None
    (other / "config" / "feeds.toml").write_text(
        (other / "config" / "feeds.toml").read_text(encoding="utf-8").replace(str(state_url(other)), url),
        encoding="utf-8",
    )
    (other / "posts").mkdir()
    (other / "posts" / "2022-01-25-b.md").write_text(post_text("乙"), encoding="utf-8")
    assert run_cli("build", "-c", "config/feeds.toml", cwd=other).returncode == 0
    refused = run_cli("migrate", "-c", "config/feeds.toml", "--to", url, cwd=tmp_path)
    assert refused.returncode == 1 and "already holds a store" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    import psycopg

    write_config(tmp_path)
    (tmp_path / "posts").mkdir()
    assert run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path).returncode == 0
    url = state_url(tmp_path)
    assert url is not None
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("UPDATE feeds_schema SET version = 99")
    for command in ("build", "run", "status"):
        proc = run_cli(command, "-c", "config/feeds.toml", cwd=tmp_path)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "newer feeds (schema 99 > " in lines[0], proc.stderr


def test_the_password_is_never_shown(tmp_path: Path) -> None:
    write_config(tmp_path, '\n[state]\nurl = "postgresql://feeds:s3cret@127.0.0.1:9/feeds"\n', sources="")
    text = (tmp_path / "config" / "feeds.toml").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if "search_path" not in line)  # only the bad database
    (tmp_path / "config" / "feeds.toml").write_text(text, encoding="utf-8")
    for command in ("build", "status"):
        proc = run_cli(command, "-c", "config/feeds.toml", cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert "s3cret" not in proc.stderr + proc.stdout
        assert "postgresql://feeds@127.0.0.1:9/feeds" in proc.stderr


def test_near_duplicates_stored_by_two_nodes_at_once_find_each_other(tmp_path: Path, monkeypatch) -> None:
    """Node A stores a story and has not committed yet when node B stores another outlet's copy:
    B's decision waits for A's commit (one advisory lock), sees A's sketch, and joins A's article,
    as it would on SQLite, where writes run one at a time."""
    import threading
    import time
    from datetime import UTC, datetime

    from feeds.core.models import Item
    from feeds.core.neardup import html_sketch as text_sketch
    from feeds.store import NearDup, SourceState, open_store, sources

    url = state_url(tmp_path)
    assert url is not None
    when = datetime(2024, 1, 1, tzinfo=UTC)
    body = "市场整体平稳运行，资金面保持合理充裕，交易活跃度有所回升。" * 12

    def item(key: str, source: str, extra: str) -> Item:
        return Item(key=key, title="央行开展逆回购操作", link=f"http://{source}.example/{key}", published=when,
                    updated=when, categories=(), tags=(), author="", content=body + extra, summary="",
                    source=source, origin=f"http://{source}.example/")  # fmt: skip

    near = NearDup(2 * 86400, 0.5)
    paused, go = threading.Event(), threading.Event()
    real = sources._save_source

    def slow_save_source(db, state):  # type: ignore[no-untyped-def]
        if state.name == "a":  # inside A's transaction, after its article was decided
            paused.set()
            assert go.wait(20)
        real(db, state)

    monkeypatch.setattr(sources, "_save_source", slow_save_source)
    with open_store(url, node="node-a") as a, open_store(url, node="node-b") as b:
        first, second = item("k-a", "a", ""), item("k-b", "b", "另")

        def store_a() -> None:
            a.save_poll(SourceState("a", url="http://a.example/f"), [first], [], time.time(),
                        sketches={"k-a": text_sketch(first.title, first.content)}, near=near)  # fmt: skip

        writer = threading.Thread(target=store_a)
        writer.start()
        assert paused.wait(20)
        done = threading.Event()

        def store_b() -> None:
            b.save_poll(SourceState("b", url="http://b.example/f"), [second], [], time.time(),
                        sketches={"k-b": text_sketch(second.title, second.content)}, near=near)  # fmt: skip
            done.set()

        other = threading.Thread(target=store_b)
        other.start()
        assert not done.wait(1.0), "B decided its article while A's decision was not committed"
        go.set()
        writer.join(20)
        other.join(20)
        assert done.is_set()
        assert a.find_article(["k-b"]) == "k-a"
        assert set(b.sketches_of("k-a")) == {("a", "k-a"), ("b", "k-b")}
