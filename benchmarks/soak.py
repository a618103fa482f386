"""The daemon soak: ``feeds run`` for minutes against changing remote feeds and a live posts folder.

    python benchmarks/soak.py [--minutes 5] [--quick] [--sources 300] [--posts 3000] [--report FILE] ...

Starts ``soakserver.py`` (changing feeds, some failing), writes a posts folder
(``corpus.py``'s posts) and a config under ``benchmarks/corpus/soak/``, runs
``python -m feeds run`` and, while it runs, adds/edits/deletes posts at a steady
rate and watches the output folder.  Half way it kills the daemon's main pid with
SIGKILL and restarts it at once; at the end it sends SIGTERM.  Every figure and the
PASS/FAIL verdict are in a Markdown report (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench_build import CORPUS_ROOT, HERE, MB, PROJECT, machine_line, tree_pids
from corpus import SENTENCES, categories, generate, toml_str
from soak_report import Window, judge, parse_logs
from soak_text import report
from soak_watch import Editor, Sampler, Watcher, orphans

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy for 127.0.0.1
CATEGORIES = 30
REFUSED = "another feeds process"


def start_server(args: argparse.Namespace, log: Path) -> tuple[subprocess.Popen[str], int]:
    cmd = [sys.executable, str(HERE / "soakserver.py"), "--sources", str(args.sources), "--publish", args.publish,
           "--window", str(args.window), "--failing", args.failing, "--seed", str(args.seed), "--port", "0",
           "--hang", str(args.hang)]  # fmt: skip
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("READY "):
        proc.kill()
        proc.wait(10)
        raise SystemExit(f"soakserver did not start: {line!r}")
    return proc, int(line.split()[1])


def get(port: int, path: str) -> bytes:
    with _OPENER.open(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
        return response.read()


def write_config(work: Path, args: argparse.Namespace, port: int) -> Path:
    rng = random.Random(args.seed)
    cats = categories(CATEGORIES)
    lines = ["[site]", 'title = "财经快讯（稳定性测试）"', 'url = "https://finews.example.com/"',
             'description = "合成数据：长时间运行测试"', "", "[output]", 'dir = "out"', 'formats = ["rss", "atom"]',
             f"limit = {args.limit}", "", "[categories]", *(f"{toml_str(s)} = {toml_str(t)}" for s, t in cats), "",
             "[schedule]", 'interval = "5s"', f"concurrency = {args.concurrency}", f"per_host = {args.concurrency}",
             'max_backoff = "60s"', "", "[fetch]", f'timeout = "{args.timeout}s"', 'connect_timeout = "2s"',
             f'read_timeout = "{args.timeout}s"', "", "[state]", 'path = ".feeds/state.db"', "",
             "[[sources]]", 'name = "posts"', 'type = "posts"', 'path = "posts"',
             f'interval = "{args.posts_interval}s"', ""]  # fmt: skip
    lo, _, hi = args.intervals.partition("-")
    for i in range(args.sources):
        every = rng.randint(int(lo), int(hi or lo))
        lines += ["[[sources]]", f'name = "src-{i}"', 'type = "feed"', f'url = "http://127.0.0.1:{port}/feed/{i}.xml"',
                  f"category = {toml_str(cats[i % CATEGORIES][0])}", f'interval = "{every}s"', ""]  # fmt: skip
    config = work / "feeds.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


class Daemons:
    """Every ``feeds run`` started here (each in its own session, so the end can clean up its group)."""

    def __init__(self, config: Path, logs: Path) -> None:
        self.config, self.logs = config, logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log_files: list[Path] = []

    def start(self, label: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"daemon-{label}.log"
        self.log_files.append(log)
        env = {**os.environ, "PYTHONPATH": str(PROJECT)}
        cmd = [sys.executable, "-m", "feeds", "run", "-c", str(self.config), "--log-level", "info"]
        with open(log, "wb") as err:
            proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)  # fmt: skip
        self.procs.append(proc)
        return proc

    def start_retrying(self, label: str, deadline: float) -> tuple[subprocess.Popen[bytes] | None, int, str]:
        """Start; while it is refused (exit 1 naming another process), retry each second until ``deadline``."""
        refused, note = 0, ""
        while True:
            proc = self.start(f"{label}-{refused}" if refused else label)
            try:
                code = proc.wait(3)
            except subprocess.TimeoutExpired:
                return proc, refused, note
            text = self.log_files[-1].read_text(encoding="utf-8", errors="replace")
            if REFUSED not in text:
                return None, refused, f"exited {code} at start: {text.strip()[-300:]}"
            refused += 1
            note = text.strip().splitlines()[-1] if text.strip() else ""
            if time.time() > deadline:
                return None, refused, note
            time.sleep(1)

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)  # its session: children it left behind
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                proc.wait(10)


def sleep_until(t: float, proc: subprocess.Popen[bytes] | None) -> None:
    while time.time() < t and (proc is None or proc.poll() is None):
        time.sleep(min(0.5, max(0.0, t - time.time())))


def run(args: argparse.Namespace) -> int:
    work: Path = args.workdir
    if work.exists():
        shutil.rmtree(work)
    (work / "logs").mkdir(parents=True)
    started = time.perf_counter()
    generate(args.posts, work / "posts", seed=args.seed, category_count=CATEGORIES)
    print(f"soak: {args.posts} posts written in {time.perf_counter() - started:.1f} s under {work}", flush=True)
    server, port = start_server(args, work / "logs" / "soakserver.log")
    daemons = Daemons(write_config(work, args, port), work / "logs")
    cats = categories(CATEGORIES)
    watcher = Watcher(work / "out", args.watch_ms / 1000)
    editor = Editor(work / "posts" / "soak", args.edit_rate, args.seed, cats, SENTENCES, watcher)
    sampler = Sampler()
    info: dict[str, object] = {}
    duration = args.minutes * 60
    # A hard stop for the whole run, whatever happens: SIGALRM raises, `finally` cleans up.
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("soak: overall timeout")))
    signal.alarm(int(duration + args.restart_timeout + args.stop_timeout + 300))
    try:
        t0 = time.time()
        first = daemons.start("1")
        sampler.pid = first.pid
        for thread in (watcher, editor, sampler):
            thread.start()
        print(f"soak: daemon pid {first.pid}, server port {port}, {duration:.0f} s", flush=True)
        sleep_until(t0 + duration / 2, first)
        info["died early"] = first.poll()
        children = tree_pids(first.pid)[1:]
        kill_at = time.time()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            os.kill(first.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            first.wait(10)
        second, refused, note = daemons.start_retrying("2", kill_at + args.restart_timeout)
        info.update(kill_at=kill_at, restart_started=time.time(), refused=refused, refused_note=note)
        sampler.pid = second.pid if second else None
        time.sleep(3)
        info["children at kill"] = children
        info["children alive 3 s after kill"] = [pid for pid in children if os.path.exists(f"/proc/{pid}")]
        info["orphans (ppid 1, feeds) 3 s after kill"] = orphans(str(daemons.config))
        sleep_until(t0 + duration, second)
        editor.stop.set()
        term_at = time.time()
        info["term_at"] = term_at
        if second is not None and second.poll() is None:
            second.send_signal(signal.SIGTERM)
            try:
                info["exit code"] = second.wait(args.stop_timeout)
            except subprocess.TimeoutExpired:
                info["exit code"] = f"still running after {args.stop_timeout} s (killed)"
            info["exit seconds"] = time.time() - term_at
        else:
            info["exit code"] = f"not running at the end ({second.returncode if second else 'never restarted'})"
        time.sleep(0.5)
        info["orphans at the end"] = orphans(str(daemons.config))
        watcher.stop.set()
        sampler.stop.set()
        for thread in (watcher, editor, sampler):
            thread.join(30)
        watcher.scan()
        served = [json.loads(line) for line in get(port, "/served").splitlines()]
        stats = json.loads(get(port, "/stats"))
    finally:
        signal.alarm(0)
        for event in (watcher.stop, editor.stop, sampler.stop):
            event.set()
        daemons.cleanup()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
    raw = {
        "served": served,
        "ops": editor.ops,
        "seen": watcher.seen,
        "gone": watcher.gone,
        "info": info,
        "seen_title": [[c, t, at] for (c, t), at in watcher.seen_title.items()],
        "stats": stats,
        "memory": sampler.samples,  # (time, summed PSS bytes, processes) every 0.5 s
    }
    (work / "raw.json").write_text(json.dumps(raw, default=str), encoding="utf-8")
    logs = parse_logs(daemons.log_files)
    ups = sorted(logs.running)
    kill_at = float(info["kill_at"])  # type: ignore[arg-type]
    up1 = next((t for t in ups if t < kill_at), None)
    up2 = next((t for t in ups if t > kill_at), None)
    window = Window([s for s in ((up1, kill_at), (up2, term_at)) if s[0] is not None], kill_at, up2,  # type: ignore[misc]
                    sorted(logs.caught_up))
    cat_of = {i: cats[i % CATEGORIES][0] for i in range(args.sources)}
    verdicts = judge(served, editor.ops, watcher.seen, watcher.seen_title, watcher.gone, window,
                     categories=cat_of, limit=args.limit, settle=args.settle, miss=args.miss)  # fmt: skip
    text, ok = report(args, info, logs, verdicts, window, sampler, watcher, stats, t0, machine_line(), MB)
    print(text)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(text, encoding="utf-8")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="preset: 1 minute, 50 sources, 300 posts")
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--posts", type=int, default=3000, help="posts in the folder at the start")
    parser.add_argument("--intervals", default="3-10", help="range of the sources' poll intervals (s)")
    parser.add_argument("--posts-interval", type=int, default=3, help="the posts source's rescan interval (s)")
    parser.add_argument("--publish", default="5-15", help="range of the sources' mean seconds between new items")
    parser.add_argument("--window", type=int, default=20, help="items each remote feed lists")
    parser.add_argument("--failing", default="500:2,429:2,hang:2,garbage:2,truncated:2,flaky:4")
    parser.add_argument("--hang", type=float, default=8.0, help="seconds a hanging source holds the connection")
    parser.add_argument("--timeout", type=int, default=5, help="the config's fetch timeout (s)")
    parser.add_argument("--limit", type=int, default=200, help="the config's [output] limit")
    parser.add_argument("--concurrency", type=int, default=16, help="[schedule] concurrency and per_host")
    parser.add_argument("--edit-rate", type=float, default=1.0, help="post operations per second")
    parser.add_argument("--watch-ms", type=float, default=150, help="how often the output folder is read")
    parser.add_argument("--settle", type=float, default=30, help="seconds an item must have had to appear")
    parser.add_argument("--miss", type=float, default=40, help="visible this long while up and never fetched: lost")
    parser.add_argument("--restart-timeout", type=float, default=30)
    parser.add_argument("--stop-timeout", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=CORPUS_ROOT / "soak")
    parser.add_argument("--report", help="also write the Markdown report here")
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.sources, args.posts = 1.0, 50, 300
        args.failing = "500:1,429:1,hang:1,garbage:1,truncated:1,flaky:2"
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
