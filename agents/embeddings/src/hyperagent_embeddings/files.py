"""Which files of a project are indexed: text files of a known kind, outside tool and build
folders, no larger than the limit. Symbolic links are never followed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .chunking import kind_of

#: Folders never entered: version control, environments, dependencies, caches, build output.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        "build",
        "dist",
        "target",
        "site-packages",
        "htmlcov",
        "_build",
    }
)
#: Hidden folders that are entered (every other one is skipped: tool state and caches).
HIDDEN_DIRS_KEPT = frozenset({".github", ".gitlab", ".devcontainer"})


@dataclass(frozen=True)
class Candidate:
    #: Relative to the project, with ``/``.
    rel: str
    path: Path
    size: int
    mtime_ns: int


@dataclass
class Walk:
    files: list[Candidate]
    too_big: int = 0
    beyond_limit: int = 0


def skip_dir(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    if name.startswith(".") and name not in HIDDEN_DIRS_KEPT:
        return True
    # A virtual environment under any name.
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))


def walk(root: Path, max_file_bytes: int, max_files: int) -> Walk:
    """The files to index beneath ``root``, sorted by path, at most ``max_files``."""
    found = Walk(files=[])
    for candidate in _scan(root, root, found, max_file_bytes):
        if len(found.files) >= max_files:
            found.beyond_limit += 1
            continue
        found.files.append(candidate)
    return found


def _scan(root: Path, folder: Path, found: Walk, max_file_bytes: int) -> Iterator[Candidate]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if not skip_dir(entry):
                yield from _scan(root, Path(entry.path), found, max_file_bytes)
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        rel = Path(entry.path).relative_to(root).as_posix()
        if kind_of(rel) is None:
            continue
        st = entry.stat(follow_symlinks=False)
        if st.st_size > max_file_bytes:
            found.too_big += 1
            continue
        yield Candidate(rel=rel, path=Path(entry.path), size=st.st_size, mtime_ns=st.st_mtime_ns)


def decode(data: bytes) -> str | None:
    """The text of a file, or None when it is binary (a NUL byte, or not UTF-8)."""
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
