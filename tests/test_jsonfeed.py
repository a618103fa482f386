"""JSON Feed 1.1: valid against the spec's schema, the same items and ids as RSS/Atom, deterministic."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from conftest import CAT_A, CAT_B, Site, post_text

from feeds.output.layout import safe_segment

_AUTHOR = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                   "avatar": {"type": "string", "format": "uri"}},
    "anyOf": [{"required": ["name"]}, {"required": ["url"]}, {"required": ["avatar"]}],
}  # fmt: skip
_DATE = {"type": "string", "format": "date-time",
         "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}  # fmt: skip

# JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) as a JSON Schema.
JSON_FEED_1_1 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string", "format": "uri"},
        "feed_url": {"type": "string", "format": "uri"},
        "description": {"type": "string"},
        "user_comment": {"type": "string"},
        "next_url": {"type": "string", "format": "uri"},
        "icon": {"type": "string", "format": "uri"},
        "favicon": {"type": "string", "format": "uri"},
        "authors": {"type": "array", "items": _AUTHOR},
        "language": {"type": "string"},
        "expired": {"type": "boolean"},
        "hubs": {"type": "array", "items": {"type": "object", "required": ["type", "url"],
                                            "properties": {"type": {"type": "string"},
                                                           "url": {"type": "string", "format": "uri"}}}},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
                "properties": {
                    "id": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                    "external_url": {"type": "string", "format": "uri"},
                    "title": {"type": "string"},
                    "content_html": {"type": "string"},
                    "content_text": {"type": "string"},
                    "summary": {"type": "string"},
                    "image": {"type": "string", "format": "uri"},
                    "banner_image": {"type": "string", "format": "uri"},
                    "date_published": _DATE,
                    "date_modified": _DATE,
                    "authors": {"type": "array", "items": _AUTHOR},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "language": {"type": "string"},
                    "attachments": {"type": "array"},
                },
                "additionalProperties": {"not": {}},
                "patternProperties": {"^_": {}},
            },
        },
    },
    "additionalProperties": {"not": {}},
    "patternProperties": {"^_": {}},
}  # fmt: skip
VALIDATOR = jsonschema.Draft202012Validator(JSON_FEED_1_1, format_checker=jsonschema.FormatChecker())


def json_site(site: Site, formats: str = '["rss", "atom", "json"]', extra: str = "") -> Site:
    text = site.config_path.read_text(encoding="utf-8").replace("limit = 50", f"limit = 50\nformats = {formats}")
    site.config_path.write_text(text + extra, encoding="utf-8")
    site.add("2022-01-25-a.md", post_text("甲 <b>", info_code="NW1"))
    site.add("2022-01-26-b.md", post_text("乙", date="2022-01-26 09:00:00 +0800", categories=CAT_B, info_code="NW2",
                                          tags="t1 t2"))  # fmt: skip
    site.add("2022-01-27-c.md", post_text("丙", date="2022-01-27T01:00:00Z", categories=f"{CAT_A} {CAT_B}", info_code=None))
    return site


def test_valid_json_feed_with_the_same_items_as_rss(site: Site) -> None:
    json_site(site, extra='\n[websub]\nhubs = ["https://hub.example.com/"]\n')
    site.build()
    for folder in ("", f"category/{safe_segment(CAT_A)}/", f"category/{safe_segment(CAT_B)}/"):
        data = json.loads((site.out / folder / "feed.json").read_text(encoding="utf-8"))
        VALIDATOR.validate(data)
        rss = site.feed(folder + "rss.xml")
        assert [i["id"] for i in data["items"]] == [e.id for e in rss.entries]
        assert [i["url"] for i in data["items"]] == [e.link for e in rss.entries]
        assert data["feed_url"] == "https://finews.example.com/" + folder.replace("·", "%C2%B7") + "feed.json"
        assert data["title"] == rss.feed.title and data["home_page_url"] == rss.feed.link
        assert data["language"] == "zh-CN" and data["authors"] == [{"name": "编辑部"}]
        assert data["hubs"] == [{"type": "WebSub", "url": "https://hub.example.com/"}]
    data = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    by_title = {i["title"]: i for i in data["items"]}
    assert "甲 <b>" in by_title  # a title is text: kept as written
    by_title["甲"] = by_title["甲 <b>"]
    assert by_title["乙"]["date_published"] == "2022-01-26T09:00:00+08:00"
    assert by_title["丙"]["date_published"] == "2022-01-27T01:00:00+00:00"
    assert by_title["甲"]["content_html"].startswith("<p>第一段")
    assert by_title["乙"]["tags"] == ["上海证券报·上证网", "t1", "t2"]
    assert by_title["甲"]["id"] == "tag:finews.example.com,2000:infocode:NW1"
    assert all(re.match(r"\S", i["summary"]) for i in data["items"])


def test_json_feed_bytes_are_deterministic(site: Site) -> None:
    json_site(site)
    site.build()
    first = (site.out / "feed.json").read_bytes()
    mtime = (site.out / "feed.json").stat().st_mtime_ns
    report = site.build()
    assert "feed.json" not in report.written
    assert (site.out / "feed.json").read_bytes() == first and (site.out / "feed.json").stat().st_mtime_ns == mtime
    for path in site.out.rglob("*"):  # a cold build gives the same bytes
        if path.is_file():
            path.unlink()
    site.build()
    assert (site.out / "feed.json").read_bytes() == first
    assert "hubs" not in json.loads(first)


def test_autodiscovery_and_opml(site: Site) -> None:
    json_site(site, formats='["json", "rss"]')
    site.build()
    index = (site.out / "index.html").read_text(encoding="utf-8")
    assert '<link rel="alternate" type="application/feed+json"' in index
    assert 'type="application/rss+xml"' in index and 'type="application/atom+xml"' not in index
    assert not (site.out / "atom.xml").exists()
    opml = (site.out / "feeds.opml").read_text(encoding="utf-8")
    assert opml.count("feed.json") == 3 and "rss.xml" not in opml


def test_opml_lists_json_only_when_first(site: Site) -> None:
    json_site(site, formats='["rss", "json"]')
    site.build()
    opml = (site.out / "feeds.opml").read_text(encoding="utf-8")
    assert "feed.json" not in opml and opml.count("rss.xml") == 3
    assert 'type="application/feed+json"' in (site.out / "index.html").read_text(encoding="utf-8")


def test_unknown_format_is_a_config_error(site: Site) -> None:
    text = site.config_path.read_text(encoding="utf-8").replace("limit = 50", 'limit = 50\nformats = ["jsonfeed"]')
    site.config_path.write_text(text, encoding="utf-8")
    result = site.cli("build", "-c", str(site.config_path))
    assert result.returncode == 2 and 'choose from "rss", "atom", "json"' in result.stderr


def test_schema_rejects_a_broken_feed() -> None:
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate({"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": [{"id": "1"}]})
