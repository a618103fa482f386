"""RSS, Atom and JSON Feed show the same items, in every feed, as a site of the real shape grows.

Ninety posts in three categories (some in two, a quarter without an infoCode), a remote outlet
carrying wire copies of some of them over four weeks (each must join its post) and templated
bulletins (each its own item): built with `feeds build`, then changed under `feeds run` (posts added,
retitled and removed; late wire copies) while the daemon keeps its rendered entries between
publishes.  After each step every feed folder holds the same ids, in the same order, in the three
formats, and no post is missing from any of them.
"""

from __future__ import annotations

import html
import json
import random
from pathlib import Path

import feedparser
from conftest import CAT_A, CAT_B, POSTS_SOURCE, feed_source, post_text, run_cli, write_config
from servers import FeedServer, Route
from test_daemon import daemon, wait_until

CAT_C = "zhengquanshibao·zhengquanshibaowang"
CATS = (CAT_A, CAT_B, CAT_C)
LABELS = {CAT_A: "中国证券报·中证网", CAT_B: "上海证券报·上证网", CAT_C: "证券时报·证券时报网"}
POSTS = 90
WORDS = ("央行", "证监会", "银保监会", "交易所", "基金公司", "券商", "保险资金", "外资", "北向资金", "银行理财", "地方债", "可转债", "国债", "期货",
         "新能源", "半导体", "光伏", "医药", "消费", "地产", "基建", "出口", "进口", "汇率", "利率", "流动性", "逆回购", "降准", "注册制", "科创板",
         "创业板", "分红", "回购", "增持", "减持", "并购", "重组", "上市", "退市", "监管", "试点", "改革", "开放", "稳增长", "防风险", "数字化",
         "绿色金融", "普惠", "小微企业", "制造业", "服务业", "农业", "就业", "收入", "消费券", "供应链", "芯片", "锂电", "风电", "储能", "算力",
         "航运", "港口")  # fmt: skip


def story(n: int) -> list[str]:
    """Seven paragraphs of a story of its own (its own words and figures) for each ``n``."""
    rng = random.Random(n)
    paragraphs = []
    for _ in range(7):
        w = rng.sample(WORDS, 9)
        paragraphs.append(f"{w[0]}{w[1]}{rng.randint(1, 99)}.{rng.randint(0, 9)}%，{'、'.join(w[2:6])}"
                          f"{rng.choice(('走强', '回落', '企稳', '分化'))}，{w[6]}{w[7]}{w[8]}。")  # fmt: skip
    return paragraphs


def title(n: int) -> str:
    return f"财经要闻第{n}期：{story(n)[0][:12]}"


def day(n: int) -> int:
    return 1 + n % 27  # February 2022: four weeks


def post(n: int, heading: str | None = None) -> str:
    categories = CATS[n % 3] if n % 10 else f"{CATS[n % 3]} {CATS[(n + 1) % 3]}"
    return post_text(heading or title(n), f"2022-02-{day(n):02d} {8 + n % 10:02d}:{n % 60:02d}:00 +0800", categories,
                     tags=LABELS[CATS[n % 3]] + "新闻", info_code=None if n % 4 == 0 else f"NW2022020{n:011d}",
                     paragraphs=story(n), label=LABELS[CATS[n % 3]])  # fmt: skip


def wire_copy(n: int) -> str:
    """The outlet's copy of post ``n``: its headline suffixed, the last paragraph dropped, its own credits."""
    body = html.escape("".join(f"<p>{p}</p>" for p in story(n)[:6]) + "<p>（文章来源：新华财经）</p><p>责任编辑：王五</p>")
    return (f"<item><title>{html.escape(title(n))}｜新华财经</title><link>http://wire.example.com/n/{n}.html</link>"
            f"<guid>http://wire.example.com/n/{n}.html</guid><pubDate>{day(n):02d} Feb 2022 {9 + n % 10:02d}:30:00 +0800"
            f"</pubDate><description>{body}</description></item>")  # fmt: skip


def bulletin(n: int) -> str:
    """A templated one-line bulletin (only its figures differ from the others): never merged."""
    return (f"<item><title>央行开展逆回购操作（第{n}次）</title><link>http://wire.example.com/b/{n}.html</link>"
            f"<guid>http://wire.example.com/b/{n}.html</guid><pubDate>14 Feb 2022 09:{n:02d}:00 +0800</pubDate>"
            f"<description>人民银行今日开展{100 + 10 * n}亿元7天期逆回购操作，中标利率2.10%。</description></item>")


def outlet(copies: list[int], bulletins: int = 15) -> bytes:
    items = [wire_copy(n) for n in copies] + [bulletin(n) for n in range(bulletins)]
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>新华财经</title>'
            "<link>http://wire.example.com/</link><description>d</description>" + "".join(items)
            + "</channel></rss>").encode()  # fmt: skip


def ids_by_format(folder: Path) -> dict[str, list[str]]:
    """The item ids of one feed folder's RSS, Atom and JSON Feed files, in their order."""
    out = {}
    for name in ("rss.xml", "atom.xml"):
        parsed = feedparser.parse((folder / name).read_bytes())
        assert not parsed.bozo, (folder / name, parsed.get("bozo_exception"))
        out[name] = [entry.id for entry in parsed.entries]
    out["feed.json"] = [item["id"] for item in json.loads((folder / "feed.json").read_bytes())["items"]]
    return out


def assert_formats_agree(out: Path) -> dict[str, list[str]]:
    """Every feed folder: the same ids in the same order in RSS, Atom and JSON Feed; -> folder: ids."""
    folders = sorted({p.parent for p in out.rglob("rss.xml")})
    assert len(folders) == 1 + len(CATS), folders
    shown = {}
    for folder in folders:
        ids = ids_by_format(folder)
        assert ids["rss.xml"] == ids["atom.xml"] == ids["feed.json"], (folder, {k: len(v) for k, v in ids.items()})
        assert len(set(ids["rss.xml"])) == len(ids["rss.xml"]), folder
        shown[folder.relative_to(out).as_posix()] = ids["rss.xml"]
    return shown


def titles(out: Path) -> list[str]:
    return [item["title"] for item in json.loads((out / "feed.json").read_bytes())["items"]]


def test_rss_atom_and_json_feed_hold_the_same_items_in_every_feed(tmp_path: Path) -> None:
    posts, out = tmp_path / "posts", tmp_path / "out"
    posts.mkdir()
    for n in range(POSTS):
        (posts / f"2022-02-{day(n):02d}-p{n}.md").write_text(post(n), encoding="utf-8")
    copies = [n for n in range(POSTS) if n % 6 == 1]  # 15 of them, from February 2nd to 26th
    with FeedServer({"/wire.xml": Route(body=outlet(copies))}) as server:
        sources = POSTS_SOURCE + feed_source("xinhua", server.url("/wire.xml"), CAT_B, interval="1s")
        cfg = write_config(tmp_path, '\n[schedule]\njitter = 0\n', limit=500, sources=sources)
        text = cfg.read_text(encoding="utf-8").replace("limit = 500", 'limit = 500\nformats = ["rss", "atom", "json"]')
        cfg.write_text(text.replace("[categories]\n", f'[categories]\n"{CAT_C}" = "{LABELS[CAT_C]}"\n'), encoding="utf-8")

        proc = run_cli("build", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        shown = assert_formats_agree(out)
        everything = titles(out)
        # every post once; each wire copy joined its post (the first poll spans four weeks); every bulletin kept
        assert sorted(everything) == sorted([title(n) for n in range(POSTS)]
                                            + [f"央行开展逆回购操作（第{n}次）" for n in range(15)]), everything
        assert len(shown["."]) == POSTS + 15
        combined = json.loads((out / "feed.json").read_bytes())["items"]
        for n in copies:
            (item,) = [i for i in combined if i["title"] == title(n)]
            assert f"http://wire.example.com/n/{n}.html" in item["content_html"]  # "另见：新华财经"

        # Then the daemon: new posts, a retitled one, a removed one, late wire copies of older posts.
        with daemon(tmp_path) as running:
            wait_until(lambda: "caught up in" in running.log(), "the daemon's start", running, 30)
            for n in range(POSTS, POSTS + 6):
                (posts / f"2022-02-{day(n):02d}-p{n}.md").write_text(post(n), encoding="utf-8")
            (posts / f"2022-02-{day(5):02d}-p5.md").write_text(post(5, "改过的标题：第5期"), encoding="utf-8")
            (posts / f"2022-02-{day(8):02d}-p8.md").unlink()
            late = [n for n in range(POSTS + 6) if n % 6 == 4]
            server.routes["/wire.xml"] = Route(body=outlet(copies + late, bulletins=16))
            wanted = sorted([title(n) for n in range(POSTS + 6) if n not in (5, 8)] + ["改过的标题：第5期"]
                            + [f"央行开展逆回购操作（第{n}次）" for n in range(16)])  # fmt: skip

            def settled() -> bool:
                try:
                    return sorted(titles(out)) == wanted and all(
                        f"http://wire.example.com/n/{n}.html" in i["content_html"]
                        for i in json.loads((out / "feed.json").read_bytes())["items"]
                        for n in late if i["title"] == title(n))  # fmt: skip
                except (OSError, ValueError):
                    return False

            wait_until(settled, "the changes in feed.json", running, 30)
            assert running.stop() == 0
        shown = assert_formats_agree(out)
        assert len(shown["."]) == POSTS + 6 - 1 + 16
        for folder, ids in shown.items():  # each category's feed: exactly the combined feed's items of it
            if folder != ".":
                slug = folder.split("/")[1]
                parsed = feedparser.parse((out / "rss.xml").read_bytes())
                mine = [e.id for e in parsed.entries if any(t.term == LABELS[slug] for t in e.get("tags", []))]
                assert ids == mine, folder
