"""YAML front matter of a post: split it from the body and read it into a dict.

Front matter made of plain ``key: value`` lines (what the site's scraper writes)
is read by a small exact reader, about 20x faster than YAML; anything else
(lists, block scalars, escapes…) goes through python-frontmatter's YAML handler.
YAML that is broken but whose intent is clear is read as plain lines, with a
warning.  python-frontmatter and PyYAML live here and nowhere else.
"""

from __future__ import annotations

import re
from typing import Any

from feeds.core.text import clean_text

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


OPENING = re.compile(r"\A\ufeff?---[ \t]*\r?\n")


_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)


_UNSAFE_PLAIN = frozenset("[]{}&*!|>%@`#\"',?:-")


class _Slow(Exception):
    """The header is not plain ``key: value`` lines: use the YAML reader."""


def split_front_matter(text: str) -> tuple[str, int] | None:
    """(front matter text, offset of the body), or None when there is none."""
    opening = OPENING.match(text)
    if not opening:
        return None
    start = opening.end()
    if text.startswith(("---", "..."), start) and _CLOSE.match(text, start):  # empty front matter
        closing = _CLOSE.match(text, start)
        assert closing is not None
        return "", closing.end()
    closing = _CLOSE.search(text, start)
    if not closing:
        return None
    return text[start : closing.start()], closing.end()


def _plain_value(raw: str) -> str | None:
    """The value of ``key: raw`` exactly as YAML reads it, or raise :class:`_Slow`."""
    value = raw.strip()
    if not value or value == "~" or value in ("null", "Null", "NULL"):
        return None
    first = value[0]
    if first == '"':
        inner = value[1:-1]
        if len(value) >= 2 and value[-1] == '"' and '"' not in inner and "\\" not in inner:
            return inner
        raise _Slow
    if first == "'":
        inner = value[1:-1]
        if len(value) >= 2 and value[-1] == "'" and "'" not in inner:
            return inner
        raise _Slow
    if first in _UNSAFE_PLAIN or " #" in value or "\t#" in value or ": " in value or value[-1] == ":":
        raise _Slow
    return value


def _fast_header(header: str) -> dict[str, Any]:
    """Front matter of plain ``key: value`` lines, read exactly as YAML would."""
    data: dict[str, Any] = {}
    for line in header.split("\n"):
        line = line.removesuffix("\r")
        if not line or line.isspace() or line.lstrip().startswith("#"):
            continue
        key, sep, rest = line.partition(":")
        if not sep or not _KEY.match(key) or (rest and rest[0] not in " \t"):
            raise _Slow
        data[key] = _plain_value(rest)
    return data


MAX_DEPTH = 32  # nesting of lists/mappings in front matter
MAX_NODES = 20_000  # values visited, counting every use of a YAML alias
MAX_CHARS = 4 * 1024 * 1024  # characters of text visited, counting every use of a YAML alias
_BLOCK_ENTRY = re.compile(r"^[ \t]*((?:[-?:][ \t]+)*)", re.MULTILINE)


def _nesting_problem(header: str) -> str | None:
    """Why ``header`` is nested too deeply for YAML to be trusted with it (its C parser recurses)."""
    depth = deepest = 0
    for char in header:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    if deepest > MAX_DEPTH * 4:
        return f"front matter is nested too deeply ({deepest} levels of brackets)"
    for match in _BLOCK_ENTRY.finditer(header):
        if len(match.group(0)) > MAX_DEPTH * 16:
            return "front matter is nested too deeply (indentation)"
    return None


def check_bounded(data: object) -> None:
    """Raise ValueError when ``data`` (read YAML) is too big or too deep to be turned into text.

    PyYAML shares the object of an alias with every use of it, so ``&a [*b, *b…]``
    nested a few times is small in memory but astronomically large once walked
    or turned into a string: the walk counts every use and stops at the budget.
    """
    nodes = chars = 0
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ValueError(f"front matter is too large (more than {MAX_NODES} values, counting YAML aliases)")
        if depth > MAX_DEPTH:
            raise ValueError(f"front matter is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))
        elif isinstance(value, list | tuple | set):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str | bytes):
            chars += len(value)
            if chars > MAX_CHARS:
                raise ValueError(f"front matter is too large (more than {MAX_CHARS} characters, counting YAML aliases)")


def _yaml_header(header: str) -> dict[str, Any]:
    import frontmatter
    import yaml

    problem = _nesting_problem(header)
    if problem:
        raise ValueError(problem)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = frontmatter.YAMLHandler().load(header, Loader=loader)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"front matter is a {type(data).__name__}, not key: value pairs")
    check_bounded(data)
    return data


_LENIENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")


def _lenient_header(header: str) -> dict[str, Any] | None:
    """Read broken YAML whose intent is clear: every line ``key: value``.

    Real scrapers write titles like ``title: "他说"不"了"``: the value is taken
    as everything after the first colon, one pair of outer quotes removed.
    """
    data: dict[str, Any] = {}
    for line in header.split("\n"):
        line = line.removesuffix("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LENIENT.match(line)
        if not match:
            return None
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        data[key] = value or None
    return data


def read_front_matter(header: str) -> tuple[dict[str, Any], str | None]:
    """(data, warning).  Raises ValueError when the front matter cannot be read.

    Characters XML forbids (which YAML forbids too) are dropped first.
    """
    header = clean_text(header)
    try:
        return _fast_header(header), None
    except _Slow:
        pass
    import yaml

    try:
        return _yaml_header(header), None
    except (RecursionError, MemoryError):
        raise ValueError("front matter is too large or nested too deeply for YAML") from None
    except (OverflowError, TypeError, AttributeError) as exc:  # a YAML value Python cannot hold
        raise ValueError(f"front matter has a value that cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        reason = _yaml_reason(exc)
        data = _lenient_header(header)
        if data is None:
            raise ValueError(f"front matter is not valid YAML: {reason}") from None
        return data, f"front matter is not valid YAML ({reason}); read it as plain 'key: value' lines"


def _yaml_reason(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} at line {mark.line + 2}, column {mark.column + 1}"
    return str(problem)


