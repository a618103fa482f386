"""A feed assembled from per-item fragments (what the daemon does between publishes) is byte for
byte the feed rendered whole, in RSS and Atom, with and without WebSub hubs, empty or full."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import feedparser
import pytest
from conftest import Site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.core.models import Item
from feeds.output import layout, render
from feeds.output.formats import feedgen

CST = timezone(timedelta(hours=8))
text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
LONG = "<p>" + "正文 &amp; <b>粗</b> a > b\r\n" * 60 + "</p>"  # long enough for RSS and Atom to share it


@st.composite
def items(draw: st.DrawFn) -> list[Item]:
    out = []
    for n in range(draw(st.integers(0, 6))):
        when = datetime(2022, 1, 25, 9, tzinfo=CST) + timedelta(minutes=draw(st.integers(0, 10_000)))
        out.append(Item(key=f"infocode:NW{n:018d}", title=draw(text), link=f"https://x.example/{n}.html",
                        published=when, updated=when + timedelta(minutes=draw(st.integers(0, 60))),
                        categories=tuple(draw(st.lists(st.sampled_from(["a·b", "c", "财经"]), max_size=3, unique=True))),
                        content=draw(st.sampled_from(["", "<p>正文</p>", "<p>a &amp; b</p><p>c</p>", LONG])),
                        summary=draw(st.sampled_from(["", "摘要"])), author=draw(st.sampled_from(["", "记者"]))))  # fmt: skip
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(feed=items(), hubs=st.sampled_from([(), ("https://hub.example/",)]))
def test_fragments_make_the_same_bytes_as_a_whole_render(site: Site, feed: list[Item], hubs: tuple[str, ...]) -> None:
    base = site.settings()
    conf = replace(base, websub=replace(base.websub, hubs=hubs))
    renderer = render.Renderer()
    renderer.reset_if_changed(conf)
    keys = [(item.key, "sig") for item in feed]
    renderer.add(list(zip(keys, feed, strict=True)), conf)
    for spec in layout.plan(conf, ["c"]):
        for fmt in ("rss", "atom"):
            whole = feedgen.render_feed(spec, feed, conf, fmt)
            assert renderer.feed(spec, keys, conf, fmt) == whole
            assert not feedparser.parse(whole).bozo
    renderer.keep(keys[:1])
    assert len(renderer) == min(1, len(keys))


def test_fragments_rendered_in_chunks_on_the_worker_processes_are_the_same(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big first publish renders its items in chunks, on the workers: the feeds are the same bytes."""
    from feeds.runtime.workers import Workers

    conf = site.settings()
    when = datetime(2022, 1, 25, 9, tzinfo=CST)
    feed = [Item(key=f"infocode:NW{n:018d}", title=f"标题{n}", link=f"https://x.example/{n}.html",
                 published=when + timedelta(minutes=n), updated=when + timedelta(minutes=n), categories=("c",),
                 content=f"<p>正文 {n}</p>") for n in range(9)]  # fmt: skip (9: from PARALLEL_MIN, on the workers)
    keys = [(item.key, "sig") for item in feed]
    monkeypatch.setattr(render, "RENDER_CHUNK", 2)
    with Workers(2) as workers:
        renderer = render.Renderer()
        renderer.reset_if_changed(conf)
        renderer.add(list(zip(keys, feed, strict=True)), conf, workers)
    for spec in layout.plan(conf, ["c"]):
        for fmt in ("rss", "atom"):
            assert renderer.feed(spec, keys, conf, fmt) == feedgen.render_feed(spec, feed, conf, fmt)
    assert renderer.card(keys[3]) is not None and renderer.card(keys[3]).content == ""


def test_the_rss_and_atom_entries_of_a_long_item_hold_its_content_once(site: Site) -> None:
    conf = site.settings()
    when = datetime(2022, 1, 25, 9, tzinfo=CST)
    item = Item(key="infocode:NW1", title="长文", link="https://x.example/1.html", published=when, updated=when,
                content=LONG)  # fmt: skip
    renderer = render.Renderer()
    renderer.reset_if_changed(conf)
    renderer.add([(("a", "s"), item)], conf)
    *_, entries = renderer._entries[("a", "s")]
    rss, atom = entries["rss"], entries["atom"]
    assert isinstance(rss, tuple) and isinstance(atom, tuple) and rss[1] is atom[1] and len(rss[1]) > 1000
    spec = layout.plan(conf, [])[0]
    for fmt in ("rss", "atom"):
        assert renderer.feed(spec, [("a", "s")], conf, fmt) == feedgen.render_feed(spec, [item], conf, fmt)
