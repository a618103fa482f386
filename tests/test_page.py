"""Sources without a feed (``type = "page"``): publishers' list pages served on 127.0.0.1, read with CSS
selectors, through the whole pipeline (a real store, the feeds written and read back)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from conftest import CAT_A, POSTS_SOURCE, Site, run_cli, write_config
from servers import FeedServer, Route

from feeds import config, pipeline
from feeds.core.listdates import read_list_date
from feeds.store import open_store

SHANGHAI = ZoneInfo("Asia/Shanghai")
SELECTORS = 'item = "ul.news li.row"\ntitle = "a.t"\nlink = "a.t@href"\ndate = "span.time"\nsummary = "p.brief"\n'


def page_source(url: str, selectors: str = SELECTORS, name: str = "shzb") -> str:
    return f'\n[[sources]]\nname = "{name}"\ntype = "page"\nurl = "{url}"\ncategory = "{CAT_A}"\n{selectors}'


def list_page(rows: list[tuple[str, str, str, str]], charset: str = "utf-8", meta: bool = True,
              title: str = "上海证券报·要闻") -> bytes:
    """A publisher's list page of (title, href, date text, brief) rows, in ``charset``."""
    head = f'<meta charset="{charset}">' if meta else ""
    items = "".join(
        f'<li class="row"><a class="t" href="{href}">{title}</a><span class="time">{when}</span>'
        f'<p class="brief">{brief}</p></li>'
        for title, href, when, brief in rows
    )
    html = (f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head><body>"
            f'<div class="nav"><a href="/">首頁</a></div><ul class="news">{items}</ul></body></html>')  # fmt: skip
    return html.encode(charset)


def page_site(tmp_path: Path, url: str, selectors: str = SELECTORS) -> Site:
    cfg = write_config(tmp_path, sources=POSTS_SOURCE + page_source(url, selectors))
    (tmp_path / "posts").mkdir(exist_ok=True)
    return Site(tmp_path, tmp_path / "posts", tmp_path / "out", cfg)


def build(site: Site, lines: list[str] | None = None) -> pipeline.BuildReport:
    settings = config.load(site.config_path)
    with open_store(settings) as store:
        return pipeline.build(settings, store=store, force=True, report=(lines if lines is not None else []).append)


def entries(site: Site, rel: str = "rss.xml") -> list[feedparser.FeedParserDict]:
    return list(feedparser.parse((site.out / rel).read_bytes()).entries)


ROWS = [
    ("央行开展逆回购操作", "/a/2024/0304/one.html", "2024-03-04 09:30", "央行今日开展逆回购操作。"),
    ("沪指收涨", "../b/two.html?infoCode=NW202403040000000002", "2024/03/04", "沪指收涨，成交放量。"),
    ("新股申购提示", "https://other.example.cn/c/three.html", "2024年03月04日 08:15", "今日新股申购。"),
]


def test_a_utf8_list_page_becomes_items_with_resolved_links_and_dates(tmp_path: Path) -> None:
    with FeedServer({"/news/list.html": Route(body=list_page(ROWS), headers={"Content-Type": "text/html"})}) as srv:
        site = page_site(tmp_path, srv.url("/news/list.html"))
        report = build(site)
        assert report.poll_failures == 0
        got = {e.title: e for e in entries(site)}
        assert set(got) == {title for title, *_ in ROWS}
        assert got["央行开展逆回购操作"].link == srv.url("/a/2024/0304/one.html")
        assert got["沪指收涨"].link == srv.url("/b/two.html?infoCode=NW202403040000000002")  # ../ resolved
        assert got["新股申购提示"].link == "https://other.example.cn/c/three.html"
        assert got["沪指收涨"].id.endswith("infocode:NW202403040000000002")  # the infoCode in its link is its id
        when = datetime(*got["央行开展逆回购操作"].published_parsed[:6])
        assert when == datetime(2024, 3, 4, 1, 30)  # 09:30 in Shanghai
        assert datetime(*got["新股申购提示"].published_parsed[:6]) == datetime(2024, 3, 4, 0, 15)
        assert "央行今日开展逆回购操作" in got["央行开展逆回购操作"].summary
        category_feed = site.out / "category" / CAT_A / "rss.xml"
        assert len(entries(site, str(category_feed.relative_to(site.out)))) == 3


def test_a_gbk_page_declared_by_meta_or_header_or_not_at_all_reads_the_same(tmp_path: Path) -> None:
    routes = {
        "/meta.html": Route(body=list_page(ROWS, "gbk")),
        "/header.html": Route(body=list_page(ROWS, "gbk", meta=False), headers={"Content-Type": "text/html; charset=GBK"}),
        "/none.html": Route(body=list_page(ROWS * 3, "gb18030", meta=False)),
        "/liar.html": Route(body=list_page(ROWS, "gbk"), headers={"Content-Type": "text/html; charset=utf-8"}),
    }  # fmt: skip
    with FeedServer(routes) as srv:
        for path in routes:
            root = tmp_path / path.strip("/.html")
            site = page_site(root, srv.url(path))
            assert build(site).poll_failures == 0, path
            assert {e.title for e in entries(site)} == {title for title, *_ in ROWS}, path


def test_big5_page(tmp_path: Path) -> None:
    rows = [("臺灣加權指數收盤上漲", "/tw/1.html", "2024-03-04 13:30", "成交金額放大。")]
    with FeedServer({"/tw.html": Route(body=list_page(rows, "big5", title="經濟日報"))}) as srv:
        site = page_site(tmp_path, srv.url("/tw.html"))
        build(site)
        assert [e.title for e in entries(site)] == ["臺灣加權指數收盤上漲"]


@pytest.mark.parametrize(
    ("text", "expected", "exact"),
    [
        ("2024-03-04 09:30", datetime(2024, 3, 4, 9, 30), True),
        ("2024/03/04", datetime(2024, 3, 4), True),
        ("2024年03月04日 09:30", datetime(2024, 3, 4, 9, 30), True),
        ("发布时间：２０２４－０３－０４　０９：３０", datetime(2024, 3, 4, 9, 30), True),
        ("03-04 09:30", datetime(2026, 3, 4, 9, 30), True),
        ("12-31 23:00", datetime(2025, 12, 31, 23, 0), True),  # not in the future: last year's
        ("今天 09:30", datetime(2026, 3, 5, 9, 30), True),
        ("昨天 22:10", datetime(2026, 3, 4, 22, 10), True),
        ("昨天", datetime(2026, 3, 4), False),
        ("5分钟前", datetime(2026, 3, 5, 9, 55), False),
        ("1小时前", datetime(2026, 3, 5, 9, 0), False),
        ("02-30 10:00", None, True),
        ("阅读全文", None, True),
    ],
)
def test_list_dates(text: str, expected: datetime | None, exact: bool) -> None:
    now = datetime(2026, 3, 5, 10, 0, tzinfo=SHANGHAI)
    read = read_list_date(text, now, SHANGHAI)
    if expected is None:
        assert read is None
    else:
        assert read is not None and read.when == expected.replace(tzinfo=SHANGHAI) and read.exact == exact


def test_relative_and_missing_dates_are_kept_from_the_first_poll(tmp_path: Path) -> None:
    rows = [("刚发布的消息", "/n/1.html", "5分钟前", "x"), ("无日期的消息", "/n/2.html", "", "y")]
    with FeedServer({"/l.html": Route(body=list_page(rows))}) as srv:
        site = page_site(tmp_path, srv.url("/l.html"))
        build(site)
        first = {e.title: e.published for e in entries(site)}
        later = [("刚发布的消息", "/n/1.html", "1小时前", "x"), ("无日期的消息", "/n/2.html", "", "y")]
        srv.routes["/l.html"] = Route(body=list_page([*later, ("新消息", "/n/3.html", "今天 00:00", "z")]))
        build(site)
        again = {e.title: e.published for e in entries(site)}
        assert again["刚发布的消息"] == first["刚发布的消息"] and again["无日期的消息"] == first["无日期的消息"]
        assert "新消息" in again


def test_javascript_and_data_links_are_dropped_and_counted(tmp_path: Path) -> None:
    rows = [*ROWS, ("广告", "javascript:void(0)", "2024-03-04", "a"), ("图", "data:text/html,<b>x</b>", "", "b")]
    with FeedServer({"/l.html": Route(body=list_page(rows))}) as srv:
        site = page_site(tmp_path, srv.url("/l.html"))
        lines: list[str] = []
        settings = config.load(site.config_path)
        with open_store(settings) as store, _warnings() as logged:
            pipeline.build(settings, store=store, force=True, report=lines.append)
        assert {e.title for e in entries(site)} == {title for title, *_ in ROWS}
        assert any("dropped 2 items whose link is not http(s)" in m for m in logged)
        for entry in entries(site):
            assert entry.link.startswith(("http://", "https://"))


class _warnings:
    """The warnings the feeds logger writes meanwhile."""

    def __enter__(self) -> list[str]:
        import logging

        self.messages: list[str] = []
        outer = self

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                outer.messages.append(record.getMessage())

        self.handler = Keep(logging.WARNING)
        logging.getLogger("feeds").addHandler(self.handler)
        return self.messages

    def __exit__(self, *exc: object) -> None:
        import logging

        logging.getLogger("feeds").removeHandler(self.handler)


def test_a_page_that_changes_keeps_the_items_that_left(tmp_path: Path) -> None:
    with FeedServer({"/l.html": Route(body=list_page(ROWS))}) as srv:
        site = page_site(tmp_path, srv.url("/l.html"))
        build(site)
        fresh = ("新消息", "/n/9.html", "2024-03-05 10:00", "新")
        srv.routes["/l.html"] = Route(body=list_page([fresh, *ROWS[1:]]))  # the first one left, a new one came
        build(site)
        assert {e.title for e in entries(site)} == {title for title, *_ in ROWS} | {"新消息"}


def test_a_redesign_fails_the_poll_in_one_line_and_keeps_the_items(tmp_path: Path) -> None:
    with FeedServer({"/l.html": Route(body=list_page(ROWS))}) as srv:
        site = page_site(tmp_path, srv.url("/l.html"))
        build(site)
        srv.routes["/l.html"] = Route(body=b"<html><body><div class='captcha'>verify you are human</div></body></html>")
        lines: list[str] = []
        report = build(site, lines)
        assert report.poll_failures == 1
        (line,) = [ln for ln in lines if "shzb" in ln]
        assert "'ul.news li.row' matches nothing" in line and "\n" not in line
        assert {e.title for e in entries(site)} == {title for title, *_ in ROWS}  # kept
        status = run_cli("status", "-c", str(site.config_path), cwd=tmp_path)
        row = next(r for r in status.stdout.splitlines() if r.startswith("shzb"))
        assert " page " in f" {row} " and "matches nothing" in row and "  1  " in row


def test_items_without_title_or_link_everywhere_is_a_failure_too(tmp_path: Path) -> None:
    broken = b'<html><body><ul class="news"><li class="row"><span>no link here</span></li></ul></body></html>'
    with FeedServer({"/l.html": Route(body=broken)}) as srv:
        site = page_site(tmp_path, srv.url("/l.html"))
        lines: list[str] = []
        assert build(site, lines).poll_failures == 1
        assert any("the one item lacks a title" in ln for ln in lines)


def test_an_unchanged_page_is_a_304(tmp_path: Path) -> None:
    with FeedServer({"/l.html": Route(body=list_page(ROWS), etag='"v1"')}) as srv:
        site = page_site(tmp_path, srv.url("/l.html"))
        build(site)
        build(site)
        assert srv.requests[-1][1].get("if-none-match") == '"v1"'
        settings = config.load(site.config_path)
        with open_store(settings) as store:
            assert store.source_state("shzb").failures == 0


@pytest.mark.parametrize(
    ("selectors", "key", "reason"),
    [
        ('item = "ul.news li["\ntitle = "a"\nlink = "a@href"\n', "item", "bad CSS selector"),
        ('item = "li"\ntitle = "a::"\nlink = "a@href"\n', "title", "bad CSS selector"),
        ('item = "li@href"\ntitle = "a"\nlink = "a@href"\n', "item", "no @attribute"),
        ('item = "li"\ntitle = "a"\n', "link", "is required"),
        ('item = "li"\ntitle = "a"\nlink = "a@href"\nsummry = "p"\n', "summry", "unknown key"),
    ],
)
def test_bad_selectors_are_config_errors_naming_the_key(tmp_path: Path, selectors: str, key: str, reason: str) -> None:
    site = page_site(tmp_path, "http://127.0.0.1:9/l.html", selectors)
    proc = run_cli("check", "-c", str(site.config_path), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"sources[1].{key}" in proc.stderr and reason in proc.stderr


def test_feeds_try_shows_what_each_selector_picks(tmp_path: Path) -> None:
    rows = [*ROWS, ("广告", "javascript:void(0)", "", "")]
    with FeedServer({"/l.html": Route(body=list_page(rows, "gbk"))}) as srv:
        site = page_site(tmp_path, srv.url("/l.html"))
        proc = run_cli("try", "shzb", "-c", str(site.config_path), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        assert "item = 'ul.news li.row': 4 elements" in out
        assert "央行开展逆回购操作" in out and srv.url("/a/2024/0304/one.html") in out
        assert "(not http(s): javascript:void(0))" in out and "3 items" in out
        assert not (tmp_path / "out").exists()  # nothing written
        srv.routes["/l.html"] = Route(body=b"<html><body>blocked</body></html>")
        proc = run_cli("try", "shzb", "-c", str(site.config_path), cwd=tmp_path)
        assert proc.returncode == 1 and "matches nothing" in proc.stdout
        proc = run_cli("try", "nope", "-c", str(site.config_path), cwd=tmp_path)
        assert proc.returncode == 2 and "no remote source named 'nope'" in proc.stderr


def test_hostile_pages_are_bounded(tmp_path: Path) -> None:
    many = [(f"消息{i}", f"/n/{i}.html", "", "") for i in range(3000)]
    nested = b"<div>" * 100_000 + b"x" + b"</div>" * 100_000
    routes = {"/many.html": Route(body=list_page(many)), "/deep.html": Route(body=nested),
              "/bin.html": Route(body=bytes(range(256)) * 400)}  # fmt: skip
    with FeedServer(routes) as srv:
        site = page_site(tmp_path / "many", srv.url("/many.html"))
        lines: list[str] = []
        build(site, lines)
        settings = config.load(site.config_path)
        with open_store(settings) as store:
            assert store.source_states(counts=True)["shzb"].items == 1000  # MAX_ITEMS, with a warning
        for path in ("/deep.html", "/bin.html"):
            other = page_site(tmp_path / path.strip("/.html"), srv.url(path))
            lines = []
            assert build(other, lines).poll_failures == 1, path
            assert all("Traceback" not in ln for ln in lines)
