"""Incremental rebuild benchmark: ``feeds build`` with a warm post cache.

    python benchmarks/bench_incremental.py [--size 100000] [--runs 3] [--seed 1] [--timeout 1800]

Uses the corpus of ``bench_build.py`` (``benchmarks/corpus/<size>/``, generated
the same way when missing), deletes its output and state, and runs one warm-up
``python -m feeds build -c CONFIG`` (cold: fills the post cache, writes the
feeds).  Then, ``--runs`` times:

(a) ``feeds build`` with nothing changed;
(b) ``feeds build`` after adding ONE post, written by ``corpus.py``'s own writer
    (the corpus's exact form) with a new unique infoCode, dated the day after the
    newest post, in an existing category;
(c) the post is removed again and ``feeds build`` restores the feeds, so the
    corpus stays as generated (and the output is checked to be byte-identical to
    the one before (b)).

After (b) the new infoCode must be in the combined RSS feed and its category's
feed, after (c) in neither.  Each build is measured as in ``bench_build.py``
(whose functions this script uses): wall time of the whole process and the peak
of the summed PSS of its process tree.  The table (median time, largest peak),
and the output lines of the last run's builds, are printed and written to
``benchmarks/results/incremental.md``; logs are kept in
``benchmarks/corpus/<size>/logs/incremental-*.log``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_build import (
    HERE,
    MB,
    Run,
    cells,
    clean,
    ensure_corpus,
    log_tail,
    machine_line,
    run_measured,
    write_report,
)
from bench_poll import provenance
from corpus import PREDICATES, SUBJECTS, TAILS, Writer

RESULTS = HERE / "results" / "incremental.md"
SLUG_MARK = "bench-incremental"  # in the file name of every post this script adds

STEPS = (
    ("nochange", "(a) rebuild, nothing changed"),
    ("added", "(b) rebuild after adding 1 post"),
    ("removed", "(c) rebuild after removing it again"),
)


@dataclass
class Corpus:
    config: Path
    posts: Path
    out: Path
    cats: list[tuple[str, str]]


def load_corpus(config: Path) -> Corpus:
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    folder = config.parent
    posts = [s for s in data.get("sources", []) if s.get("type") == "posts"]
    if len(posts) != 1:
        raise SystemExit(f"{config}: expected exactly one posts source")
    cats = list(data.get("categories", {}).items())
    if not cats:
        raise SystemExit(f"{config}: no [categories]")
    return Corpus(config, folder / posts[0]["path"], folder / data.get("output", {}).get("dir", "out"), cats)


def remove_added(posts: Path) -> list[Path]:
    """Delete posts left by this script (e.g. by an interrupted run) and the folders that held only them."""
    removed = sorted(posts.glob(f"*/*/*-{SLUG_MARK}-*.md"))
    for path in removed:
        path.unlink()
        for folder in (path.parent, path.parent.parent):
            if folder != posts and not any(folder.iterdir()):
                folder.rmdir()
    return removed


def newest_day(posts: Path) -> datetime:
    """The date of the newest post, from the ``<year>/<month>/<YYYY-MM-DD>-`` layout of corpus.py."""
    years = sorted(p for p in posts.iterdir() if p.is_dir() and p.name.isdigit())
    for year in reversed(years):
        months = sorted(p for p in year.iterdir() if p.is_dir() and p.name.isdigit())
        for month in reversed(months):
            days = [name[:10] for name in os.listdir(month) if name.endswith(".md") and name[:4].isdigit()]
            if days:
                return datetime.strptime(max(days), "%Y-%m-%d")
    raise SystemExit(f"{posts}: no posts found")


def add_post(corpus: Corpus, run: int) -> tuple[Path, str, str]:
    """Write one new post in the corpus's exact form; returns (path, infoCode, category slug)."""
    # The day after the newest post: newer than every post, and (the code starts with
    # the article's date, <= its post's date) an infoCode no post has.
    when = newest_day(corpus.posts) + timedelta(days=1, hours=9, minutes=30, seconds=run)
    if when - timedelta(hours=8) > datetime.now(UTC).replace(tzinfo=None):
        raise SystemExit(f"the new post's date {when} would be in the future")
    code = f"NW{when:%Y%m%d}{9_900_000_000 + run:010d}"
    rng = random.Random(f"{SLUG_MARK}-{run}")
    cat = run % len(corpus.cats)
    writer = Writer(corpus.posts, corpus.cats)
    slug = f"{SLUG_MARK}-{run}"
    writer.write(
        when=when,
        cat=cat,
        title=f"{rng.choice(SUBJECTS)}{rng.choice(PREDICATES)} {rng.choice(TAILS)}",
        slug=slug,
        paragraphs=writer.body(rng),
        code=code,
    )
    path = corpus.posts / f"{when:%Y}" / f"{when:%m}" / f"{when:%Y-%m-%d}-{slug}.md"
    assert path.is_file(), path
    return path, code, corpus.cats[cat][0]


def output_digest(out: Path) -> dict[str, str]:
    """sha256 of every feed file under ``out`` (hidden files, such as a lock file, left out)."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)
    }


def contains(path: Path, code: str) -> bool:
    try:
        return code.encode() in path.read_bytes()
    except OSError:
        return False


@dataclass
class Step:
    runs: list[Run] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Incremental rebuild benchmark of feeds build.")
    parser.add_argument("--size", type=int, default=100_000, help="corpus size (benchmarks/corpus/<size>/)")
    parser.add_argument("--runs", type=int, default=3, help="runs of (a)-(c) (median time, max memory)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (used only when generating)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a build is killed")
    args = parser.parse_args(argv)
    if args.size < 1 or args.runs < 1:
        parser.error("--size and --runs must be positive")

    started = provenance()
    print(started)
    config = ensure_corpus(args.size, args.seed)
    corpus = load_corpus(config)
    logs = config.parent / "logs"
    logs.mkdir(exist_ok=True)
    for path in remove_added(corpus.posts):
        print(f"removed a post left by an earlier run: {path}")
    cmd = [sys.executable, "-m", "feeds", "build", "-c", str(config)]
    problems: list[str] = []
    failures: list[str] = []

    def build(label: str, log: Path) -> Run:
        run = run_measured(cmd, log, args.timeout)
        status = f"{run.wall:.2f} s, {run.peak / MB:.1f} MB" if run.ok else f"FAILED ({run.note})"
        print(f"  {label}: {status}", flush=True)
        for line in log_tail(log, 5).splitlines():
            print(f"      {line}", flush=True)
        if not run.ok:
            failures.append(f"### {label}: {run.note}\n\n```\n{log_tail(log, 30)}\n```")
        return run

    clean(config)
    warmup_log = logs / "incremental-warmup.log"
    warmup = build("warm-up (cold: output and state deleted)", warmup_log)
    steps = {name: Step() for name, _ in STEPS}
    for i in range(args.runs):
        before = output_digest(corpus.out)
        for name, label in STEPS:
            added = None
            if name == "added":
                added = add_post(corpus, i + 1)
            elif name == "removed":
                remove_added(corpus.posts)
            log = logs / f"incremental-{name}-{i + 1}.log"
            try:
                steps[name].runs.append(build(f"run {i + 1} {label}", log))
            except BaseException:
                remove_added(corpus.posts)  # leave the corpus as generated
                raise
            steps[name].logs.append(log)
            if added is not None:
                path, code, slug = added
                feeds = [corpus.out / "rss.xml", corpus.out / "category" / slug / "rss.xml"]
                missing = [str(f.relative_to(corpus.out)) for f in feeds if not contains(f, code)]
                note = f"new post {path.relative_to(corpus.posts)} ({code}, {slug})"
                print(f"      {note}: " + (f"MISSING from {', '.join(missing)}" if missing else "in both feeds"))
                if missing:
                    problems.append(f"run {i + 1}: the {note} is missing from {', '.join(missing)}")
            if name == "removed":
                after = output_digest(corpus.out)
                changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
                print("      output " + ("byte-identical to before (b)" if not changed else f"differs: {changed}"))
                if changed:
                    problems.append(f"run {i + 1}: after removing the post the output differs: {changed}")

    rows = []
    w = cells([warmup])
    rows.append(f"| warm-up (cold build, fills the post cache) | {w[0]} | {w[1]} | {w[2]} | {w[3]} |")
    for name, label in STEPS:
        c = cells(steps[name].runs)
        rows.append(f"| {label} | {c[0]} | {c[1]} | {c[2]} | {c[3]} |")
    table = "\n".join(["| build | s | MB (PSS sum) | ru_maxrss MB | each run s |", "|---|---:|---:|---:|---|", *rows])
    outputs = [f"warm-up:\n\n```\n{log_tail(warmup_log, 10)}\n```"]
    for name, label in STEPS:
        outputs.append(f"{label}, run {args.runs}:\n\n```\n{log_tail(steps[name].logs[-1], 10)}\n```")
    print()
    print(table)
    for text in [*outputs, *problems, *failures]:
        print()
        print(text)

    report = [
        "# Incremental rebuild benchmark",
        "",
        f"{machine_line()}; corpus `benchmarks/corpus/{args.size}` ({args.size} posts); "
        f"{args.runs} run(s) (median wall time, largest peak).",
        "",
        f"At the start: {started}. At the end: {provenance()}.",
        "",
        "Peak memory is the summed PSS of the build's process tree, polled every 20 ms (MB = 2^20 bytes). "
        "The output and state are deleted before the warm-up only. The page cache is not dropped, but "
        "the warm-up is the first read of every post since the corpus was last used, so its time "
        "depends on how much of the corpus is still cached.",
        "",
        table,
        "",
        "Targets: (a) and (b) ≤ 1 s.",
        "",
        "Checks: "
        + (
            "; ".join(problems)
            if problems
            else "after (b) the new post is in the combined and its "
            "category's RSS feed every run; after (c) the output is byte-identical to before (b)."
        ),
        "",
        "Output of `feeds build`:",
        "",
    ]
    write_report(RESULTS, report, [*outputs, *failures])
    return 1 if failures or problems else 0


if __name__ == "__main__":
    sys.exit(main())
