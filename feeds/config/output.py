"""``[output]``: where the feeds and pages are written, in which formats, and where they are served."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feeds.config.paths import resolve
from feeds.config.reader import TableReader, between, key, type_name
from feeds.config.site import http_url
from feeds.core.registry import FORMATS


def _formats(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"must be an array, not {type_name(type(value))}")
    names = ", ".join(f'"{name}"' for name in FORMATS)
    for fmt in value:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r} (choose from {names})")
    if not value:
        raise ValueError("must name at least one format")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """``[output]``."""

    dir: Path = key(Path("out"), kind=str)  # relative to the config's folder
    url: str = key("", parse=http_url)  # where dir is served (self links); default: see read_output
    formats: tuple[str, ...] = key(("rss", "atom"), parse=_formats)
    limit: int = key(50, check=between(1, 100_000))  # newest items per feed and page
    templates: Path | None = key(None, kind=str)  # a folder of page templates that win over the bundled ones
    url_set: bool = True  # False: url was derived (site.url, or the served address when [serve] listen is set)


def read_output(r: TableReader, base: Path, default_url: str) -> OutputSettings:
    """``default_url``: where the output is served when ``url`` is not set (the served address or site.url)."""
    output = r.read(OutputSettings, url=default_url, url_set="url" in r.table)
    templates = resolve(base, str(output.templates)) if output.templates is not None else None
    if templates is not None and not templates.is_dir():
        why = "is not a folder (it holds page templates, e.g. feed.html)"
        raise r.fail("templates", f"{str(output.templates)!r} {why}")
    return OutputSettings(dir=resolve(base, str(output.dir)), url=output.url, formats=output.formats,
                          limit=output.limit, templates=templates, url_set=output.url_set)  # fmt: skip
