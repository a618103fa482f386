"""The SQLite WAL while a store fills: its largest size, against the 256 MB it may never pass.

    python benchmarks/bench_wal.py [--items 250000] [--round 10000] [--sources 200] [--threads 8]
                                   [--daemon] [--dir DIR] [--keep]

Fills a fresh store (a real SQLite file under ``--dir``, default a temporary
folder) the way ``feeds build --force`` rounds fill it: each round polls every
source once, from ``--threads`` threads at once (``Store.save_poll`` with the
near-duplicate sketches of the new items, so each poll's matching reads run
beside the others' writes), each source listing its newest 50 items of which
``--round / --sources`` are new (about 5 KB of distinct text each), while a
reader does what a publish does (newest articles, their versions, their items)
and the round ends with a settle.  ``--daemon`` also calls ``Store.maintain()``
every 2 s, as ``feeds run`` does (commits then no longer checkpoint by
themselves).  A thread samples the size of the ``-wal`` file every 2 ms.

Prints, per round, the items stored, the seconds it took, the ingest rate and
the WAL's largest size so far; at the end the largest size over the whole fill.
Runs against whichever ``feeds`` is importable (``PYTHONPATH``), so the same
fill can be measured before and after a change.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # after PYTHONPATH: measure whichever feeds it names
sys.path.insert(0, str(HERE))

from corpus import SENTENCES  # noqa: E402

from feeds.core.merge import combine  # noqa: E402
from feeds.core.models import Item  # noqa: E402
from feeds.core.neardup import html_sketch as text_sketch  # noqa: E402
from feeds.store import NearDup, SourceState, open_store  # noqa: E402

MB = 1 << 20
LISTED = 50  # items a source's feed lists (its newest)
NEAR = NearDup(7 * 86400.0, 0.5)


class Peak:
    """The largest size the ``-wal`` file had, sampled every 2 ms in a thread of its own."""

    def __init__(self, wal: Path) -> None:
        self.wal, self.largest, self._stop = wal, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            with suppress(OSError):
                self.largest = max(self.largest, self.wal.stat().st_size)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.largest


def text(rng: random.Random, n: int) -> str:
    """About 5 KB of distinct text (numbers make every item its own story)."""
    parts = [f"<p>{rng.choice(SENTENCES)}第{n}号文{rng.randrange(10**9)}。</p>" for _ in range(36)]
    return "".join(parts)


def item(source: int, n: int, when: datetime, rng: random.Random) -> Item:
    code = f"NW{source:04d}{n:08d}"
    return Item(key=f"infocode:{code}", title=f"快讯 {source}-{n} {rng.randrange(10**6)}",
                link=f"http://news.example.com/{code}", published=when, updated=when,
                categories=(f"cat{source % 30}",), content=text(rng, n), source=f"s{source}",
                origin=f"http://127.0.0.1:9/{source}.xml")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=250_000)
    parser.add_argument("--round", type=int, default=10_000, help="new items per round")
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--daemon", action="store_true", help="call maintain() every 2 s, as `feeds run` does")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the store")
    args = parser.parse_args(argv)
    import feeds

    work = Path(tempfile.mkdtemp(prefix="bench-wal-", dir=args.dir))
    state = work / "state.db"
    print(f"feeds from {Path(feeds.__file__).parent}; store {state}", flush=True)
    store = open_store(state, busy_timeout=600)
    peak = Peak(Path(f"{state}-wal"))
    per_source = max(1, args.round // args.sources)
    held: dict[int, list[Item]] = {s: [] for s in range(args.sources)}
    stop = threading.Event()
    newest: list[str] = []

    def reader() -> None:  # what a publish reads, over and over
        while not stop.is_set():
            articles = store.top(None, time.time() + 86400, 50)
            versions = store.versions([a.id for a in articles])
            store.load_items([v.ref for vs in versions.values() for v in vs if isinstance(v.ref, int)])
            newest[:] = [a.id for a in articles[:1]]

    def maintainer() -> None:
        while not stop.wait(2.0):
            store.maintain()

    def poll(source: int, new: list[Item], now: float) -> None:
        held[source] = (held[source] + new)[-LISTED:]
        sketches = {i.key: text_sketch(i.title, i.content) for i in new}
        state = SourceState(f"s{source}", url=f"http://127.0.0.1:9/{source}.xml", last_attempt=now,
                            last_success=now, next_due=now + 86400)  # fmt: skip
        store.save_poll(state, held[source], (), now, sketches=sketches, near=NEAR)

    threads = [threading.Thread(target=reader, daemon=True)]
    if args.daemon:
        threads.append(threading.Thread(target=maintainer, daemon=True))
    for thread in threads:
        thread.start()
    rng = random.Random(1)
    stored, started, n = 0, time.perf_counter(), 0
    print("| items stored | round (s) | items/s | largest WAL so far (MB) |\n|---|---|---|---|", flush=True)
    with ThreadPoolExecutor(args.threads) as pool:
        while stored < args.items:
            began, now = time.perf_counter(), time.time()
            when = datetime.fromtimestamp(now - rng.randrange(86400 * 30), UTC)
            batches = {}
            for source in range(args.sources):
                batches[source] = [item(source, n + k, when, rng) for k in range(per_source)]
                n += per_source
            list(pool.map(poll, batches, batches.values(), [now] * len(batches)))
            store.settle(combine)
            stored += per_source * args.sources
            took = time.perf_counter() - began
            print(f"| {stored:,} | {took:.1f} | {per_source * args.sources / took:,.0f} | {peak.largest / MB:.1f} |",
                  flush=True)  # fmt: skip
    stop.set()
    for thread in threads:
        thread.join(10)
    largest = peak.stop()
    size = state.stat().st_size
    store.close()
    print(f"\n{stored:,} items in {time.perf_counter() - started:.0f} s; store {size / MB:.0f} MB "
          f"({size / stored / 1024:.1f} KB/item); largest WAL {largest / MB:.1f} MB", flush=True)  # fmt: skip
    if not args.keep:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
