"""A feed body that was cut off: keep only its complete entries.

A body cut while streaming (or simply not well-formed) must never give items
that the complete body would not: its last entry may end in the middle of a
title, and a title that is a prefix of the real one is a new, wrong item.
:func:`complete_entries` finds where the last complete ``<item>``/``<entry>``
ends and closes the elements still open there, so the strict XML parser reads
exactly the complete entries, byte for byte as the full body has them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_TOKEN = re.compile(
    rb"<!--.*?-->"
    rb"|<!\[CDATA\[.*?\]\]>"
    rb"|<\?.*?\?>"
    rb"|<!DOCTYPE(?:[^>\[]|\[.*?\])*>"
    rb"|<!(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"
    rb"|<(/?)([^\s/>!?<]+)((?:[^>\"'<]|\"[^\"]*\"|'[^']*')*)>",
    re.S | re.I,
)
_ENTRY_NAMES = frozenset({b"item", b"entry"})


class Cut(NamedTuple):
    body: bytes  # the complete entries, every open element closed after them
    entries: int  # how many complete entries it holds


def _local(name: bytes) -> bytes:
    return name.rpartition(b":")[2].lower()


def complete_entries(body: bytes) -> Cut | None:
    """The body up to the end of its last complete entry, closed; None when it has none
    or is not in an ASCII-compatible encoding (UTF-16/32)."""
    head = body[:4]
    if b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    stack: list[bytes] = []
    entries = 0
    last_end = 0
    open_then: list[bytes] = []
    for match in _TOKEN.finditer(body):
        closing, name, attrs = match.group(1), match.group(2), match.group(3)
        if name is None:
            continue
        if not closing:
            if not attrs.rstrip().endswith(b"/"):
                stack.append(name)
            continue
        if name not in stack:
            continue  # a stray close tag: the strict parser will refuse the result anyway
        while stack and stack.pop() != name:
            pass
        if _local(name) in _ENTRY_NAMES:
            entries += 1
            last_end = match.end()
            open_then = list(stack)
    if not entries:
        return None
    return Cut(body[:last_end] + b"".join(b"</" + n + b">" for n in reversed(open_then)), entries)


def count_entries(body: bytes) -> int:
    """How many entries of ``body`` are closed (0 for an encoding this cannot read)."""
    cut = complete_entries(body)
    return cut.entries if cut else 0
