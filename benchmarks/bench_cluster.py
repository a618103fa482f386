"""Cluster benchmark: ``feeds run`` polling N remote feeds, SQLite vs PostgreSQL, 1 vs 3 nodes.

    python benchmarks/bench_cluster.py [--feeds 1000] [--interval 60] [--rounds 2]
                                       [--setups sqlite-1,pg-1,pg-3] [--items 50]

Starts ``benchmarks/feedserver.py`` (as ``bench_poll.py`` does) and a throw-away
PostgreSQL cluster (``.ci/pg-cluster``, with ``pg_stat_statements``), then for
each setup runs the daemon(s) — each node its own output folder — for
``--rounds`` poll rounds of ``--interval`` seconds (round 1: every feed answers
200; then 304) and measures:

* **exactness**: requests the feed server answered per round (must be N: no
  source polled twice, none forgotten), and whether the nodes' folders are
  byte-identical at the end;
* **time**: from start until round 1's N requests are answered;
* **CPU**: user+system seconds of the node process trees, and of the PostgreSQL
  server processes (the database's share), over the whole run;
* **memory**: the largest summed RSS of the node process trees (sampled every 0.25 s);
* **database load per poll**: statements (``pg_stat_statements`` calls),
  transactions (``pg_stat_database.xact_commit``) and rows written, divided by
  the polls made.

The table is printed and written to ``benchmarks/results/cluster.md``.
Two cores shared with other work: this measures correctness and overhead, not speed-up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench_build import CORPUS_ROOT, HERE, MB, PROJECT, machine_line, write_report
from bench_poll import provenance, start_server
from bench_poll import write_config as poll_config

RESULTS = HERE / "results" / "cluster.md"
TICK = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(parents.get(current, []))
    return out


def cpu_seconds(pids: list[int], *, children: bool = True) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return total / TICK


def rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def postgres_pids(pgdir: str) -> list[int]:
    pid = int(Path(pgdir, "data", "postmaster.pid").read_text().split()[0])
    return tree(pid)


@dataclass
class Result:
    setup: str
    per_round: list[int]
    first_round_s: float
    node_cpu: float
    db_cpu: float
    peak_rss: int
    polls: int
    statements: float
    transactions: float
    rows: float
    identical: bool
    wall: float


def psql(url: str, query: str) -> str:
    return subprocess.run(["psql", url, "-Atc", query], capture_output=True, text=True, check=True).stdout.strip()


def db_counters(url: str) -> tuple[int, int, int]:
    statements = int(psql(url, "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements") or 0)
    xacts, rows = psql(url, "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database"
                            " WHERE datname = current_database()").split("|")  # fmt: skip
    return statements, int(xacts), int(rows)


def run_setup(setup: str, args: argparse.Namespace, port: int, url: str, pgdir: str, server: object) -> Result:
    backend, count = setup.split("-")
    nodes = int(count)
    folder = CORPUS_ROOT / f"cluster-{args.feeds}-{setup}"
    shutil.rmtree(folder, ignore_errors=True)
    config = folder / "feeds.toml"
    poll_config(config, port, args.feeds, args.concurrency, args.per_host)
    text = config.read_text(encoding="utf-8").replace("[schedule]\n", f'[schedule]\ninterval = "{args.interval}s"\n'
                                                      "jitter = 0\n")  # fmt: skip
    if backend == "pg":
        schema = f"bench_{setup.replace('-', '_')}"
        psql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        text = text.replace('path = ".feeds/state.db"', f'url = "{url}?options=-csearch_path%3D{schema}"')
    config.write_text(text, encoding="utf-8")
    if backend == "pg":
        psql(url, "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset()")
        time.sleep(0.6)  # the statistics collector catches up
    before_db = db_counters(url) if backend == "pg" else (0, 0, 0)
    db_cpu_before = cpu_seconds(postgres_pids(pgdir), children=False)
    server.stats(reset=True)  # type: ignore[attr-defined]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    procs = []
    started = time.monotonic()
    for i in range(nodes):
        log = (folder / f"node{i}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "feeds", "run", "-c", str(config), "--node", f"n{i}", "--output",
             str(folder / f"out{i}")], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=PROJECT,
        ))  # fmt: skip
    peak, stop = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.25):
            peak = max(peak, sum(rss(tree(p.pid)) for p in procs))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    per_round: list[int] = []
    marks = [(0.0, db_cpu_before, before_db)]
    first = 0.0
    for number in range(args.rounds):
        end = started + args.interval * (number + 1) - 1
        while time.monotonic() < end:
            time.sleep(0.2)
            if number == 0 and not first and server.stats()["requests"] >= args.feeds:  # type: ignore[attr-defined]
                first = time.monotonic() - started
        per_round.append(server.stats(reset=True)["requests"])  # type: ignore[attr-defined]
        marks.append((sum(cpu_seconds(tree(p.pid)) for p in procs), cpu_seconds(postgres_pids(pgdir), children=False),
                      db_counters(url) if backend == "pg" else (0, 0, 0)))  # fmt: skip
    node_cpu = sum(cpu_seconds(tree(p.pid)) for p in procs)
    db_cpu = cpu_seconds(postgres_pids(pgdir), children=False) - db_cpu_before
    after_db = db_counters(url) if backend == "pg" else (0, 0, 0)
    stop.set()
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)
    snaps = []
    for i in range(nodes):
        out = folder / f"out{i}"
        snaps.append({str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    polls = sum(per_round)
    delta = [a - b for a, b in zip(after_db, before_db, strict=True)]
    steady = []  # per round after the first: (node CPU ms, database CPU ms, statements, transactions) per poll
    for (c0, d0, q0), (c1, d1, q1), polled in zip(marks[1:-1], marks[2:], per_round[1:], strict=True):
        steady.append((1000 * (c1 - c0) / polled, 1000 * (d1 - d0) / polled if backend == "pg" else 0.0,
                       (q1[0] - q0[0]) / polled, (q1[1] - q0[1]) / polled))  # fmt: skip
    print(f"  {setup} steady rounds (node CPU ms, db CPU ms, statements, transactions per poll): {steady}")
    return Result(setup, per_round, first, node_cpu, db_cpu if backend == "pg" else 0.0, peak, polls,
                  delta[0] / polls, delta[1] / polls, delta[2] / polls, all(s == snaps[0] for s in snaps),
                  time.monotonic() - started)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between polls of a source")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--per-host", type=int, default=16, help="[schedule] per_host (all feeds on one host)")
    parser.add_argument("--setups", default="sqlite-1,pg-1,pg-3")
    args = parser.parse_args(argv)
    started = provenance()
    print(started)
    logs = CORPUS_ROOT / "cluster-logs"
    logs.mkdir(parents=True, exist_ok=True)
    pgdir = tempfile.mkdtemp(prefix="feeds-bench-pg.")
    script = str(PROJECT / ".ci" / "pg-cluster")
    url = subprocess.run([script, "start", pgdir, "54391"], capture_output=True, text=True, check=True,
                         env={**os.environ, "PG_CLUSTER_OPTIONS": "-c shared_preload_libraries=pg_stat_statements"},
                         ).stdout.strip()  # fmt: skip
    psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    server = start_server(args.feeds, args.items, 1, logs / "feedserver.log")
    results: list[Result] = []
    try:
        for setup in args.setups.split(","):
            result = run_setup(setup, args, server.port, url, pgdir, server)
            print(f"  {setup}: {result}", flush=True)
            results.append(result)
    finally:
        server.stop()
        subprocess.run([script, "stop", pgdir], check=False)
        shutil.rmtree(pgdir, ignore_errors=True)
    rows = [
        f"| {r.setup} | {' / '.join(map(str, r.per_round))} | {'yes' if r.identical else '**no**'} "
        f"| {r.first_round_s:.1f} | {r.node_cpu:.1f} | {r.db_cpu:.1f} | {r.peak_rss / MB:.0f} "
        f"| {1000 * (r.node_cpu + r.db_cpu) / r.polls:.1f} | {r.statements:.1f} | {r.transactions:.1f} "
        f"| {r.rows:.1f} |"
        for r in results
    ]
    table = "\n".join([
        "| setup | requests per round | folders identical | round 1 s | node CPU s | database CPU s "
        "| peak RSS MB (nodes) | CPU ms per poll | statements per poll | transactions per poll "
        "| rows written per poll |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
    ])  # fmt: skip
    print()
    print(table)
    write_report(RESULTS, [
        "# Cluster benchmark", "", f"{machine_line()}.", "", f"At the start: {started}. At the end: {provenance()}.",
        "", f"{args.feeds} remote feeds of {args.items} items on 127.0.0.1 (`benchmarks/feedserver.py`), "
        f"`feeds run` for {args.rounds} rounds of {args.interval:.0f} s (round 1: every answer 200, then 304), "
        f"`concurrency = {args.concurrency}`, `per_host = {args.per_host}`, jitter 0. "
        "CPU is user+system of the node process trees (workers included) and of the PostgreSQL server processes; "
        "per poll: divided by the requests answered.", "", table, "",
    ], [])  # fmt: skip
    return 0 if all(r.identical and all(n == args.feeds for n in r.per_round) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
