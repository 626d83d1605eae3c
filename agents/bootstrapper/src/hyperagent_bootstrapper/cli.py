"""``python -m hyperagent_bootstrapper.cli [options] TEMPLATE DEST [name=value ...]``: render a
template into a new folder, without the manager (for template authors checking their work).
``python -m hyperagent_bootstrapper.cli update PATH [options]``: update a project made from a
template to a newer version of it, as ``copier update`` does (see UPDATE_HELP).

TEMPLATE is a template folder or a git repository (a URL, copier's ``gh:owner/name`` and
``gl:owner/name`` shortcuts, a local folder at a repository's root, or a git bundle file): a
git template is rendered at its latest release tag, as copier does, or at ``--vcs-ref REF``.
A template folder without ``copier.yml`` renders with no questions, as in copier. Values are
text, as copier's ``--data`` takes them: the question's type decides what they become
(``python_version=3.10`` stays the text "3.10" for a ``str`` question, a ``bool`` question takes
``true``/``no``, a ``yaml`` one parses its value). Writes nothing unless every answer is valid and
every file renders; the template's warnings (settings not acted on, such as ``_migrations``, and
answers to questions it does not ask) are printed first, its ``_message_after_copy`` last (on
standard error, as copier).

A template's own code — its ``_jinja_extensions`` (Python loaded into the renderer) and its
``_tasks`` (commands run in the new folder) — runs only with ``--trust``, as copier's: without
it, a template with extensions is refused and its tasks are listed and not run.

Options:
  --vcs-ref REF     render a git template at REF (a tag, branch or commit) instead of its
                    latest release tag
  --commit DESC     record DESC as ``_commit`` in the answers file, for a plain folder that is a
                    copy of a template release (a git template records its own)
  --trust           run the template's own code: its Jinja extensions and its ``_tasks``
  --skip-tasks      do not run its ``_tasks`` (as copier's ``--skip-tasks``)

Exit codes: 0 done, 1 the folder could not be written (or a task failed), 2 bad arguments, bad
answers or a broken template (named by ``file:line``).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import render as rendering
from . import update, vcs
from .template import Template, TemplateError, load

#: Sources taken for git repositories beside copier's own forms (vcs.remote_url).
GIT_URL_PREFIXES = ("https://", "http://", "ssh://", "file://")

UPDATE_HELP = """\
python -m hyperagent_bootstrapper.cli update PATH [options]

Updates the project at PATH (made from a template: it has the answers file, `_src_path` and
`_commit`) to a newer version of its template, as `copier update --defaults` does: your changes
since are kept, merged into the new version; what the new version dropped is removed. The
project must be a git repository with nothing uncommitted. Nothing is committed: review the
changes with `git diff`, resolve conflicts, then commit. The template's `_migrations` (run on a
scratch copy of the project, so what they change is part of the update) and its `_tasks` (run in
the project afterwards) are its own code: they run only with --trust, as copier's.

Options:
  --vcs-ref REF          the template version to update to (default: its latest release tag;
                         :current: keeps the recorded version, to change answers only)
  --data NAME=VALUE      a new answer (repeatable); the recorded answers stand for the others
  --conflict inline|rej  how a conflict is left: markers in the file (default) or a .rej file
  --answers-file PATH    the answers file, relative to the project (default: found)
  --preview              print the changes and the conflicts as a diff; write nothing
  --trust                run the template's own code: its Jinja extensions (both versions),
                         its migrations and its tasks
  --skip-tasks           with --trust, do not run its `_tasks`

Exit codes: 0 done (conflicts are listed on standard error), 2 the project cannot be updated
(the reason says what to do).
"""


def _options(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in {"--vcs-ref", "--commit"}:
            if not eq:
                value = next(args, "")
            if not value:
                raise ValueError(f"{name} needs a value")
            options[name[2:]] = value
        elif arg in {"--trust", "--skip-tasks"}:
            options[arg[2:]] = "yes"
        elif arg.startswith("--"):
            raise ValueError(
                f"unknown option {arg!r}; known: --vcs-ref, --commit, --trust, --skip-tasks"
            )
        else:
            rest.append(arg)
    return options, rest


def _render(source: str, dest: Path, given: dict[str, Any], options: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory(prefix="hyperagent-template-") as scratch:
        src = Path(source)
        url = vcs.remote_url(source) or (source if source.startswith(GIT_URL_PREFIXES) else None)
        if url or vcs.is_local_git(src):
            # The checkout is named as the repository is, so messages name the template.
            name = Path((url or source).rstrip("/")).name.removesuffix(".git")
            root = Path(scratch) / (name.removesuffix(".bundle") or "template")
            # git runs in the scratch folder: a local path is given to it whole (the answers
            # file records it as given, as copier does).
            where = url or str(src.absolute())
            origin = vcs.checkout(where, root, options.get("vcs-ref"), src_path=source)
        else:
            if "vcs-ref" in options:
                raise vcs.GitError(f"--vcs-ref: {source} is a plain folder, not a git repository")
            origin = vcs.Origin(src_path=source, commit=options.get("commit"))
            root = src
        if "commit" in options:
            origin = vcs.Origin(
                origin.src_path, options["commit"], origin.commit_hash, origin.vcs_ref
            )
        template = load(root)
        trust = "trust" in options
        if template.extensions and not trust:
            raise TemplateError("_jinja_extensions", _extensions_refused(template))
        template = dataclasses.replace(template, trusted=trust)
        answers = rendering.resolve(template, given, dst_name=str(dest), origin=origin)
        for warning in (*template.warnings, rendering.unasked_warning(template, answers)):
            if warning:
                print(f"warning: template {src.name or source}: {warning}", file=sys.stderr)
        rendered = rendering.render(template, answers, str(dest), origin=origin)
        context = rendering.render_context(template, answers, str(dest), origin=origin)
        message = rendering.render_string(
            template, template.message_after_copy, context, "_message_after_copy"
        )
        tasks = _to_run(
            rendering.planned_tasks(template, context),
            trust=trust,
            skip="skip-tasks" in options,
            warning=f"warning: template {src.name or source}: not run without --trust: ",
            where="the new project",
            name=template.name,
        )
        # Written, and its tasks run, while a git template's checkout is still there (a task
        # may run a script of the template's: `_copier_conf.src_path`).
        return _write(dest, rendered, tasks, message)


def _write(
    dest: Path, rendered: rendering.Rendered, tasks: list[rendering.PlannedTask], message: str
) -> int:
    try:
        dest.mkdir(parents=True, exist_ok=False)
    except OSError as err:
        print(f"error: {dest}: {err.strerror or err} (give a new folder)", file=sys.stderr)
        return 2
    try:
        rendered.write(dest)
    except OSError as err:
        print(f"error: writing {dest}: {err.strerror or err}", file=sys.stderr)
        return 1
    if not _run_tasks(tasks, dest):
        return 1
    print(f"{len(rendered.files)} files in {dest}")
    if message.strip():
        print(message, file=sys.stderr)  # as copier prints it
    return 0


def _update_options(argv: list[str]) -> tuple[Path, update.Request, dict[str, bool]]:
    """(project, request, flags: preview and trust) from the update command's arguments;
    ValueError when wrong."""
    path: Path | None = None
    data: dict[str, Any] = {}
    options: dict[str, str] = {}
    flags = {"preview": False, "trust": False, "skip-tasks": False}
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in {"--vcs-ref", "--data", "--conflict", "--answers-file"}:
            if not eq:
                value = next(args, "")
            if not value:
                raise ValueError(f"{name} needs a value")
            if name == "--data":
                data.update([_answer(value)])
            else:
                options[name[2:]] = value
        elif arg in {"--preview", "--trust", "--skip-tasks"}:
            flags[arg[2:]] = True
        elif arg.startswith("--"):
            raise ValueError(
                f"unknown option {arg!r}; known: --vcs-ref, --data, --conflict, --answers-file,"
                " --preview, --trust, --skip-tasks"
            )
        elif path is None:
            path = Path(arg)
        else:
            raise ValueError(f"one project only (got {str(path)!r} and {arg!r})")
    if path is None:
        raise ValueError("give the project's folder")
    conflict = options.get("conflict", "inline")
    if conflict not in update.CONFLICT_MODES:
        raise ValueError(f"--conflict {conflict!r}: one of {', '.join(update.CONFLICT_MODES)}")
    request = update.Request(
        vcs_ref=options.get("vcs-ref"),
        data=data,
        conflict=conflict,
        answers_file=options.get("answers-file"),
    )
    return path, request, flags


def _trusted(template: Template) -> Template:
    return dataclasses.replace(template, trusted=True)


def _untrusted(template: Template) -> Template:
    if template.extensions:
        raise update.UpdateError(_extensions_refused(template))
    return template


def _extensions_refused(template: Template) -> str:
    return (
        f"the template loads Python code into the renderer ({', '.join(template.extensions)});"
        " pass --trust to run it"
    )


def _to_run(
    tasks: list[rendering.PlannedTask],
    *,
    trust: bool,
    skip: bool,
    warning: str,
    where: str,
    name: str,
) -> list[rendering.PlannedTask]:
    """The template's tasks the command line runs: none with --skip-tasks; without --trust none
    either, and a warning naming them."""
    if skip or not tasks:
        return []
    if not trust:
        print(warning + rendering.tasks_description(name, tasks, where), file=sys.stderr)
        return []
    return tasks


def _run(t: rendering.PlannedTask, root: Path, kind: str) -> int:
    """One of the template's commands, run because the person passed --trust; its exit code."""
    print(f" > Running {kind} {t.number}: {t.shown}", file=sys.stderr)
    return subprocess.run(
        t.argv, cwd=root / t.cwd, env={**os.environ, **t.env}, check=False
    ).returncode


def _run_tasks(tasks: list[rendering.PlannedTask], root: Path) -> bool:
    for t in tasks:
        code = _run(t, root, "task")
        if code:
            print(f"error: task {t.number} ({t.shown}) exited with {code}", file=sys.stderr)
            return False
    return True


def _migrate_trusted(
    before: list[rendering.PlannedTask], after: list[rendering.PlannedTask]
) -> Callable[[rendering.PlannedTask, Path], None]:
    def run(t: rendering.PlannedTask, root: Path) -> None:
        code = _run(t, root, f"migration ({t.env['STAGE']})")
        if code:
            raise update.UpdateError(f"migration {t.number} ({t.shown}) exited with {code}")

    return run


def _migrate_untrusted(
    before: list[rendering.PlannedTask], after: list[rendering.PlannedTask]
) -> Callable[[rendering.PlannedTask, Path], None]:
    raise update.UpdateError(
        "the update runs the template's migrations (its own code: "
        + "; ".join(t.shown for t in [*before, *after])
        + "); pass --trust to run them"
    )


def _answer(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ValueError(f"--data {item!r} must look like name=value")
    return key, value


def _update(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(UPDATE_HELP, file=sys.stderr)
        return 2
    try:
        project, request, flags = _update_options(argv)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not project.is_dir():
        print(f"error: {project} is not a folder", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hyperagent-update-") as scratch:
        try:
            plan = update.prepare(
                project,
                request,
                Path(scratch),
                update.default_fetch(project),
                dst_name=str(project),
                trust=_trusted if flags["trust"] else _untrusted,
                migrate=None
                if flags["preview"]
                else _migrate_trusted
                if flags["trust"]
                else _migrate_untrusted,
            )
        except update.UpdateError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        for warning in plan.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if flags["preview"]:
            print(update.diff(plan), end="")
        else:
            update.apply_plain(plan)
            tasks = _to_run(
                plan.tasks,
                trust=flags["trust"],
                skip=flags["skip-tasks"],
                warning="warning: not run without --trust: ",
                where="the updated project",
                name="project's",
            )
            if not _run_tasks(tasks, project):
                return 1
    preview = flags["preview"]
    said = "would change" if preview else "changed"
    print(
        f"{plan.old_commit} -> {plan.new_commit}: {said} {len(plan.changed)}, added"
        f" {len(plan.added)}, removed {len(plan.removed)} files",
        file=sys.stderr,
    )
    for rel in plan.conflicts:
        where = f"{rel}.rej" if plan.conflict == "rej" else rel
        print(f"conflict: {where}", file=sys.stderr)
    if plan.message.strip() and not preview:
        print(plan.message, file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "update":
        return _update(argv[1:])
    return _copy(argv)


def _copy(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        options, args = _options(argv)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    given: dict[str, Any] = {}
    for item in args[2:]:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"answer {item!r} must look like name=value", file=sys.stderr)
            return 2
        given[key] = value
    try:
        return _render(args[0], Path(args[1]), given, options)
    except (TemplateError, rendering.AnswersError, vcs.GitError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
