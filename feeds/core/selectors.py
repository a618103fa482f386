"""CSS selectors checked before use (cssselect lives here: the config validates, the stages select).

Pure: a selector is compiled to XPath once, and why it is not usable is one line.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=256)
def check_selector(selector: str) -> str | None:
    """Why ``selector`` is not a usable CSS selector, or None."""
    from cssselect import GenericTranslator, SelectorError

    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        return f"bad CSS selector: {exc}"
    return None
