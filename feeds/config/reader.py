"""Reading TOML tables for :mod:`feeds.config`: typed keys, durations, errors naming the key.

:class:`TableReader` reads one table (``[site]``, ``sources[2]``…), remembers
which keys it was asked for, and :meth:`TableReader.done` refuses the rest: a
misspelt key is an error naming it, never silently ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from feeds.core.errors import ConfigError

MAX_DURATION = 365 * 86400.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """``"30s"``, ``"10m"``, ``"1h"``, ``"1.5h"`` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError('expected a duration like "30s", "10m" or "1h"')
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError(f'expected a duration like "30s", "10m" or "1h", got {value!r}')
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be a finite number, got {value!r}")
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    if seconds > MAX_DURATION:
        raise ValueError(f"a duration must be at most 365 days, got {value!r}")
    return seconds


class TableReader:
    """Reads one TOML table, remembering which keys were used."""

    def __init__(self, file: str, prefix: str, table: Mapping[str, Any]) -> None:
        self.file = file
        self.prefix = prefix
        self.table = table
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, reason: str) -> ConfigError:
        return ConfigError(self.file, reason, key=self.key(name))

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        self.used.add(name)
        if name not in self.table:
            if required:
                raise self.fail(name, "is required")
            return default
        value = self.table[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are ints in Python: never accept one for a number.
        ok = False if isinstance(value, bool) and bool not in kinds else isinstance(value, kinds)
        if not ok:
            names = " or ".join(type_name(k) for k in kinds)
            raise self.fail(name, f"must be {names}, not {type_name(type(value))} ({value!r})")
        return value

    def convert(self, name: str, func: Callable[[Any], Any], default: Any) -> Any:
        self.used.add(name)
        if name not in self.table:
            return default
        try:
            return func(self.table[name])
        except (ValueError, TypeError) as exc:
            raise self.fail(name, str(exc)) from None

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            raise self.fail(unknown[0], f"unknown key (known keys here: {known})")


def type_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "an array",
        dict: "a table",
    }.get(kind, kind.__name__)


def table(file: str, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(file, f"must be a table ([{name}]), not {type_name(type(value))}", key=name)
    return value
