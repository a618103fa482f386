"""A polled body parsed without the entries the last stored body had (feeds/ingest/parsing.py): the
same items as a whole parse, the unchanged entries named by key, the whole body parsed whenever that
cannot be trusted; and the store refusing unchanged keys it does not hold."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import CAT_A
from servers import FeedServer, Route
from test_remote import E1, E2, E3, code_link, remote_site, rss

from feeds import config
from feeds.config.site import DEFAULT_PATTERNS
from feeds.core.models import Source
from feeds.ingest import parsing
from feeds.ingest import poll as remote
from feeds.ingest.parsing import Parsed, parse_body, parse_changed, stored
from feeds.sources.fetch import Fetcher
from feeds.sources.xmlcut import split_entries
from feeds.store import SourceState, UnknownKeys
from feeds.store import open_store as Store

SOURCE = Source(name="remote", type="feed", url="http://news.example.com/f.xml", category=CAT_A)
NOW = datetime(2022, 1, 26, tzinfo=UTC)
E0 = ("远端零", code_link("NW202201250000000100"), "Wed, 26 Jan 2022 08:00:00 +0800")


def _args(body: bytes) -> tuple[object, ...]:
    return (body, SOURCE.url, SOURCE, DEFAULT_PATTERNS, NOW, "application/rss+xml", None, "Asia/Shanghai")


def _built(body: bytes) -> bytes:
    """``body`` with another lastBuildDate: the channel changes, not the entries' frame."""
    return body.replace(b"<description>d</description>", b"<description>d</description><lastBuildDate>"
                        + str(time.monotonic_ns()).encode() + b"</lastBuildDate>")  # fmt: skip


def test_split_entries_gives_each_entry_and_its_frame() -> None:
    body = rss([E1, E2])
    split = split_entries(body)
    assert split is not None
    assert split.frame == b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    assert [body[a:b].startswith(b"<item>") and body[a:b].endswith(b"</item>") for a, b in split.spans] == [True] * 2
    assert split_entries(body[:-20]) is None  # cut off: an element left open
    assert split_entries(body.replace(b"</item><item>", b"<item>", 1)) is None  # an entry inside another


def test_only_new_entries_are_parsed_and_give_the_items_of_a_whole_parse() -> None:
    first, _, seen, made = parse_changed(*_args(rss([E1, E2, E3])))
    assert seen == () and made is not None and len(made.keys) == 3
    body = _built(rss([E0, E1, E2, E3]))
    parsed, _, seen, again = parse_changed(*_args(body), last=stored(made, "h1"))
    whole, _ = parse_body(*_args(body))
    assert [i.key for i in parsed.items] == [whole.items[0].key]
    assert parsed.items[0] == whole.items[0]
    assert seen == tuple(i.key for i in first.items)  # the stored ones, by key, in order
    assert parsed.title == whole.title and again is not None and len(again.keys) == 4
    # an entry whose bytes changed is parsed again
    retitled = (E1[0] + "（更新）", E1[1], E1[2])
    parsed, _, seen, _ = parse_changed(*_args(rss([E0, retitled, E2, E3])), last=stored(again, "h2"))
    assert [i.title for i in parsed.items] == [retitled[0]] and len(seen) == 3


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda b: b.replace("远端</title>".encode(), "另一个</title>".encode()), "another feed title"),
        (lambda b: b.replace(b'<rss version="2.0">', b'<rss version="2.0" xml:base="http://x.example/">'), "frame"),
        (lambda b: b.replace(b"</channel>", b"<item><title>t</title></item><item><title>t</title></item></channel>"),
         "an entry given twice"),
    ],
)  # fmt: skip
def test_whatever_the_entries_are_read_within_changed_parses_the_whole_body(change, why: str) -> None:
    _, _, _, made = parse_changed(*_args(rss([E1, E2])))
    body = change(rss([E0, E1, E2]))
    parsed, _, seen, _ = parse_changed(*_args(body), last=stored(made, "h"))
    whole, _ = parse_body(*_args(body))
    assert seen == (), why
    assert parsed == whole, why


def test_a_body_without_a_trusted_map_is_remembered_as_unknown() -> None:
    cut = rss([E1, E2])[:-30]  # cut off: its complete entries are parsed, nothing remembered
    parsed, _, seen, made = parse_changed(*_args(cut))
    assert seen == () and made is None and parsed.items


def test_the_store_refuses_unchanged_keys_it_does_not_hold(tmp_path: Path) -> None:
    with FeedServer({"/f.xml": Route(body=rss([E1]))}) as server:
        site = remote_site(tmp_path, server.url("/f.xml"))
        settings = config.load(site.config_path)
        with Store(settings) as store:
            state = SourceState("remote", url=server.url("/f.xml"), body_hash="x")
            with pytest.raises(UnknownKeys):
                store.save_poll(state, [], [], 1.0, seen=["nope"])
            assert store.source_state("remote").body_hash is None  # nothing written


def test_daemon_polls_store_what_whole_parses_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Polled with a memo (the daemon's way) and without: the same items stored, each body's unchanged
    entries only seen again; a memo whose body is not the stored one is not used."""
    parsed_items: list[int] = []

    def counting(*args, **kwargs):
        out = parse_body(*args, **kwargs)
        parsed_items.append(len(out[0].items))
        return out

    monkeypatch.setattr(parsing, "parse_body", counting)
    with FeedServer({"/f.xml": Route(body=rss([E2, E3]))}) as server:
        url = server.url("/f.xml")
        stores = {}
        for name, memo in (("memo", {}), ("whole", None)):
            site = remote_site(tmp_path / name, url)
            settings = config.load(site.config_path)
            server.routes["/f.xml"] = Route(body=rss([E2, E3]))
            with Store(settings) as store:
                source = next(s for s in settings.sources if s.name == "remote")

                async def poll(memo=memo, source=source, settings=settings, store=store):
                    async with Fetcher(settings.fetch) as fetcher:
                        return await remote.refresh_source(source, settings=settings, store=store, fetcher=fetcher,
                                                           memo=memo)  # fmt: skip

                assert asyncio.run(poll()).new == 2
                if memo is not None:
                    assert isinstance(memo.get("remote"), Parsed)
                server.routes["/f.xml"] = Route(body=_built(rss([E1, E2, E3])))
                outcome = asyncio.run(poll())
                assert (outcome.new, outcome.updated) == (1, 0)
                retitled = (E2[0] + "（更新）", E2[1], E2[2])
                server.routes["/f.xml"] = Route(body=_built(rss([E1, retitled, E3])))
                assert (asyncio.run(poll()).updated, asyncio.run(poll()).outcome) == (1, "unchanged")
                if memo is not None:  # another process stored another body meanwhile: parsed whole
                    memo["remote"] = Parsed("not the stored body", memo["remote"].context, memo["remote"].keys)
                    server.routes["/f.xml"] = Route(body=_built(rss([E0, E1, retitled, E3])))
                    assert asyncio.run(poll()).new == 1
                else:
                    server.routes["/f.xml"] = Route(body=_built(rss([E0, E1, retitled, E3])))
                    assert asyncio.run(poll()).new == 1
                if memo is not None:  # 2 whole, then only the new or changed entry, then 4 whole
                    assert parsed_items == [2, 1, 1, 4]
                ids = store.rows("SELECT id FROM items ORDER BY key")
                stores[name] = store.load_items([i for (i,) in ids])
        memo_items, whole_items = (sorted(s.values(), key=lambda i: i.key) for s in stores.values())
        assert memo_items == whole_items and len(memo_items) == 4
