"""Updating a project made from a template to a newer version of it, as ``copier update`` does.

The project's answers file says which template and version it came from (``_src_path``,
``_commit``) and with which answers. An update renders that old version with those answers, and
the new version with them (and any new ones); what the person changed since (the project's git
tree against the old rendering) is a diff, applied over the new rendering with ``git apply
--reject``; a file whose hunks do not apply is three-way merged with ``git merge-file`` (copier's
default, ``inline``: conflict markers in the file, the file marked unmerged in git's index), or
its hunks are left in a ``.rej`` file beside it (``rej``). Files the new version no longer has are
removed, files the person deleted stay deleted. These are copier 9's steps, in its order, with
its git commands: the same project and versions give the same bytes.

Unlike copier, nothing is done in the project until the end: the whole update is worked out in a
scratch folder (a git checkout of the project's tree, borrowing its objects), so a preview
writes nothing and the agent can name every path it will touch before it asks. The template's
``_migrations`` (its own commands, run only once allowed: see ``Migrate``) run in that scratch
checkout too, the ``before`` ones on the project's files before the update is worked out (what
they change counts as the person's), the ``after`` ones on the result: everything they change is
among the paths named before anything is written, and they never touch the project itself. A
preview runs none of them and says which would run. The template's ``_tasks`` are the caller's
to run in the project after the update is written (``rendering.planned_tasks`` with
``operation="update"``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import filecmp
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from . import render as rendering
from . import vcs
from .place import Placement
from .template import Template, TemplateError, load

#: Where copier looks for the answers file when it is not told.
DEFAULT_ANSWERS_FILE = ".copier-answers.yml"
#: How a conflict is left in the project: copier's ``--conflict`` choices.
CONFLICT_MODES = ("inline", "rej")
#: copier's labels for the three sides of a merged file.
MERGE_LABELS = ("before updating", "last update", "after updating")
#: Lines of context in the person's diff (copier's ``context_lines``).
CONTEXT_LINES = 3
#: Largest text shown per file in a preview's diff.
DIFF_BYTES = 64 * 1024
#: The identity of the scratch repositories' commits (never the project's).
_IDENTITY = ("-c", "user.name=HyperAgent", "-c", "user.email=hyperagent@localhost")

#: Checks a template out: (``_src_path`` as recorded, ref or None for the latest release tag,
#: destination) -> its origin.
Fetch = Callable[[str, str | None, Path], vcs.Origin]


class UpdateError(Exception):
    """The project cannot be updated; the message says why and what to do."""


#: Makes a template that loads its own Jinja extensions renderable (asking first), or raises.
Trust = Callable[[Template], Template]

#: Given the migrations an update runs (``before`` and ``after``, none empty both), allows them
#: (asking first) and returns how to run one in a folder; or raises :class:`UpdateError`.
Migrate = Callable[
    [list[rendering.PlannedTask], list[rendering.PlannedTask]],
    Callable[[rendering.PlannedTask, Path], None],
]


@dataclass(frozen=True)
class Request:
    """What the person asked for."""

    #: The template version to update to: a tag, branch or commit (default: its latest release
    #: tag, as copier does); ``:current:`` keeps the recorded version (new answers only).
    vcs_ref: str | None = None
    #: New answers, over the recorded ones.
    data: Mapping[str, Any] = field(default_factory=dict)
    #: ``inline`` (conflict markers) or ``rej`` (``.rej`` files).
    conflict: str = "inline"
    #: The answers file, relative to the project (default: found as described in find_answers).
    answers_file: str | None = None


@dataclass
class Plan:
    """An update worked out in the scratch folder, not yet in the project."""

    project: Path
    #: The folder holding the project as it will be after the update.
    result: Path
    answers_file: str
    src_path: str
    old_commit: str
    new_commit: str
    changed: list[str]
    added: list[str]
    removed: list[str]
    #: Files left with conflicts: markers in them (inline) or a ``.rej`` beside them.
    conflicts: list[str]
    conflict: str
    #: Folders the new version has that the project does not (copier makes them).
    dirs: list[str]
    #: Folders the update empties and removes, deepest first.
    dropped_dirs: list[str]
    answers: dict[str, Any]
    message: str
    warnings: list[str]
    #: For inline conflicts: each file's old and new rendering (for git's unmerged stages).
    sides: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    #: The new version's ``_tasks``, to run in the project once the update is written.
    tasks: list[rendering.PlannedTask] = field(default_factory=list)

    @property
    def touched(self) -> list[str]:
        return sorted({*self.changed, *self.added, *self.removed})


def git(
    argv: Sequence[str],
    cwd: Path,
    *,
    stdin: bytes | None = None,
    check: bool = True,
) -> str:
    """git in ``cwd``, hooks off (as copier runs its own commits): its output, or GitError."""
    try:
        done = subprocess.run(
            ["git", "-c", f"core.hooksPath={os.devnull}", *argv],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            check=False,
        )
    except OSError as err:
        raise vcs.GitError(f"git {' '.join(argv)}: {err.strerror or err}") from err
    if check and done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise vcs.GitError(f"git {' '.join(argv)}: {detail[-1] if detail else done.returncode}")
    return done.stdout.decode(errors="surrogateescape")


def _names(output: str) -> list[str]:
    """Paths from a ``-z`` listing."""
    return [p for p in output.split("\0") if p]


# --- the project ---------------------------------------------------------------------------------


def find_answers(project: Path, given: str | None = None) -> str:
    """The answers file's path in ``project``: the one given, else copier's
    ``.copier-answers.yml``, else the one YAML file at the top or in ``.copier/`` whose name
    speaks of answers and that records ``_src_path`` (a template's own ``_answers_file``)."""
    if given:
        rel = PurePosixPath(given)
        if rel.is_absolute() or ".." in rel.parts:
            raise UpdateError(f"answers_file {given!r} must be a path inside the project")
        if not (project / rel).is_file():
            raise UpdateError(f"{project} has no answers file {given} (answers_file)")
        return str(rel)
    if (project / DEFAULT_ANSWERS_FILE).is_file():
        return DEFAULT_ANSWERS_FILE
    candidates = [
        p
        for pattern in ("*answers*.y*ml", ".copier/*.y*ml")
        for p in sorted(project.glob(pattern))
        if p.is_file() and "_src_path" in _read_answers(p, quiet=True)
    ]
    if len(candidates) == 1:
        return candidates[0].relative_to(project).as_posix()
    if candidates:
        found = ", ".join(p.relative_to(project).as_posix() for p in candidates)
        raise UpdateError(
            f"{project} has several answers files ({found}); give one as answers_file"
        )
    raise UpdateError(
        f"{project} was not made from a template: it has no answers file ({DEFAULT_ANSWERS_FILE},"
        " or the template's own `_answers_file`: give its path as answers_file)"
    )


def _read_answers(path: Path, *, quiet: bool = False) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        if quiet:
            return {}
        raise UpdateError(f"the answers file {path} cannot be read: {err}") from err
    if not isinstance(data, dict):
        if quiet:
            return {}
        raise UpdateError(f"the answers file {path} is not a mapping of answers")
    return data


def last_answers(raw: Mapping[str, Any]) -> dict[str, Any]:
    """copier's last answers: the recorded ones but the private (``_``) keys, save ``_src_path``
    and ``_commit``."""
    return {k: v for k, v in raw.items() if k in {"_src_path", "_commit"} or not k.startswith("_")}


@dataclass(frozen=True)
class Repository:
    """Where the project sits in its git repository."""

    top: Path
    #: The project's folder relative to ``top`` ('' at the top).
    subdir: str
    #: The tree of the project's folder at HEAD.
    tree: str
    #: The repository's object store (absolute).
    objects: Path
    #: The index file (absolute).
    index: Path


def repository(project: Path) -> Repository:
    """The project's repository, refused (as copier refuses it) when there is none or when its
    work tree has changes: an update must be reviewable as a diff against a commit."""
    try:
        top = Path(git(["rev-parse", "--show-toplevel"], project).strip())
    except vcs.GitError:
        raise UpdateError(
            f"{project} is not in a git repository; an update is applied as a diff you review, so"
            " it needs one: git init && git add -A && git commit -m 'before the update'"
        ) from None
    dirty = git(["status", "--porcelain", "-z", "--untracked-files=all", "--", "."], project)
    paths = [entry[3:] for entry in _names(dirty) if len(entry) > 3]
    if paths:
        shown = ", ".join(paths[:5]) + (", ..." if len(paths) > 5 else "")
        raise UpdateError(
            f"{project} has changes not committed ({len(paths)}: {shown}); commit them (git add"
            " -A && git commit) or put them aside (git stash -u), then update again"
        )
    subdir = project.resolve().relative_to(top.resolve()).as_posix()
    subdir = "" if subdir == "." else subdir
    try:
        tree = git(["rev-parse", "--verify", "--quiet", f"HEAD:{subdir}"], top).strip()
    except vcs.GitError:
        raise UpdateError(
            f"{project} has no commit yet; commit it first (git add -A && git commit)"
        ) from None
    paths_out = git(["rev-parse", "--path-format=absolute", "--git-path", "objects"], top)
    index = git(["rev-parse", "--path-format=absolute", "--git-path", "index"], top)
    return Repository(top, subdir, tree, Path(paths_out.strip()), Path(index.strip()))


def _version(commit: str) -> Version | None:
    """copier's reading of a ``_commit`` as a version: ``TAG-N-gHASH`` is TAG.postN+HASH."""
    if re.match(r"^.+-\d+-g\w+$", commit):
        base, count, sha = commit.rsplit("-", 2)
        commit = f"{base}.post{count}+{sha}"
    try:
        return Version(commit)
    except InvalidVersion:
        return None


def default_fetch(project: Path, run: vcs.Runner = vcs.git) -> Fetch:
    """Checks the template out as copier finds it: a URL (or copier's ``gh:``/``gl:``), or a
    local folder (a relative one from the project's folder)."""

    def fetch(src_path: str, ref: str | None, dest: Path) -> vcs.Origin:
        return vcs.checkout(source(project, src_path), dest, ref, run, src_path=src_path)

    return fetch


def source(project: Path, src_path: str, gone_hint: str = "") -> str:
    """Where to clone ``src_path`` from; UpdateError when a local template is gone (said with
    ``gone_hint``) or is no git repository."""
    url = vcs.remote_url(src_path)
    if url or src_path.startswith(("https://", "http://", "ssh://", "file://")):
        return url or src_path
    path = local_template(project, src_path, gone_hint)
    if not vcs.is_repository_root(path):
        raise UpdateError(
            f"the template {src_path} is not a git repository; an update needs the template's"
            " versions (its git tags), as copier does"
        )
    return str(path)


def local_template(project: Path, src_path: str, gone_hint: str = "") -> Path:
    """The folder of a template on this machine (a relative ``src_path`` is from the project's
    folder); UpdateError when it is gone (said with ``gone_hint``)."""
    path = Path(os.path.expanduser(src_path))
    if not path.is_absolute():
        path = project / path
    if not path.exists():
        raise UpdateError(
            f"the template {src_path} is gone: nothing is there any more{gone_hint}. If it"
            " moved, set `_src_path` in the answers file to where it is now, commit, and try"
            " again"
        )
    return path


# --- working it out ------------------------------------------------------------------------------


def prepare(
    project: Path,
    request: Request,
    scratch: Path,
    fetch: Fetch,
    *,
    dst_name: str | None = None,
    trust: Trust = lambda t: t,
    migrate: Migrate | None = None,
) -> Plan:
    """Work the update out in ``scratch`` (an empty folder, removed by the caller): nothing in
    ``project`` changes. ``dst_name`` is the project as the person named it
    (``_copier_conf.dst_path``). ``trust`` is asked about each version of a template that loads
    its own Jinja extensions, and returns it trusted (or raises); by default such a template
    cannot render. ``migrate`` allows and runs the template's migrations; without it (a
    preview) they are named in a warning and not run."""
    if request.conflict not in CONFLICT_MODES:
        raise UpdateError(f"conflict {request.conflict!r}: one of {', '.join(CONFLICT_MODES)}")
    answers_file, last = recorded(project, request.answers_file)
    _versioned(answers_file, last)
    repo = repository(project)
    versions = _versions(scratch, fetch, last, request.vcs_ref, trust)
    warnings = list(versions.new.warnings)
    sub = (repo.subdir,) if repo.subdir else ()
    r = _renderings(
        versions,
        last,
        request.data,
        dst_name if dst_name is not None else str(project),
        (scratch.joinpath("old", *sub), scratch.joinpath("new", *sub)),
    )
    if unasked := rendering.unasked_warning(versions.new, r.answers):
        warnings.append(unasked)
    before, after = _planned_migrations(versions, last, r.context)
    try:
        tasks = rendering.planned_tasks(versions.new, r.context, "update")
    except TemplateError as err:
        raise UpdateError(f"the template {last.get('_src_path')} is broken: {err}") from err
    run: Callable[[rendering.PlannedTask, Path], None] | None = None
    if (before or after) and migrate is not None:
        run = migrate(before, after)
    elif before or after:
        warnings.append(
            "the template's migrations would run in the update, not in a preview: "
            + "; ".join(f"({t.env['STAGE']}) {t.shown}" for t in [*before, *after])
        )
    # The project as committed (its `before` migrations run over it, and what they change
    # committed as the person's), plus what it holds untracked where a rendering goes.
    work = scratch / "project"
    _checkout_tree(work, repo)
    tracked = set(_names(git(["ls-files", "-z"], work)))
    if run is not None and before:
        for t in before:
            run(t, work)
        repo = _migrated(work, repo)
    for rel in {*(f.path for f in r.old.files), *(f.path for f in r.current.files)} - tracked:
        _copy_entry(project / rel, work / rel)
    conflicts, sides = _merge(work, repo, r, request.conflict)
    if run is not None:
        for t in after:
            run(t, work)
    changed, added, removed = _compare(project, work, tracked, {f.path for f in r.old.files})
    return Plan(
        project=project,
        result=work,
        answers_file=answers_file,
        src_path=str(last["_src_path"]),
        old_commit=str(last["_commit"]),
        new_commit=versions.new_origin.commit or "",
        changed=changed,
        added=added,
        removed=removed,
        conflicts=conflicts,
        conflict=request.conflict,
        dirs=sorted(
            d for d in r.current.dirs if (work / d).is_dir() and not (project / d).is_dir()
        ),
        dropped_dirs=_dropped_dirs(project, work, r.old.dirs, r.old.files),
        answers=r.answers.remembered,
        message=r.message,
        warnings=warnings,
        sides=sides,
        tasks=tasks,
    )


def _planned_migrations(
    v: _Versions, last: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[list[rendering.PlannedTask], list[rendering.PlannedTask]]:
    """The new version's migrations for this update, ``before`` and ``after``."""
    old_commit, new_commit = str(last["_commit"]), v.new_origin.commit or ""
    span = ((old_commit, _version(old_commit)), (new_commit, _version(new_commit)))
    try:
        before = rendering.planned_migrations(v.new, context, "before", span)
        after = rendering.planned_migrations(v.new, context, "after", span)
    except TemplateError as err:
        raise UpdateError(f"the template {last.get('_src_path')} is broken: {err}") from err
    return before, after


def _migrated(work: Path, repo: Repository) -> Repository:
    """The project as its ``before`` migrations left it in ``work``: everything there but what
    git ignores, as a tree in ``work``'s store (which borrows the project's)."""
    git(["add", "--all"], work)
    tree = git(["write-tree"], work).strip()
    return dataclasses.replace(repo, tree=tree, objects=work / ".git" / "objects")


def recorded(project: Path, answers_file: str | None = None) -> tuple[str, dict[str, Any]]:
    """The answers file's path and its last answers, which must name the template and version."""
    path = find_answers(project, answers_file)
    last = last_answers(_read_answers(project / path))
    src_path = last.get("_src_path")
    if not isinstance(src_path, str) or not src_path:
        raise UpdateError(
            f"{path} records no `_src_path`: the project was not made from a template"
            " HyperAgent or copier can find again"
        )
    return path, last


def _versioned(path: str, last: Mapping[str, Any]) -> None:
    """Refuses answers that do not record the template's version (an update starts from it)."""
    commit = last.get("_commit")
    if not isinstance(commit, str) or not commit:
        raise UpdateError(
            f"{path} records no `_commit`: the project was made from a template that was not a"
            " git repository (or a plain copy of one), so its version cannot be found again;"
            " copier refuses it too"
        )


@dataclass(frozen=True)
class _Versions:
    old: Template
    old_origin: vcs.Origin
    new: Template
    new_origin: vcs.Origin


def _versions(
    scratch: Path, fetch: Fetch, last: Mapping[str, Any], vcs_ref: str | None, trust: Trust
) -> _Versions:
    """The recorded version of the template and the one to update to, checked out and read."""
    src_path, old_commit = str(last["_src_path"]), str(last["_commit"])
    old, old_origin = recorded_template(fetch, last, scratch / "old-template")
    ref = old_commit if vcs_ref == ":current:" else vcs_ref
    try:
        new_origin = fetch(src_path, ref, scratch / "new-template")
    except vcs.GitError as err:
        raise UpdateError(f"the template {src_path} cannot be checked out: {err}") from err
    old_version, new_version = _version(old_commit), _version(new_origin.commit or "")
    if old_version and new_version and old_version > new_version:
        raise UpdateError(
            f"downgrading from {old_commit} to {new_origin.commit} is not supported (copier"
            " refuses it too); give a newer vcs_ref"
        )
    try:
        new = load(scratch / "new-template")
    except TemplateError as err:
        raise UpdateError(f"the template {src_path} is broken: {err}") from err
    old, new = trust(old), trust(new)
    return _Versions(old, old_origin, new, new_origin)


def recorded_template(
    fetch: Fetch, last: Mapping[str, Any], dest: Path
) -> tuple[Template, vcs.Origin]:
    """The template at the version the answers file records (``_commit``), checked out in
    ``dest`` (a template is named by its folder) and read; UpdateError when it cannot be."""
    src_path, commit = str(last["_src_path"]), str(last["_commit"])
    try:
        origin = fetch(src_path, commit, dest)
    except vcs.GitError as err:
        raise UpdateError(
            f"the template {src_path} at the recorded version {commit} cannot be checked out"
            f" ({err}); the tag or commit may have been deleted"
        ) from err
    try:
        return load(dest), origin
    except TemplateError as err:
        raise UpdateError(f"the template {src_path} is broken: {err}") from err


def recorded_answers(
    template: Template, last: Mapping[str, Any], origin: vcs.Origin, dst_name: str
) -> rendering.Answers:
    """The answers file's answers, settled against the template at its recorded version (as
    copier renders that version in an update); UpdateError when they no longer fit."""
    try:
        return _resolve(template, last, origin=origin, dst_name=dst_name)
    except rendering.AnswersError as err:
        raise UpdateError(
            "the recorded answers do not fit the template at"
            f" {last.get('_commit') or 'its current state'}: {err}"
        ) from err
    except TemplateError as err:
        raise UpdateError(f"the template {last.get('_src_path')} is broken: {err}") from err


@dataclass(frozen=True)
class _Renderings:
    #: The recorded version with the recorded answers, in ``old_dir``.
    old: rendering.Rendered
    old_dir: Path
    #: The new version with the settled answers, for the project.
    current: rendering.Rendered
    #: The same, alone in ``new_dir``.
    new: rendering.Rendered
    new_dir: Path
    answers: rendering.Answers
    message: str
    skip: Callable[[str], bool]
    #: The new version's render context for the project.
    context: Mapping[str, Any]


def _renderings(
    v: _Versions,
    last: Mapping[str, Any],
    data: Mapping[str, Any],
    dst: str,
    dirs: tuple[Path, Path],
) -> _Renderings:
    """copier's three renderings: the old version with the last answers (leaving out what the
    new one excludes too), the new one with the new answers over the last, for the project and
    alone (with every settled answer given, as copier gives them); ``dirs`` are where the old
    and the lone new one go."""
    old_dir, new_dir = dirs
    old_answers = recorded_answers(v.old, last, v.old_origin, str(old_dir))
    try:
        answers = rendering.resolve(
            v.new,
            dict(data),
            origin=v.new_origin,
            dst_name=dst,
            last={k: v for k, v in last.items() if not k.startswith("_")},
        )
    except rendering.AnswersError as err:
        raise UpdateError(f"the answers for {v.new_origin.commit} are not valid: {err}") from err
    settled = {**answers.last, **answers.given, **answers.values}
    given = {k: x for k, x in settled.items() if not k.startswith("_") and k not in answers.hidden}
    try:
        alone = _resolve(v.new, given, origin=v.new_origin, dst_name=str(new_dir))
        old = rendering.render(
            v.old,
            old_answers,
            str(old_dir),
            origin=v.old_origin,
            operation="update",
            extra_exclude=v.new.exclude,
        )
        current = rendering.render(v.new, answers, dst, origin=v.new_origin, operation="update")
        new = rendering.render(v.new, alone, str(new_dir), origin=v.new_origin, operation="update")
        context = rendering.render_context(v.new, answers, dst)
        message = rendering.render_string(
            v.new, v.new.message_after_update, context, "_message_after_update"
        )
        skip = rendering.skipper(v.new, context)
    except (TemplateError, rendering.AnswersError) as err:
        raise UpdateError(f"the template {last.get('_src_path')} is broken: {err}") from err
    return _Renderings(old, old_dir, current, new, new_dir, answers, message, skip, context)


def _merge(
    work: Path, repo: Repository, r: _Renderings, conflict: str
) -> tuple[list[str], dict[str, tuple[Path, Path]]]:
    """copier's update in ``work`` (the project's tree checked out): the conflicts, and for
    inline ones each file's old and new rendering."""
    old_dir, new_dir, skip, sub = r.old_dir, r.new_dir, r.skip, repo.subdir
    old_repo, new_repo = old_dir.parents[sub.count("/")] if sub else old_dir, None
    new_repo = new_dir.parents[sub.count("/")] if sub else new_dir
    # 1. The old version, committed, beside the project's tree (the project's folder alone,
    # where copier takes the whole repository's: the same where the project is at its top).
    old_dir.mkdir(parents=True)
    r.old.write(old_dir)
    _commit_all(old_repo, repo.objects)
    old_tree = _tree(old_repo, sub)
    deleted = _diff_names(old_repo, "D", old_tree, repo.tree)
    # (``work`` holds what the project holds where the old version has a file.)
    removed_by_person = [p for p in deleted if not (work / p).exists() and not skip(p)]
    # 2. The new version over the project, less what the person deleted.
    _write_over(r.current, work, skip)
    for rel in removed_by_person:
        (work / rel).unlink(missing_ok=True)
    # 3. The new version alone, committed.
    new_dir.mkdir(parents=True)
    r.new.write(new_dir)
    for rel in removed_by_person:
        (new_dir / rel).unlink(missing_ok=True)
    _commit_all(new_repo, None)
    # 4. The person's changes: the old version against the project's tree. A file both the
    # person and the new version added is made empty in the old one, so it is merged, not added.
    _alternates(old_repo, [repo.objects, new_repo / ".git" / "objects"])
    both = set(_diff_names(old_repo, "A", old_tree, repo.tree)) & set(
        _diff_names(old_repo, "A", old_tree, _tree(new_repo, sub))
    )
    for rel in sorted(both):
        empty = old_dir / rel
        empty.parent.mkdir(parents=True, exist_ok=True)
        empty.touch(mode=(work / rel).stat().st_mode)
        git(["add", "--force", "--", f"{sub}/{rel}" if sub else rel], old_repo)
    _commit(old_repo, "add new empty files")
    old_tree = _tree(old_repo, sub)
    skipped = [p for p in _diff_names(old_repo, "", old_tree, repo.tree) if skip(p)]
    diff = git(
        ["diff-tree", f"--unified={CONTEXT_LINES}", old_tree, repo.tree, "--inter-hunk-context=-1"],
        old_repo,
    )
    # 5. Applied over the new version; what does not apply is merged or left as .rej.
    ignored = [
        e[3:]
        for e in _names(git(["status", "--ignored", "--porcelain", "-z"], work))
        if e.startswith("!! ") and not (new_dir / e[3:]).exists()
    ]
    excludes = [r.current.answers_path, *(_escape(p) for p in skipped), *ignored]
    git(
        ["apply", "--reject", *(f"--exclude={p}" for p in excludes if p)],
        work,
        stdin=diff.encode(errors="surrogateescape"),
        check=False,
    )
    rejected = sorted(
        e[3:-4]
        for e in _names(git(["status", "--porcelain", "--ignored", "-z"], work))
        if e.startswith(("?? ", "!! ")) and e.endswith(".rej")
    )
    conflicts: list[str] = []
    sides: dict[str, tuple[Path, Path]] = {}
    if conflict == "inline":
        labels = [arg for label in MERGE_LABELS for arg in ("-L", label)]
        for rel in rejected:
            git(["checkout", "--", rel], work)
            git(["merge-file", *labels, "--", rel, str(old_dir / rel), str(new_dir / rel)],
                work, check=False)  # fmt: skip
            (work / f"{rel}.rej").unlink()
            if _has_markers(work / rel):
                conflicts.append(rel)
                sides[rel] = (old_dir / rel, new_dir / rel)
    else:
        conflicts = rejected
    # 6. What the new version no longer has goes (copier's _remove_old_files).
    _remove_old(work, filecmp.dircmp(old_dir, new_dir))
    return conflicts, sides


def _diff_names(repo: Path, kind: str, a: str, b: str) -> list[str]:
    """The paths that differ between trees ``a`` and ``b`` (only those ``kind`` says: A added,
    D deleted; every one when empty)."""
    only = [f"--diff-filter={kind}"] if kind else []
    return _names(
        git(["diff-tree", "-r", "-z", "--no-commit-id", "--name-only", *only, a, b], repo)
    )


def _resolve(
    template: Template, given: Mapping[str, Any], *, origin: vcs.Origin, dst_name: str
) -> rendering.Answers:
    """Answers given as copier's ``data`` (its ``init``): those to the template's questions are
    settled; all of them, the others too, are what the context shows as given."""
    asked = {k: v for k, v in given.items() if k in template.questions}
    answers = rendering.resolve(template, asked, origin=origin, dst_name=dst_name)
    return dataclasses.replace(answers, given=dict(given))


def _tree(repo: Path, subdir: str) -> str:
    """The tree of ``subdir`` (the top when empty) at HEAD."""
    return git(["rev-parse", f"HEAD:{subdir}"], repo).strip()


def _escape(path: str) -> str:
    """A path as a literal pattern for ``git apply --exclude`` (a wildmatch)."""
    return re.sub(r"([\\*?\[\]!#])", r"\\\1", path)


def _checkout_tree(work: Path, repo: Repository) -> None:
    """The project's tree checked out in ``work``, its index that tree (no copy of its objects)."""
    work.mkdir()
    git(["init", "--quiet"], work)
    _alternates(work, [repo.objects])
    git(["read-tree", repo.tree], work)
    git(["checkout-index", "--all", "--force"], work)


def _alternates(repo: Path, stores: Iterable[Path]) -> None:
    info = repo / ".git" / "objects" / "info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "alternates").write_text("".join(f"{s.resolve()}\n" for s in stores))


def _commit_all(repo: Path, borrow: Path | None) -> None:
    """copier's ``_git_initialize_repo``: init, add everything, commit."""
    git(["init", "--quiet"], repo)
    if borrow is not None:
        _alternates(repo, [borrow])
    git(["add", "."], repo)
    _commit(repo, "dumb commit")


def _commit(repo: Path, message: str) -> None:
    git([*_IDENTITY, "commit", "--quiet", "--allow-empty", "--no-verify", "--no-gpg-sign",
         "-am", message], repo)  # fmt: skip


def _copy_entry(src: Path, dst: Path) -> None:
    """A file or link of the project into the scratch folder, as it is (nothing when absent)."""
    if src.is_symlink():
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.readlink(src), dst)
    elif src.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def _write_over(rendered: rendering.Rendered, root: Path, skip: Callable[[str], bool]) -> None:
    """copier's render into an existing project with ``overwrite``: identical files (bytes, link
    and executable bits) are left, a file matching ``_skip_if_exists`` that exists is left, the
    others written with the template's mode."""
    for rel in rendered.dirs:
        (root / rel).mkdir(parents=True, exist_ok=True)
    for f in rendered.files:
        dst = root / f.path
        if (dst.is_symlink() or dst.exists()) and (_identical(dst, f) or skip(f.path)):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or (f.link is not None and dst.exists()):
            dst.unlink()
        if f.link is not None:
            os.symlink(f.link, dst)
            continue
        dst.write_bytes(f.content)
        mode = stat.S_IMODE(f.mode)
        if stat.S_IMODE(dst.stat().st_mode) != mode:
            dst.chmod(mode)


def _identical(dst: Path, f: rendering.RenderedFile) -> bool:
    if dst.is_symlink():
        return f.link is not None and os.readlink(dst) == f.link
    if f.link is not None or not dst.is_file():
        return False
    return dst.read_bytes() == f.content and (dst.stat().st_mode & 0o111) == (f.mode & 0o111)


def _has_markers(path: Path) -> bool:
    """copier's test for a merge left with conflicts."""
    start = f"{'<' * 7} {MERGE_LABELS[0]}".encode()
    end = f"{'>' * 7} {MERGE_LABELS[2]}".encode()
    with path.open("rb") as lines:
        return any(line.rstrip() in {start, end} for line in lines)


def _remove_old(prefix: Path, cmp: filecmp.dircmp[str], rm_common: bool = False) -> None:
    """copier's ``_remove_old_files``: what only the old version has is removed (links are
    kept; folders the new version lacks are emptied of the old version's files, and removed
    when nothing else is left in them). ``dircmp`` skips what it skips by default (``.git``,
    ``tags``, ``__pycache__``, ...), as copier's does."""
    try:
        names = list(cmp.left_only)
        if rm_common:
            names += cmp.common_files + cmp.common_dirs
        subdirs = cmp.subdirs
    except (NotADirectoryError, FileNotFoundError):
        names, subdirs = [], {}
    for name in names:
        target = prefix / name
        if target.is_symlink():
            continue
        if target.is_file():
            target.unlink()
        else:
            _remove_old(target, filecmp.dircmp(Path(cmp.left, name), target), True)
            with contextlib.suppress(OSError):
                target.rmdir()  # only when empty
    for name, sub in subdirs.items():
        _remove_old(prefix / name, sub)


def _walk(root: Path) -> set[str]:
    """Every file and link under ``root`` (its own ``.git`` left out), relative."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root and ".git" in dirnames:
            dirnames.remove(".git")
        for name in filenames + [d for d in dirnames if (here / d).is_symlink()]:
            out.add((here / name).relative_to(root).as_posix())
    return out


def _same(a: Path, b: Path) -> bool:
    if a.is_symlink() or b.is_symlink():
        return a.is_symlink() and b.is_symlink() and os.readlink(a) == os.readlink(b)
    # Only the executable bits count, as in git (and in copier's "identical").
    return (a.stat().st_mode & 0o111) == (b.stat().st_mode & 0o111) and a.read_bytes() == (
        b.read_bytes()
    )


def _exists(path: Path) -> bool:
    return path.is_symlink() or path.is_file()


def _compare(
    project: Path, work: Path, tracked: set[str], old_paths: set[str]
) -> tuple[list[str], list[str], list[str]]:
    """(changed, added, removed): the scratch folder against the project, over the project's
    tracked files, the old version's and whatever the scratch folder holds."""
    now = _walk(work)
    changed, added, removed = [], [], []
    for rel in sorted(now | tracked | old_paths):
        there, here = project / rel, work / rel
        if _exists(here) and not _exists(there):
            added.append(rel)
        elif _exists(here):
            if not _same(there, here):
                changed.append(rel)
        elif _exists(there):
            removed.append(rel)
    return changed, added, removed


def _dropped_dirs(
    project: Path, work: Path, dirs: Sequence[str], files: Sequence[rendering.RenderedFile]
) -> list[str]:
    """The old version's folders the update takes away: gone from the scratch folder, there in
    the project. Deepest first, so each is empty when its turn comes (else it stays)."""
    parents = {str(PurePosixPath(f.path).parent) for f in files} - {"."}
    every = set(dirs) | {
        str(p) for d in parents for p in [PurePosixPath(d), *PurePosixPath(d).parents]
    }
    every.discard(".")
    return sorted(
        (d for d in every if (project / d).is_dir() and not (work / d).exists()),
        key=lambda d: (-d.count("/"), d),
    )


# --- showing and applying it -------------------------------------------------------------------


def diff(plan: Plan) -> str:
    """What the update changes in the project, as a unified diff (text files; each at most
    DIFF_BYTES)."""
    chunks: list[str] = []
    for rel in plan.touched:
        before, after = plan.project / rel, plan.result / rel
        old = _bytes(before)
        new = _bytes(after)
        try:
            old_text = old[:DIFF_BYTES].decode() if old is not None else ""
            new_text = new[:DIFF_BYTES].decode() if new is not None else ""
        except UnicodeDecodeError:
            chunks.append(f"Binary file {rel} differs\n")
            continue
        lines = list(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=f"a/{rel}" if old is not None else "/dev/null",
                tofile=f"b/{rel}" if new is not None else "/dev/null",
            )
        )
        if not lines and old is not None and new is not None:
            lines = [f"mode of {rel}: {_mode(before):o} -> {_mode(after):o}\n"]
        for line in lines:
            chunks.append(
                line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n"
            )
    return "".join(chunks)


def _bytes(path: Path) -> bytes | None:
    if path.is_symlink():
        return f"-> {os.readlink(path)}\n".encode()
    return path.read_bytes() if path.is_file() else None


def _mode(path: Path) -> int:
    return 0 if path.is_symlink() else stat.S_IMODE(path.stat().st_mode)


def result_files(plan: Plan, paths: Iterable[str]) -> rendering.Rendered:
    """The scratch folder's version of ``paths`` (changed and added), to move into place."""
    out = rendering.Rendered(dirs=list(plan.dirs))
    for rel in sorted(paths):
        src = plan.result / rel
        if src.is_symlink():
            out.files.append(rendering.RenderedFile(rel, b"", 0o777, link=os.readlink(src)))
        else:
            out.files.append(rendering.RenderedFile(rel, src.read_bytes(), src.stat().st_mode))
    return out


def repository_index(project: Path) -> Path:
    """The index file of the repository ``project`` is in."""
    index = git(["rev-parse", "--path-format=absolute", "--git-path", "index"], project)
    return Path(index.strip())


def mark_conflicts(plan: Plan) -> None:
    """As copier leaves an inline conflict: the file unmerged in git's index, its three stages
    the person's version (2), the old rendering (1) and the new one (3), so ``git status``
    shows it and ``git checkout --theirs`` / ``--ours`` work."""
    if plan.conflict != "inline" or not plan.sides:
        return
    top = Path(git(["rev-parse", "--show-toplevel"], plan.project).strip())
    prefix = plan.project.resolve().relative_to(top.resolve()).as_posix()
    prefix = "" if prefix == "." else f"{prefix}/"
    lines: list[str] = []
    for rel, (old, new) in sorted(plan.sides.items()):
        path = f"{prefix}{rel}"
        staged = git(["ls-files", "--stage", "-z", "--", path], top)
        for entry in _names(staged):
            mode_sha, name = entry.split("\t", 1)
            mode, sha, _ = mode_sha.split()
            lines.append(f"0 {'0' * 40}\t{name}")
            lines.append(f"{mode} {sha} 2\t{name}")
            if old.is_file():
                old_sha = git(["hash-object", "-w", "--", str(old)], top).strip()
                lines.append(f"{mode} {old_sha} 1\t{name}")
            if new.is_file():
                new_sha = git(["hash-object", "-w", "--", str(new)], top).strip()
                lines.append(f"{mode} {new_sha} 3\t{name}")
    if lines:
        git(["update-index", "--index-info"], top, stdin="\n".join(lines).encode())


def apply(plan: Plan, key: str) -> Placement:
    """Put the update into the project: changed and new files moved into place (atomic per
    file), removed ones moved aside, emptied folders removed, conflicts marked in git's index.
    Returns the placement, to :meth:`~Placement.finish` (keep) or :meth:`~Placement.undo`
    (the project as it was); a failure here undoes it before raising."""
    placement = Placement(plan.project, key)
    try:
        rendered = result_files(plan, [*plan.changed, *plan.added])
        placement.stage(rendered)
        placement.move_in(rendered)
        placement.take_out(plan.removed)
        mark_conflicts(plan)
    except BaseException:
        placement.undo()
        raise
    for rel in plan.dropped_dirs:
        with contextlib.suppress(OSError):
            (plan.project / rel).rmdir()  # only when empty, as copier's
    return placement


def apply_plain(plan: Plan) -> None:
    """:func:`apply` and keep it (the command line's update)."""
    apply(plan, "update").finish()
