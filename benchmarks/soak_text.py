"""The Markdown report of ``soak.py`` and its PASS/FAIL verdict."""

from __future__ import annotations

import argparse
import statistics
import subprocess
from collections import Counter
from typing import Any

from bench_build import PROJECT
from soak_report import LogStats, Verdicts, Window, lost_total, p95, pcts
from soak_watch import Sampler, Watcher

FRESH_P95 = 3.0  # s
PEAK_MB = 250.0
CAUGHT_UP_S = 15.0  # the cold start's backlog out (issue 16)
PUBLISH_P95_MS = 1000.0
EXIT_SECONDS = 5.0


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True,
                              timeout=10).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "feeds"], cwd=PROJECT, capture_output=True, text=True,
                               timeout=10).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return head + (" (feeds/ modified)" if dirty else "")


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{statistics.median(ordered):.0f} / {p95(ordered):.0f} / {ordered[-1]:.0f} ms (n = {len(ordered)})"


def report(
    args: argparse.Namespace,
    info: dict[str, Any],
    logs: LogStats,
    v: Verdicts,
    window: Window,
    sampler: Sampler,
    watcher: Watcher,
    stats: list[dict],
    t0: float,
    machine: str,
    mb: int,
) -> tuple[str, bool]:
    rel = lambda t: f"+{t - t0:.1f} s" if isinstance(t, float) else "-"  # noqa: E731
    peak = sampler.peak / mb
    posts = v.post_fresh + v.edit_fresh
    remote = v.remote_fresh + v.remote_startup  # every item, those of the starts included (issue 16)
    cold = logs.caught_up_s[0] if logs.caught_up_s else None
    up1 = rel(window.up[0][0]) if window.up and window.up[0][1] == window.kill else "never"
    back = f"{window.restart_up - info['kill_at']:.1f} s after the kill" if window.restart_up else "never"
    exit_code, exit_s = info.get("exit code"), info.get("exit seconds")
    checks = [
        ("0 tracebacks", logs.tracebacks == 0, str(logs.tracebacks)),
        ("0 store errors", logs.store_errors == 0, str(logs.store_errors)),
        ("0 items lost", lost_total(v) == 0, str(lost_total(v))),
        (f"remote freshness p95 ≤ {FRESH_P95:.0f} s (all items)", bool(remote) and p95(remote) <= FRESH_P95,
         f"{p95(remote):.2f} s"),
        (f"post freshness p95 ≤ {FRESH_P95:.0f} s", bool(posts) and p95(posts) <= FRESH_P95, f"{p95(posts):.2f} s"),
        (f"peak ≤ {PEAK_MB:.0f} MB", 0 < peak <= PEAK_MB, f"{peak:.0f} MB"),
        (f"cold start caught up ≤ {CAUGHT_UP_S:.0f} s", cold is not None and cold <= CAUGHT_UP_S, f"{cold} s"),
        (f"publish p95 ≤ {PUBLISH_P95_MS:.0f} ms", bool(logs.publish_ms) and p95(logs.publish_ms) <= PUBLISH_P95_MS,
         f"{p95(logs.publish_ms):.0f} ms" if logs.publish_ms else "none"),
        ("restart not refused", info.get("refused") == 0, str(info.get("refused"))),
        ("no orphan after kill -9", not info.get("children alive 3 s after kill") and not info.get(
            "orphans at the end"), str(len(info.get("children alive 3 s after kill") or []))),
        (f"exit 0 within {EXIT_SECONDS:.0f} s of SIGTERM", exit_code == 0 and (exit_s or 99) <= EXIT_SECONDS,
         f"exit {exit_code} after {exit_s if exit_s is None else round(exit_s, 2)} s"),
    ]  # fmt: skip
    ok = all(passed for _, passed, _ in checks)
    verdict = "; ".join(f"{name}: {'ok' if passed else 'FAIL'} ({value})" for name, passed, value in checks)
    lines = [
        f"# Daemon soak: {args.minutes:g} min, {args.sources} sources, {args.posts} posts",
        "",
        f"{machine}; commit {commit()}.",
        f"Sources: poll intervals {args.intervals} s, a new item every {args.publish} s (mean per source), "
        f"{args.window} listed; failing: {args.failing}; fetch timeout {args.timeout} s, hang {args.hang} s. "
        f"Posts rescanned every {args.posts_interval} s; {args.edit_rate:g} post operations/s. "
        f"`[output] limit` {args.limit}; settle {args.settle:g} s; never-fetched threshold {args.miss:g} s.",
        "",
        f"**{'PASS' if ok else 'FAIL'}**: {verdict}",
        "",
        "## Timeline",
        "",
        f"- daemon 1 up (its `running` line): {up1}",
        f"- kill -9 of the main pid: {rel(info.get('kill_at'))}; "
        f"children then: {len(info.get('children at kill') or [])}, "
        f"alive 3 s later: {info.get('children alive 3 s after kill')}; orphans (ppid 1): "
        f"{info.get('orphans (ppid 1, feeds) 3 s after kill')}",
        f"- restart: refused {info.get('refused')} time(s) {info.get('refused_note') or ''}; "
        f"up again: {rel(window.restart_up)} ({back})",
        f"- SIGTERM: {rel(info.get('term_at'))}; exit code {exit_code}, after "
        f"{'-' if exit_s is None else f'{exit_s:.2f}'} s; orphans at the end: {info.get('orphans at the end')}",
        f"- caught up with the start's backlog (`caught up` lines): "
        f"{', '.join(rel(t) for t in window.caught_up) or 'never'}",
        f"- daemon 1 exited before the kill: {info.get('died early')}",
        "",
        "## Freshness (appeared in the output − served by the source / written to the posts folder)",
        "",
        "| what | p50 / p95 / max |",
        "|---|---|",
        f"| remote items, all (the verdict) | {pcts(remote)} |",
        f"| remote items first served after the daemon caught up with its start | {pcts(v.remote_fresh)} |",
        f"| remote items first served before a daemon caught up with its start | {pcts(v.remote_startup)} |",
        f"| posts added | {pcts(v.post_fresh)} |",
        f"| posts edited (new title shown) | {pcts(v.edit_fresh)} |",
        f"| posts deleted (gone from every feed) | {pcts(v.delete_gone)} |",
        "",
        "## Items",
        "",
        "| count | n |",
        "|---|---|",
        *(f"| {name} | {n} |" for name, n in sorted(v.counts.items(), key=lambda kv: not kv[0].startswith("LOST"))),
        "",
    ]
    if v.lost_examples:
        lines += ["Lost, first 10: " + "; ".join(v.lost_examples[:10]), ""]
    answers: Counter[str] = Counter()
    for row in stats:
        answers[row["status"]] += row["count"]
    polls_429 = sum(row["count"] for row in stats if row["status"] == "429")
    samples = sampler.samples
    lines += [
        "## Memory",
        "",
        f"Peak of the summed PSS of the daemon's process tree: **{peak:.1f} MB** "
        f"({len(samples)} samples every 0.5 s; most processes in the tree: {max((s[2] for s in samples), default=0)}; "
        f"last sample {samples[-1][1] / mb if samples else 0:.1f} MB).",
        "",
        "## The daemon's log",
        "",
        f"- polls: {logs.polls} ({logs.poll_failures} failed); publishes: {logs.publishes}, "
        f"{logs.publish_written} files written; publish time p50 / p95 / max: {ms(logs.publish_ms)}",
        f"- scans: {logs.scans}; scan time: {ms(logs.scan_ms)}",
        f"- lines by level: {dict(logs.levels)}; `running` lines: {len(logs.running)}; `stopped` lines: {logs.stopped}",
        f"- **tracebacks: {logs.tracebacks}; state store errors: {logs.store_errors}**",
        "",
        "WARNING/ERROR by kind (numbers and source names blanked):",
        "",
        *(f"- {n} × `{kind}`" for kind, n in logs.kinds.most_common(20)),
        "",
        "## The server",
        "",
        f"Answers by status: {dict(answers)} (429 answers: {polls_429}; with Retry-After "
        f"30 s a polite client sends about {args.minutes * 2 + 2:.0f} per 429 source).",
        f"Output watcher: {watcher.reads} feed files read, {watcher.read_seconds:.1f} s spent parsing.",
        "",
    ]
    return "\n".join(lines), ok
