"""The ``feeds`` command: thin commands over :mod:`feeds.pipeline`.

Exit codes: 0 success; 1 ``check`` found problems / a run failed; 2 bad config
or bad usage.  User errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click

from feeds import __version__, pipeline
from feeds.config import DEFAULT_CONFIG, Settings, load
from feeds.errors import ConfigError, FeedsError

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
def build(config_path: Path) -> None:
    """Read every source once, merge, and write the feeds.

    Bad posts are skipped with one line each on stderr; the rest are built.

    \b
    Example:
        feeds build -c config/feeds.toml
    """
    settings = _settings(config_path)
    progress, on_total, close = _progress_bar()
    try:
        report = pipeline.build(settings, report=_err, progress=progress, on_total=on_total)
    except FeedsError as exc:
        close()
        _fail(str(exc), 1)
    close()
    _err(pipeline.summary(report))


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
