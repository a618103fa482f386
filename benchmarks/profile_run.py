"""Profile one command with py-spy (all its processes) and summarise where the time goes.

    python benchmarks/profile_run.py --label NAME [--rate 200] [--top 25] [--py-spy PATH] -- CMD ...
    python benchmarks/profile_run.py --label NAME --raw FILE.raw      # summarise an existing recording

Runs ``py-spy record --rate R --subprocesses --format raw`` over ``CMD`` (forked
workers included; threads only while not idle), keeps the collapsed stacks in
``benchmarks/results/profile/NAME.raw`` and writes ``NAME.md``:

- the wall time of the command and the CPU seconds sampled, per process role
  (``main``; ``worker``: a stack under ``concurrent.futures`` ``_process_worker``);
- **stages**: the first two ``feeds`` functions under the command's entry point
  (``build``/``publish``/``scan_posts``/``poll`` …) and, for workers, the task they run;
- **owners of the leaf frame** (self time): a third-party package (``yaml``,
  ``markdown_it``, ``feedparser``, ``lxml``/``feedgen``, ``jinja2``, ``httpx`` …),
  a ``feeds`` module, or the standard library; a C extension's own time shows
  as its Python caller's line (``nh3.clean`` in ``feeds/safety.py``, ``sqlite3`` in ``feeds/store/…``);
- the top functions by self and by inclusive time (``function (file)``).

One sample = 1/R s of one busy thread.  py-spy needs a few tens of ms to attach
to a new process, so a command shorter than ~1 s is better profiled with cProfile
and ``-X importtime`` (see ``benchmarks/PROFILE.md``).  Install py-spy with
``pip install py-spy`` (any virtualenv: it is a standalone binary); found on
``PATH`` or with ``--py-spy``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "profile"
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
STDLIB_TOP = {
    "<frozen runpy>", "<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>",
    "threading.py", "selectors.py", "socket.py", "ssl.py", "json", "re", "sre_parse.py", "sre_compile.py",
    "concurrent", "multiprocessing", "asyncio", "queue.py", "pathlib.py", "os.py", "posixpath.py",
    "genericpath.py", "shutil.py", "tempfile.py", "email", "urllib", "http", "html", "xml", "datetime.py",
    "zoneinfo", "unicodedata", "functools.py", "enum.py", "typing.py", "dataclasses.py", "abc.py",
    "contextlib.py", "collections", "logging", "traceback.py", "linecache.py", "tokenize.py", "inspect.py",
    "ast.py", "codecs.py", "encodings", "string.py", "textwrap.py", "copy.py", "pickle.py", "copyreg.py",
    "weakref.py", "_weakrefset.py", "heapq.py", "bisect.py", "random.py", "hashlib.py", "base64.py",
    "struct.py", "io.py", "_pyio.py", "subprocess.py", "signal.py", "sqlite3", "importlib", "tomllib",
    "gzip.py", "zlib", "argparse.py", "gettext.py", "locale.py", "calendar.py", "operator.py", "statistics.py",
}  # fmt: skip


def parse_frame(text: str) -> tuple[str, str, str]:
    m = FRAME.match(text)
    if not m:
        return text, "", ""
    return m["func"], m["file"], m["line"] or ""


def owner(file: str) -> str:
    """The package a frame's file belongs to: ``feeds/store/db.py`` -> ``feeds.store.db``; ``yaml/x.py`` -> ``yaml``."""
    if not file:
        return "?"
    if file.startswith("feeds/"):
        return file[:-3].replace("/", ".") if file.endswith(".py") else file
    top = file.split("/", 1)[0]
    if top in STDLIB_TOP or top.startswith("<frozen"):
        return f"stdlib:{top.removesuffix('.py')}"
    return top.removesuffix(".py")


def load(raw: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summarise(raw: Path, rate: float, wall: float | None, label: str, top: int) -> str:
    stacks = load(raw)
    total = sum(c for _, c in stacks)
    roles: Counter[str] = Counter()
    stages: Counter[tuple[str, str]] = Counter()
    owners: Counter[tuple[str, str]] = Counter()
    selfs: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaf_lines: Counter[str] = Counter()
    imports: Counter[str] = Counter()
    for frames, count in stacks:
        frames = [f for f in frames if not f.startswith("process ")]
        parsed = [parse_frame(f) for f in frames]
        cut = next((i for i, (func, _, _) in enumerate(parsed) if func == "_process_worker"), None)
        role = "main" if cut is None else "worker"
        if cut is not None:  # a forked worker's stack starts with its parent's frames up to the fork
            parsed = parsed[cut + 1 :]
        roles[role] += count
        # Stages: the first two feeds functions (below click / the worker's task runner).
        feeds_frames = [f"{func} ({file})" for func, file, _ in parsed if file.startswith("feeds/")]
        feeds_frames = [f for f in feeds_frames if "feeds/__main__.py" not in f and "feeds/cli.py" not in f]
        importing = any(func == "_find_and_load" for func, _, _ in parsed)
        if importing:
            stage = ("(imports)", "")
            # the first module imported at the top of the import chain
            for func, file, _ in parsed:
                if func == "<module>" and file != "feeds/__main__.py":
                    imports[owner(file)] += count
                    break
        elif feeds_frames:
            stage = (feeds_frames[0], feeds_frames[1] if len(feeds_frames) > 1 else "")
        else:
            leaf = parsed[-1] if parsed else ("?", "?", "")
            stage = (f"(outside feeds: {owner(leaf[1])})", "")
        stages[(role, *stage)] += count  # type: ignore[arg-type]
        func, file, line = parsed[-1] if parsed else ("?", "?", "")
        owners[(role, owner(file))] += count
        selfs[f"{func} ({file})"] += count
        leaf_lines[f"{func} ({file}:{line})"] += count
        for name in {f"{fn} ({fl})" for fn, fl, _ in parsed}:
            inclusive[name] += count

    def ms(n: int) -> str:
        return f"{n / rate * 1000:,.0f}"

    def pct(n: int) -> str:
        return f"{100 * n / total:.1f}%" if total else "-"

    out = [f"# Profile: {label}", ""]
    head = f"py-spy at {rate:g} Hz, {total:,} samples = {total / rate:.2f} CPU-s of busy threads"
    if wall is not None:
        head += f"; wall time of the command under py-spy {wall:.2f} s"
    out += [head + ".", ""]
    out += ["| process | ms | share |", "|---|---:|---:|"]
    out += [f"| {role} | {ms(n)} | {pct(n)} |" for role, n in roles.most_common()]
    out += ["", "## Stages (first two feeds functions)", "", "| process | stage | within | ms | share |",
            "|---|---|---|---:|---:|"]  # fmt: skip
    out += [f"| {r} | {a} | {b} | {ms(n)} | {pct(n)} |" for (r, a, b), n in stages.most_common(top * 2)]
    out += [
        "",
        "## Self time by owner of the leaf frame",
        "",
        "| process | owner | ms | share |",
        "|---|---|---:|---:|",
    ]
    out += [f"| {r} | {o} | {ms(n)} | {pct(n)} |" for (r, o), n in owners.most_common(top * 2)]
    if imports:
        out += ["", "## Imports: time by top-level module imported", "", "| module | ms |", "|---|---:|"]
        out += [f"| {m} | {ms(n)} |" for m, n in imports.most_common(top)]
    out += ["", "## Top functions by self time", "", "| function | ms | share |", "|---|---:|---:|"]
    out += [f"| {f} | {ms(n)} | {pct(n)} |" for f, n in selfs.most_common(top)]
    out += ["", "## Top lines by self time", "", "| line | ms | share |", "|---|---:|---:|"]
    out += [f"| {f} | {ms(n)} | {pct(n)} |" for f, n in leaf_lines.most_common(top)]
    out += ["", "## Top functions by inclusive time", "", "| function | ms | share |", "|---|---:|---:|"]
    out += [f"| {f} | {ms(n)} | {pct(n)} |" for f, n in inclusive.most_common(top * 2)]
    return "\n".join(out) + "\n"


def find_py_spy(given: str | None) -> str:
    for candidate in (given, shutil.which("py-spy"), "/tmp/bench-tools/bin/py-spy"):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("py-spy not found: pip install py-spy (in any virtualenv), or --py-spy PATH")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cmd: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, cmd = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description="Profile a command with py-spy and summarise it.")
    parser.add_argument("--label", required=True)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--py-spy", default=None)
    parser.add_argument("--raw", type=Path, default=None, help="summarise this recording instead of running CMD")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    raw = args.raw or OUT / f"{args.label}.raw"
    wall = None
    if args.raw is None:
        if not cmd:
            parser.error("give the command after --")
        spy = find_py_spy(args.py_spy)
        started = time.perf_counter()
        subprocess.run(
            [spy, "record", "--rate", f"{args.rate:g}", "--subprocesses", "--format", "raw", "--nonblocking",
             "--output", str(raw), "--", *cmd],
            check=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
    text = summarise(raw, args.rate, wall, args.label, args.top)
    (OUT / f"{args.label}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
