"""The ``feeds`` command: thin commands over :mod:`feeds.pipeline`.

Exit codes: 0 success; 1 ``check`` found problems / a run failed; 2 bad config
or bad usage.  User errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import click

from feeds import __version__, pipeline
from feeds.config import DEFAULT_CONFIG, Settings, load
from feeds.errors import ConfigError, FeedsError, LockError
from feeds.lock import OutputLock
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


def _settings(path: Path) -> Settings:
    try:
        return load(path)
    except ConfigError as exc:
        _fail(f"config error: {exc}", 2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feeds")
def main() -> None:
    """Generate per-category and combined RSS 2.0 + Atom feeds from Jekyll-style
    posts and remote feeds.

    \b
    Example:
        feeds build -c config/feeds.toml
    """


@main.command()
@config_option
@click.option("--force", is_flag=True, help="Poll every remote source now, even those not due or backing off.")
def build(config_path: Path, force: bool) -> None:
    """Poll the remote sources that are due, read the posts, merge, and write the feeds.

    Bad posts and failing sources are reported with one line each on stderr; the
    rest are built.  State (fetch validators, collected items, the post cache)
    is kept in the state store, so running this from cron is as polite as the
    daemon and a rebuild reads only changed posts.

    \b
    Example:
        feeds build -c config/feeds.toml
    """
    settings = _settings(config_path)
    progress, on_total, close = _progress_bar()
    try:
        with OutputLock(settings.output.dir), _store(settings) as store:
            report = pipeline.build(
                settings, store=store, force=force, report=_err, progress=progress, on_total=on_total
            )
    except LockError as exc:
        close()
        if force and exc.holder:  # a daemon keeps this folder: ask it to poll everything now instead
            try:
                os.kill(exc.holder, signal.SIGUSR1)
            except OSError as error:
                _fail(f"{exc} (and it cannot be signalled: {error.strerror})", 1)
            _err(f"feeds: a daemon (pid {exc.holder}) writes this output folder: asked it to poll every source now")
            return
        _fail(f"{exc}; `feeds build --force` asks a running daemon to poll every source now", 1)
    except FeedsError as exc:
        close()
        _fail(str(exc), 1)
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
def run(config_path: Path, log_level: str, node: str | None, output_dir: Path | None) -> None:
    """Run as a daemon: build once, then poll each source at its interval.

    One log line per poll on stderr.  SIGTERM or Ctrl-C stops it cleanly (exit 0).
    A second process writing the same output folder is refused.

    \b
    Example:
        feeds run -c config/feeds.toml --log-level info
    """
    settings = _settings(config_path)
    if output_dir is not None:
        settings = replace(settings, output=replace(settings.output, dir=output_dir.absolute()))
    if node is not None:
        settings = replace(settings, node=node)
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, getattr(logging, log_level.upper())))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from feeds import daemon

    try:
        with OutputLock(settings.output.dir), _store(settings, node) as store:
            daemon.run(settings, store)
    except FeedsError as exc:
        _fail(str(exc), 1)


@main.command()
@config_option
def status(config_path: Path) -> None:
    """Show each source: type, last success, last error, failures, items held, next due.

    \b
    Example:
        feeds status -c config/feeds.toml
    """
    settings = _settings(config_path)
    try:
        if not store_exists(settings):
            click.echo(f"no state yet at {display_store(settings)}: run `feeds build` or `feeds run` first")
            return
        with _store(settings) as store:
            click.echo(status_table(settings, store))
    except FeedsError as exc:
        _fail(str(exc), 1)


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
    rows = ", ".join(f"{count} {table}" for table, count in done.counts.items())
    again = " (an earlier copy replaced)" if done.replaced else ""
    _err(f"feeds: copied {settings.state_path} into {display_url(url)}{again}; verified: {rows}")
    _err('feeds: now set [state] url = "…" in the config (and remove state.path)')


@main.command()
@config_option
def check(config_path: Path) -> None:
    """Validate the config and every post without writing anything.

    Lists every problem as "file: reason"; exits 1 if there is any, else 0.

    \b
    Example:
        feeds check -c config/feeds.toml
    """
    settings = _settings(config_path)
    problems = pipeline.check(settings)
    for line in problems:
        click.echo(line)
    if problems:
        _err(f"{len(problems)} problem(s) found")
        sys.exit(1)
    _err("config and posts OK")


def _store(settings: Settings, node: str | None = None) -> Store:
    return open_store(settings, node=node)


def _progress_bar() -> tuple[Callable[[int], None] | None, Callable[[int], None] | None, Callable[[], None]]:
    """A tqdm bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None, None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="post", file=sys.stderr, leave=False, mininterval=0.2, delay=0.5)

    def on_total(n: int) -> None:
        bar.total = (bar.total or 0) + n
        bar.refresh()

    return bar.update, on_total, bar.close
