"""The secrets pass: detect-secrets' scanning API over the tree and each commit's added lines; a
secret is known by its type, place and hash, never its value."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from hyperagent_securityaudit import secretspass

#: Made up for these tests; the shape of an AWS access key id.
KEY = "AKIA" + "Q4ZT7XW2LMNB8RVD"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@localhost", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def repo(root: Path) -> str:
    """A repository where a key was committed in settings.py, then removed; returns that
    commit."""
    git(root, "init", "-q", "-b", "main")
    (root / "settings.py").write_text('"""Settings."""\n\nDEBUG = False\n')
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Settings")
    (root / "settings.py").write_text(f'"""Settings."""\n\nDEBUG = False\nAWS_KEY = "{KEY}"\n')
    git(root, "commit", "-qam", "Key")
    added = git(root, "rev-parse", "HEAD").strip()
    (root / "settings.py").write_text('"""Settings."""\n\nDEBUG = False\n')
    git(root, "commit", "-qam", "No key")
    return added


def test_a_key_removed_from_the_tree_is_found_at_the_commit_that_added_it(tmp_path: Path) -> None:
    added = repo(tmp_path)
    assert secretspass.scan_tree(tmp_path, ["settings.py"]) == []
    log = git(tmp_path, *secretspass.log_args(100))
    hits, commits, unreadable = secretspass.scan_history(io.StringIO(log))
    assert commits == 3
    assert unreadable == []
    [finding] = secretspass.history_findings(hits, set())
    assert finding.kind == "secret"
    assert finding.rule == "AWS Access Key"
    assert (finding.file, finding.line, finding.commit) == ("settings.py", 4, added)
    assert finding.location == f"{added[:12]}:settings.py:4"
    assert KEY not in repr(finding)
    assert KEY not in str(finding.as_json())


def test_a_key_still_in_the_tree_is_reported_there_only(tmp_path: Path) -> None:
    repo(tmp_path)
    (tmp_path / "settings.py").write_text(f'"""Settings."""\n\nAWS_KEY = "{KEY}"\n')
    git(tmp_path, "commit", "-qam", "Key again")
    tree = secretspass.scan_tree(tmp_path, ["settings.py"])
    [found] = secretspass.tree_findings(tree)
    assert (found.location, found.rule) == ("settings.py:3", "AWS Access Key")
    hits, _, _ = secretspass.scan_history(io.StringIO(git(tmp_path, *secretspass.log_args(100))))
    assert len(hits) == 2  # added twice
    assert secretspass.history_findings(hits, {h.hashed_secret for h in tree}) == []


def test_the_oldest_commit_that_added_a_secret_is_named() -> None:
    hits = [
        secretspass.Hit("b.py", 2, "AWS Access Key", "h1", "newer"),
        secretspass.Hit("a.py", 9, "AWS Access Key", "h1", "older"),
    ]
    [finding] = secretspass.history_findings(hits, set())
    assert (finding.commit, finding.file, finding.line) == ("older", "a.py", 9)


def test_commits_are_read_one_at_a_time() -> None:
    log = "commit aaa\n\ndiff --git a/x b/x\n+1\ncommit bbb\ncommit ccc\n\n"
    assert [c for c, _ in secretspass.commits(io.StringIO(log))] == ["aaa", "bbb", "ccc"]
