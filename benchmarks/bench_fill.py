"""Store fill: distinct remote items in rounds of 10k per ``feeds build --force``.

    python benchmarks/bench_fill.py [--feeds 200] [--items 50] [--rounds 25] [--budget 1500]
                                    [--seed 1] [--timeout 900] [--near-duplicates on|off]

Starts ``feedserver.py --kind news`` with ``--feeds`` feeds of ``--items`` items
(10,000 distinct items by default, one in ten a republication of another feed's
story), writes ``bench_poll.py``'s config for them (30 categories, ``[state] path``
SQLite; ``[merge] near_duplicates`` as given, default on) and, round after round,

1. asks the server for the next round (``/advance``: every feed replaced by
   ``--items`` new items, new ETags; round 0 is the first state served);
2. measures ``python -m feeds build -c CONFIG --force`` (``bench_build.run_measured``:
   wall time, peak PSS of the process tree) while a thread of this process
   samples the size of ``state.db-wal`` every 50 ms (its peak during the build);
3. afterwards reads the store (read-only): items stored, the bytes of their
   content (title + link + content HTML as stored), the file sizes, and the bytes
   of each table and index (SQLite's ``dbstat``, when the library has it).

It stops after ``--rounds`` rounds or when the next round would end after
``--budget`` seconds (25 minutes by default).  Reported per round: seconds,
new items/s, the WAL's peak during the build and its size after, the store's
size, and the store's bytes per item beyond the content (``db / items - content /
items``, and the same with the WAL's bytes counted).  Written to ``benchmarks/results/fill.md``; logs in
``benchmarks/corpus/fill/logs/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sqlite3
import sys
import threading
import time
import urllib.request
from pathlib import Path

from bench_build import CORPUS_ROOT, HERE, MB, log_tail, machine_line, run_measured, write_report
from bench_poll import last_lines, provenance, start_server, write_config

RESULTS = HERE / "results" / "fill.md"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FileWatch:
    """The largest size a file reached while watched (sampled every ``interval`` s)."""

    def __init__(self, path: Path, interval: float = 0.05) -> None:
        self.path, self.interval, self.peak = path, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, self.path.stat().st_size)
            self._stop.wait(self.interval)

    def __enter__(self) -> FileWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def store_facts(db: Path) -> dict[str, object]:
    """Items, their content bytes and the bytes per table/index, read-only (the build has ended)."""
    facts: dict[str, object] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(length(CAST(title AS BLOB)) + length(CAST(link AS BLOB))"
            " + length(CAST(content AS BLOB))), 0), coalesce(sum(length(CAST(summary AS BLOB))), 0) FROM items"
        ).fetchone()
        facts["items"], facts["content"], facts["summary"] = row
        for table in ("entries", "articles", "sketches", "clusters", "article_cats"):
            facts[f"rows_{table}"] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        try:
            facts["tables"] = dict(
                conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
            )
        except sqlite3.Error:
            facts["tables"] = {}
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Store fill: 10k distinct items per feeds build --force.")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--budget", type=float, default=1500.0, help="seconds: no round starts that would end later")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--near-duplicates", choices=("on", "off"), default="on")
    args = parser.parse_args(argv)
    started_at = time.monotonic()
    started = provenance()
    print(started, flush=True)
    folder = CORPUS_ROOT / "fill"
    if folder.exists():
        shutil.rmtree(folder)
    logs = folder / "logs"
    logs.mkdir(parents=True)
    config = folder / "feeds.toml"
    db = folder / ".feeds" / "state.db"
    wal = db.with_name("state.db-wal")
    server = start_server(args.feeds, args.items, args.seed, logs / "feedserver.log", "news")
    rows: list[str] = []
    failures: list[str] = []
    facts: dict[str, object] = {}
    last_round = 0.0
    per_round = args.feeds * args.items
    try:
        write_config(config, server.port, args.feeds, 16, 4, None, args.near_duplicates == "on")
        base = [sys.executable, "-m", "feeds", "build", "-c", str(config), "--force"]
        for r in range(args.rounds):
            elapsed = time.monotonic() - started_at
            if r and elapsed + last_round * 1.1 > args.budget:
                print(f"stopping: {elapsed:.0f} s spent, the next round would pass --budget {args.budget:.0f} s")
                break
            if r:
                with _OPENER.open(f"http://127.0.0.1:{server.port}/advance", timeout=120) as response:
                    assert json.loads(response.read())["round"] == r
            server.stats(reset=True)
            log = logs / f"round-{r + 1:02d}.log"
            with FileWatch(wal) as watch:
                run = run_measured(base, log, args.timeout)
            counts = server.stats(reset=True)
            last_round = run.wall
            if not run.ok:
                failures.append(f"### round {r + 1}: {run.note}\n\n```\n{log_tail(log, 30)}\n```")
                print(f"round {r + 1}: FAILED ({run.note})", flush=True)
                break
            before = facts.get("items", 0)
            facts = store_facts(db)
            new = int(facts["items"]) - int(before)  # type: ignore[arg-type]
            disk = size(db) + size(wal)
            items = int(facts["items"])  # type: ignore[arg-type]
            content = int(facts["content"])  # type: ignore[arg-type]
            beyond = (disk - content) / items if items else 0.0
            beyond_db = (size(db) - content) / items if items else 0.0
            line = (
                f"| {r + 1} | {items:,} | {run.wall:.2f} | {new / run.wall:.0f} | {run.peak / MB:.0f} | "
                f"{watch.peak / MB:.1f} | {size(wal) / MB:.1f} | {size(db) / MB:.1f} | {content / items:.0f} | "
                f"{beyond_db:.0f} | {beyond:.0f} | {counts.get('200', 0)} |"
            )
            rows.append(line)
            print(line, flush=True)
            print(f"      {last_lines(log, 1)}", flush=True)
            if counts.get("200", 0) != args.feeds:
                failures.append(f"### round {r + 1}: server answered {counts}, expected {args.feeds}× 200")
    finally:
        server.stop()

    header = [
        "| round | items stored | s | new items/s | peak MB | WAL peak MB | WAL after MB | db MB | "
        "content B/item | db B/item beyond content | db+WAL B/item beyond content | 200s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    table = "\n".join([*header, *rows])
    tables = facts.get("tables") or {}
    breakdown = ""
    if tables and facts.get("items"):
        items = int(facts["items"])  # type: ignore[arg-type]
        breakdown = "\n".join(
            [
                f"Bytes per stored item by table/index after the last round ({items:,} items, SQLite `dbstat`):",
                "",
                "| table or index | MB | B/item |",
                "|---|---:|---:|",
                *(f"| {name} | {b / MB:.1f} | {b / items:.0f} |" for name, b in tables.items() if b >= MB / 10),  # type: ignore[union-attr]
            ]
        )
    rowcounts = ", ".join(f"{k[5:]} {v:,}" for k, v in facts.items() if k.startswith("rows_"))
    print()
    print(table)
    print()
    print(breakdown)
    print(rowcounts)
    report = [
        "# Store fill",
        "",
        f"{machine_line()}. At the start: {started}. At the end: {provenance()}.",
        "",
        f"{args.feeds} feeds × {args.items} items = {per_round:,} new distinct items per round "
        "(`feedserver.py --kind news`), one `feeds build --force` per round, "
        f"`near_duplicates` {args.near_duplicates}; "
        "SQLite store. Content = title + link + content HTML as stored in `items`; beyond content = "
        "(db bytes − content bytes) / items, and the same with the WAL file's bytes added.",
        "",
        table,
        "",
        breakdown,
        "",
        f"Rows after the last round: {rowcounts}.",
        "",
    ]
    write_report(RESULTS, report, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
