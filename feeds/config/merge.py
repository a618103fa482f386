"""The config of merging: ``[merge]`` and the full-text keys of a ``[[sources]]`` entry.

Kept apart from :mod:`feeds.config` (which calls these with its own table reader).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feeds.core.neardup import DEFAULT_THRESHOLD


@dataclass(frozen=True, slots=True)
class MergeSettings:
    """``[merge]``: the same story from several outlets shown once."""

    near_duplicates: bool = True
    window: float = 48 * 3600.0  # seconds: versions further apart are different stories
    similarity: float = DEFAULT_THRESHOLD  # tuned in benchmarks/neardup_eval.py


def parse_merge(r: Any) -> MergeSettings:
    """``[merge]`` read with a :class:`feeds.config.reader.TableReader`."""
    from feeds.config import parse_duration

    merge = MergeSettings(
        near_duplicates=r.get("near_duplicates", bool, True),
        window=r.convert("window", parse_duration, 48 * 3600.0),
        similarity=float(r.get("similarity", (int, float), DEFAULT_THRESHOLD)),
    )
    if not 0 < merge.similarity <= 1:
        raise r.fail("similarity", "must be above 0 and at most 1 (the estimated Jaccard similarity)")
    r.done()
    return merge


def full_text_selector(r: Any) -> str | None:
    """A feed source's ``full_text_selector``: a CSS selector, checked now."""
    selector = r.get("full_text_selector", str, None)
    if selector is None:
        return None
    from feeds.ingest.fulltext import check_selector

    problem = check_selector(selector)
    if problem:
        raise r.fail("full_text_selector", problem)
    return selector
