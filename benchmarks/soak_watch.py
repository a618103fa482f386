"""The threads of ``soak.py``: the output watcher, the post editor, the memory sampler."""

from __future__ import annotations

import html
import os
import random
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench_build import tree_pids, tree_rss

CST = timezone(timedelta(hours=8))
SHARE_URL = "http://news.example.com/html_News/NewsShare.html?infoCode="
SITE = "//finews.example.com/"
# The output's items: feeds writes `<guid isPermaLink="false">tag:<host>,2000:infocode:NW…</guid>` per item.
ITEM = re.compile(rb"<item>(.*?)</item>", re.S)
GUID = re.compile(rb"<guid[^>]*>[^<]*?infocode:([A-Za-z0-9_.\-]+)</guid>")
TITLE = re.compile(rb"<title>([^<]*)</title>")


class Watcher(threading.Thread):
    """Reads every ``rss.xml`` of the output folder whenever it changed (inode, mtime, size), every ``period`` s.

    ``seen[code]``: when an item was first in any feed; ``seen_title[(code, title)]``:
    when it was first shown with that title; ``gone[code]``: when a deleted post
    (``forget``) was no longer in any feed.  Times are the watcher's detection
    times (at most ``period`` plus a read late).
    """

    def __init__(self, out: Path, period: float) -> None:
        super().__init__(daemon=True, name="watcher")
        self.out, self.period = out, period
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.stamps: dict[Path, tuple[int, int, int]] = {}
        self.present: dict[Path, set[str]] = {}
        self.seen: dict[str, float] = {}
        self.seen_title: dict[tuple[str, str], float] = {}
        self.pending: dict[str, float] = {}
        self.gone: dict[str, float] = {}
        self.reads = 0
        self.read_seconds = 0.0

    def forget(self, code: str, at: float) -> None:
        with self.lock:
            self.pending[code] = at

    def scan(self) -> None:
        now = time.time()
        paths = [self.out / "rss.xml", *self.out.glob("category/*/rss.xml")]
        changed = False
        for path in paths:
            try:
                st = path.stat()
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
                if self.stamps.get(path) == stamp:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            started = time.perf_counter()
            codes: set[str] = set()
            with self.lock:
                for block in ITEM.findall(data):
                    g = GUID.search(block)
                    if g is None:
                        continue
                    code = g.group(1).decode()
                    codes.add(code)
                    self.seen.setdefault(code, now)
                    t = TITLE.search(block)
                    if t is not None:
                        self.seen_title.setdefault((code, html.unescape(t.group(1).decode())), now)
                self.present[path] = codes
                self.stamps[path] = stamp
            self.reads += 1
            self.read_seconds += time.perf_counter() - started
            changed = True
        if changed or self.pending:
            with self.lock:
                listed = set().union(*self.present.values()) if self.present else set()
                for code in [c for c in self.pending if c not in listed]:
                    self.gone[code] = now
                    del self.pending[code]

    def run(self) -> None:
        while not self.stop.is_set():
            self.scan()
            self.stop.wait(self.period)


class Editor(threading.Thread):
    """Adds (60%), edits (25%: new title and body, same infoCode and date) and deletes (15%) posts.

    Only posts it added are edited or deleted (old corpus posts are far below the
    feeds' limit).  Files are written to a hidden temporary name and renamed, so the
    daemon never reads half a post; ``written`` is the time after the rename/unlink.
    """

    def __init__(self, folder: Path, rate: float, seed: int, cats: list[tuple[str, str]], sentences: tuple[str, ...],
                 watcher: Watcher) -> None:  # fmt: skip
        super().__init__(daemon=True, name="editor")
        self.folder, self.rate, self.cats, self.sentences, self.watcher = folder, rate, cats, sentences, watcher
        self.rng = random.Random(seed * 97 + 5)
        self.stop = threading.Event()
        self.ops: list[dict] = []
        self.live: dict[str, dict] = {}  # code -> its latest add/edit op
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def text(self, op: dict) -> str:
        slug, label = self.cats[op["cat"]]
        paragraphs = [
            "".join(self.rng.choice(self.sentences) for _ in range(self.rng.randint(2, 5)))
            for _ in range(self.rng.randint(1, 4))
        ]
        # Each story has its own figures, as real news does: the generator's stock sentences
        # alone would make different stories near-duplicates (merged by design).
        paragraphs.append(f"据统计，{op['code']}号报告期内成交{self.rng.randint(100, 99999)}万元，"
                          f"同比变动{self.rng.randint(-900, 900) / 10}%。")  # fmt: skip
        body = "\n ".join(f"<p>{p}</p>" for p in paragraphs)
        return "\n".join([
            "---", "layout: post", f'title: "{op["title"]}"', f"date: {op['date_text']}", f"categories: {slug}",
            f"tags: {label}新闻", "---", f'{body}<p class="em_media">（文章来源：{label}）</p>', "",
            f"<{SHARE_URL}{op['code']}>", "",
            f"[返回{label}新闻]({SITE}category/{slug}.html)｜[返回首页]({SITE})",
        ])  # fmt: skip

    def write(self, op: dict) -> None:
        tmp = self.folder / f".tmp-{op['code']}"
        tmp.write_text(self.text(op), encoding="utf-8")
        os.replace(tmp, self.folder / op["file"])

    def step(self) -> None:
        roll = self.rng.random()
        self.count += 1
        now = datetime.now(CST)
        if roll < 0.60 or not self.live:
            cat = self.rng.randrange(len(self.cats))
            code = f"NW{now:%Y%m%d}9{self.count:09d}"
            op = {"op": "add", "code": code, "cat": cat, "category": self.cats[cat][0],
                  "date_text": f"{now:%Y-%m-%d %H:%M:%S} +0800", "date": float(int(now.timestamp())),
                  "file": f"{now:%Y-%m-%d}-soak-{self.count}.md",
                  "title": f"{self.cats[cat][1]}快讯：市场动态速览（第{self.count}号）"}  # fmt: skip
        else:
            code = self.rng.choice(sorted(self.live))
            previous = self.live[code]
            previous_op = "delete" if roll >= 0.85 else "edit"
            op = {**previous, "op": previous_op, "title": f"{previous['title'].split('（')[0]}（更新{self.count}）"}
        if op["op"] == "delete":
            op["was_seen"] = code in self.watcher.seen
            os.unlink(self.folder / op["file"])
            op["written"] = time.time()
            self.watcher.forget(code, op["written"])
            del self.live[code]
        else:
            self.write(op)
            op["written"] = time.time()
            self.live[code] = op
        for earlier in reversed(self.ops):  # the previous op of this post is now superseded
            if earlier["code"] == code:
                earlier.setdefault("superseded", op["written"])
                break
        self.ops.append(op)

    def run(self) -> None:
        if self.rate <= 0:
            return
        next_at = time.time()
        while not self.stop.is_set():
            self.step()
            next_at += 1 / self.rate
            self.stop.wait(max(0.0, next_at - time.time()))


class Sampler(threading.Thread):
    """The summed PSS of the current daemon's process tree, every 0.5 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="sampler")
        self.pid: int | None = None
        self.stop = threading.Event()
        self.peak = 0
        self.samples: list[tuple[float, int, int]] = []  # (time, bytes, processes)

    def run(self) -> None:
        while not self.stop.is_set():
            pid = self.pid
            if pid is not None and os.path.exists(f"/proc/{pid}"):
                size = tree_rss(pid)
                self.samples.append((time.time(), size, len(tree_pids(pid))))
                self.peak = max(self.peak, size)
            self.stop.wait(0.5)


def orphans(marker: str) -> list[str]:
    """Processes whose parent is pid 1 and whose command line mentions feeds and ``marker`` (the config)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and fields[1] == b"1" and "feeds" in cmdline and marker in cmdline:
            found.append(f"{name} {cmdline[:120]}")
    return found
