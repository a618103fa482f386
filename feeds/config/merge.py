"""``[merge]``: the same story from several outlets shown once (``[[rules]]`` are in :mod:`feeds.core.rules`)."""

from __future__ import annotations

from dataclasses import dataclass

from feeds.config.reader import TableReader, key, parse_duration
from feeds.core.neardup import DEFAULT_THRESHOLD


def _similarity(value: float) -> str | None:
    if 0 < value <= 1:
        return None
    return "must be above 0 and at most 1 (the estimated Jaccard similarity)"


@dataclass(frozen=True, slots=True)
class MergeSettings:
    """``[merge]``."""

    near_duplicates: bool = key(True)  # merge the versions of one story from different sources
    window: float = key(48 * 3600.0, parse=parse_duration)  # versions further apart are different stories
    similarity: float = key(DEFAULT_THRESHOLD, check=_similarity)  # tuned in benchmarks/neardup_eval.py


def read_merge(r: TableReader) -> MergeSettings:
    return r.read(MergeSettings)
