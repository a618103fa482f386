"""`feeds init`, the help texts, `feeds status` times and counts, and the progress bar on a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import sys
import termios
import time
from pathlib import Path

import feedparser
import lxml.html
import pytest
from conftest import Site, post_text, run_cli

from feeds import config
from feeds.status import relative, status_table, when
from feeds.store import open_store

ROOT = Path(__file__).resolve().parent.parent


def test_init_then_build_in_an_empty_folder(tmp_path: Path) -> None:
    proc = run_cli("init", "site", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "site"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "config/feeds.toml",
        "posts/2025-01-06-welcome.md",
    ]
    proc = run_cli("build", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    # one of each is one, not "1 posts … 1 items"
    assert re.search(r"^1 post read \(0 cached\), 0 skipped, 1 item; \d+ files written, 0 unchanged in ",
                     proc.stderr.splitlines()[-1]), proc.stderr
    feed = feedparser.parse((folder / "out" / "rss.xml").read_bytes())
    assert not feed.bozo and [e.title for e in feed.entries] == ["示例：本站开通 RSS 与 Atom 订阅"]
    page = lxml.html.fromstring((folder / "out" / "index.html").read_bytes())
    assert [h.text_content() for h in page.cssselect("ol.items h3")] == ["示例：本站开通 RSS 与 Atom 订阅"]
    assert (folder / "out" / "category" / "kuaixun·shili" / "index.html").is_file()
    assert run_cli("check", cwd=folder).returncode == 0


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "feeds.toml").write_text("mine", encoding="utf-8")
    proc = run_cli("init", cwd=tmp_path)
    assert proc.returncode == 1
    assert "config/feeds.toml: already exists" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "config" / "feeds.toml").read_text(encoding="utf-8") == "mine"
    assert not (tmp_path / "posts").exists()  # nothing written


def _accepted_keys(tmp_path: Path, table: str, body: str) -> set[str]:
    """The keys the parser accepts in one table: what its error names for a key nobody knows."""
    cfg = tmp_path / "feeds.toml"
    posts = tmp_path / "posts"
    posts.mkdir(exist_ok=True)
    site = '[site]\ntitle = "t"\nurl = "https://a.example/"\n'
    extra = "zzz_unknown = 1\n"
    text = site + body + extra if table == "site" else site + f"{body}{extra}"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError) as caught:
        config.load(cfg)
    message = str(caught.value)
    assert "zzz_unknown" in message and "known keys here: " in message, message
    return {k.strip() for k in message.split("known keys here: ", 1)[1].rstrip(")").split(",")}


def test_starter_config_shows_every_key(tmp_path: Path) -> None:
    """Every key the config parser accepts is in the starter config (set or commented out)."""
    text = (ROOT / "feeds" / "config" / "starter_files" / "feeds.toml").read_text(encoding="utf-8")
    tables = {
        "site": "",
        "output": "[output]\n",
        "identity": "[identity]\n",
        "schedule": "[schedule]\n",
        "fetch": "[fetch]\n",
        "state": "[state]\n",
        "serve": "[serve]\n",
        "websub": "[websub]\n",
        "merge": "[merge]\n",
        "sources posts": '[[sources]]\nname = "p"\ntype = "posts"\npath = "posts"\n',
        "sources feed": '[[sources]]\nname = "f"\ntype = "feed"\nurl = "https://f.example/rss"\n',
        "sources page": '[[sources]]\nname = "l"\ntype = "page"\nurl = "https://f.example/l"\nitem = "li"\n'
                        'title = "a"\nlink = "a@href"\n',
    }
    for table, body in tables.items():
        keys = _accepted_keys(tmp_path, table, body)
        assert keys, table
        heading = "[[sources]]" if table.startswith("sources") else f"[{table}]"
        assert heading in text, heading
        for key in keys:
            assert re.search(rf"^#? ?{re.escape(key)} = ", text, re.M), f"{table}.{key} is not in the starter config"
    for key in ("name", "match", "drop", "sources", "categories"):  # [[rules]]
        assert re.search(rf"^#? ?{key} = ", text, re.M), f"rules.{key}"
    assert "[categories]" in text and "[[rules]]" in text
    starter = config.load(ROOT / "feeds" / "config" / "starter_files" / "feeds.toml")
    assert starter.sources and starter.merge.near_duplicates  # it is a valid config itself


def test_help_says_what_each_command_reads_and_writes() -> None:
    top = run_cli("--help", cwd=ROOT)
    assert top.returncode == 0 and "README.md" in top.stdout and "Example" in top.stdout
    for command in ("build", "check", "run", "status", "init"):
        proc = run_cli(command, "--help", cwd=ROOT)
        assert proc.returncode == 0, command
        assert "Example:" in proc.stdout and "README.md" in proc.stdout, command
        assert "Reads" in proc.stdout or "reads" in proc.stdout, command


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (0.2, "now"), (-5, "5 s ago"), (30, "in 30 s"), (-180, "3 min ago"), (240, "in 4 min"),
        (-7200, "2 h ago"), (3 * 86400 + 5, "in 3 d"),
    ],
)
def test_relative_times(delta: float, text: str) -> None:
    now = 1_700_000_000.0
    assert relative(now + delta, now) == text
    assert when(now + delta, now).endswith(f"({text})")
    assert when(None, now, never="never") == "never"


def test_status_of_a_posts_source(site: Site) -> None:
    site.add("2022-01-25-a.md", post_text("甲"))
    site.add("2022-01-24-b.md", post_text("乙", "2022-01-24 09:00:00 +0800", info_code="NW2"))
    site.add("bad.md", "no front matter\n")
    site.build()
    settings = site.settings()
    with open_store(settings) as store:
        table = status_table(settings, store, now=time.time() + 180)
    header, row = table.splitlines()
    assert "PROBLEMS" in header
    cells = re.split(r"\s{2,}", row)
    assert cells[:2] == ["posts", "posts"]
    assert cells[2].endswith("(3 min ago)")
    assert cells[5:7] == ["2", "1"]  # posts held, bad posts
    proc = site.cli("status", "-c", "config/feeds.toml")
    assert proc.returncode == 0
    assert re.search(r"\((now|\d+ s ago)\)", proc.stdout), proc.stdout


def _run_on_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``python -m feeds ARGS`` on a pseudo-terminal of 100 columns; its exit code and output."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdin/stdout/stderr are the terminal
        try:
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "feeds", *args], env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


def test_progress_bar_counts_finishes_and_is_cleared(site: Site) -> None:
    for i in range(30):
        site.add(f"2022-01-{i % 28 + 1:02d}-p{i}.md", post_text(f"文章{i}", info_code=f"NW{i:04d}"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), TQDM_DELAY="0", TQDM_MININTERVAL="0", TERM="xterm")
    code, out = _run_on_terminal(["build", "-c", "config/feeds.toml"], site.root, env)
    assert code == 0, out
    frames = out.replace("\r\n", "\n").split("\r")
    assert any("30/30" in frame and "100%" in frame for frame in frames), out  # counted to the end
    summary = [line for line in out.splitlines() if "posts read" in line]
    assert len(summary) == 1
    # the bar was cleared: the summary line starts a clean line (only erasing control codes before it)
    before = summary[0].split("30 posts read")[0]
    assert before.split("\r")[-1] in ("", "\x1b[K"), repr(before)
    assert not re.search(r"\d+%\|", out.split("\x1b[K")[-1]), repr(out)


def test_no_progress_bar_when_not_a_terminal(site: Site) -> None:
    site.add("a.md", post_text("甲"))
    proc = site.cli("build", "-c", "config/feeds.toml")
    assert proc.returncode == 0 and "%|" not in proc.stderr and "\r" not in proc.stderr
