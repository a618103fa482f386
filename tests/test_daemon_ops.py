"""`feeds run` as an operator leaves it running: store contention, kill -9 and restart, SIGHUP,
a changed interval, new posts within seconds, missing folders, emptied categories, a forced poll.
Real processes, real signals, a real HTTP server on 127.0.0.1, a real SQLite file."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

from conftest import CAT_A, CAT_B, POSTS_SOURCE, feed_source, post_text, run_cli, state_url, write_config
from servers import FeedServer, Route
from test_daemon import (
    FEED_PATH,
    POST_TITLE,
    RSS_TYPE,
    TRACEBACK,
    daemon,
    make_site,
    remote_title,
    rss_feed,
    titles,
    wait_until,
)


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def lock_the_store(root: Path) -> Any:
    """A connection holding the whole store locked (SQLite: the file; PostgreSQL: its tables) until ROLLBACK."""
    url = state_url(root)
    if url is None:
        blocker = sqlite3.connect(root / "config" / ".feeds" / "state.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        return blocker
    import psycopg

    pg = psycopg.connect(url, autocommit=True)
    pg.execute("BEGIN")
    pg.execute("LOCK TABLE sources, items, entries, dirty, meta, node_meta IN ACCESS EXCLUSIVE MODE")
    return pg


def test_a_store_error_during_the_startup_polls_does_not_end_the_daemon(tmp_path: Path) -> None:
    """The state file is locked by another program while the daemon starts: its polls fail to be
    stored (logged, one line each), the daemon lives on and catches up once the lock is gone."""
    with FeedServer({FEED_PATH: Route(body=rss_feed([1, 2]), headers=RSS_TYPE)}) as server:
        sources = "".join(feed_source(f"s{i}", server.url(FEED_PATH) + f"?n={i}", interval="1s") for i in range(4))
        make_site(tmp_path, sources, extra='\n[state]\nbusy_timeout = "0.2s"\n[schedule]\njitter = 0\n')
        run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path)  # the store exists, with the post
        for path in (tmp_path / "out").rglob("*.xml"):
            path.unlink()
        blocker = lock_the_store(tmp_path)
        try:
            with daemon(tmp_path) as running:
                wait_until(lambda: "state store error" in running.log(), "a store error while locked", running, 20)
                time.sleep(1.5)
                assert running.proc.poll() is None, running.log()
                blocker.execute("ROLLBACK")
                wait_until(
                    lambda: {remote_title(1), remote_title(2), POST_TITLE} <= titles(tmp_path / "out" / "rss.xml"),
                    "the feeds once the store is free",
                    running,
                    20,
                )
                assert running.stop() == 0
        finally:
            blocker.close()
        log = running.log()
        assert TRACEBACK not in log, log


def test_kill_9_of_the_daemon_alone_then_an_immediate_restart(tmp_path: Path) -> None:
    """kill -9 of the main process only (its workers are not signalled): the workers die by themselves,
    and a restart right away is not refused."""
    make_site(tmp_path)
    for i in range(300):  # enough posts for the scan to use the worker processes
        (tmp_path / "posts" / f"2022-01-2{i % 8}-bulk{i}.md").write_text(
            post_text(f"批量文章{i}", date=f"2022-01-2{i % 8} 10:00:00 +0800", info_code=f"NW2022012{i:011d}"),
            encoding="utf-8",
        )
    with daemon(tmp_path) as first:
        wait_until(lambda: titles(tmp_path / "out" / "rss.xml"), "the first publish", first)
        workers = children(first.proc.pid)
        assert workers, "the daemon has worker processes"
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(timeout=5)
        wait_until(lambda: not any(alive(pid) for pid in workers), "the orphaned workers to die", None, 3)
        with daemon(tmp_path, "restart") as second:
            time.sleep(1)
            assert second.proc.poll() is None, second.log()
            assert "another feeds process" not in second.log()
            (tmp_path / "posts" / "2022-01-29-after.md").write_text(
                post_text("重启后文章", date="2022-01-29 10:00:00 +0800", info_code="NW202201290000000001"),
                encoding="utf-8",
            )
            wait_until(lambda: "重启后文章" in titles(tmp_path / "out" / "rss.xml"), "a post after the restart",
                       second, 10)  # fmt: skip
            assert second.stop() == 0
        assert TRACEBACK not in second.log()


def test_a_new_post_appears_within_seconds_without_waiting_for_the_interval(tmp_path: Path) -> None:
    make_site(tmp_path, extra='\n[schedule]\ninterval = "1h"\n')
    out = tmp_path / "out"
    with daemon(tmp_path) as running:
        wait_until(lambda: POST_TITLE in titles(out / "rss.xml"), "the first publish", running)
        time.sleep(0.5)
        written = time.monotonic()
        (tmp_path / "posts" / "2022-01-28-new.md").write_text(
            post_text("即时文章", date="2022-01-28 09:00:00 +0800", info_code="NW202201280000000001"), encoding="utf-8"
        )
        wait_until(lambda: "即时文章" in titles(out / "rss.xml"), "the new post", running, 5)
        assert time.monotonic() - written < 3
        (tmp_path / "posts" / "2022-01-28-new.md").unlink()  # and a deleted one leaves as fast
        wait_until(lambda: "即时文章" not in titles(out / "rss.xml"), "the deleted post gone", running, 5)
        assert running.stop() == 0
    assert TRACEBACK not in running.log()


def test_sighup_picks_up_an_added_and_a_removed_source(tmp_path: Path) -> None:
    routes = {"/a.xml": Route(body=rss_feed([1]), headers=RSS_TYPE), "/b.xml": Route(body=rss_feed([2]), headers=RSS_TYPE)}
    with FeedServer(routes) as server:
        make_site(tmp_path, feed_source("a", server.url("/a.xml")))
        out = tmp_path / "out"
        with daemon(tmp_path) as running:
            wait_until(lambda: remote_title(1) in titles(out / "rss.xml"), "source a", running)
            cfg = tmp_path / "config" / "feeds.toml"
            good = cfg.read_text(encoding="utf-8")
            cfg.write_text(good + "\n[bogus]\n", encoding="utf-8")  # a bad config: logged, the old one kept
            running.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "keeping the running config" in running.log(), "the bad config refused", running)
            write_config(tmp_path, sources=POSTS_SOURCE + feed_source("b", server.url("/b.xml")))
            running.proc.send_signal(signal.SIGHUP)
            wait_until(
                lambda: remote_title(2) in (t := titles(out / "rss.xml")) and remote_title(1) not in t,
                "source b in, source a out",
                running,
            )
            assert POST_TITLE in titles(out / "rss.xml")
            assert running.stop() == 0
        assert TRACEBACK not in running.log()


def test_a_shortened_interval_is_honoured_after_a_restart(tmp_path: Path) -> None:
    with FeedServer({FEED_PATH: Route(body=rss_feed([1]), headers=RSS_TYPE)}) as server:
        make_site(tmp_path, feed_source("r", server.url(FEED_PATH), interval="1h"))
        with daemon(tmp_path) as running:
            wait_until(lambda: len(server.requests) == 1, "the first poll", running)
            assert running.stop() == 0
        make_site(tmp_path, feed_source("r", server.url(FEED_PATH), interval="1s"), extra="\n[schedule]\njitter = 0\n")
        with daemon(tmp_path, "again") as running:
            wait_until(lambda: len(server.requests) >= 3, "polls at the new 1s interval", running, 8)
            assert running.stop() == 0


def test_build_force_asks_the_running_daemon_to_poll_now(tmp_path: Path) -> None:
    with FeedServer({FEED_PATH: Route(body=rss_feed([1]), headers=RSS_TYPE)}) as server:
        make_site(tmp_path, feed_source("r", server.url(FEED_PATH), interval="1h"))
        out = tmp_path / "out"
        with daemon(tmp_path) as running:
            wait_until(lambda: remote_title(1) in titles(out / "rss.xml"), "the first poll", running)
            server.routes[FEED_PATH] = Route(body=rss_feed([1, 2]), headers=RSS_TYPE)
            forced = run_cli("build", "--force", "-c", "config/feeds.toml", cwd=tmp_path)
            assert forced.returncode == 0, forced.stderr
            assert "asked it to poll every source now" in forced.stderr
            wait_until(lambda: remote_title(2) in titles(out / "rss.xml"), "the forced poll's item", running, 5)
            assert running.stop() == 0


def test_a_missing_posts_folder_keeps_the_last_feeds_and_fails_the_build(tmp_path: Path) -> None:
    make_site(tmp_path)
    assert run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path).returncode == 0
    before = (tmp_path / "out" / "rss.xml").read_bytes()
    (tmp_path / "posts").rename(tmp_path / "unmounted")
    proc = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path)
    assert proc.returncode == 1
    assert "does not exist" in proc.stderr and "last known items are kept" in proc.stderr
    assert TRACEBACK not in proc.stderr
    assert (tmp_path / "out" / "rss.xml").read_bytes() == before
    with daemon(tmp_path) as running:  # the daemon says so too, and keeps serving the same feeds
        wait_until(lambda: "does not exist" in running.log(), "the missing folder logged", running)
        time.sleep(1)
        assert (tmp_path / "out" / "rss.xml").read_bytes() == before
        (tmp_path / "unmounted").rename(tmp_path / "posts")
        assert running.stop() == 0
    (tmp_path / "posts" / "2022-01-25-post.md").unlink()  # an existing, empty folder: "no posts"
    assert run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path).returncode == 0
    assert titles(tmp_path / "out" / "rss.xml") == set()


def test_a_category_emptied_of_posts_loses_its_feed_files_and_nothing_else(tmp_path: Path) -> None:
    make_site(tmp_path)
    posts = tmp_path / "posts"
    (posts / "2022-01-26-b.md").write_text(
        post_text("乙类文章", categories=CAT_B, info_code="NW202201260000000009"), encoding="utf-8"
    )
    assert run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path).returncode == 0
    out = tmp_path / "out"
    folder = out / "category" / CAT_B
    assert (folder / "rss.xml").exists() and (folder / "atom.xml").exists()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")  # the user's own files
    (out / "robots.txt").write_text("User-agent: *", encoding="utf-8")
    (posts / "2022-01-26-b.md").unlink()
    proc = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (folder / "rss.xml").exists() and not (folder / "atom.xml").exists()
    assert "removed" in proc.stderr
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "robots.txt").exists()
    assert (out / "category" / CAT_A / "rss.xml").exists()
    for name in ("index.html", "feeds.opml"):
        text = (out / name).read_text(encoding="utf-8")
        assert CAT_B not in text and "上海证券报" not in text, name


def test_bad_posts_are_named_once_when_seen_and_again_when_changed(tmp_path: Path) -> None:
    make_site(tmp_path)
    posts = tmp_path / "posts"
    (posts / "2022-01-26-broken.md").write_text("no front matter here\n", encoding="utf-8")
    out = tmp_path / "out"

    def mentions() -> int:
        return running.log().count("2022-01-26-broken.md")

    with daemon(tmp_path) as running:
        wait_until(lambda: POST_TITLE in titles(out / "rss.xml"), "the first publish", running)
        wait_until(lambda: mentions() == 1, "the bad post named", running, 5)
        (posts / "2022-01-27-good.md").write_text(
            post_text("另一篇", date="2022-01-27 09:00:00 +0800", info_code="NW202201270000000002"), encoding="utf-8"
        )
        wait_until(lambda: "另一篇" in titles(out / "rss.xml"), "an unrelated new post", running, 5)
        assert mentions() == 1, running.log()  # not named again for someone else's change
        (posts / "2022-01-26-broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
        wait_until(lambda: mentions() == 2, "the bad post named again after it changed", running, 5)
        assert running.stop() == 0
    assert TRACEBACK not in running.log()


def test_a_job_cancelled_at_shutdown_is_not_logged_as_an_error() -> None:
    """APScheduler logs a job whose task was cancelled at shutdown as "Error running job" with a
    traceback; the daemon's filter drops exactly those records (the jobs contain their own errors)."""
    import asyncio
    import logging

    import feeds.daemon.scheduler  # noqa: F401  (installs the filter)

    logger = logging.getLogger("apscheduler.executors.default")

    def record(exc: BaseException) -> logging.LogRecord:
        return logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "Error running job %s", ("s",),
                                 (type(exc), exc, None))  # fmt: skip

    assert not logger.filter(record(asyncio.CancelledError()))
    assert logger.filter(record(RuntimeError("a real one")))
