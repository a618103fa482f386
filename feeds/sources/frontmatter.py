"""YAML front matter of a post, the one wrapper of python-frontmatter and PyYAML: split and read it.

Front matter made of plain ``key: value`` lines (what the site's scraper writes)
is read by a small exact reader, about 20x faster than YAML; anything else
(lists, block scalars, escapes…) goes through python-frontmatter's YAML handler.
Front matter that is not valid YAML is refused with YAML's reason (line and
column), except a free-text line (``title``…) whose text is certain, which is
read as that text with a warning.
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


def _loader() -> type:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_header(header: str) -> dict[str, Any]:
    import frontmatter

    problem = _nesting_problem(header)
    if problem:
        raise ValueError(problem)

    data = frontmatter.YAMLHandler().load(header, Loader=_loader())
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"front matter is a {type(data).__name__}, not key: value pairs")
    check_bounded(data)
    return data


# Keys whose value is free text: a line of one of them that is broken YAML is read as the
# text it plainly spells (and nothing else is ever repaired).
_TEXT_KEYS = ("title", "excerpt", "description", "summary")
_TEXT_LINE = re.compile(r"^(" + "|".join(_TEXT_KEYS) + r")[ \t]*:[ \t]+(.*?)[ \t]*$")


def _spelled_text(value: str) -> str | None:
    """The text a broken free-text YAML value plainly spells, or None when that is not certain.

    Two forms only: ``"他说"不"了"`` (quotes inside a double-quoted value, no escapes:
    the text between the outer quotes) and ``央行: 降准落地`` (an unquoted value with
    ``": "`` in it that starts with no YAML indicator and holds no comment).
    """
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        return inner if '"' in inner and "\\" not in inner else None
    if value and value[0] not in _UNSAFE_PLAIN and ": " in value and " #" not in value and "\t#" not in value:
        return value
    return None


def _repaired(header: str) -> tuple[dict[str, Any], list[str]] | None:
    """The front matter read again with its broken free-text lines quoted, or None.

    A line is repaired only when it alone is not valid YAML and :func:`_spelled_text`
    reads it; the repaired header must then be valid YAML as a whole and give each
    repaired key exactly that text, so a repair never makes up a value (a list, a
    category) that the file does not spell out.
    """
    import yaml

    lines = header.split("\n")
    repaired: dict[str, str] = {}
    for number, line in enumerate(lines):
        match = _TEXT_LINE.match(line.removesuffix("\r"))
        if not match or match.group(1) in repaired:
            continue
        key, value = match.groups()
        text = _spelled_text(value)
        if text is None:
            continue
        try:
            yaml.load(line, Loader=_loader())
            continue  # valid as it is: not this line
        except yaml.YAMLError:
            pass
        quoted = text.replace('"', '\\"')
        lines[number] = f'{key}: "{quoted}"'
        repaired[key] = text
    if not repaired:
        return None
    try:
        data = _yaml_header("\n".join(lines))
    except (yaml.YAMLError, ValueError, RecursionError, OverflowError, TypeError, AttributeError):
        return None
    if any(data.get(key) != text for key, text in repaired.items()):
        return None
    return data, list(repaired)


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
        repaired = _repaired(header)
        if repaired is None:  # skipped: nothing is guessed
            raise ValueError(f"front matter is not valid YAML: {reason}") from None
        data, keys = repaired
        return data, f"front matter is not valid YAML ({reason}); read {', '.join(keys)} as the text it spells"


def _yaml_reason(exc: Exception) -> str:
    """YAML's problem with the line and column in the post file (its ``---`` line is line 1)."""

    def at(mark: Any) -> str:
        return f"line {mark.line + 2}, column {mark.column + 1}"

    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return str(problem)
    reason = f"{problem} at {at(mark)}"
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    nested = context_mark is not None and context_mark.line != mark.line and (context_mark.line or context_mark.column)
    if context and nested:  # where the list or mapping that is not closed began (not the top-level mapping)
        reason += f", {context} at {at(context_mark)}"
    return reason


