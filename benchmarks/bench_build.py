"""Cold build benchmark: the naive baseline against ``python -m feeds build``.

    python benchmarks/bench_build.py [--sizes 1000,10000,100000] [--runs 1] [--seed 1] [--timeout 1800]

For each size N a corpus is generated once under ``benchmarks/corpus/<N>/``
(``posts/`` + ``feeds.toml``; git-ignored, reused when its config exists).  Then,
``--runs`` times, each as a separate process:

(a) ``python benchmarks/naive.py <config> --out <corpus>/out-naive``
(b) ``python -m feeds build -c <config>``

both on a COLD output: the output folders and the ``.feeds`` state folder beside
the config are deleted first.  The OS page cache is NOT dropped (that needs root):
the posts were just generated or read by the previous run, so the file cache is
warm for every measurement, for both contenders alike.

Each command runs under a small measuring process (this script again, with
``--measure``) that records the wall time and the peak of the SUMMED resident set
size of the whole process tree (``/proc/<pid>/statm`` of the command and all its
descendants, found through ``/proc/<pid>/task/*/children`` or, where the kernel
lacks that file, the parent pids in ``/proc/*/stat``; polled every 20 ms), and, as a cross-check,
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``: the largest single process of
that tree (the measuring process has no other children, so it is exact).

The table (median wall time, largest peak; MB = 2**20 bytes) is printed and
written to ``benchmarks/results/build.md``.  A failing command is reported in the
table (with the end of its log below it) instead of stopping the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
CORPUS_ROOT = HERE / "corpus"
RESULTS = HERE / "results" / "build.md"
POLL_SECONDS = 0.02
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


# ------------------------------------------------------------ measuring (child side)


def _children_files(root: int) -> list[int] | None:
    """Descendants of ``root`` via ``/proc/<pid>/task/<tid>/children``; None if the kernel lacks that file."""
    pids = [root]
    i = 0
    while i < len(pids):
        pid = pids[i]
        i += 1
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    pids.extend(int(child) for child in f.read().split())
            except FileNotFoundError:
                if pid == root and not os.path.exists(f"/proc/{pid}/task/{tid}/children"):
                    return None  # no CONFIG_PROC_CHILDREN
            except OSError:
                continue
    return pids


def _scan_proc(root: int) -> list[int]:
    """Descendants of ``root`` from the parent pid in every ``/proc/<pid>/stat``."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(name))
    pids = [root]
    i = 0
    while i < len(pids):
        pids.extend(children.get(pids[i], ()))
        i += 1
    return pids


_HAVE_CHILDREN_FILES = True


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants."""
    global _HAVE_CHILDREN_FILES
    if _HAVE_CHILDREN_FILES:
        pids = _children_files(root)
        if pids is not None:
            return pids
        _HAVE_CHILDREN_FILES = False
    return _scan_proc(root)


def tree_rss(root: int) -> int:
    """Memory of ``root``'s process tree, in bytes: the sum of each process's PSS.

    PSS (proportional set size, from /proc/PID/smaps_rollup) counts a page shared
    by forked workers once in total, not once per process as summed RSS would;
    where smaps_rollup is missing, RSS from statm is used.
    """
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
            continue
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue  # exited between listing and reading
    return total


def machine_line() -> str:
    """When and where a benchmark ran, for the head of its report."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{stamp}; Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )


def measure(
    cmd: list[str], cwd: Path, log: Path, timeout: float, sampled: bool = True
) -> dict[str, float | int | bool]:
    """Run ``cmd`` and measure it; the caller must have no other children (see the module doc).

    ``sampled=False``: no memory sampler (peak 0).  Reading a big process's smaps_rollup every 20 ms
    walks its page tables under its memory-map lock and slows its page faults: a 100k-post feeds build
    took 9-15 s sampled and 8.7-8.9 s plain, back to back.  Time a command unsampled; sample it apart."""
    peak = 0
    done = threading.Event()
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid))
                done.wait(POLL_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        if sampled:
            sampler.start()
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            os.killpg(proc.pid, signal.SIGKILL)  # the session we started for this command

        # A blocking wait (Popen.wait(timeout) polls in steps of up to 50 ms,
        # which would round every time up); a timer kills a command that hangs.
        timer = threading.Timer(timeout, kill)
        timer.start()
        returncode = proc.wait()
        wall = time.perf_counter() - start
        timer.cancel()
        timed_out = expired.is_set()
        done.set()
        if sampled:
            sampler.join()
    # ru_maxrss is in KiB on Linux.
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"returncode": returncode, "wall": wall, "peak": peak, "maxrss": maxrss, "timed_out": timed_out}


# ------------------------------------------------------------ driving (parent side)


@dataclass
class Run:
    ok: bool
    wall: float
    peak: int
    maxrss: int
    note: str = ""


def ensure_corpus(n: int, seed: int) -> Path:
    """The config of the N-post corpus, generating the corpus unless it is complete (config written last)."""
    folder = CORPUS_ROOT / str(n)
    config = folder / "feeds.toml"
    if config.is_file() and (folder / "posts").is_dir():
        print(f"corpus {n}: reusing {folder}", flush=True)
        return config
    print(f"corpus {n}: generating under {folder} ...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(HERE / "corpus.py"), str(n), str(folder / "posts"), "--seed", str(seed), "--force"],
        check=True,
    )
    print(f"corpus {n}: generated in {time.perf_counter() - started:.1f} s", flush=True)
    return config


def clean(config: Path) -> None:
    """Make the next build cold: delete the outputs and the state folder beside the config."""
    folder = config.parent
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    out = folder / data.get("output", {}).get("dir", "out")
    state = (folder / data.get("state", {}).get("path", ".feeds/state.db")).parent
    for path in (out, folder / "out-naive", folder / ".feeds", state):
        if path.resolve() == folder.resolve():
            continue  # never the corpus folder itself
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def run_measured(cmd: list[str], log: Path, timeout: float, sampled: bool = True) -> Run:
    """Run ``cmd`` under a fresh measuring process (so RUSAGE_CHILDREN covers only this command);
    ``sampled=False``: time only (see :func:`measure`)."""
    flag = "--measure" if sampled else "--time"
    helper = [sys.executable, str(Path(__file__).resolve()), flag, str(log), str(timeout), "--", *cmd]
    result = subprocess.run(helper, cwd=PROJECT, capture_output=True, text=True)
    if result.returncode != 0:
        return Run(False, 0.0, 0, 0, f"measuring process failed: {result.stderr.strip()[-500:]}")
    data = json.loads(result.stdout)
    ok = data["returncode"] == 0 and not data["timed_out"]
    note = ""
    if data["timed_out"]:
        note = f"timed out after {timeout:.0f} s"
    elif data["returncode"] != 0:
        note = f"exit {data['returncode']}"
    return Run(ok, float(data["wall"]), int(data["peak"]), int(data["maxrss"]), note)


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


def cells(runs: list[Run]) -> tuple[str, str, str, str]:
    """(median s, largest MB, largest ru_maxrss MB, every run's s) or the failure."""
    failed = [r for r in runs if not r.ok]
    if failed:
        cell = f"failed ({failed[0].note})"
        return cell, cell, "-", "-"
    each = ", ".join(f"{r.wall:.2f}" for r in runs)
    return (
        f"{statistics.median(r.wall for r in runs):.2f}",
        f"{max(r.peak for r in runs) / MB:.1f}",
        f"{max(r.maxrss for r in runs) / MB:.1f}",
        each,
    )


def write_report(path: Path, lines: list[str], extra: list[str]) -> None:
    """Write a benchmark's Markdown report: ``lines``, then each of ``extra`` as its own paragraph."""
    for text in extra:
        lines += [text, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"\nwritten to {path.relative_to(PROJECT)}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["--measure"], ["--time"]):  # internal: python bench_build.py --measure LOG TIMEOUT -- CMD...
        log, timeout, sep, *cmd = argv[1:]
        assert sep == "--" and cmd
        print(json.dumps(measure(cmd, PROJECT, Path(log), float(timeout), sampled=argv[0] == "--measure")))
        return 0

    parser = argparse.ArgumentParser(description="Cold build benchmark: naive baseline vs python -m feeds build.")
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated corpus sizes")
    parser.add_argument("--runs", type=int, default=1, help="runs per size and contender (median time, max memory)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (used only when generating)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a run is killed")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not sizes or any(n < 1 for n in sizes) or args.runs < 1:
        parser.error("sizes and --runs must be positive")

    rows: list[str] = []
    cross: list[str] = []
    failures: list[str] = []
    for n in sizes:
        config = ensure_corpus(n, args.seed)
        folder = config.parent
        logs = folder / "logs"
        logs.mkdir(exist_ok=True)
        contenders = {
            "naive": [sys.executable, str(HERE / "naive.py"), str(config), "--out", str(folder / "out-naive")],
            "feeds": [sys.executable, "-m", "feeds", "build", "-c", str(config)],
        }
        results: dict[str, list[Run]] = {name: [] for name in contenders}
        for i in range(args.runs):
            for name, cmd in contenders.items():
                clean(config)
                log = logs / f"{name}-{i + 1}.log"
                run = run_measured(cmd, log, args.timeout)
                results[name].append(run)
                status = f"{run.wall:.2f} s, {run.peak / MB:.1f} MB" if run.ok else f"FAILED ({run.note})"
                print(f"  {n:>7} {name} run {i + 1}: {status}", flush=True)
                if not run.ok:
                    failures.append(f"### {name}, {n} posts, run {i + 1}: {run.note}\n\n```\n{log_tail(log)}\n```")
        naive_s, naive_mb, naive_rss, _ = cells(results["naive"])
        feeds_s, feeds_mb, feeds_rss, _ = cells(results["feeds"])
        rows.append(f"| {n} | {naive_s} | {naive_mb} | {feeds_s} | {feeds_mb} |")
        cross.append(f"| {n} | {naive_rss} | {feeds_rss} |")

    table = "\n".join(["| size | naive s | naive MB | feeds s | feeds MB |", "|---:|---:|---:|---:|---:|", *rows])
    cross_table = "\n".join(["| size | naive ru_maxrss MB | feeds ru_maxrss MB |", "|---:|---:|---:|", *cross])
    print()
    print(table)
    print()
    print(cross_table)
    for failure in failures:
        print()
        print(failure)

    report = [
        "# Cold build benchmark",
        "",
        f"{machine_line()}; {args.runs} run(s) per cell (median wall time, largest peak).",
        "",
        "Peak memory is the summed PSS of the process tree (shared pages counted once), "
        "polled every 20 ms (MB = 2^20 bytes). "
        "Outputs and state are deleted before every run; the page cache is warm (not dropped).",
        "",
        table,
        "",
        "Cross-check: `ru_maxrss` of the largest single process (getrusage RUSAGE_CHILDREN):",
        "",
        cross_table,
        "",
    ]
    write_report(RESULTS, report, failures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
