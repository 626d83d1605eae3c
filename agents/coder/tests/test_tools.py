"""The tool layer: every path stays inside the worktree (absolute paths, `..`, symbolic links
leading out and the worktree's .git refused, with what the model reads), replace's one-occurrence
rule, `run`'s time limit and bounded output, and `run` held by the kernel to writing the worktree
(never the repository's git folder nor the rest of the task's folder), on real files, real
repositories and real processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hyperagent_coder.gitwork import Repository
from hyperagent_coder.tools import Limits, Refused, Worktree
from hyperagent_sdk import narrow


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the person's own file\n")
    return secret


@pytest.fixture
def wt(tmp_path: Path) -> Worktree:
    root = tmp_path / "wt"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("x = 1\ny = 2\nx = 1\n")
    (root / ".git").write_text("gitdir: /somewhere/.git/worktrees/wt\n")
    return Worktree(root, Limits(run_timeout_secs=2, max_run_output_bytes=1000, max_entries=50))


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/etc/passwd", "is an absolute path"),
        ("../outside/secret.txt", "holds `..`"),
        ("src/../../outside/secret.txt", "holds `..`"),
        (".git", "worktree's .git"),
        (".git/config", "worktree's .git"),
        ("", "the path is empty"),
        ("a\0b", "without NUL"),
    ],
)
def test_a_path_outside_the_worktree_is_refused(wt: Worktree, path: str, said: str) -> None:
    with pytest.raises(Refused) as err:
        wt.resolve(path)
    assert said in str(err.value)
    obs = wt.call({"tool": "write_file", "path": path, "content": "pwned"})
    assert not obs.ok
    assert obs.text.startswith("refused: ")


def test_a_symbolic_link_leading_out_is_refused_for_every_tool(wt: Worktree, outside: Path) -> None:
    (wt.root / "link.txt").symlink_to(outside)
    (wt.root / "linkdir").symlink_to(outside.parent)
    (wt.root / "gitlink").symlink_to(wt.root / ".git")
    for call in (
        {"tool": "read_file", "path": "link.txt"},
        {"tool": "write_file", "path": "link.txt", "content": "pwned"},
        {"tool": "replace", "path": "link.txt", "old": "own", "new": "pwned"},
        {"tool": "write_file", "path": "linkdir/new.txt", "content": "pwned"},
        {"tool": "list_files", "path": "linkdir"},
        {"tool": "write_file", "path": "gitlink", "content": "pwned"},
    ):
        obs = wt.call(call)
        assert not obs.ok, call
        assert "leads" in obs.text, obs.text
    assert outside.read_text() == "the person's own file\n"
    assert sorted(p.name for p in outside.parent.iterdir()) == ["secret.txt"]
    # A link that stays inside is followed.
    (wt.root / "inner").symlink_to(wt.root / "src" / "app.py")
    assert wt.call({"tool": "read_file", "path": "inner"}).text.startswith("x = 1")


def test_search_and_list_do_not_follow_links_out(wt: Worktree, outside: Path) -> None:
    (wt.root / "linkdir").symlink_to(outside.parent)
    assert "secret" not in wt.call({"tool": "search", "pattern": "own file"}).text
    listing = wt.call({"tool": "list_files", "path": ""}).text.splitlines()
    assert listing == ["linkdir/", "src/", "src/app.py"]
    assert wt.call({"tool": "search", "pattern": "y = "}).text == "src/app.py:2: y = 2"
    bad = wt.call({"tool": "search", "pattern": "("})
    assert not bad.ok
    assert "not a regular expression" in bad.text


def test_write_makes_folders_and_read_gives_back_what_was_written(wt: Worktree) -> None:
    obs = wt.call({"tool": "write_file", "path": "pkg/new/mod.py", "content": "print('hi')\n"})
    assert obs.ok
    assert obs.text == "wrote pkg/new/mod.py: a new file of 12 bytes"
    assert wt.call({"tool": "read_file", "path": "pkg/new/mod.py"}).text == "print('hi')\n"
    again = wt.call({"tool": "write_file", "path": "pkg/new/mod.py", "content": ""})
    assert again.text == "wrote pkg/new/mod.py: 0 bytes in place of 12"
    missing = wt.call({"tool": "read_file", "path": "nope.py"})
    assert not missing.ok
    assert "there is no file" in missing.text


def test_replace_takes_exactly_one_occurrence(wt: Worktree) -> None:
    twice = wt.call({"tool": "replace", "path": "src/app.py", "old": "x = 1", "new": "x = 3"})
    assert not twice.ok
    assert "2 times" in twice.text
    none = wt.call({"tool": "replace", "path": "src/app.py", "old": "z = 9", "new": "z = 0"})
    assert not none.ok
    assert "is not in src/app.py" in none.text
    once = wt.call({"tool": "replace", "path": "src/app.py", "old": "y = 2", "new": "y = 20"})
    assert once.ok
    assert once.text == "replaced 1 occurrence in src/app.py at line 2"
    assert (wt.root / "src" / "app.py").read_text() == "x = 1\ny = 20\nx = 1\n"
    empty = wt.call({"tool": "replace", "path": "src/app.py", "old": "", "new": "a"})
    assert not empty.ok


def test_run_reports_the_exit_code_and_output(wt: Worktree) -> None:
    obs = wt.call({"tool": "run", "argv": ["sh", "-c", "pwd; echo oops >&2; exit 3"]})
    assert obs.ok
    first, *rest = obs.text.splitlines()
    assert first.startswith("exit code 3 after ")
    assert rest == [str(wt.real_root), "oops"]
    missing = wt.call({"tool": "run", "argv": ["no-such-command-here"]})
    assert not missing.ok
    assert "there is no command" in missing.text


def test_run_is_killed_at_its_time_limit_with_its_whole_group(wt: Worktree) -> None:
    pidfile = wt.root / "pids"
    started = time.monotonic()
    obs = wt.call(
        {"tool": "run", "argv": ["sh", "-c", f"sleep 30 & echo $! > {pidfile}; echo started; wait"]}
    )
    took = time.monotonic() - started
    assert obs.text.startswith("timed out after 2 s; its processes were killed"), obs.text
    assert "started" in obs.text
    assert took < 10
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the command's child {pid} outlived the time limit")


def test_run_output_keeps_its_head_and_tail(wt: Worktree) -> None:
    obs = wt.call(
        {"tool": "run", "argv": ["python3", "-c", "print('A' * 600 + 'B' * 5000 + 'C' * 600)"]}
    )
    text = obs.text.split("\n", 1)[1]
    assert text.startswith("A" * 500)
    assert text.endswith("C" * 499 + "\n")  # the last 500 bytes
    assert "bytes of output cut" in text
    assert len(text) < 1200


needs_landlock = pytest.mark.skipif(
    narrow.abi() == 0, reason=f"run narrows commands with Landlock: {narrow.unavailable_reason()}"
)


@pytest.fixture
def real(make_repo: Callable[..., Path], tmp_path: Path) -> tuple[Repository, Worktree]:
    """A real repository and a worktree of it in a task's folder (``tmp_path / "task"``)."""
    repo = Repository.at(make_repo())
    workspace = tmp_path / "task"
    workspace.mkdir()
    tree = workspace / "leaf"
    repo.add_worktree(tree, "hyperagent/leaf", repo.commit_of("main"))
    return repo, Worktree(tree, Limits(run_timeout_secs=20))


def run(wt: Worktree, script: str) -> str:
    obs = wt.call({"tool": "run", "argv": ["sh", "-c", script]})
    assert obs.ok, obs.text
    return obs.text


@needs_landlock
def test_run_cannot_write_the_git_folder_nor_beside_the_worktree(
    real: tuple[Repository, Worktree],
) -> None:
    repo, wt = real
    git_dir = repo.git_dir
    admin = git_dir / "worktrees" / "leaf"
    config = (git_dir / "config").read_text()
    said = run(
        wt,
        f"echo '#!/bin/sh' > {git_dir}/hooks/pre-commit; echo x > ../outside;"
        f" echo y > {admin}/evil; git config core.fsmonitor 'touch /tmp/pwned';"
        f" git update-ref refs/heads/main HEAD~0 2>&1 | head -1; echo done",
    )
    assert said.count("Permission denied") >= 3, said
    assert said.rstrip().endswith("done")
    assert not (git_dir / "hooks" / "pre-commit").exists()
    assert not (wt.real_root.parent / "outside").exists()
    assert not (admin / "evil").exists()
    assert (git_dir / "config").read_text() == config
    assert sorted(p.name for p in wt.real_root.parent.iterdir()) == ["leaf"]


@needs_landlock
def test_run_writes_the_worktree_and_a_private_tmp_and_reads_with_git(
    real: tuple[Repository, Worktree],
) -> None:
    _repo, wt = real
    said = run(
        wt,
        'echo new > new.txt && echo changed >> README.md && echo t > "$TMPDIR/t" && echo wrote;'
        " echo tmp=$TMPDIR; git status --short; git diff --stat | tail -1; git log --format=%s",
    )
    assert "wrote" in said
    assert " M README.md" in said
    assert "?? new.txt" in said
    assert "1 file changed" in said
    assert said.rstrip().endswith("first")
    tmp = next(line for line in said.splitlines() if line.startswith("tmp=")).removeprefix("tmp=")
    assert tmp
    assert not Path(tmp).exists()  # removed after the command
    assert (wt.real_root / "new.txt").read_text() == "new\n"


@needs_landlock
def test_run_cannot_stage_or_commit(real: tuple[Repository, Worktree]) -> None:
    repo, wt = real
    head = repo.commit_of("hyperagent/leaf")
    obs = wt.call({"tool": "run", "argv": ["git", "add", "--all"]})
    assert obs.text.startswith("exit code 128"), obs.text
    assert "index.lock" in obs.text
    assert "Permission denied" in obs.text
    obs = wt.call({"tool": "run", "argv": ["git", "commit", "-qm", "x", "--allow-empty"]})
    assert not obs.text.startswith("exit code 0"), obs.text
    assert repo.commit_of("hyperagent/leaf") == head


def test_run_is_refused_without_landlock(wt: Worktree, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(narrow, "_abi", 0)
    obs = wt.call({"tool": "run", "argv": ["true"]})
    assert not obs.ok
    assert "commands cannot run here" in obs.text
