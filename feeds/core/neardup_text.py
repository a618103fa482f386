"""The comparable text of an article, and its unit sequence (for :mod:`feeds.core.neardup`).

Pure functions.  What republishers change is taken out before anything is
compared, in both widths (``（文章来源：…）`` and ``(文章来源:…)``):

* URLs (the ``<http…?infoCode=…>`` link line), source, editor and proof-reader
  lines (``（文章来源：中国证券报）``, ``来源：…``, ``责任编辑：…``, ``（编辑 王明）``);
* a headline suffix naming an outlet (``｜证券时报``, ``_21世纪经济报道``) or a
  label (``【快讯】``);
* editorial lines a republisher adds: a dateline (``中证网讯（记者 李华）``), a
  byline line (``本报记者 王明 北京报道``), an outlet's dateline whose name the headline's suffix
  gives as well (``…｜资本观察`` and ``资本观察讯 …``), an editor's note or digest paragraph
  (``编者按：…``, ``【导读】…``), an image caption line (``图为…``, ``图片来源：…``).
  Two republications that each added a *different* one of these in the same
  place would otherwise look like a template filled in differently;
* full-/half-width forms (NFKC), case, whitespace and punctuation; a number cut
  by a line break (a hard-wrapped paragraph) is one number again.

:func:`units` cuts the result at line breaks, sentence ends, brackets and title
separators (never inside a number or a time) into units (see
:mod:`feeds.core.neardup_verify`): each the hash and length of its skeleton (numbers
replaced by a placeholder) and its numbers in canonical form.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from feeds.core.neardup_verify import SEP, Unit, unit_hash

MAX_UNITS = 400  # units kept per text (a 6 KB article has about 80): bounds a sketch's bytes and cost

# Each pattern starts with a literal or a character class, so that `re` scans for it fast.
_URL = re.compile(r"https?://[^\s<>\"'()（）]+|//[^\s<>\"'()（）]+|www\.[^\s<>\"'()（）]+")  # lower-cased text
_LABELS = r"(?:文章来源|本文来源|图片来源|来源|责任编辑|编辑|原标题|作者|记者|校对|审核)"
_SOURCE_BRACKET = re.compile(rf"[(（\[【]\s*{_LABELS}(?:\s*[:：]|\s)[^)）\]】\n]*[)）\]】]")
# A label, then ONE name (no spaces or sentence punctuation: a whitespace-joined article must
# not lose its next sentence), then a date/time; only at the start of a line or after a
# sentence (checked in _source_line).
_SOURCE_LINE = re.compile(
    rf"{_LABELS}\s*[:：]\s*[^\s,，。;；!?！？]{{1,30}}"
    r"(?:\s*\d{4}[-/－／年]\d{1,2}[-/－／月]\d{1,2}日?(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?)?"
)
_LINE_START = frozenset(" \t\n\r\u3000。.!?！？")
# A dateline at the start of a paragraph, often glued to its first sentence: an outlet's "…讯"
# (本报讯, 中证网讯, 财联社讯: the outlet ends in 报/网/社/台/端, so 中兴通讯 is no dateline), with a
# reporter's bracket or not, or an agency's "…社北京1月25日电"; before the source brackets.
_DATELINE = re.compile(
    r"^[ \t\u3000]*(?:[^\s,，。;；!?！？]{0,14}[报网社台端]讯"
    r"|[^\s,，。;；!?！？]{0,12}[社网报][^\s,，。;；!?！？\d]{0,8}\d{1,2}月\d{1,2}日电)"
    r"(?:\s*[(（]\s*记者[^)）\n]{0,24}[)）])?[ \t\u3000:：]*",
    re.MULTILINE,
)
# Editorial lines, matched after folding (ASCII brackets and colons): whole lines only.
_EDITORIAL = re.compile(
    r"^[ \t]*(?:"
    r"[^\s,，。;!?]{0,14}记者[ \t]+[^\s,，。;!?]{2,8}(?:[ \t]+[^\s,，。;!?]{2,8})?[ \t]*$"  # 本报记者 王明 北京报道
    r"|(?:编者按|【编者按】|【导读】|导读:)[^\n]*$"
    r"|\(?(?:图为|图片来源|图源|资料图|摄影)[^\n]{0,60}$"
    r")",
    re.MULTILINE,
)
_OUTLET = r"[^|｜_＿—–\-－\s]{0,12}(?:报|网|社|刊|台|报道|新闻|财经|客户端|app|号)(?:[·・][^|｜_＿—–\-－\s]{1,10})?"
_TITLE_SUFFIX = re.compile(rf"\s*(?:[|｜_＿]|——|\s[—–\-－]\s)\s*{_OUTLET}\s*$")
# Any name after a title separator at the end: an outlet only when the body's first line confirms it
# with that name's dateline ("｜资本观察" and "资本观察讯 …"; see _named_dateline).
_TITLE_NAME = re.compile(r"(?:[|｜_＿]|——|\s[—–\-－]\s)\s*([^|｜_＿—–\-－\s]{2,12})\s*$")
_OPENING = 200  # characters of the body where a dateline is looked for
_TITLE_LABEL = re.compile(
    r"^\s*[【\[](?:快讯|独家|重磅|关注|最新|突发|聚焦|热点|原创|视频|图解|早报|晚报|直击)[】\]]\s*"
)
_TITLE_SEPARATOR = re.compile(r"——|\s[-–—]\s|_")  # become "|": a title's parts are units
# NFKC of the full-width forms U+FF01-FF5E and U+3000.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FULL_WIDTH_CHAR = re.compile("[\uff01-\uff5e\u3000]")
_WRAPPED_NUMBER = re.compile(r"(\d[.,]?)[ \t]*\n\s*(?=[.,]?\d)")  # a number cut by a line break
_DIGIT = re.compile(r"\d")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")  # after folding: ASCII separators, any Unicode digit
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
# Unit boundaries, once each number is one "0" (no decimal point or time colon is left): line
# breaks, sentence ends, brackets, "|"; any other character that is not a word character goes.
_BOUNDARY = r"\n。!?;|()\[\]【】〔〕「」『』《》.:"
_UNIT_SPLIT = re.compile(f"[{_BOUNDARY}]+")
_STRIP = re.compile(rf"[^\w{_BOUNDARY}]+|_+")
_NOT_WORD = re.compile(r"[\W_]+")
_WORD = re.compile(r"[^\W_]")


def _fold(text: str) -> str:
    """Full-width forms to ASCII, then NFKC when anything else needs it (rare: checked first).

    Speed: a text holds a few distinct full-width forms ("，：（）％"), each replaced with
    str.replace (C); str.translate would look every character up in a dict (4x slower).
    """
    for char in set(_FULL_WIDTH_CHAR.findall(text)):
        text = text.replace(char, chr(_FULL_WIDTH[ord(char)]))
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _source_line(match: re.Match[str]) -> str:
    start, text = match.start(), match.string
    return " " if start == 0 or text[start - 1] in _LINE_START else match.group()


def _named_dateline(title: str, body: str) -> tuple[str, str]:
    """Title and body without an outlet that names itself twice: after the title's separator and as the
    body's dateline (``…｜资本观察`` and ``资本观察讯 …``).  An outlet whose name has no usual ending
    (报, 网, 社…) is known only from this evidence; a company name ending in 讯 never is (中兴通讯 is
    not the name the title ends with)."""
    named = _TITLE_NAME.search(title)
    if named:
        dateline = named.group(1) + "讯"
        at = body.find(dateline, 0, _OPENING)
        # at the start of a line of the opening (a byline line may come first)
        if at >= 0 and body[:at].rstrip(" \t\r\u3000")[-1:] in ("", "\n"):
            return title[: named.start()], body[:at] + body[at + len(dateline) :]
    return title, body


def prepare(title: str, text: str) -> tuple[str, str]:
    """(title, body): lower case, folded; without what republishers change (see the module doc)."""
    title, body = title.lower().strip(), text.lower()
    if "讯" in body:
        title, body = _named_dateline(title, body)
    title = _fold(_TITLE_LABEL.sub("", _TITLE_SUFFIX.sub("", title)))
    title = _TITLE_SEPARATOR.sub("|", title)
    if "//" in body or "www." in body:
        body = _URL.sub(" ", body)
    if "讯" in body or "电" in body:
        body = _DATELINE.sub(" ", body)
    if any(label in body for label in ("来源", "编辑", "原标题", "校对", "审核", "作者", "记者")):
        body = _SOURCE_BRACKET.sub(" ", body)
        body = _SOURCE_LINE.sub(_source_line, body)
    body = _fold(body)
    if any(mark in body for mark in ("记者", "编者按", "导读", "图")):
        body = _EDITORIAL.sub(" ", body)
    if "\n" in body:
        body = _WRAPPED_NUMBER.sub(r"\1", body)
    return title, body


def words(text: str) -> str:
    """``text`` without punctuation and whitespace."""
    return _NOT_WORD.sub("", text)


def normalise(title: str, text: str) -> str:
    """The comparable text of an article: what the MinHash shingles."""
    return words("\n".join(prepare(title, text)))


def number_token(raw: str) -> str:
    """A number in canonical form: "01" → "1", "5.20" → "5.2", "1,234" → "1234" ("1,2" is a list)."""
    if raw.isdigit() and raw.isascii():
        return raw.lstrip("0") or "0"
    if not raw.isascii():
        raw = unicodedata.normalize("NFKC", raw)  # other scripts' digits
    if _THOUSANDS.fullmatch(raw):
        raw = raw.replace(",", "")
    out = []
    for part in raw.split(","):
        whole, dot, frac = part.partition(".")
        whole = whole.lstrip("0") or "0"
        frac = frac.rstrip("0")
        out.append(f"{whole}.{frac}" if dot and frac else whole)
    return ",".join(out)


def numbers(title: str, text: str) -> frozenset[str]:
    """The numbers and dates of an article as canonical tokens (source lines and URLs left out)."""
    found = (raw for part in prepare(title, text) for raw in _NUMBER.findall(part))
    return frozenset(token for raw in found for token in number_token(raw).split(","))


class Units(NamedTuple):
    """The unit sequence of a text."""

    title: int  # the first ``title`` units are the title's
    items: tuple[Unit, ...]  # (hash, length, numbers)
    contexts: str  # the character before each number, in order (" ": none): for explain


def units(title: str, body: str) -> Units:
    """The units of a prepared (title, body): see the module docstring.

    Speed: each text is scanned a few times in C (numbers found, then each replaced by one
    "0"; punctuation stripped; split at the boundaries); per unit, only its hash is computed.
    """
    items: list[Unit] = []
    contexts: list[str] = []
    title_units = 0
    for part, text in enumerate((title, body)):
        tokens: list[str] = []
        before: list[str] = []
        if _DIGIT.search(text):
            for m in _NUMBER.finditer(text):
                tokens.append(number_token(m.group()))
                c = text[m.start() - 1] if m.start() else " "
                before.append(c if c.isalpha() else " ")
            text = _NUMBER.sub("0", text)
        at = 0
        pieces = [piece for piece in _UNIT_SPLIT.split(_STRIP.sub("", text)) if piece][: MAX_UNITS - len(items)]
        for piece in pieces:
            count = piece.count("0") if tokens else 0
            items.append((unit_hash(piece), len(piece), SEP.join(tokens[at : at + count]) if count else ""))
            at += count
        contexts.extend(before[:at])
        if part == 0:
            title_units = len(items)
    return Units(title_units, tuple(items), "".join(contexts))


def lines(body: str) -> int:
    """The lines of a prepared body that hold a word."""
    return sum(1 for line in body.split("\n") if _WORD.search(line))


_BLOCKS = ("p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section", "article")


def html_to_text(html: str) -> str:
    """The text of an HTML fragment, one line per block element (so source lines stay lines)."""
    if not html.strip():
        return ""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.LxmlError, ValueError):
        return html
    for element in root.iter(*_BLOCKS):
        element.tail = "\n" + (element.tail or "")
    return root.text_content()
