"""`feeds build` and `feeds run --listen` write the same files for the same config (real processes, 127.0.0.1)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from conftest import CAT_B, feed_source, run_cli
from servers import FeedServer, Route
from test_daemon import FEED_PATH, RSS_TYPE, TRACEBACK, make_site, rss_feed, wait_until
from test_daemon_serving import free_port, get


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_build_and_run_listen_write_the_same_files(tmp_path: Path) -> None:
    built, served = tmp_path / "built", tmp_path / "served"
    with FeedServer({FEED_PATH: Route(body=rss_feed([1, 2]), headers=RSS_TYPE)}) as server:
        source = feed_source("remote", server.url(FEED_PATH), category=CAT_B)
        for root in (built, served):  # the same config and posts, each with its own state and output
            make_site(root, source)
            cfg = root / "config" / "feeds.toml"
            cfg.write_text(cfg.read_text(encoding="utf-8").replace('dir = "../out"\n',
                           'dir = "../out"\nformats = ["rss", "atom", "json"]\n'), encoding="utf-8")  # fmt: skip
        configs = [re.sub(r"(?m)^url = \"postgresql.*$", "", (root / "config" / "feeds.toml").read_text())
                   for root in (built, served)]  # (on PostgreSQL each has its own schema)
        assert configs[0] == configs[1]

        proc = run_cli("build", cwd=built)
        assert proc.returncode == 0, proc.stderr

        port = free_port()
        log_path = served / "run.log"
        with log_path.open("wb") as log:
            running = subprocess.Popen(
                [sys.executable, "-m", "feeds", "run", "--listen", f"127.0.0.1:{port}"],
                cwd=served, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        try:
            def text() -> str:
                return log_path.read_text(encoding="utf-8", errors="replace")

            wait_until(lambda: "caught up" in text(), "the first publish", None, 30)
            status, _, body = get(f"http://127.0.0.1:{port}/rss.xml")
            assert status == 200 and body == (served / "out" / "rss.xml").read_bytes()
            running.send_signal(signal.SIGTERM)
            assert running.wait(timeout=10) == 0
        finally:
            if running.poll() is None:
                running.kill()
                running.wait(timeout=10)

    log = text()
    assert TRACEBACK not in log
    lines = [line for line in log.splitlines() if "self links" in line]
    assert len(lines) == 1, log
    assert re.search(rf"serving \S+ at http://127\.0\.0\.1:{port}/?; the feeds' self links point at "
                     r"https://finews\.example\.com/ \(site\.url\)$", lines[0]), lines[0]  # fmt: skip

    files, again = tree(built / "out"), tree(served / "out")
    assert sorted(files) == sorted(again)
    assert len(files) >= 10
    different = [name for name in files if files[name] != again[name]]
    assert different == [], different
    selfs = re.findall(rb'<atom:link href="([^"]+)" rel="self"', files["rss.xml"])
    assert selfs == [b"https://finews.example.com/rss.xml"]  # site.url, not the address it was served at
