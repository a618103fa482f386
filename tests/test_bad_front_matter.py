"""A post whose front matter is not valid YAML, as a user meets it: skipped with one line, counted, never published."""

from __future__ import annotations

import re

import feedparser
import lxml.html
from conftest import CAT_A, LABELS, Site, post_text


def test_broken_yaml_post_is_skipped_counted_and_named(site: Site) -> None:
    site.add("2022-01-25-good.md", post_text("好文章"))  # the real posts' unquoted "+0800" date: valid YAML
    broken = post_text("坏文章", info_code="NW202201259999999999").replace(
        f"categories: {CAT_A}", "categories: [life, tech"
    )
    site.add("2022-01-25-broken.md", broken)

    proc = site.cli("build", "-c", "config/feeds.toml")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "broken.md" in line]
    assert lines == [
        "posts/2022-01-25-broken.md: front matter is not valid YAML: did not find expected ',' or ']' "
        "at line 6, column 5, while parsing a flow sequence at line 5, column 13"
    ], proc.stderr
    assert "1 skipped" in proc.stderr

    published = list(site.out.rglob("*"))
    assert not any("life" in p.name or "tech" in p.name for p in published), published
    for name in ("rss.xml", "atom.xml"):
        feed = feedparser.parse((site.out / name).read_bytes())
        assert [e.title for e in feed.entries] == ["好文章"]
        assert {t.term for e in feed.entries for t in e.tags} <= {LABELS[CAT_A], CAT_A, "中国证券报·中证网新闻"}
    page = lxml.html.fromstring((site.out / "index.html").read_bytes())
    assert "[life," not in page.text_content()
    assert not any("life" in (a.get("href") or "") for a in page.iter("a"))

    status = site.cli("status", "-c", "config/feeds.toml")
    assert status.returncode == 0, status.stderr
    header, row = status.stdout.splitlines()
    cells = dict(zip(re.split(r"\s{2,}", header), re.split(r"\s{2,}", row), strict=True))
    assert cells["ITEMS"] == "1" and cells["PROBLEMS"] == "1"

    check = site.cli("check", "-c", "config/feeds.toml")
    assert check.returncode == 1
    assert [line for line in check.stdout.splitlines() if "broken.md" in line] == lines


def test_a_title_whose_text_is_certain_is_read_with_a_warning(site: Site) -> None:
    site.add("2022-01-25-quote.md", post_text('他说"不"了'))
    proc = site.cli("build", "-c", "config/feeds.toml")
    assert proc.returncode == 0, proc.stderr
    assert "quote.md: warning: front matter is not valid YAML" in proc.stderr
    feed = feedparser.parse((site.out / "rss.xml").read_bytes())
    assert [e.title for e in feed.entries] == ['他说"不"了']
    assert feed.entries[0].tags[0].term == LABELS[CAT_A]
