"""The git side of a change: the branch, its worktree, the commit, the diff, the cleanup.

Only the repository's git folder (``<repository>/.git``) is used, always named with ``--git-dir``
(or reached from the worktree's own ``.git`` file): the main checkout's files are never read or
written, so the task needs no access to them at all.

Every command runs with the repository's hooks switched off (``core.hooksPath=/dev/null``: hooks
are the repository's code, and a worker's commit should not depend on them), no automatic
``gc``/maintenance (several workers share the git folder), no pager, no signing, and without
git's environment variables from outside. Several workers on one repository each have a branch
and a worktree of their own; what they still share is git's locks (a ref's, ``packed-refs``',
the worktrees' list): a command that meets another's lock is tried again after a short pause,
up to ``tries`` times.

The worktree's files are the model's to change, its ``.git`` file included (a ``run`` command may
write anything beneath the worktree). That file says where the worktree's git folder is; one
pointing at a git folder the model made, with its own config (a ``filter`` driver, an
``fsmonitor``), would run the model's code in this process, which may write the repository's git
folder. So this module never follows it: a worktree's commands name its git folder
(``<git folder>/worktrees/<name>``, read from the ``.git`` file when the worktree is made) and
the worktree itself (``--git-dir``, ``--work-tree``), and :meth:`Repository.restore_link` puts
the file back as git wrote it before a worktree is left to the person.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Who commits (author and committer).
AUTHOR_NAME = "HyperAgent"
AUTHOR_EMAIL = "hyperagent@localhost"

_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "core.pager=cat",
)

#: What git says when another git process holds a lock this one needs.
_LOCKED = re.compile(
    r"\.lock'?: File exists|Unable to create '[^']*\.lock'|cannot lock ref|could not lock"
    r"|Another git process seems to be running|unable to lock|is locked",
    re.IGNORECASE,
)

#: What git says when ``worktree add`` read another worktree's record while that one was being
#: made (git writes a new worktree's files one by one).
_HALF_MADE = re.compile(
    # a file not there yet, or there but still empty (git then reports errno 0, "Success")
    r"/worktrees/[^/\s]+/\w+: No such file or directory"
    r"|failed to read \S*/worktrees/[^/\s]+/\w+: Success"
)

#: The first pause before trying a locked command again, and the longest.
_PAUSE = 0.05
_MAX_PAUSE = 1.0

#: ``--name-status`` letters -> what the result says of a file.
STATES = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type changed",
}


class GitError(Exception):
    """A git command failed, or the repository is not one this agent can work on; the message
    names the command and what git said."""


@dataclass(frozen=True)
class Changed:
    """A file the commit changed: its path (the new one, when renamed) and its state."""

    path: str
    state: str


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME=AUTHOR_NAME,
        GIT_AUTHOR_EMAIL=AUTHOR_EMAIL,
        GIT_COMMITTER_NAME=AUTHOR_NAME,
        GIT_COMMITTER_EMAIL=AUTHOR_EMAIL,
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    return env


@dataclass
class Repository:
    """A repository on the person's disk, worked on through its git folder only."""

    path: Path
    tries: int = 20
    git_dir: Path = field(init=False)
    env: dict[str, str] = field(init=False, repr=False)
    #: Each worktree made here -> its git folder, and its ``.git`` file as git wrote it.
    worktrees: dict[Path, tuple[Path, bytes]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.git_dir = self.path / ".git"
        self.env = _environment()

    @classmethod
    def at(cls, path: str | Path, tries: int = 20) -> Repository:
        """The repository whose main checkout is ``path`` (absolute); :class:`GitError` when it
        is not one."""
        p = Path(path)
        if not p.is_absolute():
            raise GitError(f"repository {str(path)!r} must be an absolute path")
        repo = cls(p, tries)
        git = repo.git_dir
        if git.is_file():
            raise GitError(
                f"{git} is a file: {p} is itself a worktree or a submodule; give the repository's"
                " main checkout"
            )
        if not git.is_dir():
            raise GitError(f"{p} is not the main checkout of a git repository (no {git} folder)")
        return repo

    # -- running git ----------------------------------------------------------------------------

    def git(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = True,
        stdin: str | None = None,
        retry: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """``git <args>``: in ``cwd`` (a worktree made here, named with its git folder, never
        found through its ``.git`` file) or else on the git folder, ``stdin`` its input. Tried
        again (unless not ``retry``) while another process holds a lock it needs, or another
        worker's worktree record it read was half-made."""
        if cwd is None:
            where = ["--git-dir", str(self.git_dir)]
        elif cwd in self.worktrees:
            admin = self.worktrees[cwd][0]
            where = ["-C", str(cwd), "--git-dir", str(admin), "--work-tree", str(cwd)]
        else:
            raise GitError(f"{cwd} is not a worktree this task made")
        argv = ["git", *where, *_CONFIG, *args]
        pause = _PAUSE
        for attempt in range(1, self.tries + 1):
            done = subprocess.run(
                argv,
                env=self.env,
                input="" if stdin is None else stdin,
                capture_output=True,
                text=True,
                errors="replace",
                check=False,
            )
            if done.returncode == 0 or not check:
                return done
            # Another process's lock, or another worker's worktree record read half-made (git
            # reads every record before it changes anything): try again.
            transient = _LOCKED.search(done.stderr) or _HALF_MADE.search(done.stderr)
            if retry and attempt < self.tries and transient:
                time.sleep(pause)
                pause = min(pause * 2, _MAX_PAUSE)
                continue
            said = " ".join((done.stderr or done.stdout).split()) or f"exit code {done.returncode}"
            raise GitError(f"git {' '.join(args)} failed: {said}")
        raise AssertionError("unreachable: the last try returns or raises")

    # -- what the repository holds --------------------------------------------------------------

    def current_branch(self) -> str:
        done = self.git("symbolic-ref", "--short", "-q", "HEAD", check=False)
        name = done.stdout.strip()
        if done.returncode != 0 or not name:
            raise GitError(f"{self.path} has no current branch (its HEAD is detached); give `base`")
        return name

    def commit_of(self, ref: str) -> str:
        """The commit ``ref`` names (a full sha); :class:`GitError` when it names none."""
        if ref.startswith("-"):
            raise GitError(f"base {ref!r} is not a branch or commit name")
        done = self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
        )
        if done.returncode != 0:
            raise GitError(f"base {ref!r} names no commit in {self.path}")
        return done.stdout.strip()

    def has_branch(self, name: str) -> bool:
        done = self.git("show-ref", "--verify", "--quiet", f"refs/heads/{name}", check=False)
        return done.returncode == 0

    # -- the worker's branch and worktree -------------------------------------------------------

    def add_worktree(self, path: Path, branch: str, base_sha: str) -> None:
        """A new worktree at ``path`` on a new ``branch`` at ``base_sha``. What an earlier
        attempt of the same task left there (a worktree, the branch) is removed first: a retried
        task starts again from its base."""
        if path.exists() or self._registered(path):
            self.remove_worktree(path)
        pause = _PAUSE
        for attempt in range(1, self.tries + 1):
            if self.has_branch(branch):
                self.git("branch", "-D", "--", branch)
            try:
                self.git(
                    "worktree",
                    "add",
                    "--no-track",
                    "-b",
                    branch,
                    "--",
                    str(path),
                    base_sha,
                    retry=False,
                )
                self._remember(path)
                return
            except GitError as err:
                # Another worker's lock or half-made worktree: undo what this try made (the
                # branch, the folder, git's record of it) and try again.
                if attempt == self.tries or not (
                    _LOCKED.search(str(err)) or _HALF_MADE.search(str(err))
                ):
                    raise
            if path.exists():
                shutil.rmtree(path)
            self._forget(path)
            time.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)

    def _remember(self, path: Path) -> None:
        """Records the new worktree's git folder (which must be beneath ``.git/worktrees``) and
        its ``.git`` file, before anything else can change them."""
        link = (path / ".git").read_bytes()
        said = re.fullmatch(rb"gitdir: (.+?)\r?\n?", link)
        if said is None:
            raise GitError(f"{path}/.git does not name a git folder: {link[:200]!r}")
        admin = Path(os.path.realpath(path / os.fsdecode(said.group(1))))
        worktrees = Path(os.path.realpath(self.git_dir / "worktrees"))
        if admin.parent != worktrees:
            raise GitError(f"the worktree {path}'s git folder {admin} is not in {worktrees}")
        self.worktrees[path] = (admin, link)

    def restore_link(self, worktree: Path) -> bool:
        """Puts the worktree's ``.git`` file back as git wrote it, whatever is in its place (a
        file saying something else, a folder, a link); True when it had to."""
        _admin, link = self.worktrees[worktree]
        dot = worktree / ".git"
        try:
            mode = os.lstat(dot).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and stat.S_ISREG(mode) and dot.read_bytes() == link:
            return False
        if mode is not None and stat.S_ISDIR(mode):
            shutil.rmtree(dot)
        elif mode is not None:
            dot.unlink()
        fd = os.open(dot, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(link)
        return True

    def _registered(self, path: Path) -> bool:
        listed = self.git("worktree", "list", "--porcelain", check=False).stdout
        return f"worktree {path}" in listed.splitlines()

    def remove_worktree(self, path: Path) -> None:
        """Removes the worktree at ``path`` (what it holds that was not committed goes with it)
        and git's record of it. The branch stays."""
        if self._registered(path):
            self.git("worktree", "remove", "--force", "--force", "--", str(path))
        if path.exists():
            shutil.rmtree(path)
        self._forget(path)
        self.worktrees.pop(path, None)

    def _forget(self, path: Path) -> None:
        """Removes git's record of the worktree at ``path`` only (what ``git worktree prune``
        would do for it). Never ``prune`` itself: run confined, this task cannot see the other
        workers' worktrees (each in its own task's folder), and ``prune`` would take their records
        for ones whose folders are gone, and delete them under the workers' feet."""
        records = self.git_dir / "worktrees"
        try:
            # Listed at once: git removes the folder when another worker's removal empties it.
            entries = list(records.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return
        ours = os.path.realpath(path / ".git")
        for record in entries:
            try:
                said = os.fsdecode((record / "gitdir").read_bytes().strip())
            except OSError:
                continue
            if os.path.realpath(said) == ours and not record.is_symlink():
                shutil.rmtree(record, ignore_errors=True)

    def delete_branch(self, branch: str) -> None:
        self.git("branch", "-D", "--", branch)

    # -- the commit -----------------------------------------------------------------------------

    def commit_all(self, worktree: Path, message: str) -> str | None:
        """Commits everything changed in ``worktree`` (new, changed and deleted files; what its
        ``.gitignore`` ignores stays out) as HyperAgent; returns the commit's sha, or None when
        nothing changed."""
        self.git("add", "--all", cwd=worktree)
        staged = self.git("diff", "--cached", "--quiet", cwd=worktree, check=False)
        if staged.returncode == 0:
            return None
        # The message goes on stdin: any length, any characters.
        self.git("commit", "--quiet", "--no-verify", "--file=-", cwd=worktree, stdin=message)
        return self.git("rev-parse", "HEAD", cwd=worktree).stdout.strip()

    def changed(self, sha: str) -> list[Changed]:
        """The files commit ``sha`` changed against its parent, as ``git show`` names them."""
        out = self.git("show", "--format=", "--name-status", "-z", sha).stdout
        parts = out.split("\0")
        files: list[Changed] = []
        i = 0
        while i < len(parts) and parts[i]:
            letter = parts[i][:1]
            # A rename or copy names the old path and then the new one.
            i += 2 if letter in ("R", "C") else 1
            files.append(Changed(parts[i], STATES.get(letter, letter)))
            i += 1
        return files

    def show(self, sha: str) -> str:
        """The commit's diff against its parent: ``git show --format= <sha>``."""
        return self.git("show", "--format=", "--no-color", "--no-ext-diff", sha).stdout
