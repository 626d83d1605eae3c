"""The git side, with real git in temporary repositories: a branch and its worktree, the commit
as HyperAgent and its diff, nothing committed when nothing changed, cleanup that keeps the
branch, a retried task starting over, git's locks waited out, and workers in parallel on one
repository that never touch each other or the main checkout."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from coder_testing import git

from hyperagent_coder.agent import names
from hyperagent_coder.gitwork import GitError, Repository


def test_a_branch_worktree_commit_and_cleanup(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    path = make_repo(files={"README.md": "# a project\n", "old.txt": "bye\n"})
    head = git(path, "rev-parse", "HEAD").strip()
    repo = Repository.at(path)
    assert repo.current_branch() == "main"
    assert repo.commit_of("main") == head
    wt = tmp_path / "ws" / "abc-coder"
    repo.add_worktree(wt, "hyperagent/abc-coder", head)
    assert (wt / "README.md").read_text() == "# a project\n"
    (wt / "README.md").write_text("# a project\nmore\n")
    (wt / "new.txt").write_text("hello\n")
    (wt / "old.txt").unlink()
    sha = repo.commit_all(wt, "HyperAgent: a change\n\nwhy\n")
    assert sha is not None
    assert git(path, "rev-parse", "hyperagent/abc-coder").strip() == sha
    assert git(path, "log", "-1", "--format=%an <%ae>|%cn|%s", sha).strip() == (
        "HyperAgent <hyperagent@localhost>|HyperAgent|HyperAgent: a change"
    )
    assert [(c.path, c.state) for c in repo.changed(sha)] == [
        ("README.md", "modified"),
        ("new.txt", "added"),
        ("old.txt", "deleted"),
    ]
    assert repo.show(sha) == git(path, "show", "--format=", sha)
    repo.remove_worktree(wt)
    assert not wt.exists()
    assert git(path, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert repo.has_branch("hyperagent/abc-coder")
    # The main checkout never moved.
    assert git(path, "rev-parse", "HEAD").strip() == head
    assert git(path, "status", "--porcelain") == ""


def test_nothing_changed_commits_nothing(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    path = make_repo()
    repo = Repository.at(path)
    wt = tmp_path / "wt"
    repo.add_worktree(wt, "hyperagent/none-coder", repo.commit_of("main"))
    assert repo.commit_all(wt, "nothing") is None
    repo.remove_worktree(wt)
    repo.delete_branch("hyperagent/none-coder")
    assert git(path, "branch", "--list", "hyperagent/*") == ""


def test_a_retried_task_starts_again_from_its_base(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    path = make_repo()
    repo = Repository.at(path)
    base = repo.commit_of("main")
    wt = tmp_path / "wt"
    repo.add_worktree(wt, "hyperagent/r-coder", base)
    (wt / "half.txt").write_text("an attempt that died\n")
    repo.add_worktree(wt, "hyperagent/r-coder", base)
    assert not (wt / "half.txt").exists()
    assert git(path, "rev-parse", "hyperagent/r-coder").strip() == base


def test_what_is_not_a_main_checkout_is_named(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    with pytest.raises(GitError, match="must be an absolute path"):
        Repository.at("relative/repo")
    with pytest.raises(GitError, match="is not the main checkout of a git repository"):
        Repository.at(tmp_path)
    path = make_repo()
    repo = Repository.at(path)
    wt = tmp_path / "wt"
    repo.add_worktree(wt, "hyperagent/w-coder", repo.commit_of("main"))
    with pytest.raises(GitError, match="is itself a worktree or a submodule"):
        Repository.at(wt)
    with pytest.raises(GitError, match="names no commit"):
        repo.commit_of("no-such-branch")
    with pytest.raises(GitError, match="is not a branch or commit name"):
        repo.commit_of("--all")
    git(path, "checkout", "-q", "--detach")
    with pytest.raises(GitError, match="HEAD is detached"):
        repo.current_branch()


def test_a_held_lock_is_waited_out(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    path = make_repo()
    repo = Repository.at(path, tries=30)
    wt = tmp_path / "lk-coder"
    repo.add_worktree(wt, "hyperagent/lk-coder", repo.commit_of("main"))
    (wt / "f.txt").write_text("x\n")
    # Another git process's lock on this worktree's index, let go of a moment later.
    lock = path / ".git" / "worktrees" / "lk-coder" / "index.lock"
    lock.write_text("")
    timer = threading.Timer(0.4, lock.unlink)
    timer.start()
    try:
        sha = repo.commit_all(wt, "after the lock")
    finally:
        timer.join()
    assert sha is not None
    assert git(path, "rev-parse", "hyperagent/lk-coder").strip() == sha


def test_a_lock_never_let_go_fails_naming_it(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    path = make_repo()
    repo = Repository.at(path, tries=3)
    wt = tmp_path / "stuck-coder"
    repo.add_worktree(wt, "hyperagent/stuck-coder", repo.commit_of("main"))
    (wt / "f.txt").write_text("x\n")
    (path / ".git" / "worktrees" / "stuck-coder" / "index.lock").write_text("")
    with pytest.raises(GitError, match=r"index\.lock"):
        repo.commit_all(wt, "never")


def test_workers_in_parallel_on_one_repository_keep_apart(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    path = make_repo()
    head = git(path, "rev-parse", "HEAD").strip()
    workers = 6
    errors: list[BaseException] = []
    shas: dict[str, str] = {}
    start = threading.Barrier(workers)

    def work(n: int) -> None:
        try:
            branch, leaf = names(f"0190abcd-0000-7000-8000-00000000{n:04x}", "coder")
            repo = Repository.at(path)
            wt = tmp_path / f"ws{n}" / leaf
            start.wait()
            repo.add_worktree(wt, branch, head)
            for i in range(3):
                (wt / f"worker{n}-{i}.txt").write_text(f"{n} {i}\n")
            sha = repo.commit_all(wt, f"worker {n}")
            assert sha is not None
            shas[branch] = sha
            repo.remove_worktree(wt)
        except BaseException as err:  # handed to the test thread
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], "".join(
        "".join(__import__("traceback").format_exception(e)) for e in errors
    )
    assert len(shas) == workers
    for branch, sha in shas.items():
        assert git(path, "rev-parse", branch).strip() == sha
        n = int(branch.split("/")[1].split("-")[0], 16)
        files = git(path, "show", "--format=", "--name-only", sha).split()
        assert files == [f"worker{n}-{i}.txt" for i in range(3)]
    assert git(path, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(path, "rev-parse", "HEAD").strip() == head
    assert git(path, "status", "--porcelain") == ""


def test_names_use_the_random_end_of_the_task_id() -> None:
    # Two UUIDv7 ids made in the same millisecond share their first digits, not their last.
    a = names("0190abcd-1234-7000-8000-00000000beef", "coder")
    b = names("0190abcd-1234-7000-8000-00000000cafe", "coder")
    assert a == ("hyperagent/0000beef-coder", "0000beef-coder")
    assert b[0] != a[0]


def test_a_worktree_is_never_reached_through_its_dot_git_file(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    """What a command the model ran may do, since it may write the worktree: point the
    worktree's .git file at a git folder of its own whose config runs code (a clean filter for
    every file). The agent's commit names the real git folder, so that code never runs; the file
    is put back as git wrote it."""
    path = make_repo()
    repo = Repository.at(path)
    wt = tmp_path / "ws" / "leaf"
    repo.add_worktree(wt, "hyperagent/leaf", repo.commit_of("main"))
    written = (wt / ".git").read_bytes()
    pwned = tmp_path / "pwned"
    evil = wt / "evil"
    subprocess.run(["git", "init", "-q", "--bare", str(evil)], check=True)
    with (evil / "config").open("a") as f:
        f.write(f'[filter "x"]\n\tclean = touch {pwned}; cat\n[core]\n\tbare = false\n')
    (wt / ".gitattributes").write_text("* filter=x\n")
    (wt / ".git").write_text(f"gitdir: {evil}\n")
    (wt / "README.md").write_text("changed\n")
    sha = repo.commit_all(wt, "a change")
    assert sha is not None
    assert not pwned.exists()
    assert git(path, "rev-parse", "hyperagent/leaf").strip() == sha
    assert repo.restore_link(wt)
    assert (wt / ".git").read_bytes() == written
    assert not repo.restore_link(wt)
    (wt / ".git").unlink()
    (wt / ".git").mkdir()
    assert repo.restore_link(wt)
    assert (wt / ".git").read_bytes() == written
    repo.remove_worktree(wt)
    assert not pwned.exists()
