"""A publish records the ids it published (Store.pin) once per article: the daemon's next publishes
write only the new ones, and every published id stays pinned."""

from __future__ import annotations

import time

from conftest import Site, post_text

from feeds.ingest.scan import scan_posts
from feeds.output.publish import publish
from feeds.output.render import Renderer
from feeds.store import open_store as Store


def test_each_published_id_is_pinned_once(site: Site) -> None:
    for i in range(3):
        site.add(f"2022-01-2{i}-p{i}.md", post_text(f"文章{i}", info_code=f"NW20220125000000{i:04d}"))
    settings = site.settings()
    renderer = Renderer()
    with Store(settings) as store:
        pins: list[list[tuple[str, str]]] = []
        real = store.pin

        def pin(rows):  # type: ignore[no-untyped-def]
            rows = list(rows)
            pins.append(rows)
            real(rows)

        store.pin = pin  # type: ignore[method-assign]
        scan = scan_posts(settings, store)
        publish(settings, store, scan.contexts, now=time.time(), renderer=renderer)
        assert len(pins[-1]) == 3
        site.add("2022-01-29-new.md", post_text("新文章", info_code="NW202201250000009999"))
        scan = scan_posts(settings, store)
        publish(settings, store, scan.contexts, now=time.time(), renderer=renderer)
        assert [shown for _, shown in pins[-1]] == ["infocode:NW202201250000009999"]
        held = dict(store.rows("SELECT article, shown FROM pinned"))
        assert len(held) == 4 and "infocode:NW202201250000009999" in held.values()
