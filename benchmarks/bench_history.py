"""Publish cost vs history size: ``feeds build`` after one change, with 50k / 250k stored remote items.

    python benchmarks/bench_history.py [--sizes 50000,250000] [--runs 3] [--posts 1000] [--timeout 900]

For each size, under ``benchmarks/corpus/history-<size>/``: a posts folder of
``--posts`` posts (``corpus.py``), a config with those posts, one remote source
``fresh`` (interval 1 s, served by this script on 127.0.0.1) and ``size / 1000``
remote sources ``hist-<i>`` (interval 24 h).  The state store is filled directly
through ``Store.save_poll`` (the method a successful poll commits with) with 1000
items per ``hist-<i>`` source (1 KB of HTML each, dated over the past year, spread
over 30 categories) and a ``next_due`` a year away, so they are never polled:
polling 250k real entries would take minutes and measures the parser, not the
publish.  Then one warm-up ``feeds build``, and ``--runs`` times each:

- (a) ``feeds build`` after ``fresh`` lists one new item (it must reach ``rss.xml``);
- (b) ``feeds build`` after one new post (``fresh`` answers 304 then).

Wall time and peak memory (summed PSS of the process tree) as in ``bench_build.py``;
median over the runs.  The table (and the ratio of the largest size to the
smallest) is printed and written to ``benchmarks/results/history.md``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench_build import CORPUS_ROOT, HERE, MB, PROJECT, Run, machine_line, run_measured, write_report
from corpus import SENTENCES, categories, generate, toml_str

sys.path.insert(0, str(PROJECT))
from feeds.core.models import Item
from feeds.store import SourceState
from feeds.store import open_store as Store

RESULTS = HERE / "results" / "history.md"
CST = timezone(timedelta(hours=8))
SHARE_URL = "http://news.example.com/html_News/NewsShare.html?infoCode="
PER_SOURCE = 1000


class Fresh:
    """The ``fresh`` source: an RSS feed that gains one item when ``add()`` is called."""

    def __init__(self) -> None:
        self.items: list[tuple[str, datetime]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = owner.body()
                etag = f'"{len(owner.items)}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self) -> str:
        now = datetime.now(CST).replace(microsecond=0)
        code = f"NW{now:%Y%m%d}8{len(self.items):09d}"
        self.items.append((code, now))
        return code

    def body(self) -> bytes:
        items = "".join(
            f"<item><title>实时快讯 {code}</title><link>{SHARE_URL}{code}</link><guid>{code}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate><description>{SENTENCES[0]}</description></item>"
            for code, when in reversed(self.items[-20:])
        )
        return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>fresh</title>{items}</channel></rss>'.encode()  # noqa: E501


def write_config(work: Path, sources: int, port: int) -> Path:
    cats = categories(30)
    lines = ["[site]", 'title = "财经快讯（历史规模测试）"', 'url = "https://finews.example.com/"', "",
             "[output]", 'dir = "out"', "limit = 50", "", "[categories]",
             *(f"{toml_str(s)} = {toml_str(t)}" for s, t in cats), "", "[state]", 'path = ".feeds/state.db"', "",
             "[[sources]]", 'name = "posts"', 'type = "posts"', 'path = "posts"', "",
             "[[sources]]", 'name = "fresh"', 'type = "feed"', f'url = "http://127.0.0.1:{port}/fresh.xml"',
             f"category = {toml_str(cats[0][0])}", 'interval = "1s"', ""]  # fmt: skip
    for i in range(sources):
        lines += ["[[sources]]", f'name = "hist-{i}"', 'type = "feed"', f'url = "http://127.0.0.1:9/hist/{i}.xml"',
                  f"category = {toml_str(cats[i % 30][0])}", 'interval = "24h"', ""]  # fmt: skip
    config = work / "feeds.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def fill(state: Path, sources: int) -> None:
    """``sources`` × ``PER_SOURCE`` items through ``Store.save_poll``, one transaction per source."""
    cats = categories(30)
    now = time.time()
    body = "".join(f"<p>{s}</p>" for s in SENTENCES[:12])  # about 1 KB
    state.parent.mkdir(parents=True, exist_ok=True)
    with Store(state) as store:
        for i in range(sources):
            url = f"http://127.0.0.1:9/hist/{i}.xml"
            items = []
            for j in range(PER_SOURCE):
                when = datetime.fromtimestamp(now - 86400 * 365 + (i * PER_SOURCE + j) * 97 % (86400 * 360), CST)
                code = f"NW{when:%Y%m%d}{i:05d}{j:05d}"
                items.append(Item(key=f"infocode:{code}", title=f"历史快讯 {i}-{j}", link=SHARE_URL + code,
                                  published=when, updated=when, categories=(cats[i % 30][0],), content=body,
                                  source=f"hist-{i}", origin=url))  # fmt: skip
            st = SourceState(name=f"hist-{i}", url=url, last_attempt=now, last_success=now, next_due=now + 365 * 86400)
            store.save_poll(st, items, (), now)


def add_post(posts: Path, n: int) -> None:
    now = datetime.now(CST)
    slug, label = categories(30)[1]
    code = f"NW{now:%Y%m%d}7{n:09d}"
    (posts / f"{now:%Y-%m-%d}-history-{n}.md").write_text(
        f'---\nlayout: post\ntitle: "历史规模测试新文章{n}"\ndate: {now:%Y-%m-%d %H:%M:%S} +0800\n'
        f"categories: {slug}\ntags: {label}新闻\n---\n<p>{SENTENCES[1]}</p>"
        f'<p class="em_media">（文章来源：{label}）</p>\n\n<{SHARE_URL}{code}>\n\n'
        f"[返回{label}新闻](//finews.example.com/category/{slug}.html)｜[返回首页](//finews.example.com/)",
        encoding="utf-8",
    )


def measure_size(size: int, args: argparse.Namespace, fresh: Fresh) -> dict[str, list[Run]]:
    work = CORPUS_ROOT / f"history-{size}"
    if work.exists():
        shutil.rmtree(work)
    (work / "logs").mkdir(parents=True)
    generate(args.posts, work / "posts", seed=1, category_count=30)
    config = write_config(work, size // PER_SOURCE, fresh.port)
    started = time.perf_counter()
    fill(work / ".feeds" / "state.db", size // PER_SOURCE)
    print(f"history {size}: store filled in {time.perf_counter() - started:.1f} s", flush=True)
    cmd = [sys.executable, "-m", "feeds", "build", "-c", str(config)]
    warm = run_measured(cmd, work / "logs" / "warmup.log", args.timeout)
    print(f"history {size}: warm-up build {warm.wall:.2f} s {warm.note}", flush=True)
    runs: dict[str, list[Run]] = {"a": [], "b": []}
    for r in range(args.runs):
        code = fresh.add()
        time.sleep(1.1)  # `fresh` is due again
        run = run_measured(cmd, work / "logs" / f"a-{r}.log", args.timeout)
        if run.ok and code.encode() not in (work / "out" / "rss.xml").read_bytes():
            run.ok, run.note = False, f"{code} not in rss.xml"
        runs["a"].append(run)
        add_post(work / "posts", r)
        time.sleep(1.1)
        runs["b"].append(run_measured(cmd, work / "logs" / f"b-{r}.log", args.timeout))
        print(f"history {size}: run {r}: (a) {runs['a'][-1].wall:.2f} s, (b) {runs['b'][-1].wall:.2f} s", flush=True)
    return runs


def cell(runs: list[Run]) -> tuple[float | None, str]:
    bad = [r for r in runs if not r.ok]
    if bad:
        return None, f"failed ({bad[0].note})"
    median = statistics.median(r.wall for r in runs)
    peak = max(r.peak for r in runs) / MB
    return median, f"{median:.2f} s ({', '.join(f'{r.wall:.2f}' for r in runs)}; {peak:.0f} MB)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50000,250000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    fresh = Fresh()
    results: dict[int, dict[str, tuple[float | None, str]]] = {}
    try:
        for size in sizes:
            runs = measure_size(size, args, fresh)
            results[size] = {k: cell(v) for k, v in runs.items()}
    finally:
        fresh.server.shutdown()
    lines = ["# Publish cost vs history size", "", machine_line(), "",
             "| stored remote items | (a) one new remote item | (b) one new post |", "|---|---|---|"]  # fmt: skip
    for size, row in results.items():
        lines.append(f"| {size:,} | {row['a'][1]} | {row['b'][1]} |")
    if len(results) > 1:
        lo, hi = results[sizes[0]], results[sizes[-1]]
        ratio = [f"{hi[k][0] / lo[k][0]:.2f}×" if lo[k][0] and hi[k][0] else "-" for k in ("a", "b")]
        lines.append(f"| ratio {sizes[-1]:,} / {sizes[0]:,} | {ratio[0]} | {ratio[1]} |")
    lines += [
        "",
        "Median wall time of `feeds build` (every run's time; peak summed PSS). Target: ratio ≤ 1.5×, < 1 s.",
        "",
    ]
    print("\n".join(lines))
    write_report(RESULTS, lines, [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
