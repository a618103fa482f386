"""`feeds explain` finds an item by what a user has at hand: a title or a part of one, a post's file."""

from __future__ import annotations

from conftest import CAT_A, CAT_B, POSTS_SOURCE, Site, feed_source, post_text, write_config
from servers import FeedServer, Route

REMOTE = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>远程</title>'
    "<link>http://127.0.0.1/</link><description>d</description>"
    "<item><title>远程：央行开展MLF操作</title><link>http://127.0.0.1/r/1</link><guid>http://127.0.0.1/r/1</guid>"
    "<pubDate>Tue, 25 Jan 2022 10:00:00 +0800</pubDate><description>远程正文</description></item>"
    "</channel></rss>"
).encode()


def _site(site: Site, server: FeedServer) -> None:
    write_config(site.root, sources=POSTS_SOURCE + feed_source("remote", server.url("/feed.xml"), category=CAT_B))
    site.add("2022-01-25-a.md", post_text("央行开展逆回购操作", info_code="NW1"))
    site.add("2022-01-24-b.md", post_text("沪指震荡收涨", "2022-01-24 09:00:00 +0800", info_code="NW2"))
    site.add("2022-01-23-c.md", post_text("沪指震荡收跌", "2022-01-23 09:00:00 +0800", info_code="NW3"))
    site.add("2022-01-22-d.md", post_text("Markets Rally", "2022-01-22 09:00:00 +0800", CAT_A, info_code=None))
    site.add("2022-01-21-bad.md", post_text("坏的").replace(f"categories: {CAT_A}", "categories: [life, tech"))


def explain(site: Site, query: str):  # type: ignore[no-untyped-def]
    return site.cli("explain", "-c", "config/feeds.toml", query)


def test_explain_by_title_part_of_one_and_post_file(site: Site) -> None:
    with FeedServer({"/feed.xml": Route(body=REMOTE)}) as server:
        _site(site, server)
        assert site.cli("build", "-c", "config/feeds.toml").returncode == 0

    for query in ("央行开展逆回购操作", "逆回购", "  央行开展逆回购操作 ", "NW1", "posts/2022-01-25-a.md",
                  str(site.posts / "2022-01-25-a.md")):  # fmt: skip
        proc = explain(site, query)
        assert proc.returncode == 0, (query, proc.stderr)
        assert proc.stdout.startswith("article infocode:NW1\n"), (query, proc.stdout)
        assert "央行开展逆回购操作" in proc.stdout

    remote = explain(site, "mlf")  # a remote item's title, any case
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout.startswith("article link:http://127.0.0.1/r/1\n") and "remote (priority 0)" in remote.stdout

    for query in ("markets rally", "posts/2022-01-22-d.md"):  # a post without infoCode: keyed by its link
        proc = explain(site, query)
        assert proc.returncode == 0, (query, proc.stderr)
        assert proc.stdout.startswith("article link:https://finews.example.com/"), proc.stdout
        assert "Markets Rally" in proc.stdout

    several = explain(site, "沪指震荡")
    assert several.returncode == 1
    assert several.stdout.splitlines() == [
        "infocode:NW2  沪指震荡收涨  (posts)",
        "infocode:NW3  沪指震荡收跌  (posts)",
    ]
    assert several.stderr.strip().splitlines() == [
        "feeds: 2 items match '沪指震荡': give one's id, infoCode or link, or more of its title"
    ]
    assert explain(site, "沪指震荡收跌").stdout.startswith("article infocode:NW3\n")

    bad = explain(site, "posts/2022-01-21-bad.md")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        "feeds: posts/2022-01-21-bad.md: not an item: front matter is not valid YAML: did not find expected "
        "',' or ']' at line 6, column 5, while parsing a flow sequence at line 5, column 13"
    ]
    outside = explain(site, "config/feeds.toml")
    assert outside.returncode == 1 and "not in a posts folder of the config" in outside.stderr

    missing = explain(site, "没有这样的标题")
    assert missing.returncode == 1 and "no stored item matches" in missing.stderr and "Traceback" not in missing.stderr
