"""Shared checks of the hostile-input suite: the output is safe, the messages are one line each."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import lxml.etree
import lxml.html
from hypothesis import HealthCheck, settings

# Modest example counts and no deadline: the whole suite stays fast on 2 shared cores.
FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
BUILDS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))  # a whole build each
MEDIUM = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))

_URL_ATTRS = {"href", "src", "action", "formaction", "xmlurl", "htmlurl", "background", "poster", "data", "srcset"}
_JUNK = re.compile("[\x00-\x20\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def _scheme_ok(value: str) -> bool:
    text = _JUNK.sub("", value).lower()
    head = text.split("/", 1)[0]
    if ":" not in head:
        return True  # relative
    return text.startswith(("http:", "https:", "mailto:"))


def html_problems(fragment: str, where: str) -> list[str]:
    """Anything in an HTML fragment that a browser would run."""
    problems: list[str] = []
    if not fragment.strip():
        return problems
    try:
        roots = lxml.html.fragments_fromstring(fragment)
    except (lxml.etree.ParserError, ValueError):
        return problems  # text only
    for root in roots:
        if isinstance(root, str):
            continue
        for element in root.iter():
            tag = element.tag if isinstance(element.tag, str) else ""
            if tag.lower() in {"script", "iframe", "object", "embed", "base", "meta", "form", "svg", "style", "link"}:
                problems.append(f"{where}: <{tag}>")
            for name, value in element.attrib.items():
                if name.lower().startswith("on") or name.lower() == "style":
                    problems.append(f"{where}: {name}= on <{tag}>")
                if name.lower() in _URL_ATTRS and not _scheme_ok(value):
                    problems.append(f"{where}: {name}={value!r}")
    return problems


def xml_problems(path: Path) -> list[str]:
    """Every text and attribute of a feed/OPML file: links http(s) only, HTML without active content."""
    data = path.read_bytes()
    root = lxml.etree.fromstring(data, lxml.etree.XMLParser(resolve_entities=False, no_network=True))
    problems: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = lxml.etree.QName(element).localname.lower()
        for name, value in element.attrib.items():
            attr = lxml.etree.QName(name).localname.lower()
            if attr in _URL_ATTRS and not value.lower().startswith(("http://", "https://", "tag:")):
                problems.append(f"{path.name}: <{local} {attr}={value!r}>")
        text = element.text or ""
        scheme_ok = text.strip().lower().startswith(("http://", "https://", "tag:", "urn:"))
        if local in ("link", "guid", "id", "url", "loc") and text.strip() and not scheme_ok:
            problems.append(f"{path.name}: <{local}>{text!r}")
        problems.extend(html_problems(text, f"{path.name} <{local}>"))
    parsed = feedparser.parse(data) if path.suffix == ".xml" else None
    if parsed is not None:
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    return problems


def _safe_link(value: str) -> bool:
    """An absolute http(s) URL, or a link relative to the page (no scheme, not protocol-relative)."""
    if value.lower().startswith(("http://", "https://")):
        return True
    return not urlsplit(value).scheme and not value.startswith(("//", "\\")) and value.isprintable()


def index_problems(path: Path) -> list[str]:
    page = lxml.html.fromstring(path.read_bytes())
    problems = html_problems(lxml.html.tostring(page.body, encoding="unicode"), "index.html")
    for element in page.iter():
        for name, value in element.attrib.items():
            if name.lower() in ("href", "src") and not _safe_link(value):
                problems.append(f"index.html: {name}={value!r}")
            if name.lower().startswith("on"):
                problems.append(f"index.html: {name}=")
    if page.find(".//script") is not None:
        problems.append("index.html: <script>")
    return problems


def output_problems(out: Path) -> list[str]:
    """Everything unsafe in an output folder (empty list: safe)."""
    problems: list[str] = []
    for folder, _, names in os.walk(out):
        for name in names:
            path = Path(folder) / name
            if name.endswith(".xml") or name.endswith(".opml"):
                problems.extend(xml_problems(path))
            elif name == "index.html":
                problems.extend(index_problems(path))
    return problems


def files_below(root: Path) -> set[str]:
    return {str(Path(folder, name).relative_to(root)) for folder, _, names in os.walk(root) for name in names}


def one_line_each(lines: list[str]) -> None:
    for line in lines:
        assert "\n" not in line and "\r" not in line and "\x1b" not in line, line
        assert line.isprintable() or all(c.isprintable() or c == "\t" for c in line), repr(line)
