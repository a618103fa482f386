"""Full text for summary-only sources: real pages with clutter served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import feedparser
from conftest import CAT_A, POSTS_SOURCE, Site, write_config
from servers import FeedServer, Route
from test_remote import build

from feeds.core.selectors import check_selector
from feeds.ingest.fulltext import extract

PARAGRAPHS = [
    "本报讯 国家统计局今日发布数据显示，一月份全国居民消费价格同比上涨百分之零点九，环比上涨百分之零点四。",
    "从结构看，食品价格同比下降百分之三点八，非食品价格上涨百分之二点零，服务价格上涨百分之一点二。",
    "分析人士认为，春节错月效应推高了鲜菜和水果价格，而猪肉价格仍在低位运行，对整体物价形成拖累。",
    "展望后市，多家机构预计物价总体平稳，为宏观政策保持连续性、稳定性和可持续性提供了有利条件。",
]
CLUTTER = ["首页导航栏目", "广告：开户送好礼立即领取", "相关阅读：央行开展逆回购", "网友评论：说得太好了", "版权所有 违者必究"]


def page(paragraphs: list[str] = PARAGRAPHS) -> bytes:
    article = "".join(f"<p>{p}</p>" for p in paragraphs[:-1])
    article += f'<p>{paragraphs[-1]}详见<a href="/data/cpi.html">统计数据</a>。</p>'
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="gbk"><title>一月CPI同比上涨0.9%</title></head>
<body>
<div class="nav"><ul><li><a href="/">首页导航栏目</a></li><li><a href="/stock">股票</a></li><li><a href="/fund">基金</a></li></ul></div>
<div class="ad"><a href="/ad">广告：开户送好礼立即领取</a></div>
<div class="main"><article id="content"><h1>一月CPI同比上涨0.9%</h1>
<div class="info">2022-02-12 09:30 来源：证券日报</div>
{article}
</article>
<div class="related"><h3>相关阅读</h3><ul><li><a href="/n/1">相关阅读：央行开展逆回购</a></li><li><a href="/n/2">相关阅读：两市成交回暖</a></li></ul></div>
<div class="comments"><h3>网友评论</h3><div class="comment">网友评论：说得太好了</div><div class="comment">网友评论：支持支持</div></div>
</div>
<div class="footer">版权所有 违者必究 京ICP备00000000号</div>
</body></html>""".encode("gbk")


def feed(link: str, summary: str = "国家统计局今日发布一月份物价数据。") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>'
        f"<description>d</description><item><title>一月CPI同比上涨0.9%</title><link>{link}</link>"
        f"<guid>{link}</guid><pubDate>Sat, 12 Feb 2022 09:30:00 +0800</pubDate>"
        f"<description>{summary}</description></item></channel></rss>"
    ).encode()


def _site(tmp_path: Path, url: str, extra: str = "") -> Site:
    source = f'\n[[sources]]\nname = "wire"\ntype = "feed"\nurl = "{url}"\ncategory = "{CAT_A}"\nfull_text = true\n{extra}'
    cfg = write_config(tmp_path, sources=POSTS_SOURCE + source)
    (tmp_path / "posts").mkdir(exist_ok=True)
    return Site(tmp_path, tmp_path / "posts", tmp_path / "out", cfg)


def test_extract_keeps_the_article_and_drops_the_clutter() -> None:
    html = extract(page(), "http://news.example.com/a/1.html")
    assert html is not None
    for paragraph in PARAGRAPHS:
        assert paragraph in html
    for junk in CLUTTER:
        assert junk not in html
    assert 'href="http://news.example.com/data/cpi.html"' in html  # links made absolute


def test_selector_narrows_and_bad_selectors_are_named() -> None:
    html = extract(page(), "http://news.example.com/a/1.html", "article#content")
    assert html is not None and PARAGRAPHS[0] in html and "相关阅读" not in html
    assert check_selector("article#content") is None
    assert "bad CSS selector" in (check_selector("div[") or "")


def test_full_text_source_fetches_each_page_once(tmp_path: Path) -> None:
    with FeedServer({}) as server:
        link = server.url("/a/1.html")
        server.routes["/f.xml"] = Route(body=feed(link))
        server.routes["/a/1.html"] = Route(body=page(), headers={"Content-Type": "text/html; charset=gbk"})
        site = _site(tmp_path, server.url("/f.xml"))
        build(site)
        (entry,) = feedparser.parse((site.out / "rss.xml").read_bytes()).entries
        content = entry.content[0].value
        assert all(p in content for p in PARAGRAPHS)
        assert not any(junk in content for junk in CLUTTER)
        assert entry.summary == "国家统计局今日发布一月份物价数据。"  # the feed's summary stays the summary
        build(site, force=True)
        (site.root / ".feeds").exists()
        assert [path for path, _ in server.requests].count("/a/1.html") == 1
        (entry,) = feedparser.parse((site.out / "rss.xml").read_bytes()).entries
        assert PARAGRAPHS[0] in entry.content[0].value


def test_failures_fall_back_to_the_feed_content_and_are_logged_once(tmp_path: Path, caplog) -> None:
    with FeedServer({}) as server:
        server.routes["/f.xml"] = Route(body=feed(server.url("/gone.html")))
        server.routes["/gone.html"] = Route(status=404)
        site = _site(tmp_path, server.url("/f.xml"))
        with caplog.at_level("WARNING", logger="feeds"):
            build(site)
            build(site, force=True)
        (entry,) = feedparser.parse((site.out / "rss.xml").read_bytes()).entries
        assert "国家统计局今日发布一月份物价数据" in entry.content[0].value
        lines = [r.getMessage() for r in caplog.records if "full text" in r.getMessage()]
        assert len(lines) == 1 and "404" in lines[0]
        assert [path for path, _ in server.requests].count("/gone.html") == 1
