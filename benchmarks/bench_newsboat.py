"""Poll speed: ``feeds build`` against ``newsboat -x reload`` over the same N feeds, in the same run.

    python benchmarks/bench_newsboat.py [--feeds 1000] [--items 50] [--kinds news,shared] [--runs 1]
                                        [--seed 1] [--timeout 900] [--skip feeds-off,...]

For each ``--kind`` (``feedserver.py --kind``: ``news`` = distinct articles, one
in ten republished by another outlet; ``shared`` = the same with one identical
paragraph in every item) one feed server is started on 127.0.0.1 and, ``--runs``
times, these contenders are measured, each as a separate process with a cold
state (the order rotates from run to run):

- ``feeds-on``: ``python -m feeds build -c CONFIG`` with ``[merge] near_duplicates = true``
  (output and state deleted first), then ``feeds-304``: ``feeds build --force`` on
  that state (every feed answers 304);
- ``feeds-off``: the same cold build with ``near_duplicates = false``;
- ``newsboat-1``: ``newsboat -x reload`` with a fresh cache and an empty config
  (its defaults: ``reload-threads`` 1), then ``newsboat-304``: a third reload on
  that cache (every feed answers 304; newsboat 2.21 saves a feed's ETag and
  Last-Modified only when the feed is already in its cache, so the second reload
  after a fresh cache is all 200 again: it is run, not measured);
- ``newsboat-2``: the same cold reload with ``reload-threads 2``.

The configs are ``bench_poll.py``'s (30 categories, one ``type = "feed"`` source
per feed, ``concurrency`` 16, ``per_host`` 4).  newsboat gets the same URLs in a
``urls`` file (``-u``), its cache (``-c``) and config (``-C``) in the run folder;
the proxy variables are removed from its environment.  Every contender is
measured by ``bench_build.run_measured`` (wall time; peak of the summed PSS of its
process tree, polled every 20 ms); the server is not in the measured tree.  The
server's answers are counted (``/stats``) and checked: N× 200 for a cold poll,
N× 304 for the second one.  Items stored are counted afterwards (feeds: the
combined feed's summary line; newsboat: ``rss_item`` rows of its cache).

The table is printed and written to ``benchmarks/results/newsboat.md``; logs in
``benchmarks/corpus/newsboat-<N>/logs/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

from bench_build import CORPUS_ROOT, HERE, MB, Run, log_tail, machine_line, run_measured, write_report
from bench_poll import Server, last_lines, provenance, start_server, write_config

RESULTS = HERE / "results" / "newsboat.md"
CONTENDERS = ("feeds-on", "feeds-off", "newsboat-1", "newsboat-2")
LABELS = {
    "feeds-on": "feeds build, near_duplicates on (cold)",
    "feeds-304": "feeds build --force, all 304 (after feeds-on)",
    "feeds-off": "feeds build, near_duplicates off (cold)",
    "newsboat-1": "newsboat -x reload, defaults (reload-threads 1, cold)",
    "newsboat-304": "newsboat -x reload, all 304 (3rd reload after newsboat-1)",
    "newsboat-2": "newsboat -x reload, reload-threads 2 (cold)",
}
ORDER = ("feeds-on", "feeds-304", "feeds-off", "newsboat-1", "newsboat-304", "newsboat-2")


def newsboat_version() -> str:
    try:
        out = subprocess.run(["newsboat", "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("newsboat is not installed (apt-get install -y newsboat)") from None
    return out.split("\n", 1)[0].split(" - ")[0]


def clean_dir(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def newsboat_items(cache: Path) -> str:
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as db:
            return str(db.execute("SELECT count(*) FROM rss_item").fetchone()[0])
    except sqlite3.Error as error:
        return f"? ({error})"


def run_kind(
    kind: str,
    args: argparse.Namespace,
    env: dict[str, str],
    rows: list[str],
    failures: list[str],
    summaries: list[str],
) -> None:
    """Serve ``kind`` feeds and measure every contender on them; rows and failures are appended."""
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    folder = CORPUS_ROOT / f"newsboat-{args.feeds}" / kind
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    server: Server = start_server(args.feeds, args.items, args.seed, logs / "feedserver.log", kind)
    results: dict[str, list[Run]] = {name: [] for name in ORDER}
    answers: dict[str, set[str]] = {name: set() for name in ORDER}
    stored: dict[str, set[str]] = {name: set() for name in ORDER}
    try:
        configs = {}
        for name, near in (("feeds-on", True), ("feeds-off", False)):
            configs[name] = folder / name / "feeds.toml"
            write_config(configs[name], server.port, args.feeds, 16, 4, None, near)
        urls = folder / "urls"
        urls.write_text("".join(f"http://127.0.0.1:{server.port}/feed/{i}.xml\n" for i in range(args.feeds)))
        for name, text in (("newsboat-1", ""), ("newsboat-2", "reload-threads 2\n")):
            (folder / f"{name}.conf").write_text(text)

        def measure(name: str, cmd: list[str], run_no: int, want: tuple[int, int]) -> None:
            log = logs / f"{name}-{run_no}.log"
            server.stats(reset=True)
            run = run_measured_env(cmd, log, args.timeout, env, sampled=not args.unsampled)
            counts = server.stats(reset=True)
            results[name].append(run)
            got = (counts.get("200", 0), counts.get("304", 0))
            answers[name].add(f"{got[0]}× 200, {got[1]}× 304" + ("" if got == want else " **unexpected**"))
            memory = "" if args.unsampled else f", {run.peak / MB:.1f} MB"
            state = f"{run.wall:.2f} s{memory}" if run.ok else f"FAILED ({run.note})"
            print(f"  {kind} run {run_no} {name}: {state}; server {got[0]}×200 {got[1]}×304", flush=True)
            if not run.ok:
                failures.append(f"### {kind} {name} run {run_no}: {run.note}\n\n```\n{log_tail(log, 30)}\n```")
            if name.startswith("feeds"):
                line = last_lines(log, 1)
                stored[name].add(line)
                print(f"      {line}", flush=True)

        n = args.feeds
        for i in range(args.runs):
            order = [c for c in CONTENDERS if c not in skip]
            shift = i % len(order) if order else 0
            for name in order[shift:] + order[:shift]:
                if name.startswith("feeds"):
                    config = configs[name]
                    clean_dir(config.parent / "out")
                    clean_dir(config.parent / ".feeds")
                    base = [sys.executable, "-m", "feeds", "build", "-c", str(config)]
                    measure(name, base, i + 1, (n, 0))
                    if name == "feeds-on":
                        measure("feeds-304", [*base, "--force"], i + 1, (0, n))
                else:
                    home = folder / name
                    clean_dir(home)
                    cmd = ["newsboat", "-u", str(urls), "-c", str(home / "cache.db"),
                           "-C", str(folder / f"{name}.conf"), "-x", "reload"]  # fmt: skip
                    measure(name, cmd, i + 1, (n, 0))
                    stored[name].add(f"{newsboat_items(home / 'cache.db')} items in the cache")
                    if name == "newsboat-1":
                        # newsboat 2.21 stores a feed's validators only when it reloads a feed already in
                        # its cache: the second reload after a fresh cache is all 200 again (not measured).
                        run_measured_env(cmd, logs / f"newsboat-prime-{i + 1}.log", args.timeout, env)
                        server.stats(reset=True)
                        measure("newsboat-304", cmd, i + 1, (0, n))
    finally:
        server.stop()
    base_on = [r.wall for r in results["feeds-on"] if r.ok]
    for name in ORDER:
        runs = results[name]
        if not runs:
            continue
        ok = [r for r in runs if r.ok]
        if len(ok) != len(runs):
            cell, each, mb = f"failed ({next(r for r in runs if not r.ok).note})", "-", "-"
            med = None
        else:
            med = statistics.median(r.wall for r in runs)
            cell, each = f"{med:.2f}", ", ".join(f"{r.wall:.2f}" for r in runs)
            mb = "-" if args.unsampled else f"{max(r.peak for r in runs) / MB:.1f}"  # (not sampled: not known)
        rel = ""
        if med and base_on and name != "feeds-on":
            rel = f"{med / statistics.median(base_on):.2f}"
        rows.append(
            f"| {kind} | {LABELS[name]} | {cell} | {each} | {mb} | {rel} | {' / '.join(sorted(answers[name]))} |"
        )
    for name in ORDER:
        for line in sorted(stored[name]):
            summaries.append(f"- {kind}, {name}: `{line}`")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Poll speed: feeds build vs newsboat -x reload, same feeds, same run.")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--kinds", default="news,shared", help="feedserver --kind values, comma-separated")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--unsampled", action="store_true",
                        help="time each run without the memory sampler (MB then reads 0): sampling a big process's "
                        "smaps_rollup every 20 ms slows it (bench_build.measure)")  # fmt: skip
    parser.add_argument("--skip", default="", help="contenders to leave out, comma-separated: " + ",".join(CONTENDERS))
    args = parser.parse_args(argv)
    version = newsboat_version()
    started = provenance()
    print(f"{started}; {version}", flush=True)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    rows: list[str] = []
    failures: list[str] = []
    summaries: list[str] = []
    for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
        run_kind(kind, args, env, rows, failures, summaries)
    table = "\n".join(
        [
            "| feeds served | contender | s (median) | each run s | MB (PSS sum) | × feeds-on | server answers |",
            "|---|---|---:|---|---:|---:|---|",
            *rows,
        ]
    )
    print()
    print(table)
    print()
    print("\n".join(summaries))
    for failure in failures:
        print()
        print(failure)
    report = [
        "# Poll speed: feeds vs newsboat",
        "",
        f"{machine_line()}; {version}. At the start: {started}. At the end: {provenance()}.",
        "",
        f"{args.feeds} RSS feeds of {args.items} items on 127.0.0.1 (`benchmarks/feedserver.py --kind …`): "
        "`news` = distinct articles, one in ten republished by another outlet (a near-duplicate with light edits); "
        "`shared` = the same with one identical paragraph in every item. "
        f"{args.runs} run(s) per contender (median; the order rotates). "
        "Peak = summed PSS of the process tree (MB = 2^20 bytes), the feed server not included.",
        "",
        table,
        "",
        "What each stored (feeds: its summary line; newsboat: rows of `rss_item`):",
        "",
        *summaries,
        "",
    ]
    write_report(RESULTS, report, failures)
    return 1 if failures else 0


def run_measured_env(cmd: list[str], log: Path, timeout: float, env: dict[str, str], sampled: bool = True) -> Run:
    """``run_measured`` with ``env`` for the measured command (and its measuring process)."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return run_measured(cmd, log, timeout, sampled=sampled)
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    sys.exit(main())
