"""A pool of worker processes shared by the stages of one build.

Reading 100k posts and rendering the bodies that reach a feed are both CPU
bound; the pool is forked once, early, while the parent is still small, and
reused.  With one core or little work everything runs in this process.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Executor

T = TypeVar("T")
R = TypeVar("R")


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies, even by ``kill -9`` (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the pool's own checks still end idle workers
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _worker_init(parent: int) -> None:
    """Workers die with their parent and hold none of its locks.

    They leave signals to the parent: Ctrl-C (to the whole process group) is
    ignored here, SIGTERM ends just the worker, and nothing is forwarded to the
    parent's event loop through an inherited wakeup fd.  The output lock's file
    descriptor, inherited through fork, is closed: a worker outliving its
    parent must never keep the output folder locked.
    """
    _die_with_parent(parent)
    from feeds.runtime.lock import close_inherited

    close_inherited()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    # Memory: what a big task (a first publish's renders, a burst of feeds to parse) freed is given
    # back every few seconds, as the daemon's own process does (a worker grew to ~30 MB and stayed).
    import threading

    threading.Thread(target=_trim_every, args=(TRIM_SECONDS,), name="trim", daemon=True).start()


class Workers:
    """``map_chunks(fn, items)`` runs ``fn`` over chunks of ``items`` on all cores, in order."""

    def __init__(self, count: int | None = None, *, pool: bool = False, preload: Sequence[str] = ()) -> None:
        """``count`` processes (default: one per core); with one, no pool (everything runs in this
        process) unless ``pool``.  ``preload``: modules to import before forking, so that every worker
        shares them (a long-running process: memory; a short build would pay their import time for
        nothing)."""
        self.count = count if count is not None else (os.cpu_count() or 1)
        self._pooled = self.count > 1 or pool
        self._preload = preload
        self._pool: Executor | None = None

    def start(self) -> Workers:
        if self._pooled and self._pool is None:
            for name in self._preload:
                with contextlib.suppress(ImportError):
                    importlib.import_module(name)
            import multiprocessing  # (with the pool only: a small build forks none)
            from concurrent.futures import ProcessPoolExecutor

            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(
                max_workers=self.count, mp_context=multiprocessing.get_context(method), initializer=_worker_init,
                initargs=(os.getpid(),),
            )
            # The pool forks its workers at the first task: do it now, while this process is
            # small and has no other threads (forking a threaded process can deadlock the child).
            # Memory: frozen, the objects the workers inherit are never visited by their garbage
            # collector, so the pages holding them stay shared with this process (not copied).
            gc.freeze()
            try:
                self._pool.submit(int).result()
            finally:
                gc.unfreeze()
        return self

    def restart(self) -> None:
        """Replace a pool whose worker died (BrokenProcessPool)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self.start()

    def close(self, wait: bool = True) -> None:
        """End the pool; ``wait=False``: without waiting for the workers to exit (they end with
        no work left, or with this process)."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Workers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> Executor | None:
        """The process pool when it has been started already (else None: nothing is forked for it)."""
        return self._pool

    @property
    def executor(self) -> Executor | None:
        """The process pool (started), or None when everything runs in this process."""
        if not self._pooled:
            return None
        self.start()
        return self._pool

    def map_chunks(
        self,
        fn: Callable[[list[T]], R],
        items: Sequence[T],
        *,
        min_parallel: int,
        chunk: int,
    ) -> Iterator[R]:
        """Results of ``fn`` per chunk of ``items``, in order.

        On the pool every chunk is submitted at once (the caller may do other
        work before reading the results); in this process, when ``items`` is
        small or there is one core, each chunk runs as its result is read.
        """
        if not self._pooled or len(items) < min_parallel:
            return (fn(list(items[i : i + chunk])) for i in range(0, len(items), chunk))
        self.start()
        assert self._pool is not None
        size = max(1, min(chunk, len(items) // (self.count * 4) or 1))
        return self._pool.map(fn, [list(items[i : i + size]) for i in range(0, len(items), size)])


def _libc() -> object | None:
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def limit_malloc_arenas(count: int = 2) -> None:
    """Few malloc arenas for a long-running process with threads (glibc; elsewhere nothing).

    Memory: glibc gives each thread that allocates its own arena (up to 8 per
    core), and a freed arena is kept.  The daemon renders tens of MB of feeds in
    whichever worker thread is free, so every thread's arena grew to the largest
    publish: 500-700 MB resident under load instead of ~200.  Call before threads start.
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(-8, count)  # type: ignore[attr-defined]  # M_ARENA_MAX


def map_large_blocks(threshold: int = 1 << 20) -> None:
    """Blocks of ``threshold`` bytes or more mapped on their own, and so returned to the system when
    freed (glibc; elsewhere nothing).  Memory: glibc raises that threshold to the largest block freed
    (up to 32 MiB), after which arrays of tens of MB (the near-duplicate index's, replaced as it grows)
    are carved from the heap, whose holes stay resident (a 250k-item store's build: 359 -> 279 MB)."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(-3, threshold)  # type: ignore[attr-defined]  # M_MMAP_THRESHOLD (fixed from now on)


TRIM_SECONDS = 5.0


def _trim_every(seconds: float) -> None:
    import time

    while True:
        time.sleep(seconds)
        trim_memory()


def trim_memory() -> None:
    """Give memory freed by a large job back to the system (glibc's malloc_trim; elsewhere nothing)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)  # type: ignore[attr-defined]
