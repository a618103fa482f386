"""The text of a fetched HTML page, in the encoding it was written in (charset-normalizer lives here).

In order: a byte-order mark; the HTTP header's ``charset``; the page's own
``<meta charset>`` or ``<meta http-equiv="Content-Type">``; else detected.  A
declared encoding is used only when the bytes decode in it (a server that says
UTF-8 about a GBK page is common), and the labels pages use are read as the
WHATWG Encoding Standard reads them (``gb2312``/``gbk`` -> GB18030, ``big5`` ->
Big5-HKSCS, ``iso-8859-1`` -> windows-1252).
"""

from __future__ import annotations

import codecs
import re

_META = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]{1,40})""", re.IGNORECASE)
_HEADER = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]{1,40})""", re.IGNORECASE)
_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "cp936": "gb18030",
    "euc-cn": "gb18030", "big5": "big5hkscs", "x-x-big5": "big5hkscs", "cp950": "big5hkscs",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
}  # fmt: skip
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_SNIFF = 4096  # bytes searched for a <meta> declaration
_DETECT = 200_000  # bytes given to the detector


def _codec(label: str | None) -> str | None:
    """The Python codec of an encoding label, or None for an unknown one."""
    if not label:
        return None
    name = _ALIASES.get(label.strip().lower(), label.strip().lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _strict(body: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(the page's text, the encoding it was read in)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, "replace"), codec
    declared = []
    if content_type and (match := _HEADER.search(content_type)):
        declared.append(_codec(match.group(1)))
    if match := _META.search(body[:_SNIFF]):
        declared.append(_codec(match.group(1).decode("ascii")))
    for codec in declared:
        text = _strict(body, codec)
        if text is not None:
            return text, str(codec)
    if (text := _strict(body, "utf-8")) is not None:
        return text, "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(body[:_DETECT]).best()
    codec = _codec(best.encoding) if best is not None else None
    codec = codec or next((c for c in declared if c), None) or "gb18030"
    return body.decode(codec, "replace"), codec
