"""Build speed, ``feeds build`` against Hugo on the same posts, in the same run.

    python benchmarks/bench_hugo.py [--sizes example,1000,10000,100000] [--runs 5] [--big-runs 1]
                                    [--rebuild 100000] [--seed 1] [--timeout 1800]

``example`` is the bundled example (``config/feeds.toml``, the 24 posts of
``examples/posts``); a number N is the corpus of ``bench_build.py``
(``benchmarks/corpus/<N>/``, seed-shaped posts over 30 categories, generated once).
For each, ``hugosite.py`` writes a Hugo site over the very same post files
(``benchmarks/corpus/hugo-<size>/``; its module doc gives the mapping), then,
``--runs`` times (``--big-runs`` for sizes of 100,000 and more), alternating which
goes first:

- ``python -m feeds build -c CONFIG`` with its output and state deleted (cold);
- ``hugo -s SITE --quiet`` with its ``public/`` and ``resources/`` deleted (cold).

Each run is timed by ``bench_build.run_measured`` without a memory sampler (wall
time of the whole process); after a size's timed runs, one more cold run of each
gives the peak of the summed PSS of its process tree (polled every 20 ms), untimed:
reading a big process's ``smaps_rollup`` every 20 ms slows its page faults, and
slowed feeds' 100k build from ~8.8 s to 9-15 s.  Both outputs are checked (the
combined RSS and one RSS per category).  The rebuilds are measured sampled.

With ``--rebuild N`` (N among the sizes), after the cold runs of N: one
unmeasured cold ``feeds build`` (fills its state), then (a) both rebuilt with
nothing changed and (b) both rebuilt after one new post (written by
``bench_incremental.add_post``: the corpus's exact form, a new infoCode, the
newest date); the post is then removed and feeds rebuilt so the corpus stays as
generated.  The new post must be in both combined feeds after (b).  Hugo has no
incremental build outside ``hugo server`` (it renders and writes every file each
time), so its rebuilds are full builds over the previous ``public/``.

The Markdown table is printed and written to ``benchmarks/results/hugo.md``;
logs are in ``benchmarks/corpus/hugo-<size>/logs/``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

from bench_build import CORPUS_ROOT, HERE, MB, PROJECT, Run, clean, ensure_corpus, log_tail, machine_line, run_measured
from bench_build import write_report as _write_report
from bench_incremental import add_post, load_corpus, remove_added
from bench_poll import provenance
from hugosite import make_site

RESULTS = HERE / "results" / "hugo.md"
EXAMPLE = PROJECT / "config" / "feeds.toml"
BIG = 100_000


def hugo_version() -> str:
    import subprocess

    try:
        return subprocess.run(["hugo", "version"], capture_output=True, text=True, check=True).stdout.split()[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        raise SystemExit("hugo is not installed (apt-get install -y hugo)") from None


def clean_hugo(site: Path) -> None:
    for name in ("public", "resources", ".hugo_build.lock"):
        path = site / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def feeds_out(config: Path) -> Path:
    import tomllib

    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return config.parent / data.get("output", {}).get("dir", "out")


def check_outputs(config: Path, site: Path, code: str | None = None) -> str:
    """'' if both outputs are complete (and hold ``code``, when given), else what is missing."""
    import tomllib

    cats = tomllib.loads(config.read_text(encoding="utf-8")).get("categories", {})
    problems = []
    out = feeds_out(config)
    feeds_rss = list((out / "category").glob("*/rss.xml")) if (out / "category").is_dir() else []
    hugo_rss = list((site / "public" / "categories").glob("*/rss.xml"))
    if not (out / "rss.xml").is_file() or len(feeds_rss) != len(cats):
        problems.append(f"feeds: rss.xml {(out / 'rss.xml').is_file()}, {len(feeds_rss)}/{len(cats)} category feeds")
    if not (site / "public" / "rss.xml").is_file() or len(hugo_rss) != len(cats):
        exists = (site / "public" / "rss.xml").is_file()
        problems.append(f"hugo: rss.xml {exists}, {len(hugo_rss)}/{len(cats)} term feeds")
    if code and not problems:
        if code not in (out / "rss.xml").read_text(encoding="utf-8"):
            problems.append(f"feeds: {code} not in rss.xml")
        if code not in (site / "public" / "rss.xml").read_text(encoding="utf-8"):
            problems.append(f"hugo: {code} not in rss.xml")
    return "; ".join(problems)


def count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def fmt(runs: list[Run]) -> tuple[str, str, str, float | None]:
    """(median s, every run, largest MB, median) or a failure."""
    bad = [r for r in runs if not r.ok]
    if bad or not runs:
        note = bad[0].note if bad else "no run"
        return f"failed ({note})", "-", "-", None
    med = statistics.median(r.wall for r in runs)
    return f"{med:.2f}", ", ".join(f"{r.wall:.2f}" for r in runs), f"{max(r.peak for r in runs) / MB:.1f}", med


def compile_feeds(wanted: bool) -> str:
    """Byte-compile the ``feeds`` package that ``python -m feeds`` will import, as ``pip install`` does.

    With PYTHONDONTWRITEBYTECODE set (it is on the shared machine) no ``.pyc`` is ever written, so
    every process compiled every feeds module from source again (~60-90 ms of a 24-post build).
    """
    import subprocess

    spec = subprocess.run([sys.executable, "-c", "import feeds, os; print(os.path.dirname(feeds.__file__))"],
                          capture_output=True, text=True, check=True, cwd=PROJECT).stdout.strip()  # fmt: skip
    if not wanted:
        for cache in Path(spec).rglob("__pycache__"):
            shutil.rmtree(cache)
        return f"feeds imported from `{spec}` without bytecode (`--no-bytecode`: compiled from source each start)"
    subprocess.run([sys.executable, "-m", "compileall", "-q", spec], check=True)
    return f"feeds imported from `{spec}`, byte-compiled first (`compileall`, as an installed package is)"


def compare(feeds: float, other: float) -> str:
    return f"{other / feeds:.2f}× faster" if feeds <= other else f"**{feeds / other:.2f}× slower**"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build speed: feeds build vs Hugo on the same posts, same run.")
    parser.add_argument("--sizes", default="example,1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5, help="runs per size below 100,000 (median time)")
    parser.add_argument("--big-runs", type=int, default=1, help="runs per size of 100,000 and more")
    parser.add_argument("--rebuild", default="100000", help="size whose rebuilds are measured ('' for none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--bytecode", action=argparse.BooleanOptionalAction, default=True,
                        help="byte-compile the feeds package first (default), or delete its .pyc files")  # fmt: skip
    args = parser.parse_args(argv)
    version = hugo_version()
    bytecode = compile_feeds(args.bytecode)
    started = provenance()
    print(f"{started}; Hugo {version}; {bytecode}", flush=True)

    rows: list[str] = []
    rebuild_rows: list[str] = []
    failures: list[str] = []
    notes: list[str] = []
    for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        if size == "example":
            config, label, n = EXAMPLE, "bundled example (24 posts)", 0
        else:
            n = int(size)
            config, label = ensure_corpus(n, args.seed), f"{n:,} posts"
        site = make_site(config, CORPUS_ROOT / f"hugo-{size}")
        logs = site / "logs"
        logs.mkdir(exist_ok=True)
        contenders = {
            "feeds": ([sys.executable, "-m", "feeds", "build", "-c", str(config)], lambda c=config: clean(c)),
            "hugo": (["hugo", "-s", str(site), "--quiet"], lambda s=site: clean_hugo(s)),
        }
        results: dict[str, list[Run]] = {"feeds": [], "hugo": []}
        peaks: dict[str, str] = {}
        runs = args.big_runs if n >= BIG else args.runs
        for i in range(runs):
            order = ["feeds", "hugo"] if i % 2 == 0 else ["hugo", "feeds"]
            for name in order:
                cmd, cleaner = contenders[name]
                cleaner()
                log = logs / f"cold-{name}-{i + 1}.log"
                run = run_measured(cmd, log, args.timeout, sampled=False)  # time only: memory apart
                results[name].append(run)
                state = f"{run.wall:.2f} s" if run.ok else f"FAILED ({run.note})"
                print(f"  {label} {name} cold run {i + 1}: {state}", flush=True)
                if not run.ok:
                    failures.append(f"### {name}, {label}, cold run {i + 1}: {run.note}\n\n```\n{log_tail(log)}\n```")
            problem = check_outputs(config, site)
            if problem:
                failures.append(f"### {label}, run {i + 1}: incomplete output: {problem}")
        for name in ("feeds", "hugo"):  # peak memory: one more cold run each, sampled (not timed)
            cmd, cleaner = contenders[name]
            cleaner()
            sampled = run_measured(cmd, logs / f"cold-{name}-memory.log", args.timeout)
            peaks[name] = f"{sampled.peak / MB:.1f}" if sampled.ok else f"failed ({sampled.note})"
            print(f"  {label} {name} cold, memory run: {peaks[name]} MB", flush=True)
        files = f"{count_files(feeds_out(config))} / {count_files(site / 'public')}"
        fs, feach, _, fmed = fmt(results["feeds"])
        hs, heach, _, hmed = fmt(results["hugo"])
        fmb, hmb = peaks["feeds"], peaks["hugo"]
        ratio = compare(fmed, hmed) if fmed and hmed else "-"
        rows.append(f"| {label}, cold | {fs} ({feach}) | {fmb} | {hs} ({heach}) | {hmb} | {ratio} | {files} |")

        if size == args.rebuild.strip():
            corpus = load_corpus(config)
            remove_added(corpus.posts)
            clean(config)
            warm = run_measured(contenders["feeds"][0], logs / "warmup-feeds.log", args.timeout)
            print(f"  {label} feeds warm-up (cold, unmeasured): {warm.wall:.2f} s", flush=True)
            if not (site / "public" / "rss.xml").is_file():
                run_measured(contenders["hugo"][0], logs / "warmup-hugo.log", args.timeout)
            steps: dict[str, dict[str, Run]] = {"nothing changed": {}, "one new post": {}}
            for step, logname in (("nothing changed", "nochange"), ("one new post", "newpost")):
                code = None
                if step == "one new post":
                    _, code, _ = add_post(corpus, 1)
                for name in ("feeds", "hugo"):
                    log = logs / f"rebuild-{logname}-{name}.log"
                    run = run_measured(contenders[name][0], log, args.timeout)
                    steps[step][name] = run
                    state = f"{run.wall:.2f} s, {run.peak / MB:.1f} MB" if run.ok else f"FAILED ({run.note})"
                    print(f"  {label} {name} rebuild, {step}: {state}", flush=True)
                    if not run.ok:
                        failures.append(f"### {name} rebuild ({step}): {run.note}\n\n```\n{log_tail(log)}\n```")
                problem = check_outputs(config, site, code)
                if problem:
                    failures.append(f"### rebuild ({step}): {problem}")
            removed = remove_added(corpus.posts)
            run_measured(contenders["feeds"][0], logs / "restore-feeds.log", args.timeout)
            notes.append(f"The new post ({len(removed)} file) was removed afterwards and feeds rebuilt.")
            for step, pair in steps.items():
                f, h = pair["feeds"], pair["hugo"]
                ratio = compare(f.wall, h.wall) if f.ok and h.ok else "-"
                fcell = f"{f.wall:.2f}" if f.ok else f"failed ({f.note})"
                hcell = f"{h.wall:.2f}" if h.ok else f"failed ({h.note})"
                fmb, hmb = f"{f.peak / MB:.1f}", f"{h.peak / MB:.1f}"
                rebuild_rows.append(f"| {label}, rebuild: {step} | {fcell} | {fmb} | {hcell} | {hmb} | {ratio} | |")

    header = [
        "| work | feeds s (runs) | feeds MB | Hugo s (runs) | Hugo MB | feeds vs Hugo | files feeds / Hugo |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    table = "\n".join([*header, *rows, *rebuild_rows])
    print()
    print(table)
    for failure in failures:
        print()
        print(failure)
    report = [
        "# Build speed: feeds vs Hugo",
        "",
        f"{machine_line()}; Hugo {version}. At the start: {started}. At the end: {provenance()}. {bytecode}.",
        "",
        f"Cold builds: {args.runs} runs per size below 100,000, {args.big_runs} at 100,000 (median wall time, "
        "every run in brackets, alternating which goes first; largest peak of the summed PSS of the process "
        "tree, MB = 2^20 bytes). Rebuilds: one run each. Same post files for both (see `benchmarks/hugosite.py`).",
        "",
        table,
        "",
        *notes,
        "",
    ]
    _write_report(RESULTS, report, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
