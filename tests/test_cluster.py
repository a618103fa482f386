"""Three `feeds run` nodes on one PostgreSQL store, as subprocesses on this machine: each due source
polled by exactly one node per interval (requests counted at the source server), per-host limits
across the cluster, kill -9 of a node (its sources taken over within the lease), byte-identical
output folders, and the database stopped and started again under the nodes.
Run when FEEDS_TEST_STATE_URL is set (and FEEDS_TEST_PG_DIR, the cluster .ci/pg-cluster started,
for the database restart); skipped otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import CAT_A, CAT_B, POSTS_SOURCE, STATE_URL, feed_source, post_text, write_config
from servers import FeedServer, Route
from test_daemon import RSS_TYPE, TRACEBACK, _no_proxy, remote_title, rss_feed, titles

pytestmark = pytest.mark.skipif(STATE_URL is None, reason="FEEDS_TEST_STATE_URL is not set")
__all__ = ["_no_proxy"]  # its autouse fixture: the nodes reach the test server directly
PG_DIR = os.environ.get("FEEDS_TEST_PG_DIR")
ROOT = Path(__file__).resolve().parent.parent
INTERVAL, LEASE, SOURCES, PER_HOST = 3.0, 4.0, 9, 2


class Node:
    def __init__(self, root: Path, name: str) -> None:
        self.root, self.name = root, name
        self.out = root / f"out-{name}"
        self.log_path = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Node:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "feeds", "run", "-c", "config/feeds.toml", "--node", self.name,
                 "--output", str(self.out)],
                cwd=self.root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True,
            )  # fmt: skip
        return self

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        return self.proc.wait(timeout=20)


@contextmanager
def cluster(root: Path, count: int = 3) -> Iterator[list[Node]]:
    nodes = [Node(root, f"n{i}").start() for i in range(count)]
    try:
        yield nodes
    finally:
        for node in nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.kill(signal.SIGKILL)


def wait_for(check: Callable[[], bool], what: str, nodes: list[Node], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {n.name}\n{n.log()[-3000:]}" for n in nodes)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{logs}")


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def make_cluster_site(root: Path, server: FeedServer, posts: str = "") -> None:
    sources = posts + "".join(feed_source(f"s{i}", server.url(f"/s{i}.xml"), CAT_B) for i in range(SOURCES))
    extra = (f'\n[schedule]\ninterval = "{INTERVAL}s"\njitter = 0\nper_host = {PER_HOST}\npublish_delay = "0.1s"\n'
             f'[fetch]\ntimeout = "2s"\n[state]\nlease = "{LEASE}s"\nbusy_timeout = "5s"\n')  # fmt: skip
    write_config(root, extra, sources=sources)


def serve(server: FeedServer, numbers: list[int]) -> None:
    for i in range(SOURCES):
        body = rss_feed([n * 100 + i for n in numbers])
        server.routes[f"/s{i}.xml"] = Route(body=body, headers=RSS_TYPE, delay=0.3)


def polls(server: FeedServer, since: float, until: float) -> dict[str, list[float]]:
    with server.lock:
        times = list(server.times)
    out: dict[str, list[float]] = {f"/s{i}.xml": [] for i in range(SOURCES)}
    for at, path in times:
        if since <= at < until:
            out.setdefault(path, []).append(at)
    return out


def assert_once_per_interval(server: FeedServer, since: float, until: float, slack: float) -> None:
    """Every source polled in every interval of [since, until), never twice within an interval."""
    seen = polls(server, since, until)
    for path, times in seen.items():
        gaps = [b - a for a, b in pairwise(times)]
        assert times, f"{path} was not polled at all"
        assert min(gaps, default=INTERVAL) > INTERVAL * 0.7, f"{path} polled twice within an interval: {gaps}"
        edges = [times[0] - since, *gaps, until - times[-1]]
        assert max(edges) < INTERVAL + slack, f"{path} went unpolled for {max(edges):.1f}s: {gaps}"


def identical(nodes: list[Node], numbers: list[int]) -> bool:
    wanted = {remote_title(n * 100 + i) for n in numbers for i in range(SOURCES)}
    if not all(wanted <= titles(n.out / "rss.xml") for n in nodes if (n.out / "rss.xml").exists()):
        return False
    snaps = [snapshot(n.out) for n in nodes]
    return all(s == snaps[0] and s for s in snaps)


def test_three_nodes_share_the_polls_survive_a_kill_9_and_publish_identically(tmp_path: Path) -> None:
    with FeedServer() as server:
        serve(server, [1])
        make_cluster_site(tmp_path, server)
        with cluster(tmp_path) as nodes:
            wait_for(lambda: identical(nodes, [1]), "three identical output folders", nodes)
            start = time.monotonic()
            time.sleep(INTERVAL * 4)
            assert_once_per_interval(server, start, time.monotonic(), slack=1.5)
            assert server.max_active <= PER_HOST, f"{server.max_active} requests at once on one host"
            by_node = {n.name: n.log().count("INFO poll s") for n in nodes}
            assert sum(1 for count in by_node.values() if count) >= 2, f"one node did all the polls: {by_node}"

            # kill -9 of the leader: the others take its sources over within the lease, one of them
            # takes the lead (only the leader merges changes: the new items prove it)
            leader = next(n for n in nodes if "leads" in n.log())
            others = [n for n in nodes if n is not leader]
            leader.kill(signal.SIGKILL)
            killed = time.monotonic()
            serve(server, [1, 2])
            wait_for(lambda: identical(others, [1, 2]), "the survivors' identical output", nodes, 30)
            assert sum("leads" in n.log() for n in others) == 1
            time.sleep(INTERVAL * 3)
            assert_once_per_interval(server, killed, time.monotonic(), slack=LEASE + 1.5)

            # the killed node back: it catches up from the store, byte for byte
            leader.start()
            wait_for(lambda: identical(nodes, [1, 2]), "three identical output folders again", nodes)
            for node in nodes:
                assert node.kill(signal.SIGTERM) == 0
        for node in nodes:
            assert TRACEBACK not in node.log(), node.log()


@pytest.mark.skipif(PG_DIR is None, reason="FEEDS_TEST_PG_DIR (the test cluster's folder) is not set")
def test_the_database_stopped_and_started_again_under_the_nodes(tmp_path: Path) -> None:
    assert PG_DIR is not None
    script = ROOT / ".ci" / "pg-cluster"
    with FeedServer() as server, ExitStack() as stack:
        serve(server, [1])
        make_cluster_site(tmp_path, server)
        nodes = stack.enter_context(cluster(tmp_path))
        wait_for(lambda: identical(nodes, [1]), "three identical output folders", nodes)
        subprocess.run([str(script), "stop", PG_DIR], check=True, timeout=60)
        try:
            serve(server, [1, 2])
            time.sleep(INTERVAL * 3)
            for node in nodes:  # alive, serving what they published
                assert node.proc is not None and node.proc.poll() is None, node.log()
                assert {remote_title(100 + i) for i in range(SOURCES)} <= titles(node.out / "rss.xml")
        finally:
            subprocess.run([str(script), "resume", PG_DIR], check=True, timeout=60)
        wait_for(lambda: identical(nodes, [1, 2]), "the nodes recovered by themselves", nodes, 45)
        for node in nodes:
            log = node.log()
            assert TRACEBACK not in log, log
            errors = [line for line in log.splitlines() if " ERROR " in line]
            assert len(errors) <= 6, "\n".join(errors)  # logged once per kind of work, not once per poll
            assert node.kill(signal.SIGTERM) == 0


def test_a_posts_folder_is_scanned_by_its_nodes_and_published_by_all(tmp_path: Path) -> None:
    """`nodes = ["n0"]`: only n0 scans the folder (and watches it); n1 publishes the posts from the
    store, byte-identical to n0 — also a post added while both run."""
    posts = tmp_path / "posts"
    posts.mkdir()
    for i in range(3):
        (posts / f"2022-01-2{i}-p{i}.md").write_text(
            post_text(f"本地{i}", f"2022-01-2{i} 10:00:00 +0800", CAT_A, info_code=f"NW20220120000000{i:04d}"),
            encoding="utf-8",
        )
    with FeedServer() as server:
        serve(server, [1])
        make_cluster_site(tmp_path, server, posts=POSTS_SOURCE + 'nodes = ["n0"]\n')
        with cluster(tmp_path, 2) as nodes:
            local = {f"本地{i}" for i in range(3)}

            def both(wanted: set[str]) -> bool:
                return all(wanted <= titles(n.out / "rss.xml") for n in nodes) and identical(nodes, [1])

            wait_for(lambda: both(local), "both folders with the posts", nodes)
            (posts / "2022-01-29-new.md").write_text(
                post_text("本地新", "2022-01-29 10:00:00 +0800", CAT_A, info_code="NW202201290000000001"),
                encoding="utf-8",
            )
            wait_for(lambda: both(local | {"本地新"}), "the new post in both folders", nodes)
            for node in nodes:
                assert node.kill(signal.SIGTERM) == 0
        assert "scan posts" in nodes[0].log() and "scan posts" not in nodes[1].log(), nodes[1].log()
        assert TRACEBACK not in nodes[0].log() + nodes[1].log()
