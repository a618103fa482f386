"""`feeds run`, `feeds build`, `feeds status` as a user runs them: real processes, real signals,
a real HTTP server on 127.0.0.1 (servers.py), and the state the store keeps between runs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import pytest
from conftest import CAT_A, CAT_B, POSTS_SOURCE, feed_source, post_text, run_cli, write_config
from servers import FeedServer, Route

CST = timezone(timedelta(hours=8))
FEED_PATH = "/rss/news.xml"
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}
POST_TITLE = "本地文章：沪指震荡收涨"
LATER_TITLE = "新增文章：两市成交额回升"
TRACEBACK = "Traceback"
STOP_SECONDS = 5.0  # a stopped daemon must be gone within this


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The feeds processes must reach the test server directly, whatever proxy the machine has."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# ---------------------------------------------------------------- remote feed and config


def info_code(n: int) -> str:
    return f"NW{202201260000000000 + n}"  # NW + 18 digits, like the site's real ids


def remote_title(n: int) -> str:
    return f"远程快讯{n}：央行开展逆回购操作"


def remote_date(n: int) -> datetime:
    return datetime(2022, 1, 26, 9, 0, tzinfo=CST) + timedelta(minutes=n)


def rss_feed(numbers: Iterable[int]) -> bytes:
    """An RSS 2.0 feed shaped like the site's sources: Chinese titles, infoCode links, +0800 dates."""
    items = []
    for n in numbers:
        link = f"http://news.example.com/html_News/NewsShare.html?infoCode={info_code(n)}"
        items.append(
            "<item>"
            f"<title>{escape(remote_title(n))}</title>"
            f"<link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{info_code(n)}</guid>'
            f"<pubDate>{format_datetime(remote_date(n))}</pubDate>"
            f"<description>{escape(f'<p>第{n}条：公开市场操作平稳。</p>')}</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>上证快讯</title><link>http://news.example.com/</link><description>远程源</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def make_site(root: Path, sources: str = "", extra: str = "") -> Path:
    """A site with one post; ``sources`` (remote) are added after the posts source."""
    posts = root / "posts"
    posts.mkdir(parents=True, exist_ok=True)
    (posts / "2022-01-25-post.md").write_text(post_text(POST_TITLE), encoding="utf-8")
    return write_config(root, extra, sources=POSTS_SOURCE + sources)


def parse(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
    return parsed


def titles(path: Path) -> set[str]:
    """The titles of a feed file (empty while it does not exist); a half-written feed fails the test."""
    if not path.exists():
        return set()
    return {entry.title for entry in parse(path).entries}


# ---------------------------------------------------------------- the daemon process


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM, *, to_group: bool = False) -> int:
        """Send ``sig`` (to the whole process group, as a terminal's Ctrl-C does, with ``to_group``)
        and return the exit code; fails the test if the daemon is not gone within STOP_SECONDS."""
        if to_group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"feeds run still running {STOP_SECONDS}s after {sig.name}:\n{self.log()}")


@contextmanager
def daemon(root: Path, name: str = "run") -> Iterator[Running]:
    """``feeds run`` on ``root``'s config, stderr in ``root/<name>.log``; killed on the way out."""
    log_path = root / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "feeds", "run", "-c", "config/feeds.toml"],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group, as in a terminal: Ctrl-C reaches the workers too
        )
    try:
        yield Running(proc, log_path)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # forked workers left behind by a failed test


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def assert_no_leftovers(running: Running) -> None:
    """After the daemon exits, none of its worker processes are still running."""
    wait_until(lambda: not group_members(running.proc.pid), "the daemon's worker processes to exit", None, 3)


def wait_until(check: Callable[[], object], what: str, running: Running | None = None, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        log = running.log() if running else ""
        if running is not None and running.proc.poll() is not None:
            pytest.fail(f"feeds run exited ({running.proc.returncode}) while waiting for {what}:\n{log}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{log}")
        time.sleep(0.05)


def poll_lines(log: str, source: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(rf" (INFO|WARNING) poll {re.escape(source)}: ", line)]


def one_line_refusal(proc: subprocess.CompletedProcess[str], holder: int) -> str:
    assert proc.returncode != 0, proc.stderr
    assert TRACEBACK not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "another feeds process" in lines[0] and f"pid {holder}" in lines[0], lines[0]
    return lines[0]


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*.xml")}


def status_rows(stdout: str) -> dict[str, dict[str, str]]:
    lines = stdout.strip().splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    assert header == ["SOURCE", "TYPE", "LAST SUCCESS", "LAST ERROR", "FAILURES", "ITEMS", "PROBLEMS", "NEXT DUE"], lines[0]
    rows = {}
    for line in lines[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == len(header), line
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


# ---------------------------------------------------------------- feeds run


def test_run_polls_publishes_and_stops_on_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FeedServer({FEED_PATH: Route(body=rss_feed([1, 2]), headers=RSS_TYPE)}) as server:
        make_site(
            tmp_path,
            feed_source("shangzheng", server.url(FEED_PATH)),
            extra='\n[schedule]\ninterval = "1s"\njitter = 0\n',
        )
        with daemon(tmp_path) as running:
            wait_until(
                lambda: {remote_title(1), remote_title(2), POST_TITLE} <= titles(out / "rss.xml"),
                "the first build (remote entries and the post in out/rss.xml)",
                running,
            )

            # The source publishes a new entry: it shows up within a few intervals.
            server.routes[FEED_PATH] = Route(body=rss_feed([1, 2, 3]), headers=RSS_TYPE)
            changed = time.monotonic()
            wait_until(
                lambda: all(remote_title(3) in titles(out / rel) for rel in ("rss.xml", f"category/{CAT_B}/rss.xml")),
                "the new remote entry in the combined feed and its category's feed",
                running,
                6,
            )  # (each file is replaced atomically, one after the other)
            assert time.monotonic() - changed < 4.5, "a 1s source took more than a few intervals to show up"

            # A new post in the folder shows up too (the posts source is rescanned at its interval).
            (tmp_path / "posts" / "2022-01-27-later.md").write_text(
                post_text(LATER_TITLE, date="2022-01-27 08:00:00 +0800", info_code="NW202201270000000001"),
                encoding="utf-8",
            )
            wait_until(lambda: LATER_TITLE in titles(out / "rss.xml"), "the new post", running, 6)

            # `feeds status` works while the daemon runs (it reads the state, takes no lock).
            status = run_cli("status", "-c", "config/feeds.toml", cwd=tmp_path, timeout=20)
            assert status.returncode == 0, status.stderr
            row = status_rows(status.stdout)["shangzheng"]
            assert (row["FAILURES"], row["ITEMS"], row["LAST ERROR"]) == ("0", "3", "-"), status.stdout

            # One log line per poll, naming the source: as many as the server saw requests.
            wait_until(
                lambda: len(poll_lines(running.log(), "shangzheng")) == len(server.headers(FEED_PATH)) >= 3,
                "one 'poll shangzheng' log line per request",
                running,
                5,
            )
            lines = poll_lines(running.log(), "shangzheng")
            assert "updated, 2 new, 0 updated" in lines[0]
            assert any("updated, 1 new, 0 updated" in line for line in lines[1:]), lines
            assert "scan posts:" in running.log()

            assert running.stop(signal.SIGTERM) == 0
        log = running.log()
        assert TRACEBACK not in log, log
        assert "received SIGTERM, stopping" in log and log.rstrip().endswith("stopped"), log
        assert_no_leftovers(running)

    # The feeds are whole and say what the user expects.
    for rel in ("rss.xml", "atom.xml", f"category/{CAT_A}/rss.xml", f"category/{CAT_B}/atom.xml"):
        parse(out / rel)
    combined = parse(out / "rss.xml")
    by_title = {entry.title: entry for entry in combined.entries}
    assert set(by_title) == {remote_title(1), remote_title(2), remote_title(3), POST_TITLE, LATER_TITLE}
    assert f"infoCode={info_code(3)}" in by_title[remote_title(3)].link
    assert [e.title for e in combined.entries] == [
        LATER_TITLE, remote_title(3), remote_title(2), remote_title(1), POST_TITLE
    ]  # fmt: skip
    raw = (out / "rss.xml").read_text(encoding="utf-8")
    assert format_datetime(remote_date(3)) in raw  # "Wed, 26 Jan 2022 09:03:00 +0800": the offset is kept
    assert "+08:00" in (out / "atom.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize("to_group", [False, True], ids=["kill-INT", "ctrl-c"])
def test_sigint_stops_with_exit_0(tmp_path: Path, to_group: bool) -> None:
    """SIGINT to the daemon, or Ctrl-C in a terminal (SIGINT to its whole process group, workers too)."""
    with FeedServer({FEED_PATH: Route(body=rss_feed([1]), headers=RSS_TYPE)}) as server:
        make_site(tmp_path, feed_source("remote", server.url(FEED_PATH)))
        with daemon(tmp_path) as running:
            wait_until(
                lambda: titles(tmp_path / "out" / "rss.xml") == {remote_title(1), POST_TITLE}, "the first publish",
                running,
            )
            assert running.stop(signal.SIGINT, to_group=to_group) == 0
        log = running.log()
        assert TRACEBACK not in log and "KeyboardInterrupt" not in log, log
        assert "received SIGINT, stopping" in log and " INFO stopped" in log, log
        assert_no_leftovers(running)


def test_sigterm_during_the_startup_poll(tmp_path: Path) -> None:
    """The signal handlers are in place from the start: SIGTERM during the first poll still exits 0."""
    with FeedServer({FEED_PATH: Route(body=rss_feed([1]), headers=RSS_TYPE, delay=1)}) as server:
        make_site(tmp_path, feed_source("slow", server.url(FEED_PATH)))
        with daemon(tmp_path) as running:
            wait_until(lambda: server.active > 0, "the startup poll in flight", running)
            assert running.stop(signal.SIGTERM) == 0
        log = running.log()
        assert TRACEBACK not in log, log
        assert "received SIGTERM, stopping" in log, log
        assert_no_leftovers(running)
    # the interrupted first build was dropped, or had finished: never half a feed
    if (tmp_path / "out" / "rss.xml").exists():
        parse(tmp_path / "out" / "rss.xml")


def stop_during_a_scheduled_poll(tmp_path: Path) -> tuple[int, str, set[str]]:
    """Start, let the first build finish, stall the source's next scheduled poll, SIGTERM during it."""
    with FeedServer({FEED_PATH: Route(body=rss_feed([1]), headers=RSS_TYPE)}) as server:
        make_site(
            tmp_path, feed_source("slow", server.url(FEED_PATH), interval="1s"), extra="\n[schedule]\njitter = 0\n"
        )
        with daemon(tmp_path) as running:
            wait_until(lambda: remote_title(1) in titles(tmp_path / "out" / "rss.xml"), "the first build", running)
            server.routes[FEED_PATH] = Route(body=rss_feed([1, 2]), headers=RSS_TYPE, delay=8)
            wait_until(lambda: server.active > 0, "a scheduled poll in flight", running, 5)
            code = running.stop(signal.SIGTERM)
        assert_no_leftovers(running)
        return code, running.log(), titles(tmp_path / "out" / "rss.xml")


def test_sigterm_during_a_scheduled_poll_exits_promptly(tmp_path: Path) -> None:
    code, log, feed_titles = stop_during_a_scheduled_poll(tmp_path)
    assert code == 0, log
    assert "received SIGTERM, stopping" in log, log
    assert feed_titles == {remote_title(1), POST_TITLE}  # the feeds as the last complete publish left them


def test_sigterm_during_a_scheduled_poll_logs_no_traceback(tmp_path: Path) -> None:
    code, log, _ = stop_during_a_scheduled_poll(tmp_path)
    assert code == 0, log
    assert TRACEBACK not in log and " ERROR " not in log, log


# ---------------------------------------------------------------- one writer per output folder


def test_second_writer_is_refused_while_running(tmp_path: Path) -> None:
    make_site(tmp_path)
    out = tmp_path / "out"
    with daemon(tmp_path) as running:
        wait_until(lambda: POST_TITLE in titles(out / "rss.xml"), "the first publish", running)
        before = snapshot(out)
        assert before

        started = time.monotonic()
        second = run_cli("run", "-c", "config/feeds.toml", cwd=tmp_path, timeout=20)
        assert time.monotonic() - started < 5, "the second `feeds run` did not give up promptly"
        one_line_refusal(second, running.proc.pid)

        started = time.monotonic()
        build = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path, timeout=20)
        assert time.monotonic() - started < 5, "`feeds build` did not give up promptly"
        one_line_refusal(build, running.proc.pid)

        assert running.proc.poll() is None, "the first daemon died:\n" + running.log()
        assert snapshot(out) == before  # the refused commands wrote nothing
        assert running.stop(signal.SIGTERM) == 0
    assert TRACEBACK not in running.log()

    build = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path, timeout=20)
    assert build.returncode == 0, build.stderr
    assert "another feeds process" not in build.stderr
    assert titles(out / "rss.xml") == {POST_TITLE}


def test_kill_9_releases_the_lock(tmp_path: Path) -> None:
    """A daemon killed outright (OOM killer, kill -9) does not leave the output folder locked."""
    make_site(tmp_path)
    with daemon(tmp_path) as running:
        wait_until(lambda: POST_TITLE in titles(tmp_path / "out" / "rss.xml"), "the first publish", running)
        assert running.stop(signal.SIGKILL, to_group=True) == -signal.SIGKILL
    build = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path, timeout=20)
    assert build.returncode == 0, build.stderr
    assert "another feeds process" not in build.stderr
    assert titles(tmp_path / "out" / "rss.xml") == {POST_TITLE}


# ---------------------------------------------------------------- feeds status


def test_status_after_a_build_with_a_failing_source(tmp_path: Path) -> None:
    with FeedServer({FEED_PATH: Route(body=rss_feed([1, 2, 3]), headers=RSS_TYPE)}) as server:
        make_site(
            tmp_path,
            feed_source("good", server.url(FEED_PATH)) + feed_source("broken", server.url("/gone.xml"), CAT_A),
        )
        build = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
    assert build.returncode == 0, build.stderr
    assert TRACEBACK not in build.stderr
    failing = [line for line in build.stderr.splitlines() if "HTTP 404" in line]
    assert len(failing) == 1 and "broken" in failing[0], build.stderr
    assert "2 sources polled (1 failed)" in build.stderr.splitlines()[-1]
    assert titles(tmp_path / "out" / "rss.xml") == {remote_title(1), remote_title(2), remote_title(3), POST_TITLE}

    status = run_cli("status", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
    assert status.returncode == 0, status.stderr
    assert TRACEBACK not in status.stderr
    rows = status_rows(status.stdout)
    assert list(rows) == ["posts", "good", "broken"]
    good, broken = rows["good"], rows["broken"]
    assert good["TYPE"] == "feed" and good["LAST SUCCESS"] != "never"
    assert good["LAST ERROR"] == "-" and good["FAILURES"] == "0" and good["ITEMS"] == "3"
    assert broken["TYPE"] == "feed" and broken["LAST SUCCESS"] == "never"
    assert broken["LAST ERROR"].startswith("HTTP 404") and broken["FAILURES"] == "1" and broken["ITEMS"] == "0"
    assert rows["posts"]["TYPE"] == "posts" and rows["posts"]["ITEMS"] == "1"


def test_status_before_any_build_writes_nothing(tmp_path: Path) -> None:
    make_site(tmp_path, feed_source("remote", "http://127.0.0.1:9/feed.xml"))
    state = tmp_path / "config" / ".feeds" / "state.db"
    status = run_cli("status", "-c", "config/feeds.toml", cwd=tmp_path, timeout=20)
    assert status.returncode == 0, status.stderr
    assert TRACEBACK not in status.stderr
    assert "no state yet" in status.stdout and "feeds build" in status.stdout
    assert not state.exists(), "`feeds status` (a read-only command) created the state store"
    again = run_cli("status", "-c", "config/feeds.toml", cwd=tmp_path, timeout=20)
    assert "no state yet" in again.stdout, "after two `feeds status` and no build, status claims there is state"


# ---------------------------------------------------------------- state kept between runs


def test_restart_keeps_rotated_out_items_and_sends_validators(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FeedServer({FEED_PATH: Route(body=rss_feed([1, 2, 3]), etag='"v1"', headers=RSS_TYPE)}) as server:
        make_site(tmp_path, feed_source("remote", server.url(FEED_PATH)))
        first = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
        assert first.returncode == 0, first.stderr
        assert titles(out / "rss.xml") == {remote_title(1), remote_title(2), remote_title(3), POST_TITLE}

        # The source moves on: entry 1 rotates out, entry 4 arrives.
        server.routes[FEED_PATH] = Route(body=rss_feed([2, 3, 4]), etag='"v2"', headers=RSS_TYPE)
        second = run_cli("build", "--force", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
        assert second.returncode == 0, second.stderr
        assert "1 source polled (0 failed)" in second.stderr
        combined = parse(out / "rss.xml")
        assert [e.title for e in combined.entries] == [
            remote_title(4), remote_title(3), remote_title(2), remote_title(1), POST_TITLE
        ]  # fmt: skip
        assert remote_title(1) in titles(out / "category" / CAT_B / "rss.xml")

        # Not modified: a 304, and no feed file is rewritten.
        before = snapshot(out)
        third = run_cli("build", "--force", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
        assert third.returncode == 0, third.stderr
        assert snapshot(out) == before

        sent = server.headers(FEED_PATH)
    assert len(sent) == 3
    assert "if-none-match" not in sent[0]
    assert sent[1].get("if-none-match") == '"v1"'
    assert sent[2].get("if-none-match") == '"v2"'


def test_build_polls_only_due_sources_unless_forced(tmp_path: Path) -> None:
    with FeedServer({FEED_PATH: Route(body=rss_feed([1]), headers=RSS_TYPE)}) as server:
        make_site(tmp_path, feed_source("hourly", server.url(FEED_PATH), interval="1h"))
        first = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
        assert first.returncode == 0, first.stderr
        assert "1 source polled (0 failed)" in first.stderr
        assert len(server.headers(FEED_PATH)) == 1

        again = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
        assert again.returncode == 0, again.stderr
        assert "sources polled" not in again.stderr
        assert len(server.headers(FEED_PATH)) == 1, "a source that is not due was polled"
        assert titles(tmp_path / "out" / "rss.xml") == {remote_title(1), POST_TITLE}  # still there, from the store

        forced = run_cli("build", "--force", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
        assert forced.returncode == 0, forced.stderr
        assert "1 source polled (0 failed)" in forced.stderr
        assert len(server.headers(FEED_PATH)) == 2


def test_caught_up_is_logged_once_the_start_backlog_is_out(tmp_path: Path) -> None:
    """At a start, ``caught up`` is logged after every due source was polled once and a publish
    followed: by then every item of the first polls is in the output; a hanging source holds the
    line back until its fetch times out (and no longer)."""
    out = tmp_path / "out"
    routes = {f"/f{i}.xml": Route(body=rss_feed(range(10 * i + 1, 10 * i + 6)), headers=RSS_TYPE) for i in range(4)}
    routes["/hang.xml"] = Route(body=rss_feed([99]), headers=RSS_TYPE, delay=3.0)
    with FeedServer(routes) as server:
        sources = "".join(feed_source(f"s{i}", server.url(f"/f{i}.xml")) for i in range(4))
        sources += feed_source("slow", server.url("/hang.xml"))
        make_site(tmp_path, sources, extra='\n[fetch]\ntimeout = "1.5s"\n')
        with daemon(tmp_path) as running:
            wait_until(lambda: "caught up in" in running.log(), "the caught up line", running, 20)
            shown = titles(out / "rss.xml")  # read at once: everything of the first polls is there
            log = running.log()
            assert {remote_title(n) for i in range(4) for n in range(10 * i + 1, 10 * i + 6)} <= shown
            assert POST_TITLE in shown
            assert log.count("caught up in") == 1 and "5 sources polled" in log
            assert log.index("poll slow") < log.index("caught up in")  # waited for the slow one's timeout
            assert log.index("running:") < log.index("caught up in")
            assert running.stop(signal.SIGTERM) == 0


def test_the_start_polls_once_the_posts_are_out(tmp_path: Path) -> None:
    """A start publishes the store's feeds and the posts before it polls (at most START_HOLD): polled
    meanwhile, the remote items waited for that publish (seconds, with thousands of posts) and the next."""
    with FeedServer({FEED_PATH: Route(body=rss_feed([1, 2]), headers=RSS_TYPE)}) as server:
        make_site(tmp_path, feed_source("s0", server.url(FEED_PATH)))
        with daemon(tmp_path) as running:
            wait_until(lambda: "caught up in" in running.log(), "the caught up line", running, 20)
            log = running.log()
            posts_out = re.search(r"publish: [1-9]\d* items?", log)
            assert posts_out is not None and posts_out.start() < log.index("poll s0")
            assert running.stop(signal.SIGTERM) == 0
