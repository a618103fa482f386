"""The baseline for the build benchmark: what anyone would write first.

    python benchmarks/naive.py CONFIG [--out DIR]

Reads every post with ``frontmatter.load`` (python-frontmatter's defaults),
keeps them all in memory, parses the ``date`` string, merges posts that carry the
same infoCode (one regular expression over the text), and writes with feedgen one
RSS and one Atom feed per configured category plus a combined pair, each with the
newest ``[output] limit`` (50) entries.  The body is used as it is (no Markdown
rendering, no link rewriting, no sanitising).  Output goes to the config's
``[output] dir`` unless ``--out`` is given.

Deliberately independent of the ``feeds`` package: it reads the TOML itself.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import frontmatter
from feedgen.feed import FeedGenerator

INFOCODE = re.compile(r"[?&;]infoCode=([A-Za-z0-9_.\-]+)")
FILENAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(.+)$")


@dataclass
class Article:
    post: frontmatter.Post
    path: Path
    date: datetime
    categories: list[str] = field(default_factory=list)
    code: str | None = None


def parse_date(value: object, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    text = str(value).strip()
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    raise ValueError(f"unrecognised date {text!r}")


def permalink(site_url: str, article: Article) -> str:
    """Jekyll's default permalink ``/:categories/:year/:month/:day/:title.html``."""
    stem = article.path.stem
    match = FILENAME.match(stem)
    slug = match.group(4) if match else stem
    parts = [*article.categories, f"{article.date:%Y}", f"{article.date:%m}", f"{article.date:%d}", f"{slug}.html"]
    return site_url.rstrip("/") + "/" + "/".join(quote(p) for p in parts)


def write_feeds(
    name: str, title: str, articles: list[Article], site: dict[str, str], limit: int, out: Path, labels: dict[str, str]
) -> None:
    site_url = site["url"]
    fg = FeedGenerator()
    fg.id(f"{site_url.rstrip('/')}/{quote(name)}")
    fg.title(title)
    fg.description(site.get("description") or title)
    fg.link(href=site_url, rel="alternate")
    fg.language(site.get("language", "zh-CN"))
    if site.get("author"):
        fg.author(name=site["author"])
    newest = sorted(articles, key=lambda a: a.date, reverse=True)[:limit]
    for article in newest:
        link = permalink(site_url, article)
        fe = fg.add_entry(order="append")
        fe.id(f"infocode:{article.code}" if article.code else link)
        fe.guid(f"infocode:{article.code}" if article.code else link, permalink=not article.code)
        fe.title(str(article.post.get("title", "")))
        fe.link(href=link)
        fe.published(article.date)
        fe.updated(article.date)
        fe.content(article.post.content, type="html")
        for slug in article.categories:
            fe.category(term=slug, label=labels.get(slug, slug))
    out.mkdir(parents=True, exist_ok=True)
    fg.rss_file(str(out / f"{name}.rss.xml"), pretty=False)
    fg.atom_file(str(out / f"{name}.atom.xml"), pretty=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Naive feed build (benchmark baseline).")
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, help="output folder (default: the config's [output] dir)")
    args = parser.parse_args(argv)

    config_path: Path = args.config
    config = tomllib.loads(config_path.read_text(encoding="utf-8"))
    base = config_path.resolve().parent
    site: dict[str, str] = config["site"]
    tz = ZoneInfo(site.get("timezone", "Asia/Shanghai"))
    output = config.get("output", {})
    out: Path = args.out or base / output.get("dir", "out")
    limit = int(output.get("limit", 50))
    labels: dict[str, str] = dict(config.get("categories", {}))

    # Read everything.
    articles: list[Article] = []
    for source in config.get("sources", []):
        if source.get("type") != "posts":
            continue
        for path in sorted((base / source["path"]).rglob("*.md")):
            post = frontmatter.load(path)
            cats = post.get("categories") or []
            if isinstance(cats, str):
                cats = cats.split()
            match = INFOCODE.search(post.content)
            articles.append(
                Article(
                    post=post,
                    path=path,
                    date=parse_date(post.get("date"), tz),
                    categories=[str(c) for c in cats],
                    code=match.group(1) if match else None,
                )
            )

    # Same infoCode -> one article: keep the earliest, file it under every category.
    merged: list[Article] = []
    by_code: dict[str, Article] = {}
    for article in sorted(articles, key=lambda a: a.date):
        if article.code is None:
            merged.append(article)
            continue
        first = by_code.get(article.code)
        if first is None:
            by_code[article.code] = article
            merged.append(article)
        else:
            first.categories.extend(c for c in article.categories if c not in first.categories)

    by_category: dict[str, list[Article]] = {slug: [] for slug in labels}
    for article in merged:
        for slug in article.categories:
            if slug in by_category:
                by_category[slug].append(article)
    for slug, items in by_category.items():
        write_feeds(slug, f"{site['title']} - {labels[slug]}", items, site, limit, out, labels)
    write_feeds("all", site["title"], merged, site, limit, out, labels)
    print(f"{len(articles)} posts, {len(merged)} articles, {len(by_category) + 1} feed pairs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
