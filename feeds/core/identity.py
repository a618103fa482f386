"""Which article is this?  The article id ``infoCode`` and the identity key.

An item's identity key decides which items are the same article (merged into
one) and, through :func:`stable_id`, the guid/id readers see forever.  In order:

1. ``infocode:<code>``  the infoCode: front matter, else the first URL in the
   post/entry that matches an identity pattern (named group ``code``);
2. ``link:<url>``       the link with tracking parameters (``utm_*``) removed;
3. ``guid:<guid>``      a remote entry's guid/id;
4. ``hash:<sha1>``      title + date, when there is nothing else.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PATTERNS: tuple[str, ...] = (r"[?&;]infoCode=(?P<code>[A-Za-z0-9_.\-]+)",)

# The part of a URL after "//" inside HTML attributes, Markdown links/autolinks or
# plain text: it stops at whitespace, quotes and brackets.
_URL_REST = re.compile(r"""[^\s<>"'()\[\]{}|\\^`]+""")


def iter_urls(text: str) -> Iterator[str]:
    """Every http(s) or protocol-relative URL in ``text``, in order.

    Found by looking for ``//`` (fast: a post has a handful) and extending to
    the scheme before it and the end of the URL after it.
    """
    find = text.find
    pos = find("//")
    while pos != -1:
        rest = _URL_REST.match(text, pos + 2)
        if rest is None:
            pos = find("//", pos + 2)
            continue
        end = rest.end()
        if text.endswith(("https:", "HTTPS:"), 0, pos):
            yield text[pos - 6 : end]
        elif text.endswith(("http:", "HTTP:"), 0, pos):
            yield text[pos - 5 : end]
        elif pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] in ":/"):
            yield text[pos:end]  # protocol-relative
        pos = find("//", end)


TRACKING_PREFIXES = ("utm_",)


class Identity:
    """Compiled identity patterns (validated by the config)."""

    __slots__ = ("patterns",)

    def __init__(self, patterns: Sequence[str] = DEFAULT_PATTERNS) -> None:
        self.patterns = tuple(re.compile(p) for p in patterns)

    def code_in_url(self, url: str) -> str | None:
        for pattern in self.patterns:
            match = pattern.search(url)
            if match:
                code = match.group("code")
                if code:
                    return code
        return None

    def code_in_urls(self, urls: Iterable[str]) -> str | None:
        for url in urls:
            code = self.code_in_url(url)
            if code:
                return code
        return None

    def code_in_text(self, text: str) -> str | None:
        """The code of the first URL in ``text`` that matches a pattern."""
        return self.code_in_urls(iter_urls(text))


def strip_tracking(url: str) -> str:
    """``url`` without ``utm_*`` query parameters and fragment, host lower-cased."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not k.lower().startswith(TRACKING_PREFIXES)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, query, ""))


def item_key(
    *,
    info_code: str | None,
    link: str | None,
    guid: str | None,
    title: str,
    date: datetime | None,
) -> str:
    """The identity key of an article (see the module docstring)."""
    if info_code:
        return f"infocode:{info_code}"
    if link:
        return f"link:{strip_tracking(link)}"
    if guid:
        return f"guid:{guid.strip()}"
    stamp = date.isoformat() if date else ""
    digest = hashlib.sha1(f"{title}\n{stamp}".encode()).hexdigest()
    return f"hash:{digest}"


def stable_id(key: str, authority: str) -> str:
    """The guid/Atom id of an item: a ``tag:`` URI that depends only on the key.

    ``authority`` is the site's host name.  infoCodes are kept readable; other
    keys (URLs, arbitrary guids) are hashed so the id is always a valid URI.
    """
    kind, _, value = key.partition(":")
    if kind == "infocode" and re.fullmatch(r"[A-Za-z0-9_.\-]+", value):
        specific = f"infocode:{value}"
    else:
        specific = f"{kind}:{hashlib.sha1(value.encode()).hexdigest()[:24]}"
    return f"tag:{authority},2000:{specific}"


def fingerprint(*parts: object) -> str:
    """A stable digest of ``parts`` (their ``str``): what changes when any of them does."""
    return hashlib.sha1("\x1e".join(map(str, parts)).encode()).hexdigest()
