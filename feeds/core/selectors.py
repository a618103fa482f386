"""CSS selectors checked before use (cssselect lives here: the config validates, the stages select).

Pure: a selector is compiled to XPath once, and why it is not usable is one line;
``selector@attribute`` (a list page's fields) is split here too.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

_ATTRIBUTE = re.compile(r"^(?P<css>.*?)\s*@(?P<attr>[A-Za-z_:][-A-Za-z0-9_:.]*)$", re.S)


class Pick(NamedTuple):
    """A field's selector: CSS (empty: the element itself) and the attribute to read (None: its text)."""

    css: str
    attribute: str | None


def split_selector(text: str) -> Pick:
    """``"a.t@href"`` -> Pick("a.t", "href"); ``"span.time"`` -> Pick("span.time", None); ``"@href"``: the item's."""
    match = _ATTRIBUTE.match(text.strip())
    if match:
        return Pick(match.group("css").strip(), match.group("attr"))
    return Pick(text.strip(), None)


@lru_cache(maxsize=256)
def check_selector(selector: str) -> str | None:
    """Why ``selector`` is not a usable CSS selector, or None."""
    from cssselect import GenericTranslator, SelectorError

    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        return f"bad CSS selector: {exc}"
    return None
