"""The terminal progress bar of ``feeds build`` (tqdm lives here and nowhere else)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def progress_bar() -> tuple[Callable[[int], None] | None, Callable[[int], None] | None, Callable[[], None]]:
    """A tqdm bar of the posts read, on stderr when it is a terminal; nothing otherwise.

    It appears only when reading takes more than half a second (tqdm's own
    ``TQDM_DELAY``/``TQDM_MININTERVAL`` variables change that), shows the final
    count, and is cleared before the summary line.
    """
    if not sys.stderr.isatty():
        return None, None, lambda: None
    from tqdm import tqdm

    shown = False

    class _Seen:  # tqdm's stream: stderr, remembering whether the bar was ever drawn
        encoding = sys.stderr.encoding

        def fileno(self) -> int:
            return sys.stderr.fileno()

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> int:
            nonlocal shown
            shown = shown or bool(text.strip())
            return sys.stderr.write(text)

        def flush(self) -> None:
            sys.stderr.flush()

    defaults = {"mininterval": 0.2, "delay": 0.5}
    options = {k: v for k, v in defaults.items() if f"TQDM_{k.upper()}" not in os.environ}
    bar = tqdm(total=0, unit="post", file=_Seen(), leave=False, dynamic_ncols=True, **options)  # type: ignore[call-overload]

    def on_total(n: int) -> None:
        bar.total = (bar.total or 0) + n  # drawn at the next update (a refresh here would skip the delay)

    def close() -> None:
        if shown:
            bar.refresh()  # the final count
            bar.clear()
        bar.close()
        if shown:
            sys.stderr.write("\r\x1b[K")  # nothing of the bar is left before the summary line
            sys.stderr.flush()

    return bar.update, on_total, close
