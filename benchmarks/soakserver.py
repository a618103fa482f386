"""A local server of *changing* RSS feeds, some of them failing, for the daemon soak.

    python benchmarks/soakserver.py [--sources 300] [--window 20] [--publish 5-15] [--seed 1]
                                    [--failing 500:2,429:2,hang:2,garbage:2,truncated:2,flaky:4]
                                    [--retry-after 30] [--hang 8] [--flaky-period 30]
                                    [--served-log FILE] [--port 0] [--host 127.0.0.1]

Serves ``--sources`` RSS 2.0 feeds at ``/feed/<i>.xml``.  Source ``i`` publishes a
new item every ``--publish`` seconds on average (its own mean, drawn from the range;
each gap 0.5-1.5x that mean; all seeded) and lists only its newest ``--window``
items, so an item is visible for a while and then rotates out.  When the server
starts, every source already lists ``--window`` items.  Items look like
``feedserver.py``'s (titles and ~1 KB descriptions from its vocabulary), with links
``http://news.example.com/html_News/NewsShare.html?infoCode=NW<18 digits>``
(``NW`` + start date + 4-digit source + 6-digit item number) and a ``pubDate`` in
``+0800`` equal to the moment the item was published (whole seconds).

Each feed has a strong ``ETag`` (hash of the body) and a ``Last-Modified`` (newest
item); a matching ``If-None-Match`` (or, without it, an ``If-Modified-Since`` not
older) gets ``304``.

Some sources fail (``--failing KIND:COUNT,...``, picked with the seed):
``500``; ``429`` with ``Retry-After``; ``hang`` (holds the connection ``--hang``
seconds, then closes it without answering); ``garbage`` (200 with random bytes);
``truncated`` (200, a well-formed HTTP answer whose XML stops in the middle of the
first item); ``flaky`` (healthy for ``--flaky-period`` seconds, then failing for as
long, in turn 500, hang, garbage, truncated, 429).

``GET /served`` returns JSON lines, one per item published so far by any source:
``{"source", "kind", "code", "link", "pubdate", "published", "rotated", "served", "serves"}``
(epoch seconds; ``rotated``: when it left the window, or null; ``served``: the
first time it was in a 200 answer with a complete feed, or null; ``serves``: every
such time).
``--served-log FILE`` also appends ``{"source", "code", "served"}`` lines as it
happens.  ``GET /sources`` returns each source's kind and mean interval;
``GET /stats`` counts answers per source and status.

Prints ``READY <port>`` once listening; SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import random
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO
from xml.sax.saxutils import escape

from feedserver import (
    ACTIONS,
    ANGLES,
    CST,
    OUTLETS,
    SHARE_URL,
    SUBJECTS,
    _etag_matches,
    _not_modified_since,
    _paragraphs,
)

KINDS = ("ok", "500", "429", "hang", "garbage", "truncated", "flaky")
FLAKY_FAILURES = ("500", "hang", "garbage", "truncated", "429")


class Source:
    """One feed: its publishing schedule (extended lazily), its rendered bodies, what was served."""

    def __init__(self, index: int, kind: str, mean: float, window: int, seed: int, start: float) -> None:
        self.index = index
        self.kind = kind
        self.mean = mean
        self.window = window
        self.rng = random.Random(seed * 1_000_003 + index)
        self.day = datetime.fromtimestamp(start, CST).strftime("%Y%m%d")
        self.lock = threading.Lock()
        # Item 0 is published `window` gaps (and a random phase) before the start.
        first = start - window * mean - self.rng.uniform(0, mean)
        self.times: list[float] = [first]
        self.cache: tuple[int, bytes, str, str, float] | None = None
        self.served: dict[int, list[float]] = {}  # item -> the times it was in a 200 answer

    def code(self, k: int) -> str:
        return f"NW{self.day}{self.index:04d}{k:06d}"

    def count(self, now: float) -> int:
        """How many items were published by ``now`` (under the lock)."""
        while self.times[-1] <= now:
            self.times.append(self.times[-1] + self.mean * self.rng.uniform(0.5, 1.5))
        return bisect.bisect_right(self.times, now)

    def item(self, k: int) -> str:
        rng = random.Random(f"{self.index}/{k}")
        title = f"{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)} {rng.choice(ANGLES)}"
        when = datetime.fromtimestamp(int(self.times[k]), CST)
        code = self.code(k)
        return (
            f"<item><title>{escape(title)}</title><link>{SHARE_URL}{code}</link>"
            f'<guid isPermaLink="false">{code}</guid><pubDate>{format_datetime(when)}</pubDate>'
            f"<description><![CDATA[{_paragraphs(rng, OUTLETS[self.index % len(OUTLETS)])}"
            # its own figures, as real news has (stock sentences alone would be near-duplicates)
            f"<p>第{self.index}栏第{k}条：成交{rng.randint(100, 99999)}万元，涨幅{rng.randint(-900, 900) / 10}%。</p>"
            "]]></description></item>\n"
        )

    def feed(self, now: float) -> tuple[int, bytes, str, str, float]:
        """(published count, body, ETag, Last-Modified, newest item's time) at ``now``."""
        with self.lock:
            n = self.count(now)
            if self.cache is None or self.cache[0] != n:
                lo = max(0, n - self.window)
                newest = datetime.fromtimestamp(int(self.times[n - 1]), CST)
                head = (
                    '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">\n<channel>\n'
                    f"<title>{OUTLETS[self.index % len(OUTLETS)]} · 实时快讯 {self.index}</title>\n"
                    f"<link>http://news.example.com/live/{self.index}.html</link>\n"
                    f"<description>滚动财经快讯第 {self.index} 栏目</description>\n<language>zh-cn</language>\n"
                    f"<lastBuildDate>{format_datetime(newest)}</lastBuildDate>\n"
                )
                items = "".join(self.item(k) for k in range(n - 1, lo - 1, -1))
                body = (head + items + "</channel>\n</rss>\n").encode()
                etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
                modified = newest.astimezone(UTC)
                self.cache = (n, body, etag, format_datetime(modified, usegmt=True), modified.timestamp())
            return self.cache

    def mark_served(self, n: int, now: float, log: IO[str] | None) -> None:
        with self.lock:
            fresh = [k for k in range(max(0, n - self.window), n) if k not in self.served]
            for k in range(max(0, n - self.window), n):
                self.served.setdefault(k, []).append(now)
        if log is not None and fresh:
            rows = ({"source": self.index, "code": self.code(k), "served": now} for k in fresh)
            lines = "".join(json.dumps(row) + "\n" for row in rows)
            with LOG_LOCK:
                log.write(lines)
                log.flush()

    def mode(self, now: float, start: float, period: float) -> str:
        """How the source answers now: "ok" or a failure kind."""
        if self.kind != "flaky":
            return self.kind
        phase = int((now - start + self.index * 7) // period)
        return "ok" if phase % 2 == 0 else FLAKY_FAILURES[(phase // 2 + self.index) % len(FLAKY_FAILURES)]

    def served_lines(self, now: float) -> list[str]:
        with self.lock:
            n = self.count(now)
            rows = []
            for k in range(n):
                rotated = self.times[k + self.window] if k + self.window < n else None
                code = self.code(k)
                row = {
                    "source": self.index, "kind": self.kind, "code": code, "link": SHARE_URL + code,
                    "pubdate": int(self.times[k]), "published": self.times[k], "rotated": rotated,
                    "served": self.served[k][0] if k in self.served else None, "serves": self.served.get(k, []),
                }  # fmt: skip
                rows.append(json.dumps(row) + "\n")
            return rows


LOG_LOCK = threading.Lock()


def assign_kinds(count: int, failing: dict[str, int], seed: int) -> list[str]:
    kinds = ["ok"] * count
    order = list(range(count))
    random.Random(seed * 31 + 7).shuffle(order)
    for kind, number in failing.items():
        for _ in range(number):
            if order:
                kinds[order.pop()] = kind
    return kinds


class SoakServer(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True

    def __init__(self, address: tuple[str, int], args: argparse.Namespace) -> None:
        low, _, high = args.publish.partition("-")
        lo, hi = float(low), float(high or low)
        self.start = time.time()
        self.args = args
        rng = random.Random(args.seed)
        kinds = assign_kinds(args.sources, parse_failing(args.failing), args.seed)
        self.sources = [
            Source(i, kinds[i], rng.uniform(lo, hi), args.window, args.seed, self.start) for i in range(args.sources)
        ]
        self.stats: Counter[tuple[int, str]] = Counter()
        self.stats_lock = threading.Lock()
        self.log: IO[str] | None = open(args.served_log, "a", encoding="utf-8") if args.served_log else None  # noqa: SIM115
        super().__init__(address, Handler)

    def count(self, index: int, status: str) -> None:
        with self.stats_lock:
            self.stats[(index, status)] += 1

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up (timeouts) is expected here


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "soakserver/1.0"
    server: SoakServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _respond(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        lines = [f"HTTP/1.1 {status}", f"Date: {formatdate(usegmt=True)}", f"Server: {self.server_version}"]
        lines += [f"{name}: {value}" for name, value in headers]
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)

    def _json(self, payload: bytes, kind: str = "application/json") -> None:
        self._respond("200 OK", [("Content-Type", kind), ("Cache-Control", "no-store")], payload)

    def do_GET(self) -> None:
        srv = self.server
        path = self.path.partition("?")[0]
        now = time.time()
        if path == "/served":
            body = "".join(line for s in srv.sources for line in s.served_lines(now)).encode()
            self._json(body, "application/x-ndjson")
            return
        if path == "/sources":
            rows = [{"source": s.index, "kind": s.kind, "mean": s.mean} for s in srv.sources]
            self._json(json.dumps(rows).encode())
            return
        if path == "/stats":
            with srv.stats_lock:
                rows = [{"source": i, "status": st, "count": c} for (i, st), c in sorted(srv.stats.items())]
            self._json(json.dumps(rows).encode())
            return
        number = path.removeprefix("/feed/").removesuffix(".xml")
        if not (path.startswith("/feed/") and path.endswith(".xml") and number.isdigit()) or int(number) >= len(
            srv.sources
        ):
            self._respond("404 Not Found", [("Content-Type", "text/plain")], b"not found\n")
            return
        source = srv.sources[int(number)]
        mode = source.mode(now, srv.start, srv.args.flaky_period)
        srv.count(source.index, mode if mode != "ok" else "200")
        n, body, etag, last_modified, modified = source.feed(now)
        rss = ("Content-Type", "application/rss+xml; charset=utf-8")
        if mode == "500":
            self._respond("500 Internal Server Error", [("Content-Type", "text/html")], b"<h1>500</h1>\n")
        elif mode == "429":
            retry = ("Retry-After", str(srv.args.retry_after))
            self._respond("429 Too Many Requests", [("Content-Type", "text/plain"), retry], b"slow down\n")
        elif mode == "hang":
            time.sleep(srv.args.hang)
            self.close_connection = True
        elif mode == "garbage":
            junk = random.Random(f"{source.index}/{now}").randbytes(4096)
            self._respond("200 OK", [rss], junk)
        elif mode == "truncated":
            cut = body.find(b"<item>") + 200
            self._respond("200 OK", [rss], body[:cut])
        else:
            validators = [("ETag", etag), ("Last-Modified", last_modified)]
            inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
            if inm is not None:
                fresh = _etag_matches(inm, etag)
            else:
                fresh = ims is not None and _not_modified_since(ims, datetime.fromtimestamp(modified, UTC))
            if fresh:
                srv.count(source.index, "304")
                lines = ["HTTP/1.1 304 Not Modified", f"Date: {formatdate(usegmt=True)}"]
                lines += [f"{k}: {v}" for k, v in validators]
                self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                return
            source.mark_served(n, time.time(), srv.log)
            self._respond("200 OK", [rss, *validators], body)


def parse_failing(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, number = part.partition(":")
        if kind not in KINDS or kind == "ok":
            raise SystemExit(f"--failing: unknown kind {kind!r} (one of {', '.join(KINDS[1:])})")
        out[kind] = int(number or 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve changing (and some failing) RSS feeds on 127.0.0.1.")
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--window", type=int, default=20, help="items listed per feed")
    parser.add_argument("--publish", default="5-15", help="range of the sources' mean seconds between items")
    parser.add_argument("--failing", default="500:2,429:2,hang:2,garbage:2,truncated:2,flaky:4")
    parser.add_argument("--retry-after", type=int, default=30, help="Retry-After of the 429 answers (s)")
    parser.add_argument("--hang", type=float, default=8.0, help="seconds a hanging source holds the connection")
    parser.add_argument("--flaky-period", type=float, default=30.0, help="seconds healthy, then as long failing")
    parser.add_argument("--served-log", help="append a JSON line per first-served item here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    server = SoakServer((args.host, args.port), args)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if server.log is not None:
            server.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
