"""Hostile local posts: front matter, dates, file names, categories, permalinks, bodies.

Every property: no exception escapes, bounded time, a bad post is one line
naming the file, the good neighbours are still built, nothing unsafe reaches
the output and nothing is written outside the output folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from conftest import post_text, write_config
from hostile_helpers import BUILDS, FAST, MEDIUM, files_below, one_line_each, output_problems
from hypothesis import given
from hypothesis import strategies as st

from feeds import config, pipeline
from feeds.sources.postfile import PostContext, load_full, read_post

CTX = PostContext(
    site_url="https://finews.example.com/",
    timezone="Asia/Shanghai",
    permalink="/:categories/:year/:month/:day/:title.html",
    patterns=(r"[?&;]infoCode=(?P<code>[A-Za-z0-9_.\-]+)",),
)


def _post(folder: Path, name: str | bytes, text: str | bytes) -> str:
    path = os.path.join(os.fsencode(folder), os.fsencode(name))
    with open(path, "wb") as handle:
        handle.write(text.encode() if isinstance(text, str) else text)
    return os.fsdecode(path)


def _read(path: str) -> None:
    """read_post and load_full never raise; an error is one line; it takes well under a second."""
    started = time.perf_counter()
    record = read_post(path, CTX)
    _full, html, summary = load_full(path, CTX)
    assert time.perf_counter() - started < 5
    assert record.status in ("ok", "error", "unpublished")
    if record.message:
        one_line_each([record.message])
    assert "<script" not in html.lower() and "javascript:" not in html.lower()
    assert "<img" not in summary.lower() and "<script" not in summary.lower()


# ---------------------------------------------------------------- alias bombs


def _alias_bomb(width: int, depth: int, key: str) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, depth + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    lines.append(f"{key}: *l{depth}")
    return "\n".join(lines)


@FAST
@given(
    width=st.integers(2, 12),
    depth=st.integers(1, 12),
    key=st.sampled_from(["title", "categories", "category", "date", "infoCode", "tags", "author", "permalink"]),
)
def test_alias_bombs_are_refused_in_bounded_time(width: int, depth: int, key: str) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        text = post_text("炸弹").replace("layout: post", _alias_bomb(width, depth, key))
        # The key appears twice: YAML keeps the last, the bomb must be the only one.
        text = "\n".join(line for line in text.split("\n") if not line.startswith(f"{key}: ") or "*l" in line)
        _read(_post(folder, "bomb.md", text))
    finally:
        shutil.rmtree(folder)


def test_alias_bomb_reason_names_the_problem(tmp_path: Path) -> None:
    path = _post(tmp_path, "bomb.md", post_text("x").replace('title: "x"', _alias_bomb(9, 9, "title")))
    record = read_post(path, CTX)
    assert record.status == "error"
    assert "too large" in (record.message or "")


@pytest.mark.parametrize("opening,closing", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_does_not_crash_the_yaml_parser(tmp_path: Path, opening: str, closing: str) -> None:
    # 100k levels make libyaml's C parser overflow the C stack (a segfault, not an exception).
    deep = opening * 100_000 + "x" + closing * 100_000
    path = _post(tmp_path, "deep.md", post_text("深").replace("layout: post", f"x: {deep}"))
    record = read_post(path, CTX)
    assert record.status == "error" and "nested too deeply" in (record.message or "")


# ---------------------------------------------------------------- any front matter

_yaml_scalar = st.one_of(
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(["~", "null", ".nan", "-.inf", "0x1F", "2022-13-45", "0000-00-00", "1e999", "&a", "*a", "!!binary x"]),
)


@MEDIUM
@given(
    values=st.dictionaries(
        st.sampled_from(["title", "date", "categories", "category", "tags", "infoCode", "permalink", "author", "published"]),
        st.one_of(_yaml_scalar, st.lists(_yaml_scalar, max_size=5)),
        max_size=6,
    )
)
def test_any_front_matter_value_gives_a_record(values: dict[str, object]) -> None:
    import json

    folder = Path(tempfile.mkdtemp())
    try:
        header = "\n".join(f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in values.items())
        _read(_post(folder, "2022-01-01-x.md", f"---\n{header}\n---\n<p>正文</p>\n"))
        raw = "\n".join(f"{key}: {value}" for key, value in values.items())  # unquoted: anything YAML makes of it
        _read(_post(folder, "2022-01-01-y.md", f"---\n{raw}\n---\n<p>正文</p>\n"))
    finally:
        shutil.rmtree(folder)


# ---------------------------------------------------------------- dates

EDGE_DATES = [
    "9999-12-31 23:59:59 -1200",
    "9999-12-31 23:59:59 +1400",
    "0001-01-01 00:00:00 +0800",
    "0001-01-01 00:00:00 -1200",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
    "Mon, 01 Jan 0001 00:00:00 +1400",
    "Fri, 31 Dec 9999 23:59:59 -1200",
]


@MEDIUM
@given(
    year=st.sampled_from([1, 2, 1969, 1970, 2022, 9998, 9999]),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
    hour=st.integers(0, 23),
    offset=st.integers(-23 * 60, 23 * 60),
    form=st.sampled_from(["jekyll", "iso", "date"]),
)
def test_dates_at_the_edges_never_crash(year: int, month: int, day: int, hour: int, offset: int, form: str) -> None:
    sign = "-" if offset < 0 else "+"
    hh, mm = divmod(abs(offset), 60)
    if form == "jekyll":
        date = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:00:00 {sign}{hh:02d}{mm:02d}"
    elif form == "iso":
        date = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:00:00{sign}{hh:02d}:{mm:02d}"
    else:
        date = f"{year:04d}-{month:02d}-{day:02d}"
    folder = Path(tempfile.mkdtemp())
    try:
        path = _post(folder, "d.md", post_text("日期", date=date))
        _read(path)
        record = read_post(path, CTX)
        assert record.status == "ok"
        item = record.item
        assert item is not None and 1 <= item.published.year <= 9999
    finally:
        shutil.rmtree(folder)


def test_edge_dates_build_with_good_neighbours(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    write_config(tmp_path)
    for i, date in enumerate(EDGE_DATES):
        _post(posts, f"edge{i}.md", post_text(f"边界{i}", date=date, info_code=f"EDGE{i}"))
    _post(posts, "2022-01-25-good.md", post_text("好邻居"))
    settings = config.load(tmp_path / "config" / "feeds.toml")
    pipeline.build(settings)
    pipeline.build(settings)  # and again, from what the store holds
    assert "好邻居" in (tmp_path / "out" / "rss.xml").read_text()
    assert output_problems(tmp_path / "out") == []


# ---------------------------------------------------------------- file names


@BUILDS
@given(name=st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\0" not in b))
def test_any_file_name_is_built_or_named_on_one_line(name: bytes) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        posts = root / "posts"
        posts.mkdir()
        write_config(root)
        name = name.lstrip(b".#_").rstrip(b"~") or b"x"
        try:
            _post(posts, name + b".md", post_text("任意名字", info_code="ANYNAME"))
        except OSError:
            return  # a name this file system refuses
        _post(posts, "2022-01-25-good.md", post_text("好邻居"))
        lines: list[str] = []
        pipeline.build(config.load(root / "config" / "feeds.toml"), report=lines.append)
        one_line_each(lines)
        assert "好邻居" in (root / "out" / "rss.xml").read_text()
        built = "任意名字" in (root / "out" / "rss.xml").read_text()
        assert built or any("not valid UTF-8" in line for line in lines), lines
        assert output_problems(root / "out") == []
    finally:
        shutil.rmtree(root)


# ---------------------------------------------------------------- categories


@pytest.mark.parametrize("count", [100, 1000, 5000])
def test_many_categories_build_fast(tmp_path: Path, count: int) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    write_config(tmp_path)
    cats = " ".join(f"c{i}" for i in range(count))
    _post(posts, "cats.md", post_text("多类别", categories=cats, info_code="CATS"))
    _post(posts, "2022-01-25-good.md", post_text("好邻居"))
    started = time.perf_counter()
    lines: list[str] = []
    pipeline.build(config.load(tmp_path / "config" / "feeds.toml"), report=lines.append)
    assert time.perf_counter() - started < 15
    assert "好邻居" in (tmp_path / "out" / "rss.xml").read_text()
    if count > 100:
        assert any("categories" in line and "cats.md" in line for line in lines)


def test_feed_writing_is_linear_in_categories() -> None:
    from datetime import UTC, datetime

    from feeds.core.models import Item
    from feeds.output.formats.feedgen import render_feed
    from feeds.output.layout import plan

    settings = config.parse({"site": {"title": "t", "url": "https://x.example/"}}, Path("/tmp/cfg/feeds.toml"))
    (spec,) = plan(settings, [])

    def seconds(count: int) -> float:
        when = datetime(2022, 1, 1, tzinfo=UTC)
        item = Item(key="k", title="t", link="https://x.example/a", published=when, updated=when,
                    categories=tuple(f"c{i}" for i in range(count)))  # fmt: skip
        started = time.perf_counter()
        render_feed(spec, [item], settings, "rss")
        return time.perf_counter() - started

    seconds(100)
    small, large = min(seconds(500) for _ in range(3)), min(seconds(4000) for _ in range(3))
    assert large < small * 8 * 3  # 8x the categories: linear, with room for noise (quadratic is 64x)


# ---------------------------------------------------------------- permalinks and bodies

_SCHEMES = st.sampled_from(["javascript", "JaVaScRiPt", "java\tscript", " javascript", "vbscript", "data", "file",
                            "ws", "jar", "java\nscript", "\x01javascript", "javascript\u200b"])  # fmt: skip


@BUILDS
@given(scheme=_SCHEMES, rest=st.sampled_from(["://x/%0aalert(1)", ":alert(1)", "://evil.example/"]))
def test_permalinks_other_than_http_never_reach_a_feed(scheme: str, rest: str) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        posts = root / "posts"
        posts.mkdir()
        write_config(root)
        link = (scheme + rest).replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
        link = link.replace("\x01", "\\u0001")
        _post(posts, "link.md", post_text("链接", info_code="LINK", extra_front=f'permalink: "{link}"'))
        _post(posts, "2022-01-25-good.md", post_text("好邻居"))
        lines: list[str] = []
        pipeline.build(config.load(root / "config" / "feeds.toml"), report=lines.append)
        one_line_each(lines)
        assert any("link.md" in line and "permalink" in line for line in lines), lines
        assert "链接" in (root / "out" / "rss.xml").read_text()  # built, with the site's own link
        assert output_problems(root / "out") == []
    finally:
        shutil.rmtree(root)


ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "&lt;img src=x onerror=alert(1)&gt;",
    "<a href='javascript:alert(1)'>x</a>",
    "<a href='JaVa&#x09;ScRiPt:alert(1)'>x</a>",
    "<a href=' vbscript:msgbox(1)'>x</a>",
    "<img src='data:text/html;base64,PHNjcmlwdD4='>",
    "<img srcset='javascript:alert(1) 1x'>",
    "<p style='background:url(javascript:alert(1))'>x</p>",
    "<base href='javascript:alert(1)//'>",
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<form action='javascript:alert(1)'><button>x</button></form>",
    "<iframe src='javascript:alert(1)'></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<div>" * 5000 + "深" + "</div>" * 5000,
    "<a href='//evil.example/x'>protocol-relative</a>",
    "\x00\x01\u202e\ufffe<b>控制</b>",
]


@BUILDS
@given(parts=st.lists(st.sampled_from(ATTACKS), min_size=1, max_size=4), title=st.sampled_from([*ATTACKS, "正常"]))
def test_hostile_bodies_and_titles_never_reach_the_output_alive(parts: list[str], title: str) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        posts = root / "posts"
        posts.mkdir()
        write_config(root)
        safe_title = title.replace("\\", "").replace('"', "'").replace("\x00", "")
        _post(posts, "attack.md", post_text(safe_title, info_code="ATTACK", paragraphs=parts))
        _post(posts, "2022-01-25-good.md", post_text("好邻居"))
        before = files_below(root)
        pipeline.build(config.load(root / "config" / "feeds.toml"))
        assert output_problems(root / "out") == []
        assert "好邻居" in (root / "out" / "rss.xml").read_text()
        new = {p for p in files_below(root) - before if not p.startswith(("out/", "config/.feeds/"))}
        assert new == set(), new  # nothing written outside the output folder and the state
    finally:
        shutil.rmtree(root)


def test_trusted_html_keeps_the_markup(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    write_config(tmp_path, sources='\n[[sources]]\nname = "posts"\ntype = "posts"\npath = "../posts"\ntrusted_html = true\n')
    _post(posts, "a.md", post_text("信任", paragraphs=["<span style='color:red' class='x'>红</span>"]))
    pipeline.build(config.load(tmp_path / "config" / "feeds.toml"))
    assert "color:red" in (tmp_path / "out" / "rss.xml").read_text()


def test_huge_title_is_cut(tmp_path: Path) -> None:
    path = _post(tmp_path, "big.md", post_text("长" * 100_000))
    record = read_post(path, CTX)
    assert record.status == "ok" and len(record.title) <= 1001 and "title" in (record.message or "")
