"""Polling benchmark: ``feeds build`` over N remote feeds served on 127.0.0.1.

    python benchmarks/bench_poll.py [--feeds 1000] [--runs 1] [--items 50] [--seed 1]
                                    [--concurrency 16] [--per-host 4] [--timeout 600]
                                    [--state-url postgresql://…]

Starts ``benchmarks/feedserver.py`` as a separate process (N feeds of ``--items``
items, about 65 KB each, with ETag/Last-Modified and 304 answers), writes a config
``benchmarks/corpus/poll-<N>/feeds.toml`` with N ``type = "feed"`` sources spread
over 30 categories (no posts source), ``[schedule] concurrency`` and ``per_host``
from the options (the defaults are feeds' own: 16 and 4; every feed is on the one
host, so ``per_host`` is the number of connections) and ``[state] path =
".feeds/state.db"``,
then, ``--runs`` times:

1. deletes the output and the state folder, and runs ``python -m feeds build -c CONFIG``
   (cold: every source is fetched, the server should answer 200 N times);
2. ``python -m feeds build -c CONFIG --force``: every source polled again with the
   stored validators, the server should answer 304 N times;
3. ``python -m feeds build -c CONFIG`` once more: no source is due (the default
   interval has not passed), so no request is expected.

Each build is measured as in ``bench_build.py`` (whose functions this script
uses): wall time of the whole process and the peak of the summed PSS of its
process tree (polled every 20 ms), plus ``ru_maxrss``.  The feed server is not
part of the measured tree.  The server counts its answers by status (``/stats``),
which is how the 200/304 figures are checked.

With ``--state-url`` the store is that PostgreSQL database instead (its schema
``bench_poll`` is dropped and created before each cold build; the report goes
to ``benchmarks/results/poll-postgresql.md``).

The Markdown table is printed and written to ``benchmarks/results/poll.md``;
logs are kept in ``benchmarks/corpus/poll-<N>/logs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench_build import (
    CORPUS_ROOT,
    HERE,
    MB,
    PROJECT,
    Run,
    cells,
    clean,
    log_tail,
    machine_line,
    run_measured,
    write_report,
)
from corpus import categories, toml_str

RESULTS = HERE / "results" / "poll.md"
CATEGORY_COUNT = 30
READY_TIMEOUT = 300.0
# No proxy for 127.0.0.1, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

STEPS = (
    ("cold", "cold build (all 200)", []),
    ("force", "rebuild `--force` (all 304)", ["--force"]),
    ("notdue", "rebuild, nothing due (no request)", []),
)


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int

    def stats(self, reset: bool = False) -> dict[str, int]:
        url = f"http://127.0.0.1:{self.port}/stats" + ("?reset=1" if reset else "")
        with _OPENER.open(url, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start_server(feeds: int, items: int, seed: int, log: Path, kind: str = "vocabulary") -> Server:
    """Start feedserver.py (``--kind``: see its doc) and wait for its ``READY <port>`` line."""
    cmd = [
        sys.executable,
        str(HERE / "feedserver.py"),
        "--feeds",
        str(feeds),
        "--items",
        str(items),
        "--port",
        "0",
        "--seed",
        str(seed),
        "--kind",
        kind,
    ]
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    assert proc.stdout is not None
    started = time.perf_counter()
    ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("READY "):
        proc.kill()
        proc.wait()
        raise SystemExit(f"feedserver did not start (got {line!r}):\n{log_tail(log)}")
    port = int(line.split()[1])
    print(f"feedserver: {feeds} feeds on 127.0.0.1:{port} (ready in {time.perf_counter() - started:.1f} s)")
    return Server(proc, port)


def provenance() -> str:
    """Which code was measured, and how busy the machine was (other work skews the figures)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "feeds"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        code = f"`feeds` at {commit}" + (" with uncommitted changes in feeds/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        code = "`feeds` (commit unknown)"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{code}; load average {load} (1/5/15 min)"


def write_config(
    config: Path,
    port: int,
    feeds: int,
    concurrency: int,
    per_host: int,
    state_url: str | None = None,
    near_duplicates: bool | None = None,
) -> None:
    """The bundled config's [site]/[output] style, N feed sources over 30 categories, no posts."""
    cats = categories(CATEGORY_COUNT)
    lines = [
        "# Generated by benchmarks/bench_poll.py: N remote feeds on the local feed server, no posts.",
        "# Relative paths are relative to the folder that holds this file.",
        "",
        "[site]",
        'title = "财经快讯（轮询基准测试）"',
        'url = "https://finews.example.com/"',
        'description = "合成订阅源：各分类与全部文章的 RSS / Atom 订阅"',
        'language = "zh-CN"',
        'timezone = "Asia/Shanghai"',
        'author = "财经快讯编辑部"',
        "",
        "[output]",
        'dir = "out"',
        'formats = ["rss", "atom"]',
        "limit = 50",
        "",
        "[categories]",
        *(f"{toml_str(slug)} = {toml_str(name)}" for slug, name in cats),
        "",
        "[schedule]",
        f"concurrency = {concurrency}",
        f"per_host = {per_host}  # every feed is on the same host: the number of connections",
        "",
        "[state]",
        f'url = "{state_url}"' if state_url else 'path = ".feeds/state.db"',
        "",
    ]
    if near_duplicates is not None:
        lines += ["[merge]", f"near_duplicates = {'true' if near_duplicates else 'false'}", ""]
    width = len(str(max(feeds - 1, 0)))
    for i in range(feeds):
        lines += [
            "[[sources]]",
            f'name = "feed-{i:0{width}d}"',
            'type = "feed"',
            f'url = "http://127.0.0.1:{port}/feed/{i}.xml"',
            f"category = {toml_str(cats[i % CATEGORY_COUNT][0])}",
            "",
        ]
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("\n".join(lines), encoding="utf-8")


@dataclass
class Step:
    runs: list[Run] = field(default_factory=list)
    counts: list[dict[str, int]] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)


def expected(name: str, feeds: int) -> dict[str, int]:
    return {"cold": {"200": feeds, "304": 0}, "force": {"200": 0, "304": feeds}, "notdue": {"200": 0, "304": 0}}[name]


def counts_ok(name: str, feeds: int, counts: dict[str, int]) -> bool:
    want = expected(name, feeds)
    return all(counts.get(k, 0) == v for k, v in want.items()) and counts["requests"] == sum(want.values())


def last_lines(log: Path, lines: int = 3) -> str:
    text = log_tail(log, lines)
    return " ⏎ ".join(line.strip() for line in text.splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Polling benchmark: feeds build over N local remote feeds.")
    parser.add_argument("--feeds", type=int, default=1000, help="number of remote feeds (default 1000)")
    parser.add_argument("--runs", type=int, default=1, help="runs of the three builds (median time, max memory)")
    parser.add_argument("--items", type=int, default=50, help="items per feed (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="feed server seed")
    parser.add_argument("--concurrency", type=int, default=16, help="[schedule] concurrency")
    parser.add_argument("--per-host", type=int, default=4, help="[schedule] per_host")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before a build is killed")
    parser.add_argument("--state-url", default=None, help="a PostgreSQL database for the store (default: SQLite)")
    args = parser.parse_args(argv)
    state_url = None
    if args.state_url:
        sep = "&" if "?" in args.state_url else "?"
        state_url = f"{args.state_url}{sep}options=-csearch_path%3Dbench_poll"
    if min(args.feeds, args.runs, args.items, args.concurrency, args.per_host) < 1:
        parser.error("--feeds, --runs, --items, --concurrency and --per-host must be positive")

    started = provenance()
    print(started)
    folder = CORPUS_ROOT / f"poll-{args.feeds}"
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    config = folder / "feeds.toml"
    server = start_server(args.feeds, args.items, args.seed, logs / "feedserver.log")
    steps = {name: Step() for name, _, _ in STEPS}
    failures: list[str] = []
    try:
        write_config(config, server.port, args.feeds, args.concurrency, args.per_host, state_url)
        base = [sys.executable, "-m", "feeds", "build", "-c", str(config)]
        for i in range(args.runs):
            clean(config)
            if args.state_url:
                subprocess.run(["psql", args.state_url, "-qc", "DROP SCHEMA IF EXISTS bench_poll CASCADE;"
                                " CREATE SCHEMA bench_poll"], check=True)  # fmt: skip
            for name, label, extra in STEPS:
                log = logs / f"{name}-{i + 1}.log"
                server.stats(reset=True)
                run = run_measured([*base, *extra], log, args.timeout)
                counts = server.stats(reset=True)
                step = steps[name]
                step.runs.append(run)
                step.counts.append(counts)
                step.summaries.append(last_lines(log, 1))
                status = f"{run.wall:.2f} s, {run.peak / MB:.1f} MB" if run.ok else f"FAILED ({run.note})"
                check = (
                    "ok" if counts_ok(name, args.feeds, counts) else f"UNEXPECTED (want {expected(name, args.feeds)})"
                )
                print(f"  run {i + 1} {label}: {status}; server {counts} {check}", flush=True)
                print(f"      {step.summaries[-1]}", flush=True)
                if not run.ok:
                    failures.append(f"### {label}, run {i + 1}: {run.note}\n\n```\n{log_tail(log, 30)}\n```")
    finally:
        server.stop()

    rows: list[str] = []
    for name, label, _ in STEPS:
        step = steps[name]
        seconds, megabytes, maxrss, each = cells(step.runs)
        answers = " / ".join(
            sorted({f"{c.get('200', 0)}× 200, {c.get('304', 0)}× 304, {c.get('404', 0)}× 404" for c in step.counts})
        )
        check = "ok" if all(counts_ok(name, args.feeds, c) for c in step.counts) else "**unexpected**"
        rows.append(f"| {label} | {seconds} | {each} | {megabytes} | {maxrss} | {answers} ({check}) |")
    table = "\n".join(
        [
            "| build | s | each run s | MB (PSS sum) | ru_maxrss MB | server answers |",
            "|---|---:|---|---:|---:|---|",
            *rows,
        ]
    )
    outputs = [f"- {label}: `{steps[name].summaries[-1]}`" for name, label, _ in STEPS]
    print()
    print(table)
    print()
    print("\n".join(outputs))
    for failure in failures:
        print()
        print(failure)

    report = [
        "# Polling benchmark",
        "",
        f"{machine_line()}; {args.runs} run(s) (median wall time, largest peak).",
        "",
        f"At the start: {started}. At the end: {provenance()}.",
        "",
        f"{args.feeds} remote RSS feeds of {args.items} items (about 65 KB each) served by "
        "`benchmarks/feedserver.py` on 127.0.0.1 (HTTP/1.1 keep-alive, strong ETag + Last-Modified), "
        f"{CATEGORY_COUNT} categories, no posts; "
        f"`[schedule] concurrency = {args.concurrency}, per_host = {args.per_host}` (all feeds on one host). "
        "Peak memory is the summed PSS of the build's process tree (the server not included), "
        "polled every 20 ms (MB = 2^20 bytes). The output and the state file are deleted before each cold build.",
        "",
        table,
        "",
        "Targets: cold ≤ 10 s and ≤ 200 MB at 1000 feeds; all-304 rebuild ≤ 2 s.",
        "",
        "Last line of each `feeds build` (last run):",
        "",
        *outputs,
        "",
    ]
    if args.state_url:
        report[4:4] = ["The store: PostgreSQL on 127.0.0.1 (`--state-url`).", ""]
    write_report(RESULTS.with_name("poll-postgresql.md") if args.state_url else RESULTS, report, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
