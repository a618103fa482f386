"""A starter site's placeholder address: the build says so, and ids wait for the first real address."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_cli
from lxml import etree

from feeds import config
from feeds.config.site import placeholder_host, placeholder_url
from feeds.store import open_store
from feeds.store.siteids import AUTHORITY_KEY, BASE_KEY


@pytest.mark.parametrize(
    ("host", "placeholder"),
    [
        ("example.com", True),
        ("news.example.com", True),
        ("EXAMPLE.ORG.", True),
        ("a.b.example.net", True),
        ("site.example", True),
        ("example", True),
        ("editor@news.example.com", True),
        ("finews.test", False),
        ("notexample.com", False),
        ("example.com.cn", False),
        ("myexample.org", False),
        ("example.co", False),
    ],
)
def test_placeholder_hosts(host: str, placeholder: bool) -> None:
    assert placeholder_host(host) is placeholder


def test_the_starter_url_is_a_placeholder(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    starter = config.load(tmp_path / "config" / "feeds.toml")
    assert starter.site.placeholder and placeholder_url(starter.site.url)
    assert not placeholder_url("https://finews.test/")


def _site_url(folder: Path, url: str) -> None:
    cfg = folder / "config" / "feeds.toml"
    text = re.sub(r'(?m)^url = "[^"]*"', f'url = "{url}"', cfg.read_text(encoding="utf-8"), count=1)
    cfg.write_text(text, encoding="utf-8")


def _ids(folder: Path) -> set[str]:
    ids = set()
    for name in ("rss.xml", "atom.xml"):
        root = etree.parse(str(folder / "out" / name)).getroot()
        ids |= {e.text for e in root.iter("guid", "{http://www.w3.org/2005/Atom}id") if e.text}
    return ids


def test_init_build_then_the_real_url_gives_real_ids_that_then_survive_a_move(tmp_path: Path) -> None:
    proc = run_cli("init", "site", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    nexts = [line for line in proc.stdout.splitlines() if line.startswith("next:")]
    assert len(nexts) == 1 and "[site]" in nexts[0] and "site/config/feeds.toml" in nexts[0]
    assert nexts[0].index("[site]") < nexts[0].index("feeds build")
    folder = tmp_path / "site"

    built = run_cli("build", cwd=folder)  # as a new user does: before setting [site]
    assert built.returncode == 0, built.stderr
    warnings = [line for line in built.stderr.splitlines() if "placeholder" in line]
    assert warnings == [
        'config/feeds.toml: warning: [site] url "https://news.example.com/" is a placeholder: set it to the '
        "site's real address (item ids are fixed at the first build with a real one)"
    ]
    assert all(i.startswith("tag:news.example.com,") for i in _ids(folder))

    _site_url(folder, "https://finews.test/")
    built = run_cli("build", cwd=folder)
    assert built.returncode == 0 and "placeholder" not in built.stderr, built.stderr
    real = _ids(folder)
    assert real and all(i.startswith("tag:finews.test,2000:") for i in real), real

    _site_url(folder, "https://moved.test/news/")  # a real move: the ids stay
    assert run_cli("build", cwd=folder).returncode == 0
    assert _ids(folder) == real
    assert b"https://moved.test/news/" in (folder / "out" / "rss.xml").read_bytes()  # links follow


def test_a_placeholder_an_earlier_feeds_recorded_gives_way_to_the_real_url(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    assert run_cli("build", cwd=tmp_path).returncode == 0
    settings = config.load(tmp_path / "config" / "feeds.toml")
    with open_store(settings) as store:
        assert store.meta(AUTHORITY_KEY) is None  # nothing fixed to the placeholder
        store.set_meta({AUTHORITY_KEY: "news.example.com", BASE_KEY: "https://news.example.com/"})  # as before
    _site_url(tmp_path, "https://finews.test/")
    assert run_cli("build", cwd=tmp_path).returncode == 0
    assert all(i.startswith("tag:finews.test,2000:") for i in _ids(tmp_path))
    with open_store(config.load(tmp_path / "config" / "feeds.toml")) as store:
        assert store.meta(AUTHORITY_KEY) == "finews.test"
        assert store.meta(BASE_KEY) == "https://finews.test/"
