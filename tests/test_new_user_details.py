"""The small things a new user notices, run as they run them: `feeds build`, `run`, `status`, `check` and
`migrate` as subprocesses, remote feeds on 127.0.0.1, the output read with lxml and feedparser."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import feedparser
import lxml.html
import pytest
from conftest import CAT_A, CAT_B, POSTS_SOURCE, Site, feed_source, post_text, run_cli, write_config
from lxml import etree
from servers import FeedServer, Route
from test_daemon import daemon, status_rows, wait_until

ATOM = "{http://www.w3.org/2005/Atom}"
PG_URL = "postgresql://feeds:secret@127.0.0.1:1/feeds"
EXTRA = 'run pip install "feeds[postgresql]"'


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The feeds processes reach the test servers directly, whatever proxy the machine has."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def rss_item(title: str, link: str, paragraphs: list[str], date: str | None = "Tue, 25 Jan 2022 10:00:00 +0800") -> str:
    body = html.escape("".join(f"<p>{p}</p>" for p in paragraphs))
    when = f"<pubDate>{date}</pubDate>" if date else ""
    return f"<item><title>{html.escape(title)}</title><link>{link}</link><guid>{link}</guid>{when}" \
           f"<description>{body}</description></item>"  # fmt: skip


def rss(title: str, items: list[str]) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{html.escape(title)}</title><link>http://127.0.0.1/</link><description>d</description>"
            + "".join(items) + "</channel></rss>").encode()  # fmt: skip


STORY = [  # a wire story long enough to be recognised in another outlet's copy
    "国家统计局1月25日发布数据显示，2021年全国规模以上工业增加值比上年增长9.6%，两年平均增长6.1%。",
    "分三大门类看，采矿业增加值增长5.3%，制造业增长9.8%，电力、热力、燃气及水生产和供应业增长11.4%。",
    "分经济类型看，国有控股企业增加值增长8.0%；股份制企业增长9.8%，外商及港澳台商投资企业增长8.9%。",
    "12月份，规模以上工业增加值同比实际增长4.3%，比11月份加快0.5个百分点，环比增长0.42%。",
    "分产品看，新能源汽车、工业机器人、集成电路等产品产量分别增长145.6%、44.9%和33.3%。",
]
OTHER = [  # another story, carried by two remote outlets only
    "中国人民银行1月25日开展1500亿元7天期逆回购操作，中标利率为2.10%，当日有100亿元逆回购到期。",
    "央行本周已连续多日开展大额逆回购操作，春节前流动性总体保持合理充裕，资金利率平稳运行。",
    "市场人士表示，随着跨节资金需求上升，央行将继续灵活开展公开市场操作，保持流动性平稳跨节。",
    "1月以来，央行先后下调中期借贷便利和公开市场逆回购操作中标利率各10个基点，释放稳增长信号。",
    "分析人士预计，一季度仍有降准降息空间，货币政策将保持稳健偏宽松取向，加大对实体经济支持力度。",
]


# ---------------------------------------------------------------- counts: one of each is one


def test_the_daemon_log_says_one_post_once_and_a_warning_once(tmp_path: Path) -> None:
    """`feeds run` on one post: "1 source", "1 post", "1 item" (never "1 posts"), and a post read with a
    warning is one WARNING line that does not say "warning:" again."""
    write_config(tmp_path)
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "2022-01-25-quote.md").write_text(post_text('他说"不"了'), encoding="utf-8")
    with daemon(tmp_path) as running:
        wait_until(lambda: "caught up in" in running.log(), "the caught up line", running, 20)
        log = running.log()
    assert "running: 1 source;" in log and "scan posts: 1 post, 1 read" in log, log
    assert re.search(r"publish: 1 item, \d+ files written", log) and "0 sources polled, 1 item out" in log, log
    assert not re.search(r"\b1 (sources|posts|items|files)\b", log), log
    warned = [line for line in log.splitlines() if "quote.md" in line]
    assert len(warned) == 1 and " WARNING posts/2022-01-25-quote.md: front matter is not valid YAML" in warned[0], log
    assert "warning:" not in warned[0].lower().split(" warning ", 1)[1], warned[0]  # said once, by the level


# ---------------------------------------------------------------- "Also reported by": the feed's title


def test_other_outlets_are_named_by_their_feed_title_in_every_format_and_page(tmp_path: Path) -> None:
    """A story the site posted and an outlet carries, and a story two outlets carry (the newer wins):
    each item names the other versions' outlets as a reader knows them (the feed's title; the site's
    title for a post), never by the source names only the config knows ("friend", "wire2", "posts")."""
    feeds = {
        "/friend.xml": rss("新华财经", [rss_item("工业数据：2021年规上工业增加值增长9.6%｜新华财经", "http://127.0.0.1/f/1",
                                              STORY[:4], "Tue, 25 Jan 2022 11:00:00 +0800"),
                                     rss_item("央行开展1500亿元逆回购", "http://127.0.0.1/f/2", OTHER,
                                              "Tue, 25 Jan 2022 10:30:00 +0800")]),
        "/wire2.xml": rss("证券时报网", [rss_item("央行开展1500亿元逆回购｜证券时报", "http://127.0.0.1/w/2", OTHER[:4],
                                               "Tue, 25 Jan 2022 09:30:00 +0800")]),
    }  # fmt: skip
    with FeedServer({path: Route(body=body) for path, body in feeds.items()}) as server:
        sources = POSTS_SOURCE + feed_source("friend", server.url("/friend.xml"), CAT_A) \
            + feed_source("wire2", server.url("/wire2.xml"), CAT_A)  # fmt: skip
        cfg = write_config(tmp_path, sources=sources)
        cfg.write_text(cfg.read_text(encoding="utf-8").replace("limit = 50", 'limit = 50\nformats = ["rss", "atom", '
                                                                            '"json"]'), encoding="utf-8")  # fmt: skip
        (tmp_path / "posts").mkdir()
        (tmp_path / "posts" / "2022-01-25-industry.md").write_text(
            post_text("2021年规上工业增加值增长9.6%", "2022-01-25 10:00:00 +0800", CAT_A, info_code="NW202201250000000001",
                      paragraphs=STORY), encoding="utf-8")  # fmt: skip
        proc = run_cli("build", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    expected = {"http://127.0.0.1/f/1": "新华财经", "http://127.0.0.1/w/2": "证券时报网"}  # the versions not shown

    def also(fragment: str) -> dict[str, str]:
        """The "also reported by" links of an item's HTML content: href -> the name shown."""
        doc = lxml.html.fragment_fromstring(fragment, create_parent="div")
        return {a.get("href"): a.text_content() for a in doc.cssselect("p.also-reported a")}

    rss_doc = feedparser.parse((out / "rss.xml").read_bytes())
    assert len(rss_doc.entries) == 2, [e.title for e in rss_doc.entries]
    rss_also = {k: v for e in rss_doc.entries for k, v in also(e.content[0].value).items()}
    assert rss_also == expected
    atom = etree.fromstring((out / "atom.xml").read_bytes())
    related = {link.get("href"): link.get("title") for link in atom.iter(f"{ATOM}link") if link.get("rel") == "related"}
    assert {href: related.get(href) for href in expected} == expected, related
    atom_also = {k: v for c in atom.iter(f"{ATOM}content") for k, v in also(c.text or "").items()}
    assert atom_also == expected
    items = json.loads((out / "feed.json").read_bytes())["items"]
    assert {k: v for i in items for k, v in also(i["content_html"]).items()} == expected
    page = lxml.html.fromstring((out / "index.html").read_bytes())
    shown_sources = {li.cssselect("h3")[0].text_content(): li.cssselect("p.meta span")[0].text_content()
                     for li in page.cssselect("ol.items > li")}  # fmt: skip
    assert shown_sources == {"2021年规上工业增加值增长9.6%": "来源：财经快讯", "央行开展1500亿元逆回购": "来源：新华财经"}
    for text in (proc.stderr, (out / "rss.xml").read_text(encoding="utf-8"), json.dumps(items, ensure_ascii=False)):
        assert ">friend<" not in text and ">wire2<" not in text and ">posts<" not in text


# ---------------------------------------------------------------- a misspelt key is named


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('[site]\ntitel = "t"\nurl = "https://x.example/"\n', "site.titel: unknown key (did you mean 'title'?"),
        ('[site]\ntitle = "t"\nurl = "https://x.example/"\n[[sources]]\nnmae = "p"\ntype = "posts"\npath = "p"\n',
         "sources[0].nmae: unknown key: did you mean 'name'? (sources[0].name is required)"),
        ('[site]\ntitle = "t"\nurl = "https://x.example/"\n[[sources]]\nname = "f"\ntype = "feed"\n'
         'ulr = "https://x.example/f.xml"\n', "sources[0].ulr: unknown key: did you mean 'url'?"),
    ],
)  # fmt: skip
def test_a_misspelt_required_key_is_named_not_reported_missing(tmp_path: Path, table: str, expected: str) -> None:
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(table, encoding="utf-8")
    proc = run_cli("check", "-c", str(cfg), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert expected in line, line
    assert "is required" not in line.split(expected)[0]


# ---------------------------------------------------------------- the subscribe box reads as a URL


def test_the_subscribe_box_shows_the_url_readable_and_links_it_encoded(site: Site) -> None:
    site.add("2022-01-25-a.md", post_text("甲", categories=CAT_A, info_code="NW1"))
    proc = site.cli("build")
    assert proc.returncode == 0, proc.stderr
    page = lxml.html.fromstring((site.out / "category" / CAT_A / "index.html").read_bytes())
    shown = [code.text_content() for code in page.cssselect("section.subscribe code.url")]
    base = f"https://finews.example.com/category/{CAT_A}/"
    assert shown == [base + "rss.xml", base + "atom.xml"], shown  # "·" as the reader sees it, not "%C2%B7"
    alternates = [link.get("href") for link in page.xpath("//head/link[@rel='alternate']")]
    assert alternates == [quote(url, safe=":/") for url in shown]  # the links stay encoded
    assert all("·" not in (a.get("href") or "") for a in page.iter("a"))
    assert [a.get("href") for a in page.cssselect("section.subscribe a.format")] == ["rss.xml", "atom.xml"]


# ---------------------------------------------------------------- an undated remote item


def test_an_undated_remote_item_is_dated_in_whole_seconds(tmp_path: Path) -> None:
    body = rss("快讯", [rss_item("没有日期的快讯", "http://127.0.0.1/n/1", ["正文"], date=None)])
    with FeedServer({"/f.xml": Route(body=body)}) as server:
        cfg = write_config(tmp_path, sources=feed_source("flash", server.url("/f.xml"), CAT_B))
        cfg.write_text(cfg.read_text(encoding="utf-8").replace("limit = 50", 'limit = 50\nformats = ["rss", "atom", '
                                                                            '"json"]'), encoding="utf-8")  # fmt: skip
        before = time.time()
        proc = run_cli("build", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    atom = etree.fromstring((out / "atom.xml").read_bytes())
    (entry,) = atom.iter(f"{ATOM}entry")
    stamps = [entry.findtext(f"{ATOM}published"), entry.findtext(f"{ATOM}updated")]
    (item,) = json.loads((out / "feed.json").read_bytes())["items"]
    stamps += [item["date_published"], item["date_modified"]]
    page = lxml.html.fromstring((out / "index.html").read_bytes())
    stamps += [t.get("datetime") for t in page.cssselect("ol.items time")]
    for stamp in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)", stamp or ""), stamps  # no fraction
        assert before - 2 <= datetime.fromisoformat(stamp).timestamp() <= time.time() + 1  # when first seen


# ---------------------------------------------------------------- status: the posts' last scan


def test_status_gives_the_posts_last_scan_as_a_relative_time_while_the_daemon_runs(tmp_path: Path) -> None:
    """The config kept in the posts folder (its state store in posts/.feeds/): the store's own writes
    are not changes to the posts, so the daemon does not rescan on them, and `feeds status` shows
    the last scan as seconds ago, not "(now)" forever.  A new post is still seen at once."""
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "2022-01-25-a.md").write_text(post_text("甲"), encoding="utf-8")
    cfg = posts / "feeds.toml"
    cfg.write_text('[site]\ntitle = "t"\nurl = "https://blog.test.org/"\n[output]\ndir = "../out"\n'
                   '[[sources]]\nname = "posts"\ntype = "posts"\npath = "."\n', encoding="utf-8")  # fmt: skip
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "feeds", "run", "-c", "feeds.toml"], cwd=posts,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)  # fmt: skip
    try:
        def logged() -> str:
            return log_path.read_text(encoding="utf-8", errors="replace")

        deadline = time.monotonic() + 20
        while "caught up in" not in logged():
            assert proc.poll() is None and time.monotonic() < deadline, logged()
            time.sleep(0.05)
        time.sleep(3.2)
        status = run_cli("status", "-c", "feeds.toml", cwd=posts)
        assert status.returncode == 0, status.stderr
        row = status_rows(status.stdout)["posts"]
        match = re.search(r"\((\d+) s ago\)$", row["LAST SUCCESS"])
        assert match and int(match.group(1)) >= 3, status.stdout  # scanned at the start, not since
        assert logged().count("scan posts") == 1 and "change detected" not in logged(), logged()

        (posts / "2022-01-26-b.md").write_text(post_text("乙", "2022-01-26 08:00:00 +0800", info_code="NW2"),
                                               encoding="utf-8")  # fmt: skip
        deadline = time.monotonic() + 10
        while "scan posts: 2 posts" not in logged():
            assert time.monotonic() < deadline, logged()
            time.sleep(0.05)
        status = run_cli("status", "-c", "feeds.toml", cwd=posts)
        assert re.search(r"\((now|\d s ago)\)$", status_rows(status.stdout)["posts"]["LAST SUCCESS"]), status.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- PostgreSQL without its extra


def _without_psycopg(tmp_path: Path) -> dict[str, str]:
    """The environment of a feeds process that cannot import psycopg (the extra not installed)."""
    hide = tmp_path / "nopsycopg"
    hide.mkdir(exist_ok=True)
    (hide / "sitecustomize.py").write_text(
        "import sys\n\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in ('psycopg', 'psycopg_pool', 'psycopg_binary', 'psycopg_c'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n\n"
        "sys.meta_path.insert(0, _Hide())\n",
        encoding="utf-8",
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hide), env.get("PYTHONPATH", "")) if p)
    return env


def _feeds(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "feeds", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_postgresql_without_its_extra_is_one_line_saying_how_to_install_it(tmp_path: Path) -> None:
    env = _without_psycopg(tmp_path)
    probe = _feeds(env, tmp_path, "--version")
    assert probe.returncode == 0, probe.stderr
    hidden = subprocess.run([sys.executable, "-c", "import psycopg"], env=env, capture_output=True, text=True)
    assert "No module named 'psycopg'" in hidden.stderr  # (the test hides it indeed)

    config = '[site]\ntitle = "t"\nurl = "https://blog.test.org/"\n[output]\ndir = "../out"\n' + POSTS_SOURCE
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "feeds.toml").write_text(config, encoding="utf-8")  # SQLite first: a store to migrate
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "2022-01-25-a.md").write_text(post_text("甲"), encoding="utf-8")
    assert _feeds(env, tmp_path, "build").returncode == 0
    migrate = _feeds(env, tmp_path, "migrate", "--to", PG_URL)
    (tmp_path / "config" / "pg.toml").write_text(f'{config}\n[state]\nurl = "{PG_URL}"\n', encoding="utf-8")
    runs = {"migrate": migrate}
    for command in ("build", "status", "run", "check"):
        runs[command] = _feeds(env, tmp_path, command, "-c", "config/pg.toml")
    for command, proc in runs.items():
        lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line != "1 problem found"]
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, (command, proc.stderr)
        assert len(lines) == 1 and EXTRA in lines[0], (command, lines)
        assert "postgresql://feeds@127.0.0.1:1/feeds" in lines[0] and "secret" not in lines[0], lines[0]
