"""``feeds init``: a starter site in a folder, ready for ``feeds build``.

Writes ``config/feeds.toml`` (every section and key, commented) and one example
post in ``posts/``; the output goes to ``out/``.  Never overwrites a file.
"""

from __future__ import annotations

from pathlib import Path

from feeds.core.errors import OutputError, display

STARTER = Path(__file__).resolve().parent / "starter_files"
FILES = {  # written file (relative to the folder) -> bundled starter file
    "config/feeds.toml": "feeds.toml",
    "posts/2025-01-06-welcome.md": "post.md",
}


def init_site(folder: Path) -> list[Path]:
    """Write the starter files into ``folder`` (made if missing); returns them.

    Raises OutputError, having written nothing, when one of them already exists
    or the folder cannot be written.
    """
    targets = {folder / rel: STARTER / name for rel, name in FILES.items()}
    existing = [path for path in targets if path.exists() or path.is_symlink()]
    if existing:
        raise OutputError(display(existing[0]), "already exists; `feeds init` never overwrites a file: nothing written")
    written: list[Path] = []
    try:
        for target, source in targets.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "xb") as handle:  # "x": fails rather than overwrite a file made meanwhile
                handle.write(source.read_bytes())
            written.append(target)
    except OSError as exc:
        raise OutputError(display(exc.filename or folder), f"cannot write: {exc.strerror or exc}") from None
    return written
