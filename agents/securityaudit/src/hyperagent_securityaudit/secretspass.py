"""Secrets with detect-secrets' scanning API, in process: the working tree, and every commit's
added lines in the git history.

The tree: each file git tracks (every file, outside a repository) goes to ``scan.scan_file``. The
history: ``git log -p --unified=0`` (every ref, newest first) is read one commit at a time, and
each commit's patch goes to ``scan.scan_diff``, which looks only at the lines the commit added,
at their line numbers in that commit. A secret found in the history and not in the tree was
committed, then removed: it is reported once, at the oldest commit that added it, since it stays
in the history (and every clone) until the history is rewritten.

A secret's value never leaves this module: a finding keeps its type, where it is and
detect-secrets' SHA-1 of it (``hashed_secret``, what a detect-secrets baseline records).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from detect_secrets.core import scan
from detect_secrets.settings import default_settings

from .findings import Finding

TOOL = "detect-secrets"

#: ``git log`` arguments for the history: every ref, each commit's patch with no context lines,
#: no renames (a moved file's lines are not added again), never a repository's diff or textconv
#: programs. The commit count (``-n``) is added by :func:`log_args`.
LOG_ARGS = [
    "log",
    "--all",
    "-p",
    "--unified=0",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--format=commit %H",
]

FIX_TREE = (
    "Remove it from the file, load it from the environment or a secret store, and rotate it"
    " (revoke it where it was issued): it is also in the git history until that is rewritten."
)
FIX_HISTORY = (
    "Rotate it (revoke it where it was issued): it stays in the git history, and in every clone,"
    " until the history is rewritten (git filter-repo)."
)

#: detect-secrets' filter that skips files that do not exist (its default).
_EXISTING_FILES_ONLY = "detect_secrets.filters.common.is_invalid_file"
#: detect-secrets' settings are global to the process: one scan at a time.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Hit:
    """One secret detect-secrets found: never its value."""

    file: str
    line: int
    type: str
    hashed_secret: str
    #: The commit whose added lines held it ("" in the working tree).
    commit: str = ""


def log_args(max_commits: int) -> list[str]:
    return [*LOG_ARGS, f"--max-count={max_commits}"]


def scan_tree(
    root: Path, files: Iterable[str], check: Callable[[], None] = lambda: None
) -> list[Hit]:
    """Secrets in ``files`` (relative to ``root``); ``check`` runs before each file (it raises
    to stop, on cancel)."""
    hits = []
    with _LOCK, default_settings():
        for name in files:
            check()
            path = root / name
            if not path.is_file() or path.is_symlink():
                continue
            for s in scan.scan_file(str(path)):
                line = s.line_number or 1
                hits.append(Hit(name, line, s.type, s.secret_hash))
    return hits


def commits(log: TextIO) -> Iterator[tuple[str, str]]:
    """``(commit, patch)`` for each commit in ``git log`` output of :data:`LOG_ARGS`, read as it
    goes (a history's patches can be far larger than memory should hold at once)."""
    commit, patch = "", list[str]()
    for line in log:
        if line.startswith("commit ") and len(line.split()) == 2:
            if commit:
                yield commit, "".join(patch)
            commit, patch = line.split()[1], []
        else:
            patch.append(line)
    if commit:
        yield commit, "".join(patch)


def scan_history(
    log: TextIO, check: Callable[[], None] = lambda: None
) -> tuple[list[Hit], int, list[str]]:
    """Secrets in each commit's added lines; how many commits were read; commits whose patch
    could not be read (with why)."""
    hits: list[Hit] = []
    read = 0
    unreadable = []
    with _LOCK, default_settings() as settings:
        # A file a commit added may be gone from the tree (that is the point): detect-secrets
        # must not skip a patch's files for not existing, as its own diff scanning does not.
        settings.disable_filters(_EXISTING_FILES_ONLY)
        for commit, patch in commits(log):
            check()
            read += 1
            if not patch.strip():
                continue  # a merge, or a commit that changed no file
            try:
                found = list(scan.scan_diff(patch))
            except Exception as err:  # one odd patch must not end the audit
                unreadable.append(f"{commit[:12]}: {type(err).__name__}")
                continue
            hits.extend(
                Hit(s.filename, s.line_number or 1, s.type, s.secret_hash, commit) for s in found
            )
    return hits, read, unreadable


def tree_findings(hits: Iterable[Hit]) -> list[Finding]:
    return [
        Finding(
            kind="secret",
            severity="high",
            location=f"{h.file}:{h.line}",
            rule=h.type,
            message=f"{h.type} in {h.file}",
            fix=FIX_TREE,
            tool=TOOL,
            file=h.file,
            line=h.line,
            hashed_secret=h.hashed_secret,
        )
        for h in hits
    ]


def history_findings(hits: list[Hit], in_tree: set[str]) -> list[Finding]:
    """The secrets of the history that are not in the tree (``in_tree``: their hashes), each
    once, at the oldest commit that added it (``hits`` come newest first)."""
    oldest: dict[tuple[str, str], Hit] = {}
    for h in hits:
        if h.hashed_secret not in in_tree:
            oldest[(h.hashed_secret, h.type)] = h  # later in the log = older
    return [
        Finding(
            kind="secret",
            severity="high",
            location=f"{h.commit[:12]}:{h.file}:{h.line}",
            rule=h.type,
            message=(
                f"{h.type} in the git history: added to {h.file} by commit {h.commit[:12]},"
                " no longer in the working tree"
            ),
            fix=FIX_HISTORY,
            tool=TOOL,
            file=h.file,
            line=h.line,
            commit=h.commit,
            hashed_secret=h.hashed_secret,
        )
        for h in oldest.values()
    ]
