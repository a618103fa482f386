"""kill -9 at any moment of `feeds build` leaves the store and the output folder consistent."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import feedparser
from conftest import CAT_A, CAT_B, POSTS_SOURCE, feed_source, post_text, state_url, write_config
from servers import FeedServer, Route

POSTS = 2500


def remote_feed(count: int) -> bytes:
    items = "".join(
        f"<item><title>远端{i}</title>"
        f"<link>http://news.example.com/html_News/NewsShare.html?infoCode=NW2023030100000{i:05d}</link>"
        f"<pubDate>Wed, 01 Mar 2023 {i % 24:02d}:00:00 +0800</pubDate>"
        f"<description>&lt;p&gt;远端正文{i}&lt;/p&gt;</description></item>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>远端</title>'
        f"<link>http://news.example.com/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def make_site(root: Path, url: str) -> Path:
    config = write_config(root, sources=POSTS_SOURCE + feed_source("remote", url))
    posts = root / "posts"
    for i in range(POSTS):
        month, day = 1 + i % 12, 1 + i % 28
        path = posts / f"{2022 + i % 2}" / f"{month:02d}" / f"{2022 + i % 2}-{month:02d}-{day:02d}-p{i}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            post_text(
                f"文章{i}",
                f"{2022 + i % 2}-{month:02d}-{day:02d} {i % 24:02d}:{i % 60:02d}:00 +0800",
                CAT_A if i % 3 else CAT_B,
                info_code=f"NW2022{i:014d}",
            ),
            encoding="utf-8",
        )
    return config


def start_build(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", "build", "-c", "config/feeds.toml"],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its workers too are killed with the group
    )


def finish(proc: subprocess.Popen[bytes]) -> None:
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err


def outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def assert_consistent(root: Path) -> None:
    """The state file is a sound SQLite database and every feed file is whole."""
    state = root / "config" / ".feeds" / "state.db"
    if state.exists():
        db = sqlite3.connect(state)
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            db.close()
    for path in (root / "out").rglob("*.xml"):  # temporary files are hidden *.tmp: never *.xml
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.entries, path


def test_kill_9_at_any_moment_then_a_build_equals_a_clean_one(tmp_path: Path) -> None:
    with FeedServer({"/f.xml": Route(body=remote_feed(40), etag='"r1"')}) as server:
        make_site(tmp_path, server.url("/f.xml"))
        out, state = tmp_path / "out", tmp_path / "config" / ".feeds"
        started = time.perf_counter()
        finish(start_build(tmp_path))
        clean = time.perf_counter() - started  # the kills below land all along a build
        reference = outputs(out)
        assert "rss.xml" in reference and len(reference) == 2 + 2 * 2 + 1 + 3  # feeds, opml, 3 pages
        shutil.rmtree(out)
        if state_url(tmp_path, fresh=True) is None:  # the PostgreSQL schema emptied, or the SQLite file gone
            shutil.rmtree(state)

        for fraction in (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 0.95):
            proc = start_build(tmp_path)
            time.sleep(clean * fraction)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            assert_consistent(tmp_path)

        finish(start_build(tmp_path))
        assert_consistent(tmp_path)
        assert outputs(out) == reference
        # and a build with nothing changed rewrites nothing
        before = {p: p.stat().st_mtime_ns for p in out.rglob("*.xml")}
        finish(start_build(tmp_path))
        assert {p: p.stat().st_mtime_ns for p in out.rglob("*.xml")} == before
