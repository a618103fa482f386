"""Hostile files, folders and configs: special files, loops, unreadable folders, size caps,
bad output folders, dangerous and non-finite configs — one line each, never a traceback or a hang."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import POSTS_SOURCE, post_text, run_cli, write_config
from hostile_helpers import FAST, one_line_each
from hypothesis import given
from hypothesis import strategies as st

from feeds import config, pipeline
from feeds.core.errors import ConfigError
from feeds.sources import posts as posts_module


def _site(root: Path, extra: str = "", sources: str | None = None) -> Path:
    (root / "posts").mkdir(exist_ok=True)
    (root / "posts" / "2022-01-25-good.md").write_text(post_text("好邻居"), encoding="utf-8")
    return write_config(root, extra, sources=sources)


def _check(root: Path) -> tuple[int, list[str]]:
    result = run_cli("check", "-c", "config/feeds.toml", cwd=root, timeout=30)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout.splitlines()


# ---------------------------------------------------------------- special files


def test_special_files_named_like_posts_are_reported_not_read(tmp_path: Path) -> None:
    _site(tmp_path)
    posts = tmp_path / "posts"
    os.symlink("/dev/zero", posts / "zero.md")
    os.mkfifo(posts / "fifo.md")
    os.symlink("loop.md", posts / "loop.md")
    os.symlink("missing-target", posts / "dangling.md")
    code, lines = _check(tmp_path)  # the FIFO would hang a blocking open; /dev/zero never ends
    assert code == 1
    for name in ("zero.md", "fifo.md", "loop.md", "dangling.md"):
        assert any(line.startswith(f"posts/{name}: ") for line in lines), (name, lines)
    result = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path, timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "好邻居" in (tmp_path / "out" / "rss.xml").read_text()
    # The second build reads the cache: the problems are still reported, not silently skipped.
    again = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path, timeout=60)
    for name in ("zero.md", "fifo.md", "loop.md", "dangling.md"):
        assert f"posts/{name}: " in again.stderr, (name, again.stderr)


def test_a_post_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    _site(tmp_path, sources=POSTS_SOURCE + "max_bytes = 2000\n")
    (tmp_path / "posts" / "big.md").write_text(post_text("大", paragraphs=["长" * 5000]), encoding="utf-8")
    code, lines = _check(tmp_path)
    assert code == 1 and any(line.startswith("posts/big.md: file too large") for line in lines), lines


def test_an_unreadable_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _site(tmp_path)
    (tmp_path / "posts" / "locked").mkdir()
    real = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(posts_module.os, "scandir", scandir)
    problems = pipeline.check(config.load(tmp_path / "config" / "feeds.toml"))
    assert any("locked: folder cannot be read: Permission denied" in line for line in problems), problems


@FAST
@given(name=st.text(min_size=1, max_size=30).filter(lambda n: "/" not in n and "\0" not in n))
def test_problem_lines_are_one_line_whatever_the_name(name: str) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        _site(root)
        name = name.lstrip(".#_").rstrip("~") or "x"
        try:
            (root / "posts" / f"{name}.md").write_text("no front matter", encoding="utf-8")
        except (OSError, UnicodeEncodeError):
            return
        problems = pipeline.check(config.load(root / "config" / "feeds.toml"))
        assert len(problems) == 1, problems
        one_line_each(problems)
    finally:
        shutil.rmtree(root)


# ---------------------------------------------------------------- output folder


@pytest.mark.parametrize("case", ["file", "parent-file", "read-only"])
def test_a_bad_output_folder_is_one_line_and_exit_1(tmp_path: Path, case: str) -> None:
    _site(tmp_path)
    if case == "file":
        (tmp_path / "out").write_text("I am a file")
    elif case == "parent-file":
        (tmp_path / "out").write_text("I am a file")
        cfg = tmp_path / "config" / "feeds.toml"
        cfg.write_text(cfg.read_text().replace('dir = "../out"', 'dir = "../out/sub"'))
    else:
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "rss.xml").mkdir()  # not writable as a file, whoever we are
    for command in ("build",):  # (`feeds run` shares the lock and publish; daemon.py is being rewritten)
        result = run_cli(command, "-c", "config/feeds.toml", cwd=tmp_path, timeout=60)
        assert result.returncode == 1, (command, result.stderr)
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("feeds: ")]
        assert len(errors) == 1, result.stderr


# ---------------------------------------------------------------- configs


@pytest.mark.parametrize(
    "extra",
    [
        '[schedule]\ninterval = inf\n',
        '[schedule]\ninterval = nan\n',
        '[schedule]\ninterval = -inf\n',
        '[schedule]\nmax_backoff = inf\n',
        '[schedule]\njitter = nan\n',
        '[fetch]\ntimeout = nan\n',
        '[fetch]\nconnect_timeout = inf\n',
        '[fetch]\nread_timeout = 1e308\n',
        '[schedule]\ninterval = "99999999999d"\n',
        '[fetch]\nmax_bytes = 9223372036854775807\n',
        '[schedule]\nconcurrency = 9223372036854775807\n',
    ],
)
def test_non_finite_or_huge_numbers_are_refused(tmp_path: Path, extra: str) -> None:
    cfg = _site(tmp_path)
    cfg.write_text(cfg.read_text() + "\n" + extra)
    result = run_cli("check", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("limit", ["0", "-1", "9223372036854775807"])
def test_limit_out_of_range_is_refused(tmp_path: Path, limit: str) -> None:
    cfg = _site(tmp_path)
    cfg.write_text(cfg.read_text().replace("limit = 50", f"limit = {limit}"))
    assert run_cli("check", "-c", "config/feeds.toml", cwd=tmp_path, timeout=30).returncode == 2


DANGEROUS = {
    "output is the posts folder": ('dir = "../out"', 'dir = "../posts"', None),
    "output inside the posts folder": ('dir = "../out"', 'dir = "../posts/site"', None),
    "output is /": ('dir = "../out"', 'dir = "/"', None),
    "output is /etc": ('dir = "../out"', 'dir = "/etc"', None),
    "output is /usr/bin": ('dir = "../out"', 'dir = "/usr/bin"', None),
    "output is the home folder": ('dir = "../out"', 'dir = "~"', None),
    "state in the output": (None, None, '[state]\npath = "../out/state.db"\n'),
    "state is a feed": (None, None, '[state]\npath = "../out/rss.xml"\n'),
    "category_url javascript": (None, None, None),
    "permalink vbscript": (None, None, None),
}


@pytest.mark.parametrize("case", sorted(DANGEROUS))
def test_dangerous_configs_are_refused_with_exit_2(tmp_path: Path, case: str) -> None:
    cfg = _site(tmp_path)
    old, new, extra = DANGEROUS[case]
    text = cfg.read_text()
    if old:
        text = text.replace(old, new)
    if extra:
        text += "\n" + extra
    if case == "category_url javascript":
        text = text.replace('author = "编辑部"', 'author = "编辑部"\ncategory_url = " JaVaScRiPt:alert(1)//:slug"')
    if case == "permalink vbscript":
        text = text.replace('author = "编辑部"', 'author = "编辑部"\npermalink = "vbscript:msgbox(1)"')
    cfg.write_text(text)
    before = sorted(os.listdir(tmp_path))
    for command in ("check", "build"):
        result = run_cli(command, "-c", "config/feeds.toml", cwd=tmp_path, timeout=30)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(os.listdir(tmp_path)) == before  # nothing created anywhere


@FAST
@given(value=st.one_of(st.floats(), st.text(max_size=12), st.integers()))
def test_any_duration_is_refused_or_finite(value: object) -> None:
    data = {"site": {"title": "t", "url": "https://x.example/"}, "schedule": {"interval": value}}
    try:
        settings = config.parse(data, Path("/srv/feeds/config/feeds.toml"))
    except ConfigError as exc:
        one_line_each([str(exc)])
        return
    assert 0 < settings.schedule.interval <= 365 * 86400
