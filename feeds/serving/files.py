"""The files ``feeds serve`` may answer with, read whole and cached per version (no HTTP here).

Only the files feeds wrote are served: a request path is decoded once, must be
a plain relative path (no ``.``/``..`` segment, no hidden segment, no backslash,
NUL or control character, valid UTF-8) and must be one of ``files()``, the
paths the store recorded as written.  The file must be a regular file, and it and
every folder between it and the output folder must not be a symlink.

A version of a file is keyed by (path, size, mtime_ns, inode): it is read once,
whole, from one open file descriptor (files are replaced by rename, so that is
one complete version, never half of one or a mix of two), and gzip-compressed at
most once.  Its ETag is a hash of its bytes: the same across rebuilds and
restarts while the bytes are; the gzip representation has its own ETag.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
from collections.abc import Callable, Collection
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote

from feeds.output.formats.base import every

# The feed files by name (each format's), then the pages and the OPML by extension.
CONTENT_TYPES = {fmt.filename: fmt.content_type for fmt in every()} | {
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def content_type(rel: str) -> str:
    name = rel.rpartition("/")[2]
    return CONTENT_TYPES.get(name) or CONTENT_TYPES.get("." + name.rpartition(".")[2], "application/octet-stream")


@dataclass(slots=True)
class Version:
    """One version of one served file, with its identity and gzip representations."""

    key: tuple[int, int, int]  # size, mtime_ns, inode
    data: bytes
    etag: str
    mtime: int  # whole seconds: Last-Modified
    content_type: str
    gz: bytes | None = None
    gz_etag: str = ""
    last_modified: str = ""

    def __post_init__(self) -> None:
        self.last_modified = formatdate(self.mtime, usegmt=True)

    def gzipped(self) -> tuple[bytes, str]:
        """The gzip representation and its ETag, compressed on first use (deterministic bytes)."""
        if self.gz is None:
            self.gz = gzip.compress(self.data, compresslevel=6, mtime=0)
            self.gz_etag = self.etag[:-1] + '-gz"'
        return self.gz, self.gz_etag


def decode_path(raw: str) -> str | None:
    """The relative file path a request path names, or None when it cannot be one of ours.

    ``/`` is ``index.html`` and a path ending in ``/`` is that folder's ``index.html``.
    """
    path = raw.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        return None
    try:
        path = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\\" in path or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return None
    rel = path[1:]
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    if any(part in ("", ".", "..") or part.startswith(".") for part in rel.split("/")):
        return None
    return rel


class OutputFiles:
    """The served files of one output folder; ``files()`` returns the relative paths feeds wrote."""

    def __init__(self, root: os.PathLike[str] | str, files: Callable[[], Collection[str]]) -> None:
        self.root = Path(os.path.abspath(root))
        self.files = files
        self._cache: dict[str, Version] = {}

    def lookup(self, raw_path: str) -> Version | None:
        """The current version of the file ``raw_path`` names, or None (404)."""
        rel = decode_path(raw_path)
        if rel is None or rel not in self.files():
            return None
        return self.read(rel)

    def read(self, rel: str) -> Version | None:
        full = os.path.join(self.root, rel)
        try:
            st = os.lstat(full)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode) or not self._inside(rel):
            return None
        cached = self._cache.get(rel)
        if cached is not None and cached.key == (st.st_size, st.st_mtime_ns, st.st_ino):
            return cached
        try:
            fd = os.open(full, _OPEN_FLAGS)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            data = _read_all(fd, st.st_size)
        except OSError:
            return None
        finally:
            os.close(fd)
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        if cached is not None and cached.data == data:  # same bytes, new file (a restore, a touch)
            cached.key, cached.mtime = key, int(st.st_mtime)
            cached.last_modified = formatdate(cached.mtime, usegmt=True)
            return cached
        etag = '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'
        version = Version(key, data, etag, int(st.st_mtime), content_type(rel))
        self._cache[rel] = version
        return version

    def _inside(self, rel: str) -> bool:
        """Every folder between the output folder and the file is a real folder, not a symlink."""
        folder = self.root
        for part in rel.split("/")[:-1]:
            folder = folder / part
            try:
                if not stat.S_ISDIR(os.lstat(folder).st_mode):
                    return False
            except OSError:
                return False
        return True


def _read_all(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    want = max(size, 1 << 16)
    while True:
        chunk = os.read(fd, want)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
