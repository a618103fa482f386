"""The subscriptions of an OPML file (``feeds import``): each feed outline's URL, title and folder.

Every outline with an ``xmlUrl`` is a subscription; the outline it sits in (one
without an ``xmlUrl``: a folder) gives its folder, the innermost one when
folders are nested.  A URL listed twice (compared by :func:`~feeds.core.safety.url_key`)
is one subscription.  An OPML file is input from elsewhere: one that declares a
DOCTYPE or entities, is larger than :data:`MAX_BYTES`, holds more than
:data:`MAX_SUBSCRIPTIONS` subscriptions, is not well-formed XML or not OPML is
refused with one line (:class:`OpmlError`); nothing is fetched while reading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from feeds.core.errors import FeedsError, one_line
from feeds.core.safety import safe_url, url_key
from feeds.core.text import clean_line

MAX_BYTES = 10 * 1024 * 1024
MAX_SUBSCRIPTIONS = 10_000
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class OpmlError(FeedsError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(one_line(f"{path}: {reason}"))


@dataclass(frozen=True, slots=True)
class Subscription:
    """One feed of an OPML file: its URL, its title ("" when none) and its folder (None when none)."""

    url: str
    title: str
    folder: str | None


def _attr(element: object, name: str) -> str:
    """An outline attribute, its name matched case-insensitively (``xmlUrl``, ``xmlurl``…)."""
    attrib = element.attrib  # type: ignore[attr-defined]
    value = attrib.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in attrib.items() if isinstance(k, str) and k.lower() == lower), None)
    return value or ""


def read_opml(data: bytes, where: str) -> tuple[list[Subscription], list[str]]:
    """(the subscriptions in document order, each URL once; one line per outline skipped), or OpmlError."""
    import lxml.etree

    if len(data) > MAX_BYTES:
        raise OpmlError(where, f"too large ({len(data)} bytes, the limit is {MAX_BYTES}): refused")
    if _DECLARATION.search(data):
        raise OpmlError(where, "declares a DOCTYPE or entities, which an OPML file has no use for: refused")
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise OpmlError(where, f"not well-formed XML: {exc}") from None
    except (lxml.etree.LxmlError, ValueError) as exc:
        raise OpmlError(where, f"cannot be read as XML: {exc}") from None
    if not isinstance(root.tag, str) or lxml.etree.QName(root).localname.lower() != "opml":
        raise OpmlError(where, f"not an OPML file (its root element is <{lxml.etree.QName(root).localname}>)")
    found: list[Subscription] = []
    skipped: list[str] = []
    seen: set[str] = set()
    body = next((e for e in root if isinstance(e.tag, str) and lxml.etree.QName(e).localname.lower() == "body"), None)
    stack = [(child, None) for child in reversed(body)] if body is not None else []
    while stack:
        element, folder = stack.pop()
        if not isinstance(element.tag, str) or lxml.etree.QName(element).localname.lower() != "outline":
            continue
        name = clean_line(_attr(element, "title") or _attr(element, "text"))[:200]
        raw = _attr(element, "xmlUrl").strip()
        if not raw:  # a folder: its outlines are in it
            stack.extend((child, name or folder) for child in reversed(element))
            continue
        url = safe_url(raw)
        if url is None:
            skipped.append(f"{where}: outline {name!r}: xmlUrl {one_line(raw[:200])!r} is not an http(s) URL: skipped")
            continue
        if url_key(url) in seen:
            continue
        seen.add(url_key(url))
        found.append(Subscription(url, name, folder))
        if len(found) > MAX_SUBSCRIPTIONS:
            raise OpmlError(where, f"more than {MAX_SUBSCRIPTIONS} subscriptions: refused")
    return found, skipped
