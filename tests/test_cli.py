"""The `feeds` command as a user runs it: exit codes and one-line messages, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Site, post_text, run_cli, write_config

ROOT = Path(__file__).resolve().parent.parent


def test_build_and_summary(site: Site) -> None:
    site.add("a.md", post_text("甲"))
    site.add("bad.md", "")
    proc = site.cli("build", "-c", "config/feeds.toml")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].endswith("is a placeholder: set it to the site's real address (item ids are fixed at the "
                             "first build with a real one)")  # the test site's finews.example.com
    assert lines[1].endswith("bad.md: empty file")
    assert "2 posts read (0 cached), 1 skipped, 1 item;" in lines[-1] and "files written" in lines[-1]
    assert "Traceback" not in proc.stderr
    assert (site.out / "rss.xml").exists()


def test_bundled_example_builds(tmp_path: Path) -> None:
    """The quick start: `feeds build` from the project folder with the default config."""
    import shutil

    for folder in ("config", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns(".feeds"))
    proc = run_cli("build", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    import feedparser

    combined = feedparser.parse((tmp_path / "out" / "rss.xml").read_bytes())
    assert not combined.bozo
    assert len(combined.entries) >= 20
    assert len(list((tmp_path / "out" / "category").iterdir())) >= 3
    proc = run_cli("check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_lists_problems(site: Site) -> None:
    site.add("a.md", post_text("甲"))
    proc = site.cli("check", "-c", "config/feeds.toml")
    assert proc.returncode == 0 and proc.stdout == ""
    site.add("bad.md", "no front matter here")
    site.add("gbk.md", post_text("乙").encode("gbk"))
    before = sorted(p.name for p in site.root.rglob("*"))
    proc = site.cli("check", "-c", "config/feeds.toml")
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    assert len(out) == 2
    assert any(line.endswith("bad.md: no front matter (a post starts with a '---' line)") for line in out)
    assert any("gbk.md: not UTF-8" in line for line in out)
    assert sorted(p.name for p in site.root.rglob("*")) == before  # nothing written


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "config file not found"),
        ("[site\ntitle = 1", "TOML syntax error"),
        ('[site]\ntitle = "t"\nurl = "https://x.example/"\ncolour = "red"\n', "site.colour: unknown key"),
        ('[site]\ntitle = 5\nurl = "https://x.example/"\n', "site.title: must be a string, not an integer"),
        ('[site]\ntitle = "t"\nurl = "nope"\n', "site.url: must be an absolute http(s) URL"),
        ('[site]\ntitle = "t"\nurl = "https://x.example/"\n[output]\nlimit = "ten"\n', "output.limit: must be"),
        ('[site]\ntitle = "t"\nurl = "https://x.example/"\ntimezone = "Mars/Base"\n', "site.timezone: unknown"),
        (
            '[site]\ntitle = "t"\nurl = "https://x.example/"\n'
            '[[sources]]\nname = "a"\ntype = "posts"\npath = "p"\n'
            '[[sources]]\nname = "a"\ntype = "posts"\npath = "q"\n',
            "sources[1].name: duplicate source name 'a'",
        ),
        (
            '[site]\ntitle = "t"\nurl = "https://x.example/"\n[[sources]]\nname = "a"\ntype = "ftp"\n',
            "sources[0].type: unknown source type 'ftp'",
        ),
        ('[site]\ntitle = "t"\nurl = "https://x.example/"\n[identity]\npatterns = ["no group"]\n', "named group"),
        ("[sitee]\n", "sitee: unknown key"),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path: Path, content: str | None, expected: str) -> None:
    cfg = tmp_path / "feeds.toml"
    if content is not None:
        cfg.write_text(content, encoding="utf-8")
    for command in ("build", "check"):
        proc = run_cli(command, "-c", str(cfg), cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert str(cfg) in lines[0] and expected in lines[0], lines[0]


def test_toml_error_names_the_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\nbroken = = 1\n", encoding="utf-8")
    proc = run_cli("build", "-c", str(cfg), cwd=tmp_path)
    assert proc.returncode == 2 and "line" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_posts_folder_is_reported(tmp_path: Path) -> None:
    write_config(tmp_path)
    proc = run_cli("build", "-c", "config/feeds.toml", cwd=tmp_path)
    assert proc.returncode == 1  # never "no posts": a missing folder is an error
    assert "posts folder of source 'posts' does not exist" in proc.stderr
    proc = run_cli("check", "-c", "config/feeds.toml", cwd=tmp_path)
    assert proc.returncode == 1


def test_help_has_examples() -> None:
    for command in ("build", "check"):
        proc = run_cli(command, "--help", cwd=ROOT)
        assert proc.returncode == 0 and "Example:" in proc.stdout
