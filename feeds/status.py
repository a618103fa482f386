"""``feeds status``: a plain-text table of the sources and what the store knows of them."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from feeds.config import Settings
from feeds.store import Store


def _when(stamp: float | None, now: float) -> str:
    if stamp is None:
        return "-"
    text = datetime.fromtimestamp(stamp, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} (now)" if stamp <= now else text


def status_table(settings: Settings, store: Store) -> str:
    """A plain-text table of the sources and what the store knows of them."""
    now = time.time()
    states = store.source_states(counts=True)
    posts_counts: dict[str, int] = {}
    for source, count in store.post_counts().items():
        posts_counts[source] = count
    rows = [("SOURCE", "TYPE", "LAST SUCCESS", "LAST ERROR", "FAILURES", "ITEMS", "NEXT DUE")]
    for source in settings.sources:
        if source.type == "feed":
            state = states.get(source.name)
            if state is None:
                rows.append((source.name, "feed", "never", "-", "0", "0", "now"))
                continue
            rows.append((
                source.name, "feed", _when(state.last_success, now) if state.last_success else "never",
                (state.last_error or "-")[:60], str(state.failures), str(state.items),
                _when(state.next_due, now) if state.next_due else "now",
            ))  # fmt: skip
        else:
            rows.append((source.name, "posts", "-", "-", "0", str(posts_counts.get(source.name, 0)), "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


