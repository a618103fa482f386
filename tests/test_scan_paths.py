"""A rescan of the paths a file notification named (feeds/ingest/scan.py scan_paths): it leaves the
store as a whole scan would, and gives up (a whole scan then) whenever only a whole scan can tell."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import Site, post_text

from feeds import config
from feeds.ingest.scan import scan_paths, scan_posts
from feeds.sources.posts import scanned_here
from feeds.store import open_store as Store


def _posts(site: Site, n: int) -> list[Path]:
    return [site.add(f"2022-01-{10 + i:02d}-p{i}.md", post_text(f"文章{i}", info_code=f"NW20220125000000{i:04d}"))
            for i in range(n)]  # fmt: skip


def _entries(store: object) -> list[tuple[object, ...]]:
    return store.rows("SELECT source, ref, key, article, ts, cats, stamp FROM entries ORDER BY ref")  # type: ignore[attr-defined]


def test_named_paths_are_read_dropped_or_passed_over_as_a_whole_scan_would(site: Site) -> None:
    paths = _posts(site, 5)
    settings = config.load(site.config_path)
    source = scanned_here(settings)[0]
    with Store(settings) as store:
        scan_posts(settings, store)
        paths[1].write_text(post_text("文章一改了", info_code="NW202201250000000001"), encoding="utf-8")
        os.utime(paths[1], ns=(1, 1))
        paths[2].unlink()
        added = site.add("2022-01-30-new.md", post_text("新文章", info_code="NW202201250000009999"))
        hidden = site.add(".draft.md", post_text("草稿", info_code="NW202201250000008888"))
        scan = scan_paths(settings, store, source, [str(paths[1]), str(paths[2]), str(added), str(hidden)])
        assert scan is not None
        assert sorted(r.path for r in scan.fresh) == sorted([str(paths[1]), str(added)])
        assert scan.removed == 1 and len(scan.results) == 5
        after = _entries(store)
        again = scan_posts(settings, store)  # a whole scan finds nothing more to do
        assert not again.changed and _entries(store) == after
        assert not any(str(paths[2]) == ref for _, ref, *_ in after)
        assert not any(str(hidden) == ref for _, ref, *_ in after)


def test_what_only_a_whole_scan_can_tell_gives_none(site: Site) -> None:
    paths = _posts(site, 2)
    settings = config.load(site.config_path)
    source = scanned_here(settings)[0]
    with Store(settings) as store:
        assert scan_paths(settings, store, source, [str(paths[0])]) is None  # no cache yet
        scan_posts(settings, store)
        before = _entries(store)
        folder = site.posts / "sub"
        folder.mkdir()
        (folder / "2022-02-01-x.md").write_text(post_text("子目录", info_code="NW202201250000007777"), encoding="utf-8")
        assert scan_paths(settings, store, source, [str(folder)]) is None  # a folder
        assert scan_paths(settings, store, source, [str(site.posts)]) is None  # the posts folder itself
        assert _entries(store) == before  # nothing done
        assert scan_paths(settings, store, source, [str(folder / "2022-02-01-x.md")]) is not None
