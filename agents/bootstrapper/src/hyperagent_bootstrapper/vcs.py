"""Where a template comes from: a plain folder, or a git repository checked out as copier does.

copier renders a git template (a URL, or a local folder that is a repository's root) at its latest
release tag unless a ``vcs_ref`` names another ref: tags are ordered by PEP 440 and pre-releases
skipped, ``HEAD`` when none is a version. The answers file then records ``_commit`` as ``git
describe --tags --always`` gives it (the tag itself on a release), which ``copier update`` needs;
a plain folder records no ``_commit``. :class:`Origin` is that record, plus what the templates see
as ``_copier_conf.vcs_ref`` and ``vcs_ref_hash``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

#: Runs git (argv without "git") in a folder and returns its standard output, or raises
#: :class:`GitError`. The agent passes one that logs to the task; the CLI and tests use :func:`git`.
Runner = Callable[[Sequence[str], Path], str]


class GitError(Exception):
    """git failed; the message says what it was asked and what it answered."""


@dataclass(frozen=True)
class Origin:
    """A template's origin as copier records and shows it."""

    #: ``_src_path`` in the answers file: the template as the person named it.
    src_path: str
    #: ``_commit``: ``git describe --tags --always`` of the checkout; None for a plain folder.
    commit: str | None = None
    #: ``_copier_conf.vcs_ref_hash``: the full hash of the checkout; None for a plain folder.
    commit_hash: str | None = None
    #: ``_copier_conf.vcs_ref``: the ref asked for (None: the latest release tag).
    vcs_ref: str | None = None


#: copier's shortcuts for hosted repositories.
ALIASES = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
#: What makes copier take a template for a remote git repository (beside a ``.git`` ending).
REMOTE_PREFIXES = ("git@", "git://", "git+", "https://github.com/", "https://gitlab.com/")


def remote_url(source: str) -> str | None:
    """The git URL of a remote template as copier reads ``source`` (``gh:owner/name``,
    ``gl:...``, ``git+https://...``, ``git@host:...``, a github.com or gitlab.com URL, anything
    ending in ``.git``), or None when it is not one (a local folder, say)."""
    for alias, base in ALIASES.items():
        if source.startswith(alias):
            rest = source[len(alias) :].lstrip("/")
            return base + (rest if rest.endswith(".git") else f"{rest}.git")
    if not (source.endswith(".git") or source.startswith(REMOTE_PREFIXES)):
        return None
    if source.startswith("git+"):
        return source[4:]
    if source.startswith("https://") and not source.endswith(".git"):
        return f"{source}.git"
    return source


def git(argv: Sequence[str], cwd: Path) -> str:
    """Run git in ``cwd``; its standard output, or :class:`GitError` with its standard error."""
    try:
        done = subprocess.run(
            ["git", *argv],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as err:
        raise GitError(f"git {' '.join(argv)}: {err.strerror or err}") from err
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise GitError(f"git {' '.join(argv)}: {detail[-1] if detail else done.returncode}")
    return done.stdout


def is_repository_root(path: Path, run: Runner = git) -> bool:
    """Whether ``path`` is the top of a git work tree (copier's test for a local git template)."""
    try:
        top = run(["rev-parse", "--show-toplevel"], path).strip()
    except GitError:
        return False
    return Path(top).resolve() == path.resolve()


def is_bundle(path: Path) -> bool:
    """Whether ``path`` is a git bundle (a file ``git bundle create`` made), which copier renders
    as a git template, as it renders a repository."""
    try:
        with path.open("rb") as f:
            head = f.read(len(_BUNDLE_HEADS[0]))
    except OSError:
        return False
    return head in _BUNDLE_HEADS


#: How a git bundle file begins (its format's version 2 or 3).
_BUNDLE_HEADS = (b"# v2 git bundle\n", b"# v3 git bundle\n")


def is_local_git(path: Path, run: Runner = git) -> bool:
    """Whether a local template is rendered as a git one, as copier renders it: the top of a
    repository's work tree, or a git bundle."""
    if path.is_file():
        return is_bundle(path)
    return path.is_dir() and is_repository_root(path, run)


def latest_tag(url: str, cwd: Path, run: Runner = git) -> str:
    """The highest PEP 440 release tag of the repository at ``url``, or ``HEAD`` when it has
    none (copier's choice when no ``vcs_ref`` is given). Of tags naming the same version
    (``v1.0`` and ``1.0``) the first that git lists wins, as in copier's stable sort."""
    listing = run(["ls-remote", "--tags", "--refs", "--", url], cwd)
    best: tuple[Version, str] | None = None
    for line in listing.splitlines():
        _, _, ref = line.partition("\t")
        tag = ref.removeprefix("refs/tags/")
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease and (best is None or version > best[0]):
            best = (version, tag)
    return best[1] if best is not None else "HEAD"


def checkout(
    url: str,
    dest: Path,
    vcs_ref: str | None = None,
    run: Runner = git,
    src_path: str | None = None,
) -> Origin:
    """Clone ``url`` into ``dest`` (which must not exist) at ``vcs_ref`` or the latest release
    tag; the :class:`Origin` the answers file records. ``_src_path`` is ``src_path``, the
    template as the person named it (``url`` by default)."""
    if vcs_ref is not None and (not vcs_ref or vcs_ref.startswith("-") or "\n" in vcs_ref):
        raise GitError(f"vcs_ref {vcs_ref!r} is not a git ref (a tag, branch or commit)")
    ref = vcs_ref or latest_tag(url, dest.parent, run)
    run(["clone", "--quiet", "--no-checkout", "--", url, str(dest)], dest.parent)
    source = Path(url)
    if ref == "HEAD" and source.is_dir() and run(["status", "--porcelain"], source).strip():
        # copier renders a local template's uncommitted changes when it renders its HEAD (the
        # author's work in progress): they are committed in the clone, never in the template.
        git_dir = f"--git-dir={dest / '.git'}"
        run([git_dir, f"--work-tree={source.absolute()}", "add", "-A"], dest)
        run(
            [
                "-c", "user.name=HyperAgent", "-c", "user.email=hyperagent@localhost",
                git_dir, "commit", "--quiet", "--no-verify", "--no-gpg-sign",
                "-m", "Uncommitted changes of the template",
            ],
            dest,
        )  # fmt: skip
    try:
        sha = run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], dest).strip()
    except GitError:
        sha = ""
    if not re.fullmatch(r"[0-9a-f]{40,64}", sha):
        # A branch exists in a fresh clone only as origin/<name>, as `git checkout` finds it.
        try:
            sha = run(["rev-parse", "--verify", "--quiet", f"origin/{ref}^{{commit}}"], dest)
            sha = sha.strip()
        except GitError:
            raise GitError(
                f"the template {url} has no ref {ref!r} (give a tag, branch or commit)"
            ) from None
    # --force, as copier: a clone made with --no-checkout has no files yet to compare with.
    run(["-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", sha], dest)
    run(["submodule", "update", "--checkout", "--init", "--recursive", "--force"], dest)
    commit = run(["describe", "--tags", "--always"], dest).strip()
    return Origin(src_path=src_path or url, commit=commit, commit_hash=sha, vcs_ref=vcs_ref)
