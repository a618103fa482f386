"""feeds.core.rules: parsing [[rules]], applying them, linear-time regexes."""

from __future__ import annotations

import pickle
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.core.errors import ConfigError
from feeds.core.rules import ItemFields, apply_rules, fingerprint, parse_rules

FILE = "config/feeds.toml"

AD = ItemFields(title="【推广】某券商开户送好礼", content="限时活动", link="https://a.example/ad", source="wire")
ETF = ItemFields(
    title="两只ETF今日上市",
    content="两只宽基ETF今日在上交所上市。",
    categories=("jijin",),
    source="wire",
    author="李华",
)
BOND = ItemFields(
    title="国债期货小幅收涨", content="国债期货主力合约收涨0.1%。", categories=("zhaiquan",), source="posts"
)


def rules(*raw: dict) -> tuple:
    return parse_rules(list(raw), FILE)


def test_drop() -> None:
    rs = rules({"match": {"title": "推广|广告"}, "drop": True})
    verdict = apply_rules(rs, AD)
    assert not verdict.kept and verdict.dropped_by == 0
    assert apply_rules(rs, ETF).kept


def test_all_given_fields_must_match() -> None:
    rs = rules({"match": {"title": "ETF", "author": "^王"}, "drop": True})
    assert apply_rules(rs, ETF).kept
    rs = rules({"match": {"title": "ETF", "author": "^李"}, "drop": True})
    assert not apply_rules(rs, ETF).kept


def test_case_insensitive_and_chinese() -> None:
    rs = rules({"match": {"content": r"(?i)宽基etf"}, "add_categories": ["etf"]})
    assert apply_rules(rs, ETF).added == ("etf",)
    rs = rules({"match": {"title": r"^\p{Han}+$"}, "add_categories": ["han"]})
    assert apply_rules(rs, BOND).added == ("han",)
    assert apply_rules(rs, ETF).added == ()


def test_keep_only_within_its_sources() -> None:
    rs = rules({"match": {"title": "ETF"}, "keep_only": True, "sources": ["wire"]})
    assert apply_rules(rs, ETF).kept
    assert not apply_rules(rs, AD).kept  # same source, does not match
    assert apply_rules(rs, BOND).kept  # another source: out of scope
    assert apply_rules(rs, BOND).outcomes == ()


def test_keep_only_within_its_categories() -> None:
    rs = rules({"match": {"content": "上市"}, "keep_only": True, "categories": ["jijin"]})
    assert apply_rules(rs, ETF).kept
    assert apply_rules(rs, BOND).kept
    assert not apply_rules(rs, ItemFields(title="基金周报", categories=("jijin",))).kept


def test_add_categories_routes_and_later_rules_see_them() -> None:
    rs = rules(
        {"match": {"title": "ETF"}, "add_categories": ["etf", "jijin"]},
        {"match": {"category": "^etf$"}, "add_categories": ["hot"]},
        {"match": {"link": "ad"}, "drop": True, "categories": ["etf"]},
    )
    verdict = apply_rules(rs, ETF)
    assert verdict.kept
    assert verdict.categories == ("jijin", "etf", "hot")
    assert verdict.added == ("etf", "hot")
    assert [o.effect for o in verdict.outcomes] == ["added etf", "added hot", "none"]
    assert verdict.explain()[-1] == "kept"


def test_sources_limit_any_rule() -> None:
    rs = rules({"match": {"title": "."}, "drop": True, "sources": ["posts"]})
    assert apply_rules(rs, ETF).kept and not apply_rules(rs, BOND).kept


def test_first_drop_ends_the_walk() -> None:
    rs = rules(
        {"name": "ads", "match": {"title": "推广"}, "drop": True}, {"match": {"title": "."}, "add_categories": ["x"]}
    )
    verdict = apply_rules(rs, AD)
    assert not verdict.kept and len(verdict.outcomes) == 1 and verdict.added == ()
    assert verdict.explain() == ["rules[0] (ads): drop matched → dropped", "dropped by rules[0]"]


def test_catastrophic_regex_is_linear() -> None:
    rs = rules({"match": {"content": "(a+)+$"}, "drop": True}, {"match": {"title": "(x+x+)+y"}, "drop": True})
    item = ItemFields(title="x" * 50_000, content="a" * 200_000 + "b")
    start = time.perf_counter()
    assert apply_rules(rs, item).kept
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    ("raw", "key", "reason"),
    [
        (
            {"match": {"title": "(a"}, "drop": True},
            "rules[0].match.title",
            "bad regular expression at position 0: missing )",
        ),
        ({"match": {"content": "ab[z-a]"}, "drop": True}, "rules[0].match.content", "at position 3"),
        ({"match": {"title": "(?<=a)b"}, "drop": True}, "rules[0].match.title", "no lookaround"),
        ({"match": {"title": r"(a)\1"}, "drop": True}, "rules[0].match.title", "backreferences"),
        ({"match": {"titel": "a"}, "drop": True}, "rules[0].match.titel", "unknown field"),
        ({"match": {"title": ""}, "drop": True}, "rules[0].match.title", "non-empty"),
        ({"match": {"title": 3}, "drop": True}, "rules[0].match.title", "non-empty string"),
        ({"match": {}, "drop": True}, "rules[0].match", "non-empty table"),
        ({"drop": True}, "rules[0].match", "missing"),
        ({"match": {"title": "a"}}, "rules[0]", "exactly one"),
        ({"match": {"title": "a"}, "drop": True, "keep_only": True}, "rules[0]", "exactly one"),
        ({"match": {"title": "a"}, "drop": False}, "rules[0].drop", "must be true"),
        ({"match": {"title": "a"}, "add_categories": []}, "rules[0].add_categories", "must not be empty"),
        ({"match": {"title": "a"}, "add_categories": "etf"}, "rules[0].add_categories", "list"),
        ({"match": {"title": "a"}, "drop": True, "sources": [1]}, "rules[0].sources", "list"),
        ({"match": {"title": "a"}, "drop": True, "colour": 1}, "rules[0].colour", "unknown key"),
    ],
)
def test_bad_rules_name_the_key(raw: dict, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rules([raw], FILE)
    assert caught.value.key == key
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{FILE}: {key}: ")


def test_the_index_in_the_key_is_the_rule_position() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rules([{"match": {"title": "ok"}, "drop": True}] * 2 + [{"match": {"link": "("}, "drop": True}], FILE)
    assert caught.value.key == "rules[2].match.link"


def test_not_an_array() -> None:
    with pytest.raises(ConfigError, match="rules: must be an array"):
        parse_rules({"match": {}}, FILE)
    assert parse_rules(None, FILE) == ()


def test_fingerprint_is_stable_and_tracks_changes() -> None:
    raw = [
        {"match": {"title": "推广", "link": "ad"}, "drop": True},
        {"match": {"title": "ETF"}, "add_categories": ["etf"]},
    ]
    a = fingerprint(parse_rules(raw, FILE))
    assert a == fingerprint(parse_rules([dict(reversed(list(r.items()))) for r in raw], FILE))
    assert a == fingerprint(parse_rules([{**raw[0], "name": "renamed"}, raw[1]], FILE))
    assert a != fingerprint(parse_rules(raw[::-1], FILE))
    assert a != fingerprint(parse_rules([raw[0], {**raw[1], "add_categories": ["etf2"]}], FILE))
    assert len(a) == 32 and int(a, 16) >= 0


def test_rules_are_picklable() -> None:
    rs = rules({"match": {"title": "(?i)etf"}, "add_categories": ["etf"]})
    again = pickle.loads(pickle.dumps(rs))
    assert again == rs and apply_rules(again, ETF).added == ("etf",)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200), st.text(max_size=50))
def test_literal_rules_match_like_substring_search(text: str, needle: str) -> None:
    import re2

    if not needle:
        return
    rs = rules({"match": {"content": re2.escape(needle)}, "drop": True})
    assert apply_rules(rs, ItemFields(content=text)).kept == (needle not in text)
