"""Putting a rendered project into its folder, and taking it out again.

The project is first written whole into a hidden staging folder inside the target (same file
system, inside what the sandbox lets the task write), then each file is moved into place with
rename(2), which is atomic per file. A file it replaces is moved aside first, not deleted. Every
step is journaled, so :meth:`Placement.undo` (on cancel or failure) takes out what was put in
(and whatever later steps created at the top level, like ``.venv`` or ``.git``) and puts back
what was there: the folder ends as it began.

The folder itself cannot be swapped in one rename: that would need write access to its parent,
which the sandbox does not give a task (it may write only its own workspace).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .render import Rendered

STAGING_PREFIX = ".hyperagent-render-"
ASIDE_PREFIX = ".hyperagent-replaced-"
#: A glob matching both (for ``git add``'s exclude pathspec).
OWN_FOLDERS = ".hyperagent-*"


def leftovers(target: Path) -> list[str]:
    """Names in ``target`` that are HyperAgent's own staging folders."""
    return sorted(
        e.name for e in target.iterdir() if e.name.startswith((STAGING_PREFIX, ASIDE_PREFIX))
    )


def existing_entries(target: Path) -> list[str]:
    """What the person has in ``target`` (our staging folders not counted)."""
    skip = set(leftovers(target))
    return sorted(e.name for e in target.iterdir() if e.name not in skip)


class Placement:
    """One project moved into ``target``, undoable until :meth:`finish`."""

    def __init__(self, target: Path, key: str) -> None:
        self.target = target
        self.staging = target / f"{STAGING_PREFIX}{key}"
        self.aside = target / f"{ASIDE_PREFIX}{key}"
        self._before = set(existing_entries(target))
        self._placed: list[Path] = []
        self._moved_aside: list[tuple[Path, Path]] = []
        self._made_dirs: list[Path] = []

    def stage(self, rendered: Rendered) -> None:
        """Write the project into the staging folder (nothing visible in the target yet)."""
        self.staging.mkdir()
        rendered.write(self.staging)

    def move_in(self, rendered: Rendered) -> None:
        """Move each staged file into place (replaced files go aside), then drop the staging."""
        for rel in rendered.dirs:
            self._mkdirs(self.target / rel)
        for f in rendered.files:
            dst = self.target / f.path
            self._mkdirs(dst.parent)
            if dst.exists() or dst.is_symlink():
                keep = self.aside / f.path
                keep.parent.mkdir(parents=True, exist_ok=True)
                os.rename(dst, keep)
                self._moved_aside.append((dst, keep))
            os.rename(self.staging / f.path, dst)
            self._placed.append(dst)
        shutil.rmtree(self.staging)

    def take_out(self, paths: list[str]) -> None:
        """Move each of ``paths`` (relative) aside, as a replaced file goes: undo puts it back."""
        for rel in paths:
            dst = self.target / rel
            keep = self.aside / rel
            keep.parent.mkdir(parents=True, exist_ok=True)
            os.rename(dst, keep)
            self._moved_aside.append((dst, keep))

    def _mkdirs(self, path: Path) -> None:
        missing = []
        p = path
        while p != self.target and not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            d.mkdir()
            self._made_dirs.append(d)

    def undo(self) -> None:
        """Leave the folder as it was before: remove what was added, put back what was replaced.

        Every step is tried even when one fails; the staging folder always goes, and the folder of
        replaced files too once they are all back (one that could not be put back stays there, and
        the error names it: the person's file is never deleted)."""
        errors: list[str] = []

        def attempt(what: str, step: Callable[..., object], *args: Path) -> None:
            try:
                step(*args)
            except OSError as err:
                errors.append(f"{what}: {err}")

        for path in reversed(self._placed):
            attempt(f"removing {path}", _remove, path)
        for dst, keep in reversed(self._moved_aside):
            attempt(f"putting back {dst}", _put_back, keep, dst)
        for name in sorted(set(existing_entries(self.target)) - self._before):
            # what later steps made: .git, .venv, ...
            attempt(f"removing {name}", _remove, self.target / name)
        for d in reversed(self._made_dirs):
            attempt(f"removing {d}", _remove, d)
        attempt(f"removing {self.staging}", _remove, self.staging)
        if not _holds_files(self.aside):
            attempt(f"removing {self.aside}", _remove, self.aside)
        if errors:
            raise OSError(f"the folder could not be put back whole: {'; '.join(errors)}")

    def finish(self) -> None:
        """Keep the new project: drop the replaced files (the manager's snapshot has them)."""
        _remove(self.aside)
        _remove(self.staging)


def _put_back(keep: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)  # a folder emptied by the update may be gone
    os.rename(keep, dst)


def _holds_files(path: Path) -> bool:
    """Whether ``path`` has anything but folders in it."""
    return path.is_dir() and any(not p.is_dir() or p.is_symlink() for p in path.rglob("*"))


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
