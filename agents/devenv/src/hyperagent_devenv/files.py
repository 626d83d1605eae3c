"""What writing the files would change (each with its unified diff against what is there), and
the writing itself: each file is written beside its place and renamed over it, so a file is
either the old one or the whole new one, never half of each."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class NotAFileError(ValueError):
    """Something other than a regular file (a folder, a link) is where a file would go."""


@dataclass(frozen=True)
class Planned:
    #: Relative to the project, with ``/``.
    path: str
    content: str
    #: What is there now; None when nothing is.
    old: str | None

    @property
    def existed(self) -> bool:
        return self.old is not None

    @property
    def unchanged(self) -> bool:
        return self.old == self.content

    @property
    def replaces(self) -> bool:
        """An existing file whose content would change: only after the person agreed."""
        return self.old is not None and self.old != self.content

    def diff(self) -> str:
        old = (self.old or "").splitlines(keepends=True)
        new = self.content.splitlines(keepends=True)
        before = f"a/{self.path}" if self.existed else "/dev/null"
        return "".join(difflib.unified_diff(old, new, before, f"b/{self.path}"))

    def as_dict(self, written: bool) -> dict[str, Any]:
        return {
            "path": self.path,
            # The shared files shape (see the SDK's README): what the change is to this file.
            "state": "unchanged" if self.unchanged else "changed" if self.existed else "new",
            "content": self.content,
            "existed": self.existed,
            "replaced": self.replaces and written,
            "unchanged": self.unchanged,
            "written": written and not self.unchanged,
            "diff": self.diff(),
        }


def _old(path: Path, rel: str) -> str | None:
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise NotAFileError(f"{rel} is not a regular file (a folder or a link): it is left alone")
    if not path.exists():
        return None
    return path.read_bytes().decode("utf-8", errors="replace")


def plan(root: Path, texts: dict[str, str]) -> list[Planned]:
    """Each file of ``texts`` (relative path -> new content) against what ``root`` holds."""
    out = []
    for rel, content in texts.items():
        parent = (root / rel).parent
        if parent != root and (parent.is_symlink() or (parent.exists() and not parent.is_dir())):
            raise NotAFileError(
                f"{parent.relative_to(root)} is not a folder: nothing is written there"
            )
        out.append(Planned(rel, content, _old(root / rel, rel)))
    return out


def write(root: Path, planned: list[Planned]) -> list[str]:
    """Writes the files that change; returns their paths."""
    written = []
    for p in planned:
        if p.unchanged:
            continue
        target = root / p.path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.hyperagent-tmp")
        tmp.write_text(p.content, encoding="utf-8")
        os.replace(tmp, target)
        written.append(p.path)
    return written
