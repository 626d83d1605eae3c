"""``python -m hyperagent_bootstrapper.cli [options] TEMPLATE DEST [name=value ...]``: render a
template into a new folder, without the manager (for template authors checking their work).

TEMPLATE is a template folder or a git repository (a URL, copier's ``gh:owner/name`` and
``gl:owner/name`` shortcuts, or a local folder at a repository's root): a git template is
rendered at its latest release tag, as copier does, or at ``--vcs-ref REF``. Values are text, as
copier's ``--data`` takes them: the question's type decides what they become
(``python_version=3.10`` stays the text "3.10" for a ``str`` question, a ``bool`` question takes
``true``/``no``, a ``yaml`` one parses its value). Writes nothing unless every answer is valid and
every file renders; the template's warnings (settings not acted on, such as ``_migrations``)
are printed first, its ``_message_after_copy`` last (on standard error, as copier).

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
from pathlib import Path
from typing import Any

from . import render as rendering
from . import vcs
from .template import TemplateError, load

#: Sources taken for git repositories beside copier's own forms (vcs.remote_url).
GIT_URL_PREFIXES = ("https://", "http://", "ssh://", "file://")


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
        if url or (src.is_dir() and vcs.is_repository_root(src)):
            # The checkout is named as the repository is, so messages name the template.
            name = Path((url or source).rstrip("/")).name.removesuffix(".git") or "template"
            root = Path(scratch) / name
            origin = vcs.checkout(url or source, root, options.get("vcs-ref"), src_path=source)
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
            raise TemplateError(
                "_jinja_extensions",
                f"the template loads Python code into the renderer"
                f" ({', '.join(template.extensions)}); pass --trust to run it",
            )
        template = dataclasses.replace(template, trusted=trust)
        for warning in template.warnings:
            print(f"warning: template {src.name or source}: {warning}", file=sys.stderr)
        answers = rendering.resolve(template, given, dst_name=str(dest), origin=origin)
        rendered = rendering.render(template, answers, str(dest), origin=origin)
        context = rendering.render_context(template, answers, str(dest), origin=origin)
        message = rendering.render_string(
            template, template.message_after_copy, context, "_message_after_copy"
        )
        tasks = rendering.planned_tasks(template, context)
        if "skip-tasks" in options:
            tasks = []
        if tasks and not trust:
            print(
                f"warning: template {src.name or source}: not run without --trust:"
                f" {rendering.tasks_description(template.name, tasks)}",
                file=sys.stderr,
            )
            tasks = []
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
    for task in tasks:
        print(f" > Running task {task.number}: {task.shown}", file=sys.stderr)
        # The template's own command, run because the person passed --trust.
        code = subprocess.run(
            task.argv, cwd=dest / task.cwd, env={**os.environ, **rendering.TASK_ENV}, check=False
        ).returncode
        if code:
            print(f"error: task {task.number} ({task.shown}) exited with {code}", file=sys.stderr)
            return 1
    print(f"{len(rendered.files)} files in {dest}")
    if message.strip():
        print(message, file=sys.stderr)  # as copier prints it
    return 0


def main(argv: list[str]) -> int:
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
