"""Reading TOML tables: typed keys, durations, defaults taken from the settings dataclasses.

Each ``[table]`` of the config is a frozen dataclass in its config module; a
field declared with :func:`key` is a config key, and its default, type, parser
and check are written there once.  :meth:`TableReader.read` builds the dataclass
from a table, and :meth:`TableReader.done` refuses any key nobody asked for: a
misspelt key is an error naming it (and the key it looks like), never silently
ignored, and never reported as the key it misspells being "required".
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from feeds.core.errors import ConfigError

T = TypeVar("T")
Check = Callable[[Any], str | None]  # why a value is wrong, or None

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


def between(low: float, high: float, what: str = "") -> Check:
    """A check: the value lies in ``[low, high]`` (NaN does not)."""

    def check(value: Any) -> str | None:
        if low <= value <= high:
            return None
        return f"must be between {low:g} and {high:g}{what}, got {value!r}"

    return check


def key(
    default: Any = dataclasses.MISSING,
    *,
    kind: type | tuple[type, ...] | None = None,
    parse: Callable[[Any], Any] | None = None,
    check: Check | None = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A dataclass field that is a config key: its default, and how a value is read.

    ``kind``: the TOML type(s) accepted (default: the default's type; a float also takes an
    integer); ``parse``: converts the TOML value (a ValueError/TypeError names the key);
    ``check``: why a read value is wrong, or None.
    """
    if kind is None and parse is None and default is not dataclasses.MISSING and default is not None:
        kind = (int, float) if isinstance(default, float) else type(default)
    metadata = {"config": True, "kind": kind, "parse": parse, "check": check}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def config_keys(cls: type) -> list[str]:
    """The config keys of a settings dataclass, in declaration order."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("config")]


def default_of(cls: type, name: str) -> Any:
    """The default a settings dataclass declares for one of its fields."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            return f.default
    raise KeyError(name)


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
                raise self.missing(name, "is required")
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

    def values(self, cls: type, names: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The config keys of ``cls`` (or ``names`` of them) that this table sets, read and checked."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            meta = f.metadata
            if not meta.get("config") or (names is not None and f.name not in names):
                continue
            self.used.add(f.name)
            if f.name not in self.table:
                continue
            if meta["parse"] is not None:
                value = self.convert(f.name, meta["parse"], None)
            else:
                value = self.get(f.name, meta["kind"] or object)
                if isinstance(value, int) and not isinstance(value, bool) and meta["kind"] == (int, float):
                    value = float(value)
            if meta["check"] is not None and (problem := meta["check"](value)):
                raise self.fail(f.name, problem)
            out[f.name] = value
        return out

    def read(self, cls: type[T], **derived: Any) -> T:
        """``cls`` from this table: the keys it sets, the declared defaults for the rest; ``derived``
        gives fields that are not keys (or defaults that depend on other tables).  Unknown keys fail."""
        values = {**derived, **self.values(cls)}
        self.done()
        return cls(**values)

    def missing(self, name: str, reason: str) -> ConfigError:
        """The error for the required key ``name`` that the table lacks: when a key not read yet looks
        like it (``titel``, ``nmae``), that key is named as unknown instead (the typo is the problem)."""
        typo = _looks_like(name, [k for k in self.table if k not in self.used])
        if typo is not None:
            return self.fail(typo, f"unknown key: did you mean {name!r}? ({self.key(name)} {reason})")
        return self.fail(name, reason)

    def known(self, cls: type) -> None:
        """Refuse now any key of this table that is not a config key of ``cls`` (before a required key
        is looked for: a misspelt one is named as unknown, not reported as the key missing)."""
        self.used.update(config_keys(cls))
        self.done()

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            like = _looks_like(unknown[0], sorted(self.used))
            hint = f"did you mean {like!r}? " if like else ""
            raise self.fail(unknown[0], f"unknown key ({hint}known keys here: {known})")


def _looks_like(name: str, candidates: list[str]) -> str | None:
    """The one of ``candidates`` that ``name`` looks like (a misspelling either way), or None;
    case and ``-``/``_`` do not count."""
    fold = {c.lower().replace("-", "_"): c for c in candidates if isinstance(c, str)}
    found = difflib.get_close_matches(name.lower().replace("-", "_"), list(fold), n=1, cutoff=0.6)
    return fold[found[0]] if found else None


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
