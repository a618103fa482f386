"""Reading one post: dates, categories, identity, links, and every kind of bad post."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from conftest import CAT_A, CAT_B, post_text

from feeds.core.dates import parse_date
from feeds.core.identity import DEFAULT_PATTERNS
from feeds.sources.frontmatter import _fast_header, _Slow
from feeds.sources.postfile import PostContext, load_full, read_post

CTX = PostContext(
    site_url="https://finews.example.com/",
    timezone="Asia/Shanghai",
    permalink="/:categories/:year/:month/:day/:title.html",
    patterns=DEFAULT_PATTERNS,
)
CST = timezone(timedelta(hours=8))


def read(tmp_path: Path, text: str | bytes, name: str = "2022-01-25-sample.md"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return read_post(str(path), CTX)


def test_real_form_post(tmp_path: Path) -> None:
    result = read(tmp_path, post_text("央行开展逆回购操作"))
    assert result.error is None and result.warning is None
    item = result.item
    assert item is not None
    assert item.title == "央行开展逆回购操作"
    assert item.published == datetime(2022, 1, 25, 20, 54, 37, tzinfo=CST)
    assert item.published.utcoffset() == timedelta(hours=8)
    assert item.categories == (CAT_A,)
    assert item.tags == ("中国证券报·中证网新闻",)
    assert item.key == "infocode:NW202201252261361890"
    assert item.link == ("https://finews.example.com/zhongguozhengquanbao%C2%B7zhongzhengwang/2022/01/25/sample.html")
    record, html, summary = load_full(item.origin, CTX)
    assert "<p>第一段：市场整体平稳运行。</p>" in html
    # the closing lines are not the article: the source line is kept as the original's link,
    # the back-links (the site's navigation) are dropped
    assert record.original == "http://news.example.com/html_News/NewsShare.html?infoCode=NW202201252261361890"
    assert "infoCode" not in html and "返回" not in html and "href" not in html
    assert summary.startswith("第一段：市场整体平稳运行。") and "http" not in summary and "返回" not in summary
    # with no closing lines stripped, the Markdown lines are rendered, protocol-relative links made absolute
    record, html, _ = load_full(item.origin, replace(CTX, strip_lines=()))
    assert record.original == ""
    assert 'href="https://finews.example.com/category/zhongguozhengquanbao%C2%B7zhongzhengwang.html"' in html
    assert 'href="https://finews.example.com/"' in html
    assert 'href="http://news.example.com/html_News/NewsShare.html?infoCode=NW202201252261361890"' in html
    assert "//finews" not in html.replace("https://finews", "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-01-25 20:54:37 +0800", datetime(2022, 1, 25, 20, 54, 37, tzinfo=CST)),
        ("2022-01-25T12:54:37Z", datetime(2022, 1, 25, 12, 54, 37, tzinfo=UTC)),
        ("2022-01-25T20:54:37+08:00", datetime(2022, 1, 25, 20, 54, 37, tzinfo=CST)),
        ("2022-01-25 20:54", datetime(2022, 1, 25, 20, 54, tzinfo=CST)),
        ("2022-01-25", datetime(2022, 1, 25, tzinfo=CST)),
        ("2022-01-25 20:54:37 -0500", datetime(2022, 1, 25, 20, 54, 37, tzinfo=timezone(timedelta(hours=-5)))),
        ("Tue, 25 Jan 2022 20:54:37 +0800", datetime(2022, 1, 25, 20, 54, 37, tzinfo=CST)),
        ("2022-01-25 20:54:37.250 +08:00", datetime(2022, 1, 25, 20, 54, 37, 250000, tzinfo=CST)),
    ],
)
def test_date_forms(value: str, expected: datetime) -> None:
    got = parse_date(value, CST)
    assert got == expected and got.utcoffset() == expected.utcoffset()


def test_yaml_timestamps_and_dates(tmp_path: Path) -> None:
    # unquoted YAML timestamp with an offset PyYAML understands, and a date only
    item = read(tmp_path, post_text("t", date="2022-01-25 12:54:37+00:00", categories="[a, b]")).item
    assert item is not None
    assert item.published == datetime(2022, 1, 25, 12, 54, 37, tzinfo=UTC)
    assert item.categories == ("a", "b")
    item = read(tmp_path, post_text("t", date="2022-01-25")).item
    assert item is not None and item.published == datetime(2022, 1, 25, tzinfo=CST)
    assert item.published.utcoffset() == timedelta(hours=8)


def test_date_from_file_name_and_missing_date(tmp_path: Path) -> None:
    text = "---\ntitle: 无日期\ncategories: a\n---\n<p>x</p>\n"
    item = read(tmp_path, text, name="2022-02-03-no-date.md").item
    assert item is not None and item.published == datetime(2022, 2, 3, tzinfo=CST)
    assert item.link.endswith("/a/2022/02/03/no-date.html")
    result = read(tmp_path, text, name="no-date.md")
    assert result.item is None and "no date" in (result.error or "")
    result = read(tmp_path, post_text("x", date="not a date"))
    assert "not a date" in (result.error or "")


def test_categories_and_tags_forms(tmp_path: Path) -> None:
    item = read(tmp_path, post_text("t", categories=f"{CAT_A} {CAT_B}")).item
    assert item is not None and item.categories == (CAT_A, CAT_B)
    text = post_text("t").replace(f"categories: {CAT_A}\n", "category: 单独 分类\n")
    item = read(tmp_path, text).item
    assert item is not None and item.categories == ("单独 分类",)  # Jekyll: 'category' is one value
    text = post_text("t").replace(f"categories: {CAT_A}\n", f"categories:\n  - {CAT_A}\n  - {CAT_B}\n")
    item = read(tmp_path, text).item
    assert item is not None and item.categories == (CAT_A, CAT_B)
    text = post_text("t").replace("tags: 中国证券报·中证网新闻", "tag: 债券")
    item = read(tmp_path, text).item
    assert item is not None and item.tags == ("债券",)


def test_unpublished(tmp_path: Path) -> None:
    for value in ("false", "no"):
        result = read(tmp_path, post_text("t", extra_front=f"published: {value}"))
        assert result.unpublished and result.error is None


def test_info_code_front_matter_wins_and_missing(tmp_path: Path) -> None:
    item = read(tmp_path, post_text("t", extra_front="infoCode: NW202201259999999999")).item
    assert item is not None and item.key == "infocode:NW202201259999999999"
    item = read(tmp_path, post_text("t", info_code=None)).item
    assert item is not None and item.key == "link:" + item.link


def test_permalink_front_matter(tmp_path: Path) -> None:
    item = read(tmp_path, post_text("t", extra_front="permalink: /news/:year/special.html")).item
    assert item is not None and item.link == "https://finews.example.com/news/2022/special.html"
    item = read(tmp_path, post_text("t", extra_front="permalink: https://other.example.org/a.html")).item
    assert item is not None and item.link == "https://other.example.org/a.html"


def test_control_characters_removed(tmp_path: Path) -> None:
    text = post_text("标题\x0b带\x1f控制符", paragraphs=("正文\x0b内容\x1f结束",))
    result = read(tmp_path, text)
    assert result.item is not None and result.item.title == "标题带控制符"
    _, html, _ = load_full(result.path, CTX)
    assert "正文内容结束" in html and "\x0b" not in html


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\n", "empty file"),
        ("<p>只有正文，没有头信息</p>\n".encode(), "no front matter"),
        (b"---\ntitle: x\ndate: 2022-01-25\n<p>never closed</p>\n", "not closed"),
        ("---\ntitle: 中文\n---\n".encode("gbk"), "not UTF-8"),
        (b"---\ntitle: [unclosed\n  - : :\ndate: 2022-01-25\n---\nbody\n", "not valid YAML"),
        (b"---\n- just\n- a list\n---\nbody\n", "not key: value"),
    ],
)
def test_bad_posts_are_reported(tmp_path: Path, raw: bytes, reason: str) -> None:
    result = read(tmp_path, raw)
    assert result.item is None
    assert result.error is not None and reason in result.error


def test_broken_yaml_with_clear_intent_is_read_with_a_warning(tmp_path: Path) -> None:
    # an unescaped '"' inside a quoted title, as real scrapers write
    text = post_text('他说"不"了')
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text.split("---")[1])
    result = read(tmp_path, text)
    assert result.item is not None and result.item.title == '他说"不"了'
    assert result.warning is not None and "not valid YAML" in result.warning
    assert result.item.categories == (CAT_A,)  # the other lines are read by YAML, as written
    # a colon inside an unquoted title
    result = read(tmp_path, post_text("x").replace('title: "x"', "title: 央行: 降准落地"))
    assert result.item is not None and result.item.title == "央行: 降准落地"


@pytest.mark.parametrize(
    ("broken", "where"),
    [
        ("categories: [life, tech", "at line 5, column 5, while parsing a flow sequence at line 4, column 13"),
        ('tags: "a", "b"', "at line 4, column 10"),  # a list meant, or one tag? not guessed
        ('categories: "a"b"', "at line 4, column 16"),  # quotes inside: only free text is read as text
        ('title: "a \\" b"c"', "at line 4, column 16"),  # an escape and stray quotes: which text is meant?
        ("title: [a: b", "a flow sequence at line 4, column 8"),
        ("title: x # y: z\ntags: {a", "a flow mapping at line 5, column 7"),
    ],
)
def test_broken_yaml_that_could_mean_two_things_is_refused(tmp_path: Path, broken: str, where: str) -> None:
    text = post_text("x")
    key = broken.split(":")[0]
    lines = [line for line in text.split("\n") if not line.startswith(f"{key}:")]
    lines.insert(3, broken)
    result = read(tmp_path, "\n".join(lines))
    assert result.item is None
    assert result.error is not None and result.error.startswith("front matter is not valid YAML: ")
    assert where in result.error, result.error
    assert "\n" not in result.error


@pytest.mark.parametrize(
    "header",
    [
        'title: "央行开展逆回购操作"\ndate: 2022-01-25 20:54:37 +0800\ncategories: a·b\ntags: 标签',
        "title: 'single quoted'\nlayout: post",
        "title: plain text with spaces\nempty:\nnull_value: null",
        "title: 100\nflag: true",
        "# a comment\ntitle: x   \n\nother: y",
        "title: x # trailing comment",
        'title: "with \\"escape\\""',
        "title: a: b",
        "list:\n  - a\n  - b",
        "title: >\n  folded",
        "title: ''",
    ],
)
def test_fast_front_matter_reader_agrees_with_yaml(header: str) -> None:
    """The fast reader either gives exactly YAML's strings or hands over to YAML."""
    try:
        fast = _fast_header(header)
    except _Slow:
        return
    expected = yaml.safe_load(header) or {}
    assert set(fast) == set(expected)
    for key, value in expected.items():
        assert fast[key] == (None if value is None else str(value) if not isinstance(value, bool) else fast[key])
        if isinstance(value, str):
            assert fast[key] == value


def test_discover_finds_posts_once_and_survives_symlink_loops(tmp_path: Path) -> None:
    from feeds.sources.posts import discover, stat_many

    root = tmp_path / "posts"
    for rel in ("2022/01/a.md", "2022/01/b.HTML", "2022/02/c.markdown", "top.md", "x/y/z/deep.htm"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("---\ntitle: t\n---\n", encoding="utf-8")
    for rel in (".hidden.md", "_drafts/d.md", "2022/a.md~", "2022/#a.md#", "2022/notes.pdf", ".git/x.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x", encoding="utf-8")
    (root / "2022" / "loop").symlink_to(root, target_is_directory=True)  # a loop back to the top
    (root / "2022" / "01" / "again").symlink_to(root / "2022" / "01", target_is_directory=True)
    (root / "broken").symlink_to(tmp_path / "nowhere")
    expected = sorted(
        str(root / rel) for rel in ("2022/01/a.md", "2022/01/b.HTML", "2022/02/c.markdown", "top.md", "x/y/z/deep.htm")
    )
    assert discover(root) == expected
    (root / "top.md").unlink()
    info = os.stat(expected[0])
    assert list(stat_many(expected)()) == [
        (info.st_size, info.st_mtime_ns), *[(os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in expected[1:3]],
        (-1, -1), (os.stat(expected[4]).st_size, os.stat(expected[4]).st_mtime_ns),
    ]  # fmt: skip
    assert discover(tmp_path / "missing") == []
