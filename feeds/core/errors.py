"""Every error feeds raises on purpose is a :class:`FeedsError`.

The tree::

    FeedsError                    anything feeds reports to a user (one line, no traceback)
    ├── ConfigError               the TOML config: missing, unparsable, unknown key, wrong type
    ├── PostError                 one local post file cannot be turned into an item
    ├── SourceError               one remote source failed this time (it backs off, others go on)
    │   ├── FetchError            HTTP: DNS, refused, timeout, TLS, status, too large, redirects
    │   └── FeedParseError        the body is not a feed that yields any entry
    ├── StoreError                the state store cannot be opened, migrated, read or written
    ├── OutputError               a file of the output folder cannot be written or removed
    └── LockError                 another feeds process is writing the same output folder

Errors from third-party libraries (httpx, feedparser, sqlite3, tomllib, yaml) are
translated into this tree at the boundary of the one module that wraps them, so
callers only ever catch ``FeedsError`` subclasses.  ``str(error)`` is always the
single line shown to the user, naming the file, key or source and the reason.
"""

from __future__ import annotations

import os


class FeedsError(Exception):
    """Base class: ``str(err)`` is a complete one-line message for the user."""

    def __reduce__(self) -> tuple[object, ...]:
        # Picklable whatever the subclass's __init__ takes (errors cross process boundaries).
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[FeedsError], args: tuple[object, ...], state: dict[str, object]) -> FeedsError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(FeedsError):
    def __init__(self, path: str, reason: str, key: str | None = None) -> None:
        self.path = path
        self.key = key
        self.reason = reason
        where = f"{path}: {key}" if key else path
        super().__init__(one_line(f"{where}: {reason}"))


class PostError(FeedsError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(one_line(f"{path}: {reason}"))


class SourceError(FeedsError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(one_line(f"{url}: {reason}"))


class FetchError(SourceError):
    """An HTTP fetch failed.

    ``status`` is the HTTP status when the server answered, ``retry_after`` the
    number of seconds a 429/503 ``Retry-After`` header asked us to wait.
    """

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(url, reason)


class FeedParseError(SourceError):
    """The body could not be read as an RSS/Atom feed with at least one entry."""


class StoreError(FeedsError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(one_line(f"{path}: {reason}"))


class OutputError(FeedsError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(one_line(f"{path}: {reason}"))


class LockError(FeedsError):
    def __init__(self, path: str, reason: str, holder: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.holder = holder  # the pid of the process holding the lock, when known
        super().__init__(one_line(f"{path}: {reason}"))


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{code:02x}")
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def one_line(text: object) -> str:
    """``text`` safe to print on one line: line breaks, controls, bidi and undecodable characters escaped."""
    text = str(text)
    if text.isprintable():
        return text
    # Line breaks, controls, bidi overrides, unassigned and undecodable characters.
    return "".join(char if char.isprintable() else _escape_char(char) for char in text)


def display(path: object) -> str:
    """A path or name as the user would like to read it: relative to the cwd when below it, on one line."""
    text = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    try:
        rel = os.path.relpath(text)
    except ValueError:
        rel = ".."
    return one_line(text if rel.startswith("..") else rel)


def reason(exc: BaseException) -> str:
    """What to log of an error: a FeedsError's own line, else "unexpected error: Type: message" (a bug)."""
    return str(exc) if isinstance(exc, FeedsError) else f"unexpected error: {type(exc).__name__}: {exc}"
