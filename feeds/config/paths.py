"""The folders a config names, checked against the configs that would destroy or leak something.

* the output folder is ``/``, a system folder or the home folder itself (feeds
  writes into it and creates its lock file beside it);
* the output folder is, or is inside, a posts folder (the next build would
  read its own ``index.html`` as a post) or a posts folder is inside it;
* the state file is inside the output folder (it would be served to the world).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from feeds.core.errors import ConfigError
from feeds.core.models import Source

_SYSTEM = frozenset(
    {"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
     "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib", "/var/log",
     "/var/tmp", "/var/cache", "/usr/local", "/usr/share", "/usr/local/bin", "/usr/local/lib"}
)  # fmt: skip
_SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys",
                 "/usr/bin", "/usr/lib", "/usr/sbin", "/usr/include", "/run")  # fmt: skip


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def check_paths(file: str, out_dir: Path, state_path: Path, sources: Sequence[Source]) -> None:
    """Refuse the configs that would destroy or leak something (each is exit 2 with its reason)."""
    out = os.path.realpath(out_dir)
    home = os.path.realpath(os.path.expanduser("~"))
    if out in _SYSTEM or out == home or any(_inside(out, tree) for tree in _SYSTEM_TREES):
        raise ConfigError(file, f"{str(out_dir)!r} is a system folder: feeds would write (and lock) beside it",
                          key="output.dir")  # fmt: skip
    if _inside(os.path.realpath(state_path), out):
        raise ConfigError(file, f"{str(state_path)!r} is inside the output folder, which is served to the world",
                          key="state.path")  # fmt: skip
    for i, source in enumerate(sources):
        if source.path is None:
            continue
        folder = os.path.realpath(source.path)
        if _inside(out, folder):
            raise ConfigError(file, f"the output folder {str(out_dir)!r} is inside this posts folder: the next build "
                              "would read its own output as posts", key=f"sources[{i}].path")  # fmt: skip
        if _inside(folder, out):
            raise ConfigError(file, f"this posts folder is inside the output folder {str(out_dir)!r}, which is "
                              "served to the world", key=f"sources[{i}].path")  # fmt: skip


def resolve(base: Path, value: str) -> Path:
    """``value`` (a path from the config) as an absolute path, relative ones against ``base`` (the config's folder)."""
    path = Path(value).expanduser()
    return Path(os.path.abspath(path if path.is_absolute() else base / path))
