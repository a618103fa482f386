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
    spans: tuple[tuple[int, int], ...] = ()  # where each complete entry is in the body (start, end)
    closers: tuple[bytes, ...] = ()  # after each entry: the end tags of the elements still open there

    def up_to(self, body: bytes, count: int) -> bytes:
        """The body up to the end of its ``count``-th complete entry, every open element closed."""
        return body[: self.spans[count - 1][1]] + self.closers[count - 1]


def _local(name: bytes) -> bytes:
    return name.rpartition(b":")[2].lower()


def complete_entries(body: bytes) -> Cut | None:
    """The body up to the end of its last complete entry, closed; None when it has none
    or is not in an ASCII-compatible encoding (UTF-16/32)."""
    head = body[:4]
    if b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    stack: list[tuple[bytes, int]] = []  # open elements: (name, where the tag starts)
    entries = 0
    last_end = 0
    closers: list[bytes] = []
    spans: list[tuple[int, int]] = []
    for match in _TOKEN.finditer(body):
        closing, name, attrs = match.group(1), match.group(2), match.group(3)
        if name is None:
            continue
        if not closing:
            if not attrs.rstrip().endswith(b"/"):
                stack.append((name, match.start()))
            continue
        if all(held != name for held, _ in stack):
            continue  # a stray close tag: the strict parser will refuse the result anyway
        while stack:
            held, start = stack.pop()
            if held == name:
                break
        if _local(name) in _ENTRY_NAMES:
            entries += 1
            last_end = match.end()
            closers.append(b"".join(b"</" + held + b">" for held, _ in reversed(stack)))
            spans.append((start, last_end))
    if not entries:
        return None
    return Cut(body[:last_end] + closers[-1], entries, tuple(spans), tuple(closers))


def well_formed_prefix(body: bytes, cut: Cut) -> int:
    """How many of the cut's entries, from the first, are each well-formed on their own: every ``<``
    in it starts a tag (or a comment, CDATA...) and every tag opened in it is closed in order.
    A body that even cut is not well-formed may hold junk that closes an entry cut in its middle
    (``<link>…</link</item>``).  Bytes, so any ASCII-compatible encoding (none of GBK's, Big5's or
    Shift_JIS's second bytes is a ``<``)."""
    for count, (start, end) in enumerate(cut.spans):
        stack: list[bytes] = []
        pos = start
        for match in _TOKEN.finditer(body, start, end):
            if body.find(b"<", pos, match.start()) != -1:
                return count
            pos = match.end()
            closing, name, attrs = match.group(1), match.group(2), match.group(3)
            if name is None:
                continue
            if not closing:
                if not attrs.rstrip().endswith(b"/"):
                    stack.append(name)
            elif not stack or stack.pop() != name:
                return count
        if stack or body.find(b"<", pos, end) != -1:
            return count
    return len(cut.spans)


def count_entries(body: bytes) -> int:
    """How many entries of ``body`` are closed (0 for an encoding this cannot read)."""
    cut = complete_entries(body)
    return cut.entries if cut else 0


class Entries(NamedTuple):
    frame: bytes  # what every entry is read within: the prolog and the start tags enclosing the entries
    spans: tuple[tuple[int, int], ...]  # each entry (start, end), in order


def split_entries(body: bytes) -> Entries | None:
    """The entries of a complete body, and what they are read within (their frame: an entry's bytes
    and its frame make its item).  None when the body is not complete (an element left open or closed
    out of order), is not in an ASCII-compatible encoding, or its entries do not all sit in one
    parent, side by side (an entry inside another, entries in two places, an empty ``<item/>``)."""
    head = body[:4]
    if b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    stack: list[tuple[bytes, int, int]] = []  # open elements: (name, where the start tag starts, ends)
    spans: list[tuple[int, int]] = []
    frame: bytes | None = None
    root = -1
    for match in _TOKEN.finditer(body):
        closing, name, attrs = match.group(1), match.group(2), match.group(3)
        if name is None:
            continue
        if root < 0:
            root = match.start()
        if not closing:
            if not attrs.rstrip().endswith(b"/"):
                stack.append((name, match.start(), match.end()))
            elif _local(name) in _ENTRY_NAMES:
                return None
            continue
        if not stack or stack[-1][0] != name:
            return None
        _, start, _ = stack.pop()
        if _local(name) in _ENTRY_NAMES:
            around = body[:root] + b"".join(body[s:e] for _, s, e in stack)
            if frame is None:
                frame = around
            elif around != frame or start < spans[-1][1]:
                return None
            spans.append((start, match.end()))
    if stack or frame is None:
        return None
    return Entries(frame, tuple(spans))
