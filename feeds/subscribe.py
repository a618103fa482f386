"""``feeds add URL`` and ``feeds import FILE.opml``: remote sources added to the config, in place.

Both edit the config with :mod:`feeds.config.edit` (comments and layout kept,
the result checked by the config parser before it is written atomically) and
never add a URL the config already has (URLs compared by
:func:`~feeds.core.safety.url_key`).  A source is named by its feed's title
(``add``) or its outline's (``import``), made unique among the sources' names.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import click

from feeds.config import DEFAULT_CONFIG, Settings, load
from feeds.config.edit import add_sources
from feeds.core.errors import ConfigError, FeedsError, display, one_line
from feeds.core.safety import safe_url, url_key
from feeds.core.text import clean_line, counted

_config = click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                       default=DEFAULT_CONFIG, show_default=True, help="The TOML config file.")  # fmt: skip
_category = click.option("--category", default=None, metavar="SLUG",
                         help="The category the source's items are filed under.")  # fmt: skip


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"feeds: {one_line(message)}", err=True)
    sys.exit(code)


def _settings(path: Path) -> Settings:
    try:
        return load(path)
    except ConfigError as exc:
        _fail(f"config error: {exc}", 2)


def unique_name(title: str, url: str, taken: set[str]) -> str:
    """``title`` (else the URL's host) as a source name no other source has: "Name", "Name (2)"…"""
    base = clean_line(title)[:180] or (urlsplit(url).hostname or "feed")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} ({n})"
    taken.add(name)
    return name


def _subscribed(settings: Settings) -> dict[str, str]:
    """The config's remote sources: URL key -> source name."""
    return {url_key(s.url): s.name for s in settings.sources if s.url}


def _table(name: str, url: str, category: str | None) -> dict[str, str]:
    table = {"name": name, "type": "feed", "url": url}
    if category:
        table["category"] = category
    return table


@click.command()
@_config
@_category
@click.option("--name", default=None, help="The source's name (default: the feed's title).")
@click.argument("url")
def add(config_path: Path, category: str | None, name: str | None, url: str) -> None:
    """Add the feed at URL (or the first feed its page offers) to the config as a remote source.

    Reads the config and fetches URL (with the [fetch] limits): a feed is added
    as it is; a web page's feeds are found through its <link rel="alternate">
    (RSS, Atom, JSON Feed): the first that feeds reads is added, the others are
    listed.  The source is named by the feed's title.  Writes the config in
    place (comments and layout kept, checked before it is written); a URL the
    config has already is not added again.  Exit 1, the config untouched, when
    URL offers no feed.

    \b
    Example:
        feeds add https://news.example.org/
        feeds add https://news.example.org/rss.xml --category markets
    """
    from feeds.sources.discover import discover

    settings = _settings(config_path)
    link = safe_url(url.strip())
    if link is None:
        _fail(f"{url}: not an http(s) URL", 1)
    subscribed = _subscribed(settings)
    if url_key(link) in subscribed:
        click.echo(f"{link}: already a source ({subscribed[url_key(link)]!r}): nothing changed")
        return
    import asyncio  # (only this command: not imported for every feeds command)

    try:
        found = asyncio.run(discover(link, settings.fetch))
    except FeedsError as exc:
        _fail(str(exc), 1)
    feed = found.chosen
    if url_key(feed.url) in subscribed:
        click.echo(f"{feed.url}: already a source ({subscribed[url_key(feed.url)]!r}): nothing changed")
        return
    taken = {s.name for s in settings.sources}
    if name is not None and name in taken:
        _fail(f"--name {name!r}: a source has that name already", 1)
    chosen = name or unique_name(feed.title, feed.url, taken)
    try:
        add_sources(config_path, [_table(chosen, feed.url, category)])
    except FeedsError as exc:
        _fail(str(exc), 1)
    where = f" (found in {found.page})" if found.page else ""
    click.echo(f"added {chosen!r}: {feed.kind} feed {feed.url}{where}, to {display(config_path)}")
    for other in found.others:
        title = f" {other.title!r}" if other.title else ""
        click.echo(f"  also offered: {other.kind} feed{title} {other.url}")
    click.echo("next: feeds build")


@click.command("import")
@_config
@click.argument("opml_file", metavar="FILE.opml", type=click.Path(dir_okay=False, path_type=Path))
def import_opml(config_path: Path, opml_file: Path) -> None:
    """Add every subscription of an OPML file (a feed reader's export) to the config.

    Reads the config and FILE.opml (nothing is fetched).  Each feed outline is
    added once as a remote source named by its title, with the folder it is in
    (the innermost, when folders are nested) as its category; feeds the config
    has already are left out.  Writes the config in place (comments and layout
    kept, checked before it is written).  A file that is not OPML, too large or
    declares entities is refused (exit 1, the config untouched).

    \b
    Example:
        feeds import subscriptions.opml
    """
    from feeds.sources.opml import read_opml

    settings = _settings(config_path)
    try:
        data = opml_file.read_bytes()
    except OSError as exc:
        _fail(f"{display(opml_file)}: cannot read: {exc.strerror or exc}", 1)
    try:
        subscriptions, skipped = read_opml(data, display(opml_file))
    except FeedsError as exc:
        _fail(str(exc), 1)
    for line in skipped:
        click.echo(one_line(line), err=True)
    subscribed = _subscribed(settings)
    taken = {s.name for s in settings.sources}
    tables = []
    already = 0
    for sub in subscriptions:
        if url_key(sub.url) in subscribed:
            already += 1
            continue
        tables.append(_table(unique_name(sub.title, sub.url, taken), sub.url, sub.folder))
    if tables:
        try:
            add_sources(config_path, tables)
        except FeedsError as exc:
            _fail(str(exc), 1)
    click.echo(f"{display(opml_file)}: {counted(len(tables), 'source')} added to {display(config_path)}, "
               f"{already} already there, {len(skipped)} skipped")  # fmt: skip
    if tables:
        click.echo("next: feeds build")

