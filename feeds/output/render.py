"""Feeds assembled from per-item entries, each item rendered once per format while it is unchanged.

Speed: an item is rendered once however many feeds show it (the combined feed
and each of its categories), and a busy daemon that adds one item to a
200-item feed renders one item, not 200 (rendering was ~95 % of a publish).
A feed assembled from entries is byte for byte the feed rendered whole (a test
checks it).  Entries are keyed by the item's id and signature; :meth:`keep`
after a publish forgets the items no feed shows any more, which bounds the
memory to what the feeds hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from feeds.config import Settings
from feeds.core.models import FeedSpec, Item
from feeds.core.text import clean_text, summary_text
from feeds.output.formats.base import configured, get
from feeds.runtime.workers import Workers

Key = tuple[str, str]  # (article id, signature)
Fragment = bytes | tuple[bytes, bytes, bytes]  # an entry's bytes, or (before, the content, after)
RENDER_CHUNK = 200  # items rendered in one go: bounds the memory of a big first publish
PARALLEL_MIN = 8  # items from which they are rendered on the worker processes, in two chunks at least
FORK_MIN = 200  # items from which a build forks its pool for them (a small site's build forks none)
SHARED_MIN = 512  # bytes of escaped content from which the entries of several formats share it
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed with no items


def excerpts(items: Sequence[Item]) -> list[str]:
    """Each item's plain-text excerpt, as every format and the pages show it."""
    return [summary_text(item.summary, clean_text(item.content or ""), item.title) for item in items]


def render_chunk(items: Sequence[Item], settings: Settings) -> list[tuple[str, dict[str, Fragment]]]:
    """(excerpt, entry by format) of each item, in every configured format (picklable: runs on the workers)."""
    texts = excerpts(items)
    return list(zip(texts, render_entries(items, texts, settings), strict=True))


def render_entries(items: Sequence[Item], texts: Sequence[str], settings: Settings) -> list[dict[str, Fragment]]:
    """The entry of each item (``texts``: their excerpts) by format, in every configured format (picklable)."""
    rendered = {fmt.name: fmt.entries(items, texts, settings) for fmt in configured(settings)}
    return [_shared(item, {name: parts[i] for name, parts in rendered.items()}) for i, item in enumerate(items)]


def _shared(item: Item, entries: Mapping[str, bytes]) -> dict[str, Fragment]:
    """The entries of ``item`` holding its XML-escaped content once, when several formats have it whole.

    Memory: the content is most of an entry, and the daemon keeps every entry its feeds show
    (30 categories of 200 items: 42 MB of entries, 18 MB of them the content written twice).
    """
    html = clean_text(item.content or "")
    escaped = html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;").encode()
    out: dict[str, Fragment] = dict(entries)
    if len(escaped) < SHARED_MIN:
        return out
    found = {name: at for name, data in entries.items() if (at := data.find(escaped)) >= 0}
    if len(found) < 2:
        return out
    for name, at in found.items():
        data = entries[name]
        out[name] = (data[:at], escaped, data[at + len(escaped) :])
    return out


def _whole(fragment: Fragment) -> bytes:
    return fragment if isinstance(fragment, bytes) else b"".join(fragment)


class Renderer:
    """Rendered entries of the items the feeds show, by (id, signature); see the module docstring."""

    def __init__(self) -> None:
        self._settings: object = None
        self._entries: dict[Key, tuple[float, datetime, dict[str, Fragment]]] = {}  # (its updated: timestamp, date)
        self._cards: dict[Key, Item] = {}  # what a page shows of an item: no content, the excerpt
        self._pinned: set[tuple[str, str]] = set()  # (article, id shown) stored as published, of the items held

    def reset_if_changed(self, settings: Settings) -> None:
        """Every entry depends on the settings: forget them all when these change."""
        if self._settings != settings:
            self._settings = settings
            self._entries.clear()
            self._cards.clear()
            self._pinned.clear()

    def missing(self, keys: Iterable[Key]) -> list[Key]:
        return [key for key in keys if key not in self._entries]

    def add(self, fresh: Sequence[tuple[Key, Item]], settings: Settings, workers: Workers | None = None) -> None:
        """Render ``fresh`` items ((key, item) pairs): :meth:`start`, then its entries waited for."""
        self.start(fresh, settings, workers)()

    def start(
        self, fresh: Sequence[tuple[Key, Item]], settings: Settings, workers: Workers | None = None
    ) -> Callable[[], None]:
        """Render ``fresh`` items ((key, item) pairs): their cards (what a page shows) at once, their
        entries RENDER_CHUNK at a time, on the worker processes from PARALLEL_MIN items, in two chunks
        at least (~0.4 ms an item: a daemon's first publish renders thousands, and each of a busy
        daemon's publishes tens, which in the publishing thread took the main process's interpreter
        from the polls).  Call the result to have the entries (before :meth:`feed`): meanwhile the
        pages can be drawn."""
        items = [item for _, item in fresh]
        texts = excerpts(items)
        for (key, item), text in zip(fresh, texts, strict=True):
            self._cards[key] = replace(item, content="", summary=text)
        executor = None
        if workers is not None and len(items) >= PARALLEL_MIN:  # a pool that runs (the daemon's, a big build's);
            executor = workers.running or (workers.executor if len(items) >= FORK_MIN else None)  # forked if worth it
        size = RENDER_CHUNK
        if executor is not None and workers is not None:  # as many chunks for each worker, two at least (971: 6 of 162)
            parts = max(2, -(-len(items) // RENDER_CHUNK))
            parts += -parts % workers.count
            size = -(-len(items) // parts)
        starts = range(0, len(items), size)
        if executor is None:
            futures = None
        else:
            futures = [executor.submit(render_entries, items[i : i + size], texts[i : i + size], settings)
                       for i in starts]  # fmt: skip

        def finish() -> None:
            for n, i in enumerate(starts):
                chunk = items[i : i + size]
                done = futures[n].result() if futures is not None else render_entries(chunk, texts[i : i + size],
                                                                                       settings)  # fmt: skip
                for (key, item), entries in zip(fresh[i : i + size], done, strict=True):
                    self._entries[key] = (item.updated.timestamp(), item.updated, entries)

        return finish

    def card(self, key: Key) -> Item | None:
        """The item as a page shows it (its content dropped, its excerpt as the summary), once added."""
        return self._cards.get(key)

    def feed(self, spec: FeedSpec, keys: Sequence[Key], settings: Settings, fmt: str) -> bytes:
        """The feed of the items ``keys`` (each :meth:`add`-ed), in that order, in the format ``fmt``."""
        held = [self._entries[key] for key in keys if key in self._entries]
        newest, updated = float("-inf"), EPOCH
        for stamp, when, _ in held:  # the first of the newest, as max() gives
            if stamp > newest:
                newest, updated = stamp, when
        return get(fmt).document(spec, [_whole(entries[fmt]) for _, _, entries in held], updated, settings)

    def unpinned(self, shown: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Those of ``shown`` ((article, id shown)) not recorded by :meth:`pinned` yet."""
        return [pair for pair in shown if pair not in self._pinned]

    def pinned(self, shown: Iterable[tuple[str, str]]) -> None:
        """Record that the store has these (article, id shown) as published (:meth:`Store.pin`)."""
        self._pinned.update(shown)

    def keep(self, keys: Iterable[Key]) -> None:
        wanted = set(keys)
        for key in [k for k in self._entries if k not in wanted]:
            del self._entries[key]
        for key in [k for k in self._cards if k not in wanted]:
            del self._cards[key]
        if len(self._pinned) > len(wanted) + len(wanted) // 8 + 64:  # memory: those of the items held
            ids = {aid for aid, _ in wanted}
            self._pinned = {pair for pair in self._pinned if pair[0] in ids}

    def __len__(self) -> int:
        return len(self._entries)
