"""Full text for summary-only sources (``[[sources]] full_text = true``); trafilatura lives here.

For each NEW item of such a source, its link's page is fetched once, with the
same client and limits as the feeds (per-host slots, timeouts, size cap), the
article is extracted with trafilatura (narrowed first by ``full_text_selector``,
a CSS selector, when given), sanitised like any remote HTML, its links made
absolute, and used as the item's content; the feed's own summary stays the
summary.  Every page is remembered in the store (the article, or why not), so
an item is never fetched twice and a rebuild never refetches.  A failure (HTTP,
nothing extracted, much less text than the summary) keeps the feed's content
and is logged once for the item.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from feeds.core.errors import FetchError
from feeds.core.models import Item, Source
from feeds.core.text import excerpt
from feeds.runtime.workers import Workers
from feeds.store import Page, Store

if TYPE_CHECKING:
    from feeds.sources.fetch import Fetcher

log = logging.getLogger("feeds")

MIN_SHARE = 0.5  # an extraction with less text than this share of the summary's is not the article


def _text_length(html: str) -> int:
    from feeds.core.neardup import html_to_text

    return len("".join(html_to_text(html).split()))


def extract(body: bytes, url: str, selector: str | None = None) -> str | None:
    """The article of a page as sanitised HTML with absolute links, or None when nothing is found."""
    import trafilatura
    from lxml import etree
    from lxml import html as lxml_html

    from feeds.sources.feedparse import sanitize_html

    document: bytes | str = body
    if selector:
        try:
            tree = lxml_html.fromstring(body)
            found = tree.cssselect(selector)
        except (etree.LxmlError, ValueError):
            found = []
        if found:
            parts = "".join(lxml_html.tostring(e, encoding="unicode") for e in found)
            document = f"<html><body>{parts}</body></html>"
    article = trafilatura.extract(
        document, url=url, output_format="html", include_links=True, include_comments=False,
        include_tables=True, include_images=False, favor_precision=True, deduplicate=False,
    )  # fmt: skip
    if not article:
        return None
    clean = sanitize_html(article, url)
    return clean if _text_length(clean) else None


def _judge(body: bytes, url: str, selector: str | None, summary: str) -> tuple[str | None, str | None]:
    """(article, None) or (None, why not)."""
    article = extract(body, url, selector)
    if article is None:
        return None, "no article found in the page"
    if _text_length(article) < MIN_SHARE * _text_length(summary):
        return None, "the page's article is much shorter than the feed's summary"
    return article, None


async def _page(source: Source, item: Item, fetcher: Fetcher, workers: Workers | None) -> Page:
    page_source = Source(name=source.name, type="feed", url=item.link, headers=source.headers)
    try:
        result = await fetcher.fetch(page_source)
    except FetchError as exc:
        return Page(item.link, False, "", f"fetch failed: {exc.reason}")
    executor = workers.executor if workers else None
    loop = asyncio.get_running_loop()
    args = (result.body or b"", result.url, source.full_text_selector, item.content)
    article, why = await loop.run_in_executor(executor, _judge, *args)
    return Page(item.link, article is not None, article or "", why, result.etag, result.last_modified)


async def fill_full_text(
    source: Source, items: Sequence[Item], new: set[str], *, store: Store, fetcher: Fetcher,
    workers: Workers | None, now: float,
) -> list[Item]:  # fmt: skip
    """``items`` with their pages' full text as content: fetched for the new ones, remembered for the rest."""
    linked = [item for item in items if item.link.startswith(("http://", "https://"))]
    known = await asyncio.to_thread(store.pages, [item.link for item in linked])
    todo = [item for item in linked if item.key in new and item.link not in known]
    fetched = list(await asyncio.gather(*(_page(source, item, fetcher, workers) for item in todo)))
    for page in fetched:
        if not page.ok:
            log.warning("%s: full text of %s: %s; the feed's content is kept", source.name, page.url, page.reason)
    if fetched:
        await asyncio.to_thread(store.save_pages, fetched, now)
    pages = {**known, **{page.url: page for page in fetched}}
    out: list[Item] = []
    for item in items:
        page = pages.get(item.link)
        if page is not None and page.ok:
            item = replace(item, content=page.content, summary=item.summary or excerpt(item.content))
        out.append(item)
    return out
