"""Text and HTML helpers shared by posts and remote feeds.

* :func:`clean_text` removes the characters XML 1.0 forbids (lxml and so
  feedgen raise on them; real scrapers write them).
* :func:`render_markdown` turns a post body (Markdown with inline HTML) into HTML
  (cmarkgfm lives here: GitHub's C implementation of CommonMark, ~10x markdown-it-py).
* :func:`absolutize` makes every relative or protocol-relative ``href``/``src``
  absolute, because most feed readers ignore ``xml:base``.
* :func:`counted` says how many of something: ``1 post``, ``2 posts``.
"""

from __future__ import annotations

import html as htmllib
import re
from functools import cache
from urllib.parse import urlsplit

# XML 1.0 Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section",
    "table", "td", "th", "tr", "ul",
)  # fmt: skip


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return _FORBIDDEN.sub("", text)


def clean_line(text: str) -> str:
    """A title or label: forbidden characters removed, whitespace collapsed."""
    return _SPACES.sub(" ", clean_text(text)).strip()


@cache
def _cmark() -> tuple[object, int]:
    import cmarkgfm
    from cmarkgfm.cmark import Options

    # CommonMark with raw HTML passed through (UNSAFE: the posts mix HTML paragraphs with Markdown
    # lines; the HTML is sanitised after, unless the source is trusted).  Tables and ~~strikethrough~~
    # as in GFM, written as markdown-it-py wrote them (feeds' renderer before): <s>, style="text-align:x".
    options = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE
    return cmarkgfm.markdown_to_html_with_extensions, options | Options.CMARK_OPT_TABLE_PREFER_STYLE_ATTRIBUTES


_EXTENSIONS = ["table", "strikethrough"]
_CELL_ALIGN = re.compile(r'(<t[hd]) style="text-align: (left|center|right)">')


def render_markdown(body: str) -> str:
    render, options = _cmark()
    html: str = render(body, options, _EXTENSIONS)  # type: ignore[operator]
    if "~~" in body:
        html = html.replace("<del>", "<s>").replace("</del>", "</s>")
    if "|" in body and "<t" in html:
        html = _CELL_ALIGN.sub(r'\1 style="text-align:\2">', html)
    return html


def absolutize(html: str, base_url: str) -> str:
    """``html`` with every relative/protocol-relative href/src made absolute against ``base_url``.

    Protocol-relative links (``//host/path``) take the base's scheme (``https:``
    for an https base).  Returns the fragment without a wrapper element, or
    ``html`` unchanged when lxml cannot parse it.
    """
    if not html.strip():
        return ""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
        if is_http_url(base_url):  # joined to an http(s) base, no link is protocol-relative any more
            root.make_links_absolute(base_url, resolve_base_href=True, handle_failures="discard")
        else:
            scheme = "https" if base_url.lower().startswith("https:") else "http"
            root.rewrite_links(lambda link: f"{scheme}:{link}" if link.startswith("//") else link)
    except (lxml.etree.LxmlError, ValueError, TypeError):
        return html
    parts = [root.text or ""]
    parts.extend(lxml.html.tostring(child, encoding="unicode") for child in root)
    return "".join(parts)


def is_http_url(url: str) -> bool:
    """An absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


# A URL written out as text: scheme or protocol-relative ``//host/…``, or ``www.…``.
_BARE_URL = re.compile(
    r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>\"'）」】]*|//[^\s<>\"'）」】]+|\bwww\.[^\s<>\"'）」】]+", re.IGNORECASE
)
_EMPTY_BRACKETS = re.compile(r"[<(（\[【「]\s*[>)）\]】」]")


def without_urls(text: str) -> str:
    """``text`` with the URLs written in it removed (an excerpt is prose, a bare URL is noise)."""
    if "//" not in text and "www." not in text.lower():
        return text
    text = _EMPTY_BRACKETS.sub("", _BARE_URL.sub("", text))
    return _SPACES.sub(" ", text).strip()


def excerpt(html: str, length: int = 200) -> str:
    """The first ``length`` characters of the text of ``html``, without the URLs written in it."""
    if not html.strip():
        return ""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(clean_text(html), create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return ""
    for element in root.iter(*_BLOCK_TAGS):  # "<p>one</p><p>two</p>" reads "one two"
        element.tail = " " + (element.tail or "")
    text = root.text_content()
    text = without_urls(clean_line(text))
    return text if len(text) <= length else text[:length].rstrip() + "…"


_TAG = re.compile(r'<(/?)([A-Za-z][A-Za-z0-9]*)(?:[^>"]|"[^"]*")*>')
_BLOCK = frozenset(_BLOCK_TAGS)


def _tag_gap(match: re.Match[str]) -> str:
    name = match.group(2).lower()
    return " " if name in _BLOCK and (match.group(1) or name in ("br", "hr")) else ""


def sanitized_excerpt(html: str, length: int = 200) -> str:
    """:func:`excerpt` of HTML the sanitiser wrote (every tag well formed, attributes in double quotes,
    no comments), without parsing it again: a block element's end is a space, tags go, entities are
    decoded."""
    if not html.strip():
        return ""
    text = htmllib.unescape(_TAG.sub(_tag_gap, clean_text(html)))
    text = without_urls(clean_line(text))
    return text if len(text) <= length else text[:length].rstrip() + "…"


def summary_text(summary: str, html: str, title: str) -> str:
    """An item's plain-text excerpt in every format: its own summary (at most 300 characters, without
    URLs), else the start of its content's text, else its title."""
    own = without_urls(clean_line(summary))[:300] if summary else ""
    return own or (excerpt(html) if html else "") or clean_line(title)


def counted(n: int, noun: str, plural: str = "") -> str:
    """``n`` and the noun, singular for exactly one: ``1 post``, ``0 posts``, ``3 entries`` (``plural``
    when adding an "s" is wrong)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
