"""The house: the package reads as a pipeline, bottom to top, and stays that way.

Every ``import`` of a ``feeds`` module anywhere in the package (at the top of a
module, inside a function, or for type checking only) is read with :mod:`ast`:

* no module imports one of a higher layer (config never imports a stage; a
  source never imports the store; the store never imports the output…);
* no import circle between modules;
* at most 12 modules at the top of ``feeds/``, none over 450 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "feeds"

# Bottom to top.  A module may import modules of its own package and of lower layers only.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("feeds", "feeds.core"),  # the version, and pure models and functions: no I/O
    ("feeds.config", "feeds.runtime"),  # reading feeds.toml; worker processes, the output lock
    ("feeds.sources",),  # posts files, remote feeds, list pages -> items
    ("feeds.store",),  # what is kept between runs
    ("feeds.ingest",),  # sources -> store: polls, scans, near-duplicate sketches
    ("feeds.output",),  # store -> merged items -> files
    ("feeds.serving",),  # files -> HTTP
    ("feeds.daemon",),  # all of it, on a schedule
    ("feeds.cli", "feeds.pipeline", "feeds.explain", "feeds.status", "feeds.progress", "feeds.preview",
     "feeds.subscribe", "feeds.__main__"),  # the commands
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The feeds modules ``name`` imports (``from feeds.x import y`` counts y when y is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name.split(".")[0] == "feeds")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], base]).strip(".")
            if base.split(".")[0] != "feeds":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
    out.discard(name)
    return out


def _layer(name: str) -> tuple[int, str]:
    best: tuple[int, str] | None = None
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            inside = name == prefix or (prefix != "feeds" and name.startswith(prefix + "."))  # (the root: itself)
            if inside and (best is None or len(prefix) > len(best[1])):
                best = (rank, prefix)
    assert best is not None, f"{name} is in no layer: add it to LAYERS"
    return best


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_no_module_imports_a_higher_layer() -> None:
    wrong = []
    for name, imported in sorted(_graph().items()):
        rank, group = _layer(name)
        for other in sorted(imported):
            other_rank, other_group = _layer(other)
            across = other_rank == rank and other_group != group and rank < len(LAYERS) - 1  # (commands may share)
            if other_rank > rank or (across and other_group != "feeds"):
                wrong.append(f"{name} ({group}) imports {other} ({other_group})")
    assert not wrong, "imports that run back up a layer:\n" + "\n".join(wrong)


def test_no_import_circle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for other in sorted(graph.get(name, ())):
            if other not in graph:
                continue
            if state.get(other) == 1:
                circles.append(" -> ".join([*stack[stack.index(other) :], other]))
            elif other not in state:
                visit(other)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_top_level_is_small_and_modules_have_one_job() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}  # fmt: skip
    assert not long, f"modules over 450 lines: {long}"


@pytest.mark.parametrize("name", sorted(_modules()))
def test_every_module_says_what_it_is(name: str) -> None:
    path = _modules()[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if path.name == "__main__.py" or (path.name == "__init__.py" and not tree.body):
        return
    assert ast.get_docstring(tree), f"{path.relative_to(PACKAGE.parent)} has no docstring saying what it is"
