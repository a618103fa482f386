"""The analysis half of ``soak.py``: the daemon's log, freshness, lost items, the report.

The log parser is one regex per metric (below): adapt them here if the daemon's
log lines change.  Every timestamp is epoch seconds.
"""

from __future__ import annotations

import bisect
import re
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# ------------------------------------------------------------ the daemon's log lines
# `logging` format "%(asctime)s %(levelname)s %(message)s", e.g.
#   2026-11-26 08:00:01,123 INFO poll src-12: updated, 3 new, 0 updated, 41 ms
#   2026-11-26 08:00:01,456 INFO publish (source src-12): 812 items, 3 files written, 58 unchanged, 95 ms
LOG_LINE = re.compile(
    r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:[,.](\d{3}))? (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$"
)
POLL = re.compile(r"^poll (?P<source>\S+?):")  # one line per poll (INFO, or WARNING when it failed)
POLL_FAILED = re.compile(r"^poll \S+?: failed")
PUBLISH = re.compile(
    r"^publish\b.*?(?P<items>\d+) items?, (?P<written>\d+) files? written, (?P<unchanged>\d+) unchanged,"
    r" (?P<ms>\d+(?:\.\d+)?) ?ms"
)
SCAN = re.compile(r"^scan (?P<source>\S+?): (?P<posts>\d+) posts?, (?P<read>\d+) read, (?P<ms>\d+(?:\.\d+)?) ms")
RUNNING = re.compile(r"^running\b")  # the daemon is up and scheduling
CAUGHT_UP = re.compile(r"^caught up in (?P<s>[\d.]+) s")  # the backlog of its start is out
STOPPED = re.compile(r"^stopped\b")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
STORE_ERROR = re.compile(r"state store error")
# A WARNING/ERROR's "kind": its message with the source name and the numbers blanked out.
KIND_SUBS = ((re.compile(r"^(poll|scan|publish) [^:]*:"), r"\1 *:"), (re.compile(r"\d+(\.\d+)?"), "N"))


@dataclass
class LogStats:
    polls: int = 0
    poll_failures: int = 0
    publishes: int = 0
    publish_ms: list[float] = field(default_factory=list)
    publish_written: int = 0
    scans: int = 0
    scan_ms: list[float] = field(default_factory=list)
    tracebacks: int = 0
    store_errors: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    running: list[float] = field(default_factory=list)  # when each "running" line was logged
    caught_up: list[float] = field(default_factory=list)  # when each "caught up" line was logged
    caught_up_s: list[float] = field(default_factory=list)  # what each "caught up" line says (s from its start)
    stopped: int = 0


def log_time(stamp: str, millis: str | None) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis or 0) / 1000


def kind_of(message: str) -> str:
    for pattern, repl in KIND_SUBS:
        message = pattern.sub(repl, message)
    return message[:90]


def parse_logs(paths: list[Path]) -> LogStats:
    stats = LogStats()
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        stats.tracebacks += len(TRACEBACK.findall(text))
        stats.store_errors += len(STORE_ERROR.findall(text))
        for line in text.splitlines():
            m = LOG_LINE.match(line)
            if not m:
                continue
            level, message = m.group(3), m.group(4)
            stats.levels[level] += 1
            if level in ("WARNING", "ERROR", "CRITICAL"):
                stats.kinds[f"{level} {kind_of(message)}"] += 1
            if POLL.match(message):
                stats.polls += 1
                stats.poll_failures += bool(POLL_FAILED.match(message))
            elif p := PUBLISH.match(message):
                stats.publishes += 1
                stats.publish_ms.append(float(p.group("ms")))
                stats.publish_written += int(p.group("written"))
            elif s := SCAN.match(message):
                stats.scans += 1
                stats.scan_ms.append(float(s.group("ms")))
            elif RUNNING.match(message):
                stats.running.append(log_time(m.group(1), m.group(2)))
            elif c := CAUGHT_UP.match(message):
                stats.caught_up.append(log_time(m.group(1), m.group(2)))
                stats.caught_up_s.append(float(c.group("s")))
            elif STOPPED.match(message):
                stats.stopped += 1
    return stats


# ------------------------------------------------------------ freshness and lost items


def pcts(values: list[float]) -> str:
    """ "p50 / p95 / max (n)" of ``values``."""
    if not values:
        return "- (n = 0)"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.2f} / {p95:.2f} / {ordered[-1]:.2f} s (n = {len(ordered)})"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


class Competition:
    """Per category, the (sorted) dates of every item that could push another out of its feed."""

    def __init__(self) -> None:
        self.dates: dict[str, list[float]] = defaultdict(list)

    def add(self, category: str, date: float) -> None:
        self.dates[category].append(date)

    def freeze(self) -> None:
        for dates in self.dates.values():
            dates.sort()

    def newer(self, category: str, date: float, by: float) -> int:
        """Items of ``category`` dated at or after ``date`` (itself excluded) and by ``by``, i.e. published by then.

        An item's date is the moment it was published (whole seconds), so "dated by
        ``by``" counts every item published by then, and a few later (conservative).
        """
        dates = self.dates.get(category, [])
        return max(0, bisect.bisect_right(dates, by) - bisect.bisect_left(dates, date) - 1)


@dataclass
class Window:
    """When the daemon was up: ``(from, to)`` per run (from its "running" line to its kill/stop), and
    when each run had caught up with the backlog of its start (its "caught up" line)."""

    up: list[tuple[float, float]]
    kill: float | None  # when the first daemon was killed
    restart_up: float | None  # when the second one was up
    caught_up: list[float] = field(default_factory=list)  # every "caught up" line's time

    def interval(self, t: float) -> tuple[float, float] | None:
        for start, end in self.up:
            if start <= t <= end:
                return start, end
        return None

    def catching_up(self, t: float) -> bool:
        """Whether ``t`` is in a run before its "caught up" line (the whole run when it has none)."""
        span = self.interval(t)
        if span is None:
            return False
        done = min((c for c in self.caught_up if span[0] <= c <= span[1]), default=None)
        return done is None or t < done


@dataclass
class Verdicts:
    remote_fresh: list[float] = field(default_factory=list)
    remote_startup: list[float] = field(default_factory=list)  # served in a daemon's first build
    post_fresh: list[float] = field(default_factory=list)
    edit_fresh: list[float] = field(default_factory=list)
    delete_gone: list[float] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    lost_examples: list[str] = field(default_factory=list)


def judge(
    served: list[dict],
    ops: list[dict],
    seen: dict[str, float],
    seen_title: dict[tuple[str, str], float],
    gone: dict[str, float],
    window: Window,
    *,
    categories: dict[int, str],
    limit: int,
    settle: float,
    miss: float,
) -> Verdicts:
    """Sort every served item and every post operation into fresh / lost / excused (see README)."""
    comp = Competition()
    for row in served:
        comp.add(categories[row["source"]], row["pubdate"])
    for op in ops:
        if op["op"] == "add":
            comp.add(op["category"], op["date"])
    comp.freeze()
    v = Verdicts()

    def expected(category: str, date: float, at: float) -> bool:
        """Up at ``at`` and for ``settle`` more seconds, and still among the newest ``limit`` then."""
        span = window.interval(at)
        return span is not None and at + settle <= span[1] and comp.newer(category, date, at + settle) < limit

    for row in served:
        category, code = categories[row["source"]], row["code"]
        v.counts["remote published"] += 1
        serves = row["serves"]
        appeared = seen.get(code)
        if row["kind"] != "ok":
            v.counts[f"remote from failing sources ({row['kind']})"] += 1
            v.counts[f"remote from failing sources ({row['kind']}), appeared anyway"] += appeared is not None
            continue
        if not serves:
            published, rotated = row["published"], row["rotated"]
            end = rotated if rotated is not None else max((e for _, e in window.up), default=0.0)
            overlap = max((min(end, b) - max(published, a) for a, b in window.up), default=0.0)
            if overlap >= miss:
                v.counts["LOST: never fetched although visible while the daemon was up"] += 1
                v.lost_examples.append(f"{code} (never fetched; visible {published:.0f}-{end:.0f})")
            elif (
                window.kill is not None
                and window.restart_up is not None
                and published < window.restart_up
                and (rotated is not None and rotated > window.kill)
            ):
                v.counts["rotated out while down (never fetched)"] += 1
            else:
                v.counts["never fetched, visible too briefly while up (not judged)"] += 1
            continue
        v.counts["remote served"] += 1
        first = serves[0]
        if appeared is not None:
            v.counts["remote appeared"] += 1
            span = window.interval(first)
            if span is None or window.catching_up(first):
                v.counts["first served before a daemon caught up with its start (not in freshness)"] += 1
                v.remote_startup.append(appeared - first)
            elif window.kill is not None and span[1] == window.kill and first + settle > window.kill:
                v.counts["first served just before the kill (not in freshness)"] += 1
            else:
                v.remote_fresh.append(appeared - first)
            continue
        if any(expected(category, row["pubdate"], s) for s in serves):
            v.counts["LOST: served, among the newest `limit`, never in the output"] += 1
            v.lost_examples.append(f"{code} (served {first:.1f}, {len(serves)}x)")
        elif window.kill is not None and any(window.kill - settle < s <= window.kill for s in serves):
            v.counts["served just before the kill, never in the output (excused)"] += 1
        else:
            v.counts["served, never in the output, not expected (limit / too late / startup)"] += 1

    for op in ops:
        code, when = op["code"], op["written"]
        if op["op"] == "delete":
            v.counts["post deletes"] += 1
            if op.get("was_seen"):
                if code in gone:
                    v.delete_gone.append(gone[code] - when)
                elif window.interval(when) and when + settle <= window.up[-1][1]:
                    v.counts["LOST: deleted post still in the output at the end"] += 1
                    v.lost_examples.append(f"{code} (deleted {when:.1f}, still listed)")
            continue
        key = "post adds" if op["op"] == "add" else "post edits"
        v.counts[key] += 1
        appeared = seen_title.get((code, op["title"]))
        later = op.get("superseded")  # the next edit/delete of the same post, if any
        if appeared is not None and appeared >= when - 1:
            span = window.interval(when)
            if span is None:
                v.counts[f"{key}: written while down (not in freshness)"] += 1
            else:
                (v.post_fresh if op["op"] == "add" else v.edit_fresh).append(max(0.0, appeared - when))
            continue
        if later is not None and later < when + settle:
            v.counts[f"{key}: superseded within {settle:.0f} s, never seen (excused)"] += 1
        elif expected(op["category"], op["date"], when):
            v.counts[f"LOST: {key[5:-1]} never in the output"] += 1
            v.lost_examples.append(f"{code} ({op['op']} at {when:.1f}: {op['title']})")
        else:
            v.counts[f"{key}: not seen, not expected (limit / too late / down)"] += 1
    return v


def lost_total(v: Verdicts) -> int:
    return sum(n for k, n in v.counts.items() if k.startswith("LOST"))
