"""One writer per output folder: an exclusive ``flock`` on ``.<output>.feeds.lock`` beside it.

Two daemons, or a daemon and a ``feeds build``, on the same output folder would
interleave their writes; the second one is refused with :class:`LockError`.
The kernel drops the lock when the process dies, even by ``kill -9``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from feeds.core.errors import LockError, display

_HELD: set[int] = set()  # descriptors of the locks this process holds


def close_inherited() -> None:
    """In a forked child: close the lock descriptors inherited from the parent (the lock stays the parent's)."""
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


class OutputLock:
    def __init__(self, out_dir: Path) -> None:
        out_dir = Path(os.path.abspath(out_dir))
        # Beside the folder, not in it: the output folder is served to the world.
        self.out_dir = out_dir
        self.path = out_dir.parent / f".{out_dir.name}.feeds.lock"
        self.fd: int | None = None

    def acquire(self) -> OutputLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LockError(display(self.path), f"cannot create the lock file: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockError(
                display(self.out_dir),
                f"another feeds process (pid {holder}) is writing this output folder",
                int(holder) if holder.isdigit() else None,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        _HELD.add(fd)
        return self

    def release(self) -> None:
        if self.fd is not None:
            _HELD.discard(self.fd)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
