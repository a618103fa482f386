"""Editing the config file in place, the one wrapper of tomlkit: ``[[sources]]`` added, comments and layout kept.

:func:`add_sources` appends tables to the ``sources`` array (after its last
``[[sources]]``, a blank line between), reads the edited text with the config
parser before anything is written (an edit that makes the config invalid is
refused, the file untouched), and replaces the file atomically (a temporary
file beside it, then a rename), keeping its permissions.  A file changed by
someone else meanwhile is not overwritten.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from feeds.config.settings import Settings, parse
from feeds.core.errors import ConfigError, display


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(display(path), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(display(path), f"not UTF-8 text (byte {exc.start})") from None


def edited(text: str, tables: Sequence[Mapping[str, Any]], where: str) -> str:
    """``text`` (a config) with ``tables`` appended to its ``[[sources]]``, everything else as it was."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError
    from tomlkit.items import AoT, Array

    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(where, f"TOML syntax error: {exc}") from None
    sources = doc.get("sources")
    if sources is None:
        sources = tomlkit.aot()
        doc.append("sources", sources)
    for values in tables:
        if isinstance(sources, Array):  # sources = [{…}, …]: an inline table more
            inline = tomlkit.inline_table()
            inline.update(values)
            sources.append(inline)
            continue
        if not isinstance(sources, AoT):
            raise ConfigError(where, "must be an array of tables ([[sources]])", key="sources")
        table = tomlkit.table()
        for key, value in values.items():
            table.add(key, value)
        if len(sources) and sources[-1].as_string().endswith("\n\n"):
            table.add(tomlkit.nl())  # the blank line that ended the last one now ends this one
        else:
            table.trivia.indent = "\n"
        sources.append(table)
    return tomlkit.dumps(doc)


def add_sources(path: Path, tables: Sequence[Mapping[str, Any]]) -> Settings:
    """Append ``tables`` to the config's ``[[sources]]`` in place; the settings of the edited config.

    Raises ConfigError, the file untouched, when the edited config would not load,
    or when the file changed while it was being edited.
    """
    where = display(path)
    before = _read(path)
    after = edited(before, tables, where)
    try:
        settings = parse(tomllib.loads(after), path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(where, f"the edit would not be valid TOML ({exc}): not written") from None
    except ConfigError as exc:
        raise ConfigError(where, f"the edit would make the config invalid ({exc}): not written") from None
    target = path.resolve()  # a symlinked config: its file is replaced, the link kept
    try:
        mode = target.stat().st_mode & 0o7777
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(after.encode("utf-8"))
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temp, mode)
            if _read(path) != before:
                raise ConfigError(where, "changed by something else while it was being edited: not written; try again")
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(where, f"cannot write: {exc.strerror or exc}") from None
    return settings
