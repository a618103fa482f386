"""The profiles behind ``benchmarks/PROFILE.md``: cold builds of 24 posts, 1k and 100k posts, 1,000-feed polls.

    python benchmarks/profile_workloads.py [--only example,1000,100000,poll-on,poll-off] [--rate 200]

Everything goes to ``benchmarks/results/profile/``:

- ``<w>.importtime``: ``python -X importtime -m feeds build …`` (stderr), cold;
- ``<w>.prof`` + ``<w>.cprofile.txt``: ``python -m cProfile -o … -m feeds build …`` of the
  main process (cold; workers are forked processes cProfile does not see), with the top
  functions by cumulative and by own time (pstats);
- ``<w>.raw`` + ``<w>.md``: ``profile_run.py`` (py-spy over every process, cold);
- for the example also ``example.wall``: 5 plain cold runs without and 5 with the feeds
  package byte-compiled (PYTHONDONTWRITEBYTECODE is set on the shared machine: without
  ``compileall`` every start compiles every feeds module), with the build's own "in N s"
  figure, and ``python -c pass`` / ``python -c 'import feeds.cli'`` for the interpreter and
  the imports alone.  The other profiles run with whatever bytecode is there.

Workloads: ``example`` = ``config/feeds.toml``; ``1000``/``100000`` = ``bench_build.py``'s
corpora; ``poll-on``/``poll-off`` = 1,000 feeds of ``feedserver.py --kind news`` with
``[merge] near_duplicates`` on/off (``bench_poll.py``'s config).
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_build import CORPUS_ROOT, HERE, PROJECT, clean, ensure_corpus
from bench_poll import start_server, write_config
from profile_run import find_py_spy, summarise

OUT = HERE / "results" / "profile"
PY = sys.executable


def cold(config: Path) -> None:
    clean(config)


def feeds_cmd(config: Path, *extra: str) -> list[str]:
    return ["-m", "feeds", "build", "-c", str(config), *extra]


def cprofile(label: str, config: Path) -> None:
    cold(config)
    prof = OUT / f"{label}.prof"
    subprocess.run([PY, "-m", "cProfile", "-o", str(prof), *feeds_cmd(config)], cwd=PROJECT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    with open(OUT / f"{label}.cprofile.txt", "w", encoding="utf-8") as out:
        stats = pstats.Stats(str(prof), stream=out)
        stats.strip_dirs()
        out.write(f"# cProfile of the main process: {label}\n\n## by cumulative time\n")
        stats.sort_stats("cumulative").print_stats(60)
        out.write("\n## by own time\n")
        stats.sort_stats("tottime").print_stats(60)


def importtime(label: str, config: Path) -> None:
    cold(config)
    result = subprocess.run([PY, "-X", "importtime", *feeds_cmd(config)], cwd=PROJECT, capture_output=True, text=True)
    (OUT / f"{label}.importtime").write_text(result.stderr, encoding="utf-8")


def pyspy(label: str, config: Path, rate: float) -> None:
    cold(config)
    raw = OUT / f"{label}.raw"
    spy = find_py_spy(None)
    started = time.perf_counter()
    subprocess.run([spy, "record", "--rate", f"{rate:g}", "--subprocesses", "--format", "raw", "--nonblocking",
                    "--output", str(raw), "--", PY, *feeds_cmd(config)], cwd=PROJECT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - started
    (OUT / f"{label}.md").write_text(summarise(raw, rate, wall, label, 30), encoding="utf-8")


def wall_runs(label: str, config: Path, runs: int = 5) -> None:
    lines = []
    for cmd in (["-c", "pass"], ["-c", "import feeds.cli"], ["-c", "import feeds.cli, feeds.pipeline"]):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([PY, *cmd], cwd=PROJECT, check=True)
            times.append(time.perf_counter() - started)
        lines.append(f"python {' '.join(cmd)}: " + ", ".join(f"{t * 1000:.0f}" for t in times) + " ms")
    package = Path(subprocess.run([PY, "-c", "import feeds, os; print(os.path.dirname(feeds.__file__))"],
                                  cwd=PROJECT, capture_output=True, text=True, check=True).stdout.strip())  # fmt: skip
    for bytecode in (False, True):
        for cache in package.rglob("__pycache__"):
            shutil.rmtree(cache)
        if bytecode:
            subprocess.run([PY, "-m", "compileall", "-q", str(package)], check=True)
        for _ in range(runs):
            cold(config)
            started = time.perf_counter()
            result = subprocess.run([PY, *feeds_cmd(config)], cwd=PROJECT, capture_output=True, text=True, check=True)
            took = (time.perf_counter() - started) * 1000
            last = (result.stderr.strip().splitlines() or [""])[-1]
            lines.append(f"feeds build (cold, {'with' if bytecode else 'no'} .pyc): {took:.0f} ms; {last}")
    (OUT / f"{label}.wall").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="example,1000,100000,poll-on,poll-off")
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    env_note = f"PYTHONPATH={os.environ.get('PYTHONPATH', '')}"
    print(env_note, flush=True)
    for work in wanted:
        started = time.perf_counter()
        if work == "example":
            config = PROJECT / "config" / "feeds.toml"
            wall_runs(work, config)
            importtime(work, config)
            cprofile(work, config)
            pyspy(work, config, 1000.0)
        elif work.isdigit():
            config = ensure_corpus(int(work), 1)
            importtime(work, config)
            cprofile(work, config)
            pyspy(work, config, args.rate if int(work) >= 10_000 else 1000.0)
        elif work in ("poll-on", "poll-off"):
            folder = CORPUS_ROOT / f"profile-{work}"
            if folder.exists():
                shutil.rmtree(folder)
            (folder / "logs").mkdir(parents=True)
            server = start_server(1000, 50, 1, folder / "logs" / "feedserver.log", "news")
            try:
                config = folder / "feeds.toml"
                write_config(config, server.port, 1000, 16, 4, None, work == "poll-on")
                pyspy(work, config, 100.0)
                cprofile(work, config)
            finally:
                server.stop()
        else:
            raise SystemExit(f"unknown workload {work!r}")
        print(f"{work}: profiled in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
