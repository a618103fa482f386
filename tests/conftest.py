"""Shared fixtures: a throw-away site (config + posts folder) and a post writer
that reproduces the real posts' exact form (front matter keys, date string,
category slug with '·', HTML paragraphs then Markdown link lines)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest

from feeds import config, pipeline

CAT_A = "zhongguozhengquanbao·zhongzhengwang"
CAT_B = "shanghaizhengquanbao·shangzhengwang"
LABELS = {CAT_A: "中国证券报·中证网", CAT_B: "上海证券报·上证网"}


def post_text(
    title: str,
    date: str = "2022-01-25 20:54:37 +0800",
    categories: str = CAT_A,
    tags: str = "中国证券报·中证网新闻",
    info_code: str | None = "NW202201252261361890",
    paragraphs: Sequence[str] = ("第一段：市场整体平稳运行。", "第二段：资金面保持合理充裕。"),
    extra_front: str = "",
    label: str = "中国证券报·中证网",
) -> str:
    """A post in the exact form of the site's real posts."""
    body = "\n ".join(f"<p>{p}</p>" for p in paragraphs)
    lines = [
        "---",
        "layout: post",
        f'title: "{title}"',
        f"date: {date}",
        f"categories: {categories}",
        f"tags: {tags}",
    ]
    if extra_front:
        lines.append(extra_front.rstrip("\n"))
    lines += ["---", f'{body}<p class="em_media">（文章来源：{label}）</p>', ""]
    if info_code:
        lines += [f"<http://news.example.com/html_News/NewsShare.html?infoCode={info_code}>", ""]
    lines.append(
        f"[返回{label}新闻](//finews.example.com/category/{categories.split()[0]}.html)｜[返回首页](//finews.example.com/)"
    )
    return "\n".join(lines)


@dataclass
class Site:
    root: Path
    posts: Path
    out: Path
    config_path: Path

    def add(self, name: str, text: str | bytes) -> Path:
        path = self.posts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def settings(self) -> config.Settings:
        return config.load(self.config_path)

    def build(self, **kwargs: object) -> pipeline.BuildReport:
        return pipeline.build(self.settings(), **kwargs)  # type: ignore[arg-type]

    def feed(self, rel: str) -> feedparser.FeedParserDict:
        data = (self.out / rel).read_bytes()
        parsed = feedparser.parse(data)
        assert not parsed.bozo, parsed.get("bozo_exception")
        return parsed

    def cli(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=cwd or self.root)


def run_cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feeds", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


POSTS_SOURCE = """
[[sources]]
name = "posts"
type = "posts"
path = "../posts"
"""


def feed_source(name: str, url: str, category: str = CAT_B, interval: str | None = None) -> str:
    """A ``[[sources]]`` entry of type feed, as config TOML."""
    every = f'interval = "{interval}"\n' if interval else ""
    return f'\n[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{url}"\ncategory = "{category}"\n{every}'


# The whole suite runs against PostgreSQL too: FEEDS_TEST_STATE_URL=postgresql://… (see .ci/run)
# gives each test's site its own fresh schema of that database, in `[state] url`.
STATE_URL = os.environ.get("FEEDS_TEST_STATE_URL") or None
_prepared: set[str] = set()


def state_url(root: Path, *, fresh: bool = False) -> str | None:
    """The PostgreSQL URL of ``root``'s own schema (created empty the first time), or None: SQLite."""
    if STATE_URL is None:
        return None
    schema = "t_" + hashlib.sha1(str(root).encode()).hexdigest()[:20]
    if fresh or schema not in _prepared:
        import psycopg

        with psycopg.connect(STATE_URL, autocommit=True) as db:
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            db.execute(f"CREATE SCHEMA {schema}")
        _prepared.add(schema)
    return f"{STATE_URL}{'&' if '?' in STATE_URL else '?'}options=-csearch_path%3D{schema}"


def with_state(root: Path, toml: str) -> str:
    """``toml`` with ``[state] url`` of ``root``'s schema when the suite runs against PostgreSQL."""
    url = state_url(root)
    if url is None:
        return toml
    if "\n[state]\n" in toml:
        return toml.replace("\n[state]\n", f'\n[state]\nurl = "{url}"\n', 1)
    return f'{toml}\n[state]\nurl = "{url}"\n'


def store_target(root: Path) -> Path | str:
    """What a test opens a store at directly: a SQLite file in ``root``, or ``root``'s PostgreSQL schema."""
    return state_url(root) or root / "state.db"


def count_rows(store: object, table: str) -> int:
    """Rows in one table of a store of either backend (a peek behind the interface, for tests)."""
    return int(store.rows(f"SELECT count(*) FROM {table}")[0][0])  # type: ignore[attr-defined]


def write_config(root: Path, extra: str = "", *, limit: int = 50, sources: str | None = None) -> Path:
    cfg = root / "config" / "feeds.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    if sources is None:
        sources = POSTS_SOURCE
    cfg.write_text(
        textwrap.dedent(
            f"""
            [site]
            title = "财经快讯"
            url = "https://finews.example.com/"
            description = "测试站点"
            author = "编辑部"

            [output]
            dir = "../out"
            limit = {limit}

            [categories]
            "{CAT_A}" = "{LABELS[CAT_A]}"
            "{CAT_B}" = "{LABELS[CAT_B]}"
            """
        )
        + with_state(root, extra + sources),
        encoding="utf-8",
    )
    return cfg


@pytest.fixture
def site(tmp_path: Path) -> Site:
    posts = tmp_path / "posts"
    posts.mkdir()
    cfg = write_config(tmp_path)
    return Site(root=tmp_path, posts=posts, out=tmp_path / "out", config_path=cfg)
