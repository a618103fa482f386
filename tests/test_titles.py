"""Titles are text: a title that spells markup is shown as written, in every format and page, and runs nowhere."""

from __future__ import annotations

import html
import json
import re

import feedparser
import lxml.html
from conftest import CAT_A, CAT_B, Site, feed_source, post_text, write_config
from lxml import etree
from servers import FeedServer, Route

ATOM = "{http://www.w3.org/2005/Atom}"
SCRIPT = "How I use <script> tags"
IMG = '"><img src=x onerror=alert(1)>'
CDATA = "a ]]> b <c>"  # the remote title "a ]]> b &lt;c&gt;": RSS titles are HTML, decoded once
AMP = "R&D: AT&T 'quotes' & \"more\""

REMOTE = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>远程 &lt;源&gt;</title>'
    "<link>http://127.0.0.1/</link><description>d</description>"
    # one CDATA section cannot hold "]]>": it is cut in two around it
    "<item><title><![CDATA[a ]]]]><![CDATA[> b &lt;c&gt;]]></title><link>http://127.0.0.1/r/1</link>"
    "<guid>http://127.0.0.1/r/1</guid><pubDate>Tue, 25 Jan 2022 10:00:00 +0800</pubDate>"
    "<description>远程正文一</description></item>"
    "<item><title>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</title><link>http://127.0.0.1/r/2</link>"
    "<guid>http://127.0.0.1/r/2</guid><pubDate>Tue, 25 Jan 2022 09:00:00 +0800</pubDate></item>"
    "</channel></rss>"
)


def shown(detail: feedparser.FeedParserDict) -> str:
    """What a reader shows of a title feedparser read: an HTML title is decoded once."""
    return html.unescape(detail.value) if "html" in detail.type else detail.value


def _setup(site: Site, server: FeedServer) -> None:
    write_config(site.root, sources="\n[[sources]]\nname = \"posts\"\ntype = \"posts\"\npath = \"../posts\"\n"
                 + feed_source("remote", server.url("/feed.xml"), category=CAT_B))  # fmt: skip
    text = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(text.replace('dir = "../out"\n', 'dir = "../out"\nformats = ["rss", "atom", "json"]\n'),
                                encoding="utf-8")  # fmt: skip
    site.add("2022-01-25-a.md", post_text(SCRIPT.replace('"', '\\"'), info_code="NW1"))
    site.add("2022-01-24-b.md", post_text(IMG.replace('"', '\\"'), "2022-01-24 08:00:00 +0800", info_code="NW2"))
    site.add("2022-01-23-c.md", post_text(AMP.replace('"', '\\"'), "2022-01-23 08:00:00 +0800", CAT_A, info_code="NW3"))


def test_titles_that_spell_markup_are_shown_as_written_everywhere(site: Site) -> None:
    with FeedServer({"/feed.xml": Route(body=REMOTE.encode())}) as server:
        _setup(site, server)
        proc = site.cli("build")
    assert proc.returncode == 0, proc.stderr
    posts = {SCRIPT, IMG, AMP}
    everything = posts | {CDATA, IMG}  # (a post and a remote item share the hostile title: two items)

    for rel in ("rss.xml", "atom.xml", f"category/{CAT_A}/rss.xml", f"category/{CAT_A}/atom.xml"):
        parsed = feedparser.parse((site.out / rel).read_bytes())
        assert not parsed.bozo, (rel, parsed.get("bozo_exception"))
        titles = [shown(e.title_detail) for e in parsed.entries]
        assert set(titles) == (everything if "category" not in rel else posts), (rel, titles)
        if "category" not in rel:
            assert titles.count(IMG) == 2
        # the XML text of a title is HTML that shows the text: it spells no tag, even unescaped once more
        tree = etree.fromstring((site.out / rel).read_bytes())
        for title in tree.iter("title", f"{ATOM}title"):
            assert "<" not in (title.text or ""), (rel, title.text)
    combined = json.loads((site.out / "feed.json").read_bytes())
    assert sorted(i["title"] for i in combined["items"]) == sorted([SCRIPT, IMG, AMP, CDATA, IMG])
    for item in combined["items"]:  # an item without a body shows its title as HTML text, escaped
        assert "<img" not in item["content_html"] and "<script" not in item["content_html"]
    remote = next(i for i in combined["items"] if i.get("url") == "http://127.0.0.1/r/2")
    assert lxml.html.fragment_fromstring(remote["content_html"], create_parent="div").text_content() == IMG
    assert remote["_source"]["title"] == "远程 <源>"  # the feed's own title is text too

    # RSS: the XML-level "&" of a title's HTML as a hexadecimal reference (the RSS Profile; the W3C validator)
    raw = (site.out / "rss.xml").read_text(encoding="utf-8")
    rss_titles = re.findall(r"<title>([^<]*)</title>", raw)
    assert "How I use &#x26;lt;script&#x26;gt; tags" in rss_titles
    assert "a ]]&#x26;gt; b &#x26;lt;c&#x26;gt;" in rss_titles
    assert not any("&amp;" in t for t in rss_titles)
    atom = (site.out / "atom.xml").read_text(encoding="utf-8")
    assert '<title type="html">How I use &amp;lt;script&amp;gt; tags</title>' in atom

    for rel, expected in (("index.html", everything), (f"category/{CAT_A}/index.html", posts)):
        page = lxml.html.fromstring((site.out / rel).read_bytes())
        headings = [h.text_content() for h in page.cssselect("ol.items h3")]
        assert set(headings) == expected, (rel, headings)
        assert not page.xpath("//script | //img[@onerror] | //*[@onerror] | //h3//img | //c")
