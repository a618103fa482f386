"""Serving benchmark: N concurrent HTTP clients against ``feeds serve`` on 127.0.0.1.

    python benchmarks/bench_serve.py [--posts 1000] [--clients 500] [--duration 20]
                                     [--conditional 0.5] [--gzip 0.5] [--seed 1]
                                     [--target "CMD"] [--no-build]

1. Generates (or reuses) the ``--posts`` corpus of ``bench_build.py``, writes
   ``benchmarks/corpus/serve-<N>/feeds.toml`` (formats rss, atom and json: 31
   feeds × 3 + index.html + feeds.opml) and builds it once (unless ``--no-build``).
2. Starts the target as a separate process, by default
   ``python -m feeds serve -c {config} --listen 127.0.0.1:{port}``.  ``--target``
   replaces it (``{python}``, ``{config}``, ``{port}`` and ``{listen}`` are filled
   in), e.g. ``--target "{python} -m feeds run -c {config} --listen {listen}"``
   to measure the daemon serving while it polls.
3. Waits until ``/`` answers, fetches every file once per encoding (its ETags;
   not measured), then runs ``--clients`` concurrent clients for ``--duration``
   seconds from this process (aiohttp's client, one keep-alive connection per
   client).  Each request picks a served file at random; with probability
   ``--conditional`` it is conditional (If-None-Match with the file's current
   ETag: a 304 is expected), else a first request (a 200 is expected); with
   probability ``--gzip`` it accepts gzip.  Any other status, a body of the
   wrong length, or a transport error counts as an error.

Prints, and writes to ``benchmarks/results/serve.md``: requests/s of 200s and
of 304s, latency p50/p99/max, errors, and the target's CPU use during the run
(user + system time of its process over the run; 100% = one core busy).  Client and server share the machine's
cores; the client is one process (one core at most).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from bench_build import CORPUS_ROOT, HERE, PROJECT, ensure_corpus, machine_line, write_report

RESULTS = HERE / "results" / "serve.md"
DEFAULT_TARGET = "{python} -m feeds serve -c {config} --listen {listen}"


@dataclass
class Tally:
    ok200: int = 0
    ok304: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # the first few errors

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(what)


def write_config(corpus_config: Path, folder: Path) -> Path:
    """The corpus config with json added, its own output and state folders under ``folder``."""
    text = corpus_config.read_text(encoding="utf-8")
    posts = (corpus_config.parent / "posts").resolve()
    lines = []
    for line in text.splitlines():
        if line.startswith("dir = "):
            line = 'dir = "out"'
        elif line.startswith("formats = "):
            line = 'formats = ["rss", "atom", "json"]'
        elif line.startswith("path = "):
            line = f"path = {str(posts)!r}".replace("'", '"')
        lines.append(line)
    lines += ["", "[state]", 'path = ".feeds/state.db"', ""]
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "feeds.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def served_paths(out: Path) -> list[str]:
    paths = []
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in rel.split("/")):
            paths.append(rel)
    return paths


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(base: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the target exited with {proc.returncode}")
            try:
                async with session.get(base) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the target did not answer in time")


async def load(base: str, paths: list[str], args: argparse.Namespace) -> tuple[Tally, float]:
    from urllib.parse import quote

    urls = [base + quote(p) for p in paths]
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=args.clients, limit_per_host=args.clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False, timeout=timeout) as session:
        known: dict[tuple[str, bool], tuple[str, int]] = {}
        for url in urls:  # warm-up: every file's ETag and length per encoding (not measured)
            for gz in (False, True):
                async with session.get(url, headers={"Accept-Encoding": "gzip" if gz else "identity"}) as r:
                    body = await r.read()
                    known[url, gz] = (r.headers["ETag"], len(body))
        stop_at = time.perf_counter() + args.duration

        async def client(seed: int) -> None:
            rng = random.Random(seed)
            while time.perf_counter() < stop_at:
                url = rng.choice(urls)
                gz = rng.random() < args.gzip
                conditional = rng.random() < args.conditional
                etag, length = known[url, gz]
                headers = {"Accept-Encoding": "gzip" if gz else "identity"}
                if conditional:
                    headers["If-None-Match"] = etag
                started = time.perf_counter()
                try:
                    async with session.get(url, headers=headers) as r:
                        body = await r.read()
                        status = r.status
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    tally.error(f"{url}: {type(exc).__name__}: {exc}")
                    continue
                tally.latencies.append(time.perf_counter() - started)
                fresh = r.headers.get("ETag")
                whole = len(body) == int(r.headers.get("Content-Length", len(body)))
                if conditional and status == 304:
                    tally.ok304 += 1
                elif not conditional and status == 200 and len(body) == length:
                    tally.ok200 += 1
                elif args.sources and status == 200 and whole and fresh and fresh != etag:
                    tally.ok200 += 1  # the daemon published this file anew: a new version, whole
                    known[url, gz] = (fresh, len(body))
                else:
                    tally.error(f"{url}: status {status}, {len(body)} bytes (conditional={conditional})")

        started = time.perf_counter()
        await asyncio.gather(*(client(args.seed * 100_003 + i) for i in range(args.clients)))
        elapsed = time.perf_counter() - started
    return tally, elapsed


def start_feed_server(sources: int, logs: Path) -> tuple[subprocess.Popen[str], int]:
    """``soakserver.py`` with ``sources`` changing feeds (no failing ones); (process, port)."""
    logs.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / "soakserver.py"), "--sources", str(sources), "--failing", "", "--port", "0"]
    with open(logs / "soakserver.log", "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"soakserver did not start: {line!r}")
    return proc, int(line.split()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--conditional", type=float, default=0.5, help="fraction of conditional requests")
    parser.add_argument("--gzip", type=float, default=0.5, help="fraction of requests accepting gzip")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", default=DEFAULT_TARGET, help=f"the server command (default: {DEFAULT_TARGET!r})")
    parser.add_argument("--no-build", action="store_true", help="the target builds the output itself")
    parser.add_argument("--startup", type=float, default=120.0, help="seconds to wait for the target")
    parser.add_argument("--sources", type=int, default=0,
                        help="also N remote sources served by soakserver.py (changing feeds) for the target to poll")
    parser.add_argument("--interval", default="5s", help="poll interval of those sources")
    args = parser.parse_args(argv)

    folder = CORPUS_ROOT / f"serve-{args.posts}"
    config = write_config(ensure_corpus(args.posts, args.seed), folder)
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    feedserver = None
    if args.sources:  # changing remote feeds on 127.0.0.1 for `feeds run` to poll while it serves
        feedserver, feed_port = start_feed_server(args.sources, folder / "logs")
        with config.open("a", encoding="utf-8") as out:
            for i in range(args.sources):
                out.write(f'\n[[sources]]\nname = "src-{i}"\ntype = "feed"\n'
                          f'url = "http://127.0.0.1:{feed_port}/feed/{i}.xml"\ninterval = "{args.interval}"\n')
    if not args.no_build:
        subprocess.run([sys.executable, "-m", "feeds", "build", "-c", str(config)], check=True, env=env)
    port = free_port()
    listen = f"127.0.0.1:{port}"
    command = args.target.format(python=sys.executable, config=config, port=port, listen=listen)
    (folder / "logs").mkdir(exist_ok=True)
    log = (folder / "logs" / "target.log").open("wb")
    proc = subprocess.Popen(shlex.split(command), cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://{listen}/"
    try:
        asyncio.run(wait_up(base, proc, args.startup))
        paths = served_paths(folder / "out")
        print(f"target up: {command}\n{len(paths)} files; {args.clients} clients for {args.duration:.0f} s ...",
              flush=True)  # fmt: skip
        load_before = Path("/proc/loadavg").read_text().split()[0]
        cpu_before = cpu_seconds(proc.pid)
        tally, elapsed = asyncio.run(load(base, paths, args))
        server_cpu = (cpu_seconds(proc.pid) - cpu_before) / elapsed
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if feedserver is not None:
            feedserver.terminate()
            feedserver.wait(10)

    lat = tally.latencies
    lines = [
        f"# Serving benchmark ({args.posts} posts, {len(paths)} files)",
        "",
        f"{machine_line()}; target `{args.target}`; {args.clients} concurrent clients (aiohttp, keep-alive) "
        f"for {elapsed:.1f} s from one separate process; {args.conditional:.0%} conditional (If-None-Match), "
        f"{args.gzip:.0%} accepting gzip; load average before the run {load_before}.",
        "",
        "| 200/s | 304/s | total/s | p50 ms | p99 ms | max ms | errors | server CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {tally.ok200 / elapsed:,.0f} | {tally.ok304 / elapsed:,.0f} | "
        f"{(tally.ok200 + tally.ok304) / elapsed:,.0f} | {percentile(lat, 0.5) * 1000:.1f} | "
        f"{percentile(lat, 0.99) * 1000:.1f} | {max(lat, default=0) * 1000:.1f} | {tally.errors} | {server_cpu:.0%} |",
        "",
    ]
    print("\n".join(lines))
    write_report(RESULTS, lines, [f"errors: {s}" for s in tally.samples])
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
