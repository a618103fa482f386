"""``feeds status``: a plain-text table of the sources and what the store knows of them.

Times are shown in the local zone with how long ago (or how soon) they are:
``2026-11-26 08:00:01 (3 min ago)``, ``… (in 4 min)``.  A posts source shows
its published posts, its bad posts (``PROBLEMS``) and its last scan (``LAST SUCCESS``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from feeds.config import Settings
from feeds.ingest.scan import scan_meta_key
from feeds.store import Store

_UNITS = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))


def relative(stamp: float, now: float) -> str:
    """``"in 4 min"``, ``"3 min ago"``, ``"now"`` (within a second): the largest whole unit."""
    delta = stamp - now
    if abs(delta) < 1:
        return "now"
    seconds = abs(delta)
    for size, unit in _UNITS:
        if seconds >= size:
            amount = f"{int(seconds // size)} {unit}"
            break
    return f"in {amount}" if delta > 0 else f"{amount} ago"


def when(stamp: float | None, now: float, *, never: str = "-") -> str:
    """A stored time as local date and time with its relative time, or ``never``."""
    if stamp is None:
        return never
    text = datetime.fromtimestamp(stamp, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} ({relative(stamp, now)})"


def _scan(store: Store, source: str) -> dict[str, object]:
    raw = store.meta(scan_meta_key(source))
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def status_table(settings: Settings, store: Store, now: float | None = None) -> str:
    """A plain-text table of the sources and what the store knows of them."""
    now = time.time() if now is None else now
    states = store.source_states(counts=True)
    posts_counts = store.post_counts()
    rows = [("SOURCE", "TYPE", "LAST SUCCESS", "LAST ERROR", "FAILURES", "ITEMS", "PROBLEMS", "NEXT DUE")]
    for source in settings.sources:
        if source.remote:
            state = states.get(source.name)
            if state is None:
                rows.append((source.name, source.type, "never", "-", "0", "0", "-", "now"))
                continue
            due = "now" if not state.next_due or state.next_due <= now else when(state.next_due, now)
            rows.append((
                source.name, source.type, when(state.last_success, now, never="never"),
                (state.last_error or "-")[:60], str(state.failures), str(state.items), "-", due,
            ))  # fmt: skip
        else:
            scan = _scan(store, source.name)
            at = scan.get("at")
            scanned = when(float(at), now, never="never") if isinstance(at, int | float) else "never"
            error = scan.get("error")
            problems = scan.get("problems")
            rows.append((
                source.name, source.type, scanned, str(error)[:60] if error else "-", "1" if error else "0",
                str(posts_counts.get(source.name, 0)), str(problems) if isinstance(problems, int) else "-", "-",
            ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
