"""The ``feeds`` command: thin commands over :mod:`feeds.pipeline`.

Exit codes: 0 success; 1 ``check`` found problems / a run failed; 2 bad config
or bad usage.  User errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import click

from feeds import __version__, pipeline, subscribe
from feeds.config import DEFAULT_CONFIG, Settings, load, with_listen
from feeds.config.serve import DEFAULT_LISTEN
from feeds.core.errors import ConfigError, FeedsError, LockError, display, one_line
from feeds.core.text import counted
from feeds.progress import progress_bar
from feeds.runtime.lock import OutputLock
from feeds.status import status_table
from feeds.store import Store, display_store, display_url, open_store, store_exists

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    help="The TOML config file.",
)


def _err(message: str) -> None:
    click.echo(message, err=True)


def _fail(message: str, code: int) -> NoReturn:
    _err(f"feeds: {message}")
    sys.exit(code)


@contextmanager
def _one_line_errors(before: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Every failure as one line on stderr and exit 1, never a traceback."""
    try:
        yield
    except FeedsError as exc:
        before()
        _fail(str(exc), 1)
    except OSError as exc:  # an output or state path the layers below did not translate
        before()
        where = f"{display(exc.filename)}: " if exc.filename else ""
        _fail(f"{where}{one_line(exc.strerror or exc)}", 1)
    except (MemoryError, RecursionError) as exc:
        before()
        _fail(f"gave up: {type(exc).__name__} (an input too large or too deeply nested)", 1)


def _settings(path: Path, listen: str | None = None) -> Settings:
    try:
        settings = load(path)
    except ConfigError as exc:
        _fail(f"config error: {exc}", 2)
    try:
        return with_listen(settings, listen)
    except ValueError as exc:
        _fail(f"--listen: {exc}", 2)


listen_option = click.option(
    "--listen",
    metavar="HOST:PORT",
    default=None,
    help="Serve the output folder at this address (default: [serve] listen).",
)


def _logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feeds")
def main() -> None:
    """Generate per-category and combined RSS 2.0 + Atom feeds, and an HTML page
    for each, from Jekyll-style posts and remote feeds.

    build, check, run and status read the config (-c, default
    config/feeds.toml); build and run write the output folder ([output] dir)
    and the state store ([state] path); init writes a starter site; add and
    import add remote sources to the config.

    \b
    Example:
        feeds init mysite && cd mysite && feeds build
        feeds status
    \b
    See README.md, sections "Quick start" and "Commands".
    """


@main.command()
@config_option
@click.option("--force", is_flag=True, help="Poll every remote source now, even those not due or backing off.")
def build(config_path: Path, force: bool) -> None:
    """Poll the remote sources that are due, read the posts, merge, and write the feeds and pages.

    Reads the config, the posts folders, the remote feeds that are due and the
    state store.  Writes into [output] dir: rss.xml, atom.xml, index.html,
    feeds.opml and category/<slug>/{rss.xml,atom.xml,index.html}, only the files
    whose bytes changed; and the state store (fetch validators, collected items,
    the post cache), so running this from cron is as polite as the daemon and a
    rebuild reads only changed posts.

    Bad posts and failing sources are reported with one line each on stderr; the
    rest are built.  A summary line ends it; a progress bar shows on a terminal.

    \b
    Example:
        feeds build -c config/feeds.toml
    \b
    See README.md, sections "Commands" and "Output".
    """
    settings = _settings(config_path)
    progress, on_total, close = progress_bar()
    with _one_line_errors(close):
        try:
            lock = OutputLock(settings.output.dir).acquire()
        except LockError as exc:
            close()
            _busy(exc, force)
            return
        try:
            with _store(settings) as store:
                report = pipeline.build(
                    settings, store=store, force=force, report=_err, progress=progress, on_total=on_total
                )
        finally:
            lock.release()
    close()
    _err(pipeline.summary(report))
    if report.failed:
        sys.exit(1)


@main.command()
@config_option
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    help="How much to log on stderr.",
)
@click.option("--node", default=None, help="This node's name (PostgreSQL store; default: host:output folder).")
@click.option("--output", "output_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the feeds here instead of output.dir (each node of a cluster its own folder).")
@listen_option
def run(config_path: Path, log_level: str, node: str | None, output_dir: Path | None, listen: str | None) -> None:
    """Run as a daemon: build once, then poll each source at its interval.

    Reads and writes what `feeds build` does, continuously: posts folders are
    watched, remote sources polled on schedule, the output folder and the
    state store kept up to date.  One log line per poll on stderr.  SIGTERM or
    Ctrl-C stops it cleanly (exit 0); SIGHUP reloads the config.  A second
    process writing the same output folder is refused.  With --listen (or
    [serve] listen) it also serves the output folder over HTTP.

    \b
    Example:
        feeds run -c config/feeds.toml --log-level info --listen 127.0.0.1:8080
    \b
    See README.md, section "The daemon".
    """
    settings = _settings(config_path, listen)
    if output_dir is not None:
        settings = replace(settings, output=replace(settings.output, dir=output_dir.absolute()))
    if node is not None:
        settings = replace(settings, node=node)
    _logging(log_level)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, getattr(logging, log_level.upper())))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from feeds.daemon import scheduler as daemon

    with _one_line_errors(), OutputLock(settings.output.dir), _store(settings, node) as store:
        daemon.run(settings, store, listen=settings.serve.listen)


@main.command()
@config_option
@listen_option
def serve(config_path: Path, listen: str | None) -> None:
    """Serve the output folder over HTTP (only the files feeds wrote), with /healthz and /metrics.

    The address is --listen, else [serve] listen, else 127.0.0.1:8080.  Another
    process (feeds run, or feeds build from cron) publishes; this one serves.
    SIGTERM or Ctrl-C stops it (exit 0).

    \b
    Example:
        feeds serve -c config/feeds.toml --listen 127.0.0.1:8080
    """
    settings = _settings(config_path, listen)
    _logging("info")
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    from feeds.serving import standalone

    try:
        standalone.run(settings)
    except OSError as exc:
        _fail(f"cannot serve at {settings.serve.listen or DEFAULT_LISTEN}: {exc.strerror or exc}", 1)


@main.command()
@config_option
def status(config_path: Path) -> None:
    """Show each source: type, last success, last error, failures, items held, problems, next due.

    Reads the config and the state store; writes nothing.  Times are local,
    with how long ago or how soon ("3 min ago", "in 4 min").  A posts source
    shows its last scan, its published posts and its bad posts (PROBLEMS;
    `feeds check` names them).

    \b
    Example:
        feeds status -c config/feeds.toml
    \b
    See README.md, section "Commands".
    """
    settings = _settings(config_path)
    with _one_line_errors():
        if not store_exists(settings):
            click.echo(f"no state yet at {display_store(settings)}: run `feeds build` or `feeds run` first")
            return
        with _store(settings) as store:
            click.echo(status_table(settings, store))


@main.command()
@config_option
@click.option("--to", "url", required=True, metavar="postgresql://…",
              help="The PostgreSQL database to copy the SQLite store (state.path) into.")
def migrate(config_path: Path, url: str) -> None:
    """Copy the SQLite store into PostgreSQL (items, source state, caches) and verify the counts.

    The database must be empty or hold an earlier migration of the same file
    (then it is replaced: running this twice is harmless).  Afterwards set
    ``[state] url`` in the config.  The password comes from the URL, PGPASSWORD
    or ~/.pgpass, and is never shown.

    \b
    Example:
        feeds migrate -c config/feeds.toml --to postgresql://feeds@db.example:5432/feeds
    """
    from feeds.store import default_node
    from feeds.store.migrate import migrate as copy_store

    settings = _settings(config_path)
    try:
        done = copy_store(settings.state_path, url, node=default_node(settings.output.dir))
    except FeedsError as exc:
        _fail(str(exc), 1)
    rows = ", ".join(counted(count, {"entries": "entry"}.get(table, table.removesuffix("s")), table)
                     for table, count in done.counts.items())  # fmt: skip
    again = " (an earlier copy replaced)" if done.replaced else ""
    _err(f"feeds: copied {settings.state_path} into {display_url(url)}{again}; verified: {rows}")
    _err('feeds: now set [state] url = "…" in the config (and remove state.path)')


@main.command()
@config_option
def check(config_path: Path) -> None:
    """Validate the config and every post without writing anything.

    Reads the config and every post file; writes nothing (not even the state
    store).  Lists every problem as "file: reason" on stdout; exits 1 if there
    is any, else 0.

    \b
    Example:
        feeds check -c config/feeds.toml
    \b
    See README.md, sections "Configuration" and "Posts".
    """
    settings = _settings(config_path)
    with _one_line_errors():
        problems = pipeline.check(settings)
    for line in problems:
        click.echo(line)
    if problems:
        _err(f"{counted(len(problems), 'problem')} found")
        sys.exit(1)
    _err("config and posts OK")


def _busy(exc: LockError, force: bool) -> None:
    """Another process writes the output folder: with --force, ask it (a daemon) to poll now."""
    if force and exc.holder:
        try:
            os.kill(exc.holder, signal.SIGUSR1)
        except OSError as error:
            _fail(f"{exc} (and it cannot be signalled: {error.strerror})", 1)
        _err(f"feeds: a daemon (pid {exc.holder}) writes this output folder: asked it to poll every source now")
        return
    _fail(f"{exc}; `feeds build --force` asks a running daemon to poll every source now", 1)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(folder: Path) -> None:
    """Write a starter site into FOLDER (default: the current folder).

    Reads nothing.  Writes FOLDER/config/feeds.toml (every section and key,
    commented) and one example post, FOLDER/posts/2025-01-06-welcome.md; never
    overwrites a file (exit 1 and nothing written if one exists).  Then
    `feeds build` in FOLDER writes FOLDER/out/.

    \b
    Example:
        feeds init mysite && cd mysite && feeds build
    \b
    See README.md, section "Starting a site: feeds init".
    """
    from feeds.config.starter import init_site

    try:
        written = init_site(folder)
    except FeedsError as exc:
        _fail(str(exc), 1)
    for path in written:
        click.echo(f"wrote {path}")
    hint = "" if folder == Path(".") else f"cd {folder} && "
    config_file = display(folder / "config" / "feeds.toml")
    click.echo(f"next: set [site] title and url in {config_file} to your site's (url is a placeholder, and "
               f"item ids are fixed by the first real one), then: {hint}feeds build   (then open out/index.html)")


@main.command()
@config_option
@click.argument("item")
def explain(config_path: Path, item: str) -> None:
    """Explain one item: its versions, the winner and why, the near-duplicates
    merged into it, the rules that matched.

    ITEM is an infoCode, a link, an item id, a post's file, or a title (or a
    unique part of one); when several titles match, they are listed (exit 1).

    \b
    Example:
        feeds explain NW202201252261361890
        feeds explain posts/2022-01-25-news.md
        feeds explain "央行开展逆回购"
    """
    settings = _settings(config_path)
    try:
        exists = store_exists(settings)
    except FeedsError as exc:
        _fail(str(exc), 1)
    if not exists:
        _fail(f"no state yet at {display_store(settings)}: run `feeds build` first", 1)
    from feeds.explain import Ambiguous
    from feeds.explain import explain as explain_item

    try:
        with _store(settings) as store:
            lines = explain_item(settings, store, item)
    except Ambiguous as exc:
        for match in exc.matches:
            click.echo(f"{match.article}  {one_line(match.title)}  ({one_line(match.source)})")
        _fail(str(exc), 1)
    except FeedsError as exc:
        _fail(str(exc), 1)
    if lines is None:
        _fail(f"no stored item matches {item!r} (give an infoCode, a link, an item id, a post's file or a title)", 1)
    for line in lines:
        click.echo(line)


@main.command(name="try")
@config_option
@click.argument("source")
def try_(config_path: Path, source: str) -> None:
    """Fetch one remote source now and show what it gives: for a list page (type = "page"),
    what each CSS selector picks in the first items.  Reads the config; writes nothing.

    \b
    Example:
        feeds try shzb
    """
    settings = _settings(config_path)
    from feeds.preview import try_source

    try:
        code, lines = try_source(settings, source)
    except ConfigError as exc:
        _fail(str(exc), 2)
    for line in lines:
        click.echo(line)
    sys.exit(code)


def _store(settings: Settings, node: str | None = None) -> Store:
    return open_store(settings, node=node)


main.add_command(subscribe.add)
main.add_command(subscribe.import_opml)
