"""Feed entries written directly (the common shape) are the bytes feedgen writes for the same items.

Items of every shape, hostile text included (markup, '&', quotes, CR, tabs, CJK, emoji), dates of
odd years and offsets: each format's entries with the direct writer on and off must be equal; the
direct writer must have written most of them (else this compares feedgen with itself).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import feeds.output.formats.feedgen as feedgen_format
from feeds.config import load
from feeds.core.models import Item
from feeds.core.text import clean_text, summary_text

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["", "a", "中文标题", "A & B", "<script>x</script>", "x\ry", "tab\there", "q\"uote'", "&amp;", "]]>", "<?",
         "emoji 😀", "  spaced  out ", "\u3000全角", "a\nb", "x > y", "&#x26;", "<b>bold</b> & more", "-", "·"]  # fmt: skip
URLS = ["", "https://a.example/p.html", "http://b.example/x?a=1&b=2", "javascript:alert(1)",
        "https://c.example/中文", "https://d.example/\"q\"", "//e.example/p"]  # fmt: skip


def _when(rng: random.Random) -> datetime:
    year = rng.randint(1, 9999) if rng.random() < 0.1 else rng.randint(1990, 2030)
    offset = timedelta(minutes=rng.choice([0, 480, -300, 330, 59]))
    return datetime(year, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
                    rng.randint(0, 59), tzinfo=timezone(offset))  # fmt: skip


def _item(rng: random.Random, categories: list[str]) -> Item:
    published = _when(rng)
    return Item(
        key=rng.choice(["NW1", "k&y", "a b", "中"]) + str(rng.random()),
        title=rng.choice(TEXTS) + rng.choice(TEXTS),
        link=rng.choice(URLS),
        published=published,
        updated=rng.choice([published, _when(rng)]),
        categories=tuple(rng.sample(categories, rng.randint(0, 3))),
        tags=tuple(rng.sample(TEXTS, rng.randint(0, 2))),
        author=rng.choice(TEXTS),
        content=rng.choice(["", "<p>x</p>", "<p>a &amp; b</p>\r\n<p>c</p>", rng.choice(TEXTS)]),
        summary=rng.choice(["", rng.choice(TEXTS)]),
        source="posts",
        original=rng.choice(URLS),
        author_uri=rng.choice(["", "", "https://u.example/"]),
        author_email=rng.choice(["", "", "", "a@b.example"]),
        image=rng.choice(["", "", "", "https://i.example/i.png"]),
        feed_url=rng.choice(["", "", "", "https://f.example/rss"]),
        feed_title=rng.choice(TEXTS),
        related=rng.choice([(), (), (("src", "https://r.example/"),)]),
    )


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_direct_entries_are_feedgens_bytes(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(ROOT / "config" / "feeds.toml")
    categories = [slug for slug, _ in settings.categories] + ["new-cat", "a&b", "<x>", "中文", ""]
    rng = random.Random(18)
    direct = 0
    for _ in range(150):
        items = [_item(rng, categories) for _ in range(rng.randint(1, 4))]
        texts = [summary_text(i.summary, clean_text(i.content or ""), i.title) for i in items]
        monkeypatch.setattr(feedgen_format, "FAST", False)
        through_feedgen = feedgen_format.entries(items, texts, settings, fmt)
        monkeypatch.setattr(feedgen_format, "FAST", True)
        assert feedgen_format.entries(items, texts, settings, fmt) == through_feedgen
        direct += sum(feedgen_format._direct(i, t, settings, fmt) is not None for i, t in zip(items, texts, strict=True))
    assert direct > 50
