# ruff: noqa: E501  (the Hugo templates are long lines)
"""A Hugo site over a feeds posts folder that produces what ``feeds build`` produces, as closely as Hugo can.

    python benchmarks/hugosite.py CONFIG SITE_DIR      # writes SITE_DIR; then: hugo -s SITE_DIR

The site reads the very same post files: ``SITE_DIR/content`` is a symbolic link
to the config's posts folder (Hugo parses the Jekyll front matter as is: ``title``,
``date`` with its offset, ``categories``, ``tags``; ``layout`` is ignored).  What
it writes, into ``SITE_DIR/public``:

| feeds (`out/`)                          | Hugo (`public/`)                                  |
|-----------------------------------------|---------------------------------------------------|
| `rss.xml`, `atom.xml` (newest 50)       | `rss.xml`, `atom.xml` of the home page (newest 50)|
| `category/<slug>/rss.xml`, `atom.xml`   | `categories/<term>/rss.xml`, `atom.xml`           |
| `index.html`, `category/<slug>/index.html` | `index.html`, `categories/<term>/index.html`   |
| `feeds.opml`                            | `feeds.opml` (home page output format)            |

Each RSS item: title, link, a plain-text excerpt (`.Plain | truncate 150`) as
``<description>``, the full HTML (``.Content``, goldmark with raw HTML kept) as
``<content:encoded>``, guid, one ``<category>`` per category (its display title
from the config's ``[categories]``, via ``data/categories.toml``) and per tag,
``pubDate``, ``dc:creator``.  Atom the same as ``<entry>``.  The HTML pages: the
site title, a link to every category's page, subscribe links, the 50 newest
items with their date, categories (linked) and excerpt, and feeds' own inline
CSS (``feeds/output/templates/style.css``), so the pages weigh about the same.

Single post pages are not written (``_build.render = "link"`` through a
``cascade``): feeds writes none either (an item links to the site's own page).
Section pages, the taxonomy overview, the sitemap, ``robots.txt`` and ``404.html``
are disabled.  What Hugo does NOT do that feeds does: merging the copies of an
article filed twice (same infoCode), sanitising the HTML, cutting the trailing
source/back-link lines and turning them into a "原文" link, stable tag: ids, a state
store and change detection (Hugo rewrites every output file on every build), the
category slug kept as written (Hugo's term URL drops the ``·``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
LIMIT = 50

CONFIG = """\
baseURL = {url}
title = {title}
languageCode = {language}
hasCJKLanguage = true
contentDir = "content"
publishDir = "public"
disableKinds = ["section", "taxonomy", "sitemap", "robotsTXT", "404"]
ignoreErrors = ["error-disable-taxonomy"]
enableRobotsTXT = false
timeZone = {timezone}

[params]
author = {author}
description = {description}

[taxonomies]
category = "categories"

[markup.goldmark.renderer]
unsafe = true   # keep the posts' HTML paragraphs (feeds keeps them too, sanitised)

[[cascade]]
[cascade._build]
render = "link"   # no page per post (feeds writes none), but keep its permalink for the feeds
list = "always"
[cascade._target]
kind = "page"

[mediaTypes."application/atom+xml"]
suffixes = ["xml"]
[mediaTypes."text/x-opml"]
suffixes = ["opml"]

[outputFormats.RSS]
baseName = "rss"
[outputFormats.Atom]
mediaType = "application/atom+xml"
baseName = "atom"
rel = "alternate"
[outputFormats.OPML]
mediaType = "text/x-opml"
baseName = "feeds"
rel = "alternate"

[outputs]
home = ["HTML", "RSS", "Atom", "OPML"]
term = ["HTML", "RSS", "Atom"]
"""

# The items of a list: the whole site for the home page, the term's pages for a category.
PAGES = "{{- $pages := first " + str(LIMIT) + " (cond .IsHome site.RegularPages .Pages) -}}\n"
TITLE = (
    "{{- $title := site.Title -}}{{- if not .IsHome -}}"
    '{{- $title = printf "%s · %s" site.Title (index site.Data.categories .Data.Term) -}}{{- end -}}\n'
)
CATS = "{{- $cats := slice | append .Params.categories -}}{{- $tags := slice | append .Params.tags -}}\n"

RSS = (
    PAGES
    + TITLE
    + """{{ printf "<?xml version=\\"1.0\\" encoding=\\"UTF-8\\"?>" | safeHTML }}
<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">
  <channel>
    <title>{{ $title }}</title>
    <link>{{ .Permalink }}</link>
    <description>{{ site.Params.description }}</description>
    {{ with .OutputFormats.Get "RSS" }}<atom:link href="{{ .Permalink }}" rel="self" type="application/rss+xml"/>{{ end }}
    <generator>Hugo</generator>
    <language>{{ site.LanguageCode }}</language>
    {{ with index $pages 0 }}<lastBuildDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</lastBuildDate>{{ end }}
{{- range $pages }}
"""
    + CATS
    + """    <item>
      <title>{{ .Title }}</title>
      <link>{{ .Permalink }}</link>
      <description>{{ .Plain | truncate 150 }}</description>
      <content:encoded>{{ .Content | html }}</content:encoded>
      <guid isPermaLink="false">{{ .Permalink }}</guid>
{{- range $cats }}
      <category>{{ index site.Data.categories . | default . }}</category>
{{- end }}
{{- range $tags }}
      <category>{{ . }}</category>
{{- end }}
      <pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
      <dc:creator>{{ site.Params.author }}</dc:creator>
    </item>
{{- end }}
  </channel>
</rss>
"""
)

ATOM = (
    PAGES
    + TITLE
    + """{{ printf "<?xml version=\\"1.0\\" encoding=\\"UTF-8\\"?>" | safeHTML }}
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{{ site.LanguageCode }}">
  <id>{{ .Permalink }}</id>
  <title>{{ $title }}</title>
  {{ with index $pages 0 }}<updated>{{ .Date.Format "2006-01-02T15:04:05-07:00" | safeHTML }}</updated>{{ end }}
  <author><name>{{ site.Params.author }}</name></author>
  <link href="{{ .Permalink }}"/>
  {{ with .OutputFormats.Get "Atom" }}<link href="{{ .Permalink }}" rel="self"/>{{ end }}
  <generator>Hugo</generator>
  <subtitle>{{ site.Params.description }}</subtitle>
{{- range $pages }}
"""
    + CATS
    + """  <entry>
    <id>{{ .Permalink }}</id>
    <title>{{ .Title }}</title>
    <updated>{{ .Lastmod.Format "2006-01-02T15:04:05-07:00" | safeHTML }}</updated>
    <author><name>{{ site.Params.author }}</name></author>
    <content type="html">{{ .Content | html }}</content>
    <link href="{{ .Permalink }}" rel="alternate"/>
    <summary>{{ .Plain | truncate 150 }}</summary>
{{- range $cats }}
    <category term="{{ . }}" label="{{ index site.Data.categories . | default . }}"/>
{{- end }}
    <published>{{ .Date.Format "2006-01-02T15:04:05-07:00" | safeHTML }}</published>
  </entry>
{{- end }}
</feed>
"""
)

OPML = """{{ printf "<?xml version=\\"1.0\\" encoding=\\"UTF-8\\"?>" | safeHTML }}
<opml version="2.0">
  <head><title>{{ site.Title }}</title></head>
  <body>
    <outline type="rss" text="{{ site.Title }}" title="{{ site.Title }}" xmlUrl="{{ (.OutputFormats.Get "RSS").Permalink }}" htmlUrl="{{ .Permalink }}" />
{{- range site.Taxonomies.categories.Alphabetical }}
{{- with .Page }}
    <outline type="rss" text="{{ site.Title }} · {{ index site.Data.categories .Data.Term }}" title="{{ site.Title }} · {{ index site.Data.categories .Data.Term }}" xmlUrl="{{ (.OutputFormats.Get "RSS").Permalink }}" htmlUrl="{{ .Permalink }}" />
{{- end }}
{{- end }}
  </body>
</opml>
"""

HTML = (
    PAGES
    + TITLE
    + """<!DOCTYPE html>
<html lang="{{ site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ $title }}</title>
{{- range .AlternativeOutputFormats }}
<link rel="alternate" type="{{ .MediaType.Type }}" title="{{ $title }} ({{ .Name }})" href="{{ .Permalink }}">
{{- end }}
<style>
{{ site.Data.style.css | safeCSS }}
</style>
</head>
<body>
<header class="top"><div class="wrap">
<a class="brand" href="{{ site.Home.RelPermalink }}">{{ site.Title }}</a>
<nav><ul class="tabs">
<li><a href="{{ site.Home.RelPermalink }}"{{ if .IsHome }} aria-current="page"{{ end }}>全部文章</a></li>
{{- $here := .RelPermalink }}
{{- range site.Taxonomies.categories.Alphabetical }}{{ with .Page }}
<li><a href="{{ .RelPermalink }}"{{ if eq .RelPermalink $here }} aria-current="page"{{ end }}>{{ index site.Data.categories .Data.Term }}</a></li>
{{- end }}{{ end }}
</ul></nav>
</div></header>
<main class="wrap">
<h1>{{ $title }}</h1>
<p class="lead">{{ site.Params.description }}</p>
<section class="subscribe"><h2>订阅</h2><ul>
{{- range .AlternativeOutputFormats }}
<li><a class="format" href="{{ .RelPermalink }}" type="{{ .MediaType.Type }}">{{ .Name }}</a><code class="url">{{ .Permalink }}</code></li>
{{- end }}
</ul></section>
<section><h2>最新文章</h2><ol class="items">
{{- range $pages }}
<li class="item">
<h3><a href="{{ .Permalink }}">{{ .Title }}</a></h3>
<p class="meta"><time datetime="{{ .Date.Format "2006-01-02T15:04:05-07:00" }}">{{ .Date.Format "2006-01-02 15:04" }}</time>
<span class="source">{{ site.Title }}</span>
{{- range .GetTerms "categories" }} <a class="cat" href="{{ .RelPermalink }}">{{ index site.Data.categories .Data.Term | default .Title }}</a>{{ end }}</p>
<p class="excerpt">{{ .Plain | truncate 150 }}</p>
</li>
{{- end }}
</ol></section>
</main>
</body>
</html>
"""
)


def toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def posts_folder(config: Path) -> Path:
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    posts = [s for s in data.get("sources", []) if s.get("type") == "posts"]
    if len(posts) != 1:
        raise SystemExit(f"{config}: expected exactly one posts source")
    return (config.parent / posts[0]["path"]).resolve()


def make_site(config: Path, site: Path) -> Path:
    """Write the Hugo site for ``config``'s posts into ``site`` (idempotent); returns ``site``."""
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    info = data["site"]
    site.mkdir(parents=True, exist_ok=True)
    (site / "config.toml").write_text(
        CONFIG.format(
            url=toml_str(info["url"]),
            title=toml_str(info["title"]),
            language=toml_str(info.get("language", "zh-CN")),
            timezone=toml_str(info.get("timezone", "Asia/Shanghai")),
            author=toml_str(info.get("author", "")),
            description=toml_str(info.get("description", "")),
        ),
        encoding="utf-8",
    )
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True, exist_ok=True)
    (layouts / "list.rss.xml").write_text(RSS, encoding="utf-8")
    (layouts / "list.atom.xml").write_text(ATOM, encoding="utf-8")
    (layouts / "list.html").write_text(HTML, encoding="utf-8")
    (site / "layouts" / "index.opml.opml").write_text(OPML, encoding="utf-8")
    # The home page uses list.html / list.rss.xml / list.atom.xml too (no index.* for those).
    datadir = site / "data"
    datadir.mkdir(exist_ok=True)
    cats = data.get("categories", {})
    (datadir / "categories.toml").write_text(
        "".join(f"{toml_str(slug)} = {toml_str(title)}\n" for slug, title in cats.items()), encoding="utf-8"
    )
    style = (PROJECT / "feeds" / "output" / "templates" / "style.css").read_text(encoding="utf-8")
    (datadir / "style.toml").write_text(f"css = '''\n{style}'''\n", encoding="utf-8")
    link = site / "content"
    target = posts_folder(config)
    if link.is_symlink() or link.exists():
        if link.is_symlink() and Path(os.readlink(link)) == target:
            return site
        link.unlink()
    link.symlink_to(target, target_is_directory=True)
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("site", type=Path)
    args = parser.parse_args(argv)
    print(make_site(args.config.resolve(), args.site.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
