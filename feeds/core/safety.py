"""The one policy for everything that reaches a feed, a page or the OPML.

* :func:`safe_url`: only absolute http(s) URLs, after normalisation (whitespace
  and control characters removed, scheme compared case-insensitively);
  everything else (``javascript:``, ``vbscript:``, ``data:``, ``ws:``…) is ``None``.
* :func:`sanitize_html`: the one allow-list sanitiser (nh3 lives here and
  nowhere else) for every piece of HTML, local or remote, whatever its declared type.
* :func:`plain_text`: text that a reader may treat as HTML, with anything that
  looks like a tag removed; :func:`text_as_html` escapes it for a place a reader
  renders as HTML (an RSS ``<description>``).
* Titles are text: nothing is removed from them (``How I use <script> tags``);
  each format escapes them (:func:`escape_text` where HTML is expected).
* :func:`readable_url`: a URL as a person reads it (``…/category/a·b/rss.xml``, not
  ``…/a%C2%B7b/…``), for text only: links keep the encoded URL.
"""

from __future__ import annotations

import contextlib
import html as htmllib
import re
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import nh3

from feeds.core.text import clean_text, is_http_url

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "a", "img", "ul", "ol", "li", "blockquote", "pre", "code",
        "em", "strong", "b", "i", "u", "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "col", "colgroup",
        "figure", "figcaption", "span", "div", "sup", "sub", "hr",
    }
)  # fmt: skip
_CELL_ATTRS = frozenset({"colspan", "rowspan", "width", "height"})
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "*": frozenset({"title"}),
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "td": _CELL_ATTRS,
    "th": _CELL_ATTRS,
    "table": frozenset({"width"}),
    "col": frozenset({"width"}),
}
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
_NH3_OPTIONS: dict[str, Any] = {
    "tags": set(ALLOWED_TAGS),
    "attributes": {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    "url_schemes": set(URL_SCHEMES),
}
MAX_NESTING = 200  # deeper HTML is flattened by the sanitiser's parser anyway; keep the walk bounded

# Whitespace, C0/C1 controls and the invisible/bidi formatting characters a URL may be disguised with.
_URL_JUNK = re.compile("[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
# Something that a browser would read as the start of a tag, a comment or a declaration.
_ESCAPED_TAG = re.compile(r"&lt;(?=[A-Za-z/!?])[^<>&]*(?:&(?!gt;)[^<>&]*)*&gt;")
_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])[^<>]*(?:>|\Z)")


def normalise_url(url: object) -> str:
    """``url`` without the characters browsers ignore in a URL (whitespace, controls, invisibles)."""
    if not isinstance(url, str):
        return ""
    return _URL_JUNK.sub("", url)


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def safe_email(value: object) -> str:
    """``value`` when it is a plain e-mail address (``name@host``, ASCII, at most 254 characters), else ""."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    return text if len(text) <= 254 and _EMAIL.fullmatch(text) else ""


def public_url(url: object) -> str | None:
    """:func:`safe_url` without the user name and password a URL may carry (``https://u:p@host/``):
    for showing a source's URL to the world."""
    text = safe_url(url)
    if text is None:
        return None
    parts = urlsplit(text)
    if "@" not in parts.netloc:
        return text
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _percent(text: str) -> str:
    """``%XX`` escapes of unreserved characters decoded, the others' hex upper-cased (RFC 3986, 6.2.2)."""
    parts = text.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        code = part[:2]
        if len(code) == 2 and all(c in "0123456789abcdefABCDEF" for c in code):
            char = chr(int(code, 16))
            out.append((char if char in _UNRESERVED else "%" + code.upper()) + part[2:])
        else:
            out.append("%" + part)
    return "".join(out)


_ESCAPED_RUN = re.compile(r"(?:%[89a-fA-F][0-9a-fA-F])+")  # escaped bytes >= 0x80: UTF-8 of a non-ASCII character


def readable_url(url: str) -> str:
    """``url`` with its escaped non-ASCII characters shown as themselves (an IRI, RFC 3987 3.2): what
    a person reads and can paste into a reader.  Escaped ASCII (``%20``, ``%2F``, ``%25``) stays, as
    does anything that is not UTF-8 or not printable (bidi controls, spaces): nothing changes meaning."""

    def decoded(match: re.Match[str]) -> str:
        raw = match.group()
        try:
            text = bytes.fromhex(raw.replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            return raw
        return text if text.isprintable() else raw

    return _ESCAPED_RUN.sub(decoded, url)


def url_key(url: str) -> str:
    """What two spellings of the same URL share (to never subscribe to one twice): scheme and host
    lower-cased, the default port, a fragment and needless escapes dropped, an empty path "/"."""
    text = normalise_url(url)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    netloc = host if port is None or port == {"http": 80, "https": 443}.get(scheme) else f"{host}:{port}"
    if parts.username is not None:
        netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
    path, query = (_percent(quote(part, safe="%/:@!$&'()*+,;=?[]")) for part in (parts.path, parts.query))
    return urlunsplit((scheme, netloc, path or "/", query, ""))


def safe_url(url: object, base: str | None = None) -> str | None:
    """``url`` as an absolute http(s) URL, or None when it is anything else.

    Relative and protocol-relative URLs are resolved against ``base`` when one is
    given (itself an http(s) URL); the scheme is lower-cased.
    """
    text = normalise_url(url)
    if not text:
        return None
    if base is not None and ":" not in text.split("/", 1)[0]:
        from urllib.parse import urljoin

        base_text = normalise_url(base)
        if not is_http_url(base_text):
            return None
        try:
            text = urljoin(base_text, text)
        except ValueError:
            return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def sanitize_html(html: str, base_url: str) -> str:
    """Make links absolute against ``base_url``, then keep only safe article markup."""
    if not html or not isinstance(html, str):
        return ""
    html = clean_text(html)
    if not html.strip():
        return ""
    # Relative and protocol-relative URLs are resolved by nh3 itself, because
    # most readers ignore xml:base; without an http(s) base only ``//host/``
    # links can be made absolute (with http).
    relative = ("rewrite_with_base", base_url) if is_http_url(base_url) else _protocol_relative
    # Text that spells a tag (``&lt;img onerror=…&gt;``) is harmless once escaped, but it
    # is a tag again wherever a reader unescapes it once too often: it is dropped.
    return _ESCAPED_TAG.sub("", clean_text(nh3.clean(html, url_relative=relative, **_NH3_OPTIONS)))


def _protocol_relative(url: str) -> str:
    return f"http:{url}" if url.startswith("//") else url


def strip_tags(html: str) -> str:
    """The text of an HTML fragment (tags dropped, entities still escaped)."""
    return nh3.clean(html, tags=set())


def plain_text(text: str) -> str:
    """Plain text with anything a reader could take for markup (``<img …>``, ``</x``, ``<!--``) removed."""
    if "<" not in text:
        return text
    return _TAG_LIKE.sub("", text)


def escape_text(text: str) -> str:
    """Text as HTML that shows exactly that text (nothing removed: a title)."""
    return htmllib.escape(text, quote=False)


def text_as_html(text: str) -> str:
    """Plain text escaped for a place a reader renders as HTML."""
    return htmllib.escape(plain_text(text), quote=False)
