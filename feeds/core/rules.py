"""``[[rules]]``: drop, keep only, or route items by regular expressions.  Pure.

A rule in the config::

    [[rules]]
    name = "no ads"                       # optional, shown by `feeds explain`
    match = { title = '(?i)广告|推广', source = '^eastmoney$' }
    drop = true                           # exactly one action: drop / keep_only / add_categories
    sources = ["eastmoney"]               # optional: the rule only sees these sources' items
    categories = ["jijin·ribao"]          # optional: … and/or items filed under one of these

``match`` holds regular expressions on any of ``title``, ``content`` (plain text),
``link``, ``author``, ``category`` (any one of the item's categories) and
``source``; a rule matches when ALL the given fields match (``search``: anchor
with ``^``/``$`` yourself).  Actions:

* ``drop = true``: a matching item is dropped;
* ``keep_only = true``: within the rule's scope (``sources``/``categories``, or
  everything), an item that does NOT match is dropped;
* ``add_categories = ["slug", …]``: a matching item is also filed under these.

Rules run in file order; categories added by one rule are seen by the later ones
(``category`` field and ``categories`` scope); the first drop ends the walk.

Regexes are compiled once with RE2 (``google-re2``): matching takes time linear
in the text, so no pattern (``(a+)+$`` …) can hang a build.  RE2 has no
backreferences or lookaround (rejected with the reason); ``(?i)`` works,
``\\d``/``\\w``/``\\b`` are ASCII-only (use ``\\p{Han}`` for Chinese characters).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import re2

from feeds.core.errors import ConfigError

FIELDS = ("title", "content", "link", "author", "category", "source")
ACTIONS = ("drop", "keep_only", "add_categories")
KEYS = frozenset({"name", "match", "sources", "categories", *ACTIONS})
Action = Literal["drop", "keep_only", "add_categories"]
MAX_PATTERN = 2000  # characters: a rule is a filter, not a program

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the reason goes into the ConfigError, not to stderr


@dataclass(frozen=True, slots=True)
class ItemFields:
    """What rules see of an item (``content`` as plain text)."""

    title: str = ""
    content: str = ""
    link: str = ""
    author: str = ""
    categories: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    index: int  # position in the config's [[rules]]
    action: Action
    patterns: tuple[tuple[str, str], ...]  # (field, regex source), in FIELDS order
    add_categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    name: str = ""
    compiled: tuple[tuple[str, Any], ...] = field(default=(), compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"rules[{self.index}]" + (f" ({self.name})" if self.name else "")

    def applies(self, source: str, categories: Sequence[str]) -> bool:
        """The item is within the rule's scope."""
        if self.sources and source not in self.sources:
            return False
        return not self.categories or any(slug in self.categories for slug in categories)

    def matches(self, item: ItemFields, categories: Sequence[str]) -> bool:
        for name, pattern in self.compiled:
            if name == "category":
                if not any(pattern.search(slug) for slug in categories):
                    return False
            elif pattern.search(getattr(item, name)) is None:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one rule did to one item (for ``feeds explain``)."""

    rule: int
    label: str
    action: Action
    matched: bool
    effect: str  # "dropped", "kept", "added a, b", "none"


@dataclass(frozen=True, slots=True)
class Verdict:
    kept: bool
    categories: tuple[str, ...]  # the item's categories, then the added ones
    added: tuple[str, ...] = ()
    outcomes: tuple[Outcome, ...] = ()  # the rules whose scope held the item, in order
    dropped_by: int | None = None  # index of the rule that dropped it

    def explain(self) -> list[str]:
        lines = [f"{o.label}: {o.action} {'matched' if o.matched else 'no match'} → {o.effect}" for o in self.outcomes]
        lines.append("kept" if self.kept else f"dropped by rules[{self.dropped_by}]")
        return lines


# ------------------------------------------------------------------ parsing


def _strings(value: object, file: str, key: str, *, non_empty: bool = True) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(file, "must be a list of non-empty strings", key)
    if non_empty and not value:
        raise ConfigError(file, "must not be empty", key)
    return tuple(dict.fromkeys(v.strip() for v in value))


def compile_pattern(pattern: str, file: str, key: str) -> Any:
    """``pattern`` compiled with RE2, or a ConfigError naming ``key``, the reason and the position."""
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(file, "must be a non-empty string (a regular expression)", key)
    if len(pattern) > MAX_PATTERN:
        raise ConfigError(file, f"regular expression longer than {MAX_PATTERN} characters", key)
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as error:
        raw = error.args[0] if error.args else b""
        reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        what, _, fragment = reason.partition(": ")
        at = pattern.find(fragment) if fragment else -1
        where = f" at position {at}" if at >= 0 else ""
        hint = ""
        if "perl operator" in what or "escape sequence" in what:
            hint = " (RE2 syntax: no lookaround or backreferences)"
        raise ConfigError(file, f"bad regular expression{where}: {reason}{hint}", key) from None


def _rule(raw: object, index: int, file: str) -> Rule:
    here = f"rules[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(file, "must be a table", here)
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ConfigError(file, f"unknown key (expected one of {', '.join(sorted(KEYS))})", f"{here}.{unknown[0]}")
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise ConfigError(file, "must be a string", f"{here}.name")
    match = raw.get("match")
    if match is None:
        raise ConfigError(file, f"missing: a table of regexes on {', '.join(FIELDS)}", f"{here}.match")
    if not isinstance(match, Mapping) or not match:
        raise ConfigError(file, f"must be a non-empty table of regexes on {', '.join(FIELDS)}", f"{here}.match")
    for key in match:
        if key not in FIELDS:
            raise ConfigError(file, f"unknown field (expected one of {', '.join(FIELDS)})", f"{here}.match.{key}")
    compiled = tuple((key, compile_pattern(match[key], file, f"{here}.match.{key}")) for key in FIELDS if key in match)
    actions = [key for key in ACTIONS if key in raw]
    if len(actions) != 1:
        raise ConfigError(file, "needs exactly one of drop = true, keep_only = true, add_categories = [...]", here)
    action: Action = actions[0]  # type: ignore[assignment]
    added: tuple[str, ...] = ()
    if action == "add_categories":
        added = _strings(raw[action], file, f"{here}.add_categories")
    elif raw[action] is not True:
        raise ConfigError(file, "must be true (remove the rule to turn it off)", f"{here}.{action}")
    sources = _strings(raw["sources"], file, f"{here}.sources") if "sources" in raw else ()
    categories = _strings(raw["categories"], file, f"{here}.categories") if "categories" in raw else ()
    return Rule(
        index=index,
        action=action,
        patterns=tuple((key, match[key]) for key, _ in compiled),
        add_categories=added,
        sources=sources,
        categories=categories,
        name=name.strip(),
        compiled=compiled,
    )


def parse_rules(raw: object, file: str) -> tuple[Rule, ...]:
    """The ``[[rules]]`` array of a config file, validated and compiled."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(file, "must be an array of tables ([[rules]])", "rules")
    return tuple(_rule(entry, index, file) for index, entry in enumerate(raw))


def fingerprint(rules: Sequence[Rule]) -> str:
    """A stable hash of what the rules do (names excluded): it changes exactly when their effect may."""
    canonical = [
        {
            "action": r.action,
            "match": [list(p) for p in r.patterns],
            "add": list(r.add_categories),
            "sources": list(r.sources),
            "categories": list(r.categories),
        }
        for r in rules
    ]
    text = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ------------------------------------------------------------------ applying


def apply_rules(rules: Sequence[Rule], item: ItemFields) -> Verdict:
    """Walk the rules over one item: kept or dropped, by which rule, categories added."""
    categories = list(item.categories)
    added: list[str] = []
    outcomes: list[Outcome] = []
    for rule in rules:
        if not rule.applies(item.source, categories):
            continue
        matched = rule.matches(item, categories)
        if rule.action == "drop":
            effect = "dropped" if matched else "none"
        elif rule.action == "keep_only":
            effect = "kept" if matched else "dropped"
        else:
            new = [slug for slug in rule.add_categories if slug not in categories] if matched else []
            categories.extend(new)
            added.extend(new)
            effect = f"added {', '.join(new)}" if new else "none"
        outcomes.append(Outcome(rule.index, rule.label, rule.action, matched, effect))
        if effect == "dropped":
            return Verdict(False, tuple(categories), tuple(added), tuple(outcomes), rule.index)
    return Verdict(True, tuple(categories), tuple(added), tuple(outcomes))
