"""Writing the output folder: atomically, only when the bytes changed.

Every file goes to a temporary file in the same folder, is flushed to disk, and
is renamed over the old one: a reader or a crash sees the old file or the new
one, never a mix.  An unchanged file keeps its mtime (stable Last-Modified).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]+\.tmp\Z")


def sweep_temporaries(out_dir: Path, folders: Iterable[str]) -> list[Path]:
    """Remove temporary files a killed writer left in ``folders`` (relative to ``out_dir``)."""
    removed: list[Path] = []
    for folder in sorted(set(folders)):
        try:
            entries = list(os.scandir(out_dir / folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if _TEMPORARY.match(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
                except FileNotFoundError:
                    pass
    return removed


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless it already holds exactly that.

    Returns True when the file was written.  The bytes go to a temporary file in
    the same folder, which is renamed over ``path``: a reader or a crash of the
    process sees the old file or the new one, never a mix.  There is no fsync:
    a busy daemon rewrites tens of MB of feeds a second, and an fsync per file
    made that disk-bound (seconds per publish).  The files are derived from the
    store; after a power cut the next publish rewrites any file whose size is
    not the one it recorded.
    """
    staged = stage(path, data)
    if staged is None:
        return False
    try:
        os.replace(staged, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)
        raise
    return True


def stage(path: Path, data: bytes) -> str | None:
    """The first half of :func:`write_if_changed`: ``data`` in a temporary file beside ``path``, to
    be renamed over it (``os.replace``), or None when ``path`` already holds exactly that."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return None
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp
