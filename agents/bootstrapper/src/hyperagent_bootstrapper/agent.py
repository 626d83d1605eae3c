"""The bootstrapper agent: ``bootstrap.project`` makes a project from a template;
``project.update`` updates one to a newer version of its template; ``project.check`` runs a
made project's post-check again.

``bootstrap.project``'s steps, each reported as progress with its log lines: validate the answers
-> render (in memory, then into a hidden staging folder) -> move into place -> ``git init`` and a
first commit -> post-check (install, tests, dev server health) -> the result (path, files,
checks, how to start it). Cancelled or failed before the end, the folder is left as it was found.

``project.update``'s: read the answers file -> check out the recorded and the new template
versions -> work the update out in a scratch folder (update.py) -> ask (destructive, snapshot)
-> move the changed files into place -> the result (changed, added, removed, conflicts).

``project.check``'s: read the answers file -> check out the template at the recorded version ->
the same post-check as a bootstrap's, in the project as it is (nothing written but what the
checks make, the environment; nothing committed) -> the result, in a bootstrap's shape.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hyperagent_sdk import (
    Agent,
    Outcome,
    PermissionRefused,
    SettingError,
    TaskCancelled,
    TaskContext,
    TaskFailed,
)
from hyperagent_sdk.narrow import TEMP_VARS, narrowed

from . import render as rendering
from . import update, vcs
from .place import OWN_FOLDERS, Placement, existing_entries, leftovers
from .postcheck import Plan, PostCheck, Report, Settings
from .template import Template, TemplateError, load

DRAFT = "https://json-schema.org/draft/2020-12/schema"

agent = Agent(name="bootstrapper", version="0.1.0", max_concurrency=2, cost=1.0)

BOOTSTRAP_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "bootstrap.project payload",
    "type": "object",
    "properties": {
        "template": {
            "type": "string",
            "minLength": 1,
            "maxLength": 4096,
            "description": (
                "A template from the catalogue (`hyperagent templates`), an absolute path to a"
                " copier template, or an https git URL (asks before connecting)."
            ),
        },
        "vcs_ref": {
            "type": "string",
            "minLength": 1,
            "maxLength": 256,
            "description": (
                "For a git template: the tag, branch or commit to render (default: its latest"
                " release tag, as copier does)."
            ),
        },
        "answers": {
            "type": "object",
            "description": (
                "Answers to the template's questions"
                " (their schema: `hyperagent templates show NAME`)."
            ),
            "default": {},
        },
        "dry_run": {
            "type": "boolean",
            "default": False,
            "description": (
                "Only show the files it would write, with their diff against the folder: render"
                " and write nothing."
            ),
        },
        "overwrite": {
            "type": "boolean",
            "default": False,
            "description": (
                "Allow a folder that is not empty: you are asked first, and what is replaced is"
                " snapshotted."
            ),
        },
        "checks": {
            "type": "boolean",
            "default": True,
            "description": "Install the project, run its tests and start it once.",
        },
        "git": {
            "type": "boolean",
            "default": True,
            "description": "git init (when not a repository yet) and commit the new files.",
        },
    },
    "required": ["template"],
    "additionalProperties": False,
}

UPDATE_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "project.update payload",
    "type": "object",
    "properties": {
        "path": {
            "type": "string",
            "minLength": 1,
            "maxLength": 4096,
            "description": (
                "The project, relative to the task's folder (default: the task's folder itself);"
                " it has the template's answers file (.copier-answers.yml)."
            ),
        },
        "vcs_ref": {
            "type": "string",
            "minLength": 1,
            "maxLength": 256,
            "description": (
                "The template version to update to: a tag, branch or commit (default: its latest"
                " release tag, as copier does; `:current:` keeps the recorded one)."
            ),
        },
        "data": {
            "type": "object",
            "description": "New answers to the template's questions; the recorded ones stay.",
            "default": {},
        },
        "conflict": {
            "enum": list(update.CONFLICT_MODES),
            "default": "inline",
            "description": (
                "How a conflict is left: `inline` (markers in the file, as copier) or `rej`"
                " (the hunks that did not apply in a .rej file beside it)."
            ),
        },
        "answers_file": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024,
            "description": "The answers file, relative to the project (default: found).",
        },
        "preview": {
            "type": "boolean",
            "default": False,
            "description": "Return the diff and the conflicts it would leave; write nothing.",
        },
    },
    "additionalProperties": False,
}

CHECK_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "project.check payload",
    "type": "object",
    "properties": {
        "path": UPDATE_SCHEMA["properties"]["path"],
        "answers_file": UPDATE_SCHEMA["properties"]["answers_file"],
    },
    "additionalProperties": False,
}

#: Largest text shown per file in a dry run's diff.
DIFF_BYTES = 64 * 1024


#: Where each of ``project.update``'s steps starts, as a fraction of the whole.
UPDATE_STEPS = {
    "reading the project": 0.0,
    "checking out the template": 0.1,
    "migrating": 0.4,
    "merging": 0.5,
    "writing": 0.85,
    "running the template's tasks": 0.9,
}


#: Where each of the post-check's steps starts, as a fraction of the whole (``bootstrap.project``
#: and ``project.check`` run the same one).
POSTCHECK_STEPS = {
    "creating the environment": 0.2,
    "installing packages": 0.35,
    "asking the dev server for its health URL": 0.6,
    "running the project's tests": 0.75,
    "building the Docker image": 0.9,
}

#: Where each of ``bootstrap.project``'s steps starts.
BOOTSTRAP_STEPS = {
    "validating": 0.0,
    "rendering": 0.05,
    "moving into place": 0.1,
    "committing": 0.15,
    **POSTCHECK_STEPS,
}

#: Where each of ``project.check``'s steps starts.
CHECK_STEPS = {
    "reading the project": 0.0,
    "checking out the template": 0.05,
    **POSTCHECK_STEPS,
}


class Steps:
    """Progress in named steps, with the fraction of the whole each step starts at."""

    def __init__(self, ctx: TaskContext, fractions: dict[str, float]) -> None:
        self.ctx = ctx
        self.fractions = fractions

    def __call__(self, step: str) -> None:
        self.ctx.log.info(step)
        self.ctx.progress(self.fractions.get(step, -1.0), step)


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ)
    except SettingError as err:
        raise TaskFailed(f"the bootstrapper's settings (agent.toml [env]): {err}") from err


def _template_dirs() -> list[Path]:
    raw = os.environ.get("HYPERAGENT_TEMPLATE_DIRS", "")
    return [Path(p) for p in raw.split(os.pathsep) if p]


def _from_catalogue(name: str) -> Path:
    dirs = _template_dirs()
    for d in dirs:
        if (d / name / "copier.yml").is_file() or (d / name / "copier.yaml").is_file():
            return d / name
    known = sorted({p.parent.name for d in dirs if d.is_dir() for p in d.glob("*/copier.y*ml")})
    raise TaskFailed(
        f"no template named {name!r}; the catalogue has: {', '.join(known) or 'nothing'}"
        " (a local template can be given by its absolute path)"
    )


def _git_runner(ctx: TaskContext) -> vcs.Runner:
    """git run through the task (logged, cancellable), as the vcs module runs it."""

    def run(argv: Sequence[str], cwd: Path) -> str:
        lines: list[str] = []
        try:
            ctx.run(["git", *argv], cwd=cwd, on_line=lines.append)
        except TaskFailed as err:
            raise vcs.GitError(f"git {' '.join(argv)}: {err}") from err
        return "\n".join(lines)

    return run


def _fetch_git(ctx: TaskContext, url: str, vcs_ref: str | None) -> tuple[Path, vcs.Origin]:
    """Clone an https git template (after asking to connect) at ``vcs_ref`` or its latest
    release tag; (folder, origin)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise TaskFailed(
            f"template URL {url!r}: only https:// git URLs are supported (ssh cannot go"
            " through HyperAgent's egress proxy)"
        )
    host = f"{parts.hostname}:{parts.port or 443}"
    try:
        ctx.request_permission("connect", host, f"download the template {url}")
    except PermissionRefused as err:
        raise TaskFailed(f"the template {url} was not downloaded: {err}") from err
    return _checkout(ctx, url, vcs_ref)


def _checkout(ctx: TaskContext, source: str, vcs_ref: str | None) -> tuple[Path, vcs.Origin]:
    slot = Path.home() / "template-cache" / hashlib.sha256(source.encode()).hexdigest()[:16]
    if slot.exists():
        shutil.rmtree(slot)
    slot.mkdir(parents=True)
    # Checked out under the template's own name (a template is named by its folder), so what the
    # task says names it: "service project at ...", not the cache's digest.
    dest = slot / _template_name(source)
    try:
        return dest, vcs.checkout(source, dest, vcs_ref, _git_runner(ctx))
    except vcs.GitError as err:
        raise TaskFailed(f"the template {source} could not be checked out: {err}") from err


def _template_name(source: str) -> str:
    """The last part of a template's path or URL, without `.git` or `.bundle`
    ("https://host/org/api.git", "git@host:org/api.git", "/src/api" and "/src/api.bundle" are
    "api"); "template" when it has none."""
    last = urlsplit(source).path.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = last.removesuffix(".git").removesuffix(".bundle")
    return name if name and name not in (".", "..") else "template"


def _local(source: str) -> Path:
    """A local template (a folder, or a git bundle file), once it is known to be readable from
    inside the sandbox; TaskFailed saying what to do otherwise."""
    root = Path(source)
    try:
        if root.is_dir():
            os.listdir(root)
        else:
            root.open("rb").close()
    except PermissionError as err:
        raise TaskFailed(
            f"the template {source} cannot be read from inside the sandbox; add its folder to"
            " the catalogue (`serve --templates-dir`) or allow reading it"
            f" (`hyperagent policy allow --read {source} --agent bootstrapper`)"
            " and submit again"
        ) from err
    except FileNotFoundError as err:
        raise TaskFailed(f"the template {source} does not exist") from err
    except OSError as err:
        raise TaskFailed(f"the template {source} cannot be read: {err.strerror or err}") from err
    if not root.is_dir() and not vcs.is_bundle(root):
        raise TaskFailed(
            f"the template {source} is a file; give a template folder, a git repository or a git"
            " bundle (`git bundle create`)"
        )
    return root


def _load(ctx: TaskContext, source: str, vcs_ref: str | None) -> tuple[Template, vcs.Origin]:
    """The template and what the answers file records as its origin (``_src_path``,
    ``_commit``): a git template (a URL, or a local repository) is checked out as copier does."""
    if source.startswith(("gh:", "gl:")):  # copier's shortcuts for GitHub and GitLab
        root, origin = _fetch_git(ctx, vcs.remote_url(source) or source, vcs_ref)
        origin = vcs.Origin(source, origin.commit, origin.commit_hash, origin.vcs_ref)
    elif source.startswith(("https://", "http://", "git@", "ssh://", "git://")):
        root, origin = _fetch_git(ctx, source, vcs_ref)
    elif source.startswith("/"):
        root = _local(source)
        origin = vcs.Origin(src_path=source)
        # copier renders a local repository, or a git bundle, as a git template.
        if vcs.is_local_git(root):
            root, origin = _checkout(ctx, source, vcs_ref)
    else:
        root = _from_catalogue(source)
        origin = vcs.Origin(src_path=str(root))
    try:
        return load(root), origin
    except TemplateError as err:
        raise TaskFailed(f"template {source!r} is broken: {err}") from err


def _diff(target: Path, rendered: rendering.Rendered) -> tuple[list[dict[str, Any]], str]:
    files: list[dict[str, Any]] = []
    chunks: list[str] = []
    for f in rendered.files:
        old_path = target / f.path
        exists = old_path.is_file()
        old = old_path.read_bytes() if exists else b""
        state = "new" if not exists else ("unchanged" if old == f.content else "changed")
        files.append({"path": f.path, "size": len(f.content), "state": state})
        if state == "unchanged":
            continue
        try:
            new_text = f.content[:DIFF_BYTES].decode()
            old_text = old[:DIFF_BYTES].decode()
        except UnicodeDecodeError:
            chunks.append(f"Binary file {f.path} ({len(f.content)} bytes)\n")
            continue
        chunks.extend(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=f"a/{f.path}" if exists else "/dev/null",
                tofile=f"b/{f.path}",
            )
        )
        if chunks and not chunks[-1].endswith("\n"):
            chunks.append("\n\\ No newline at end of file\n")
    return files, "".join(chunks)


def _git(ctx: TaskContext, target: Path, files: list[str], template: str, existed: bool) -> str:
    """Commit the new files; the commit's id. When they are exactly what the repository already
    holds (the same project made again), there is nothing to commit: no empty commit is made, and
    the id is the repository's current one."""
    name = os.environ.get("GIT_AUTHOR_NAME", "HyperAgent")
    email = os.environ.get("GIT_AUTHOR_EMAIL", "hyperagent@localhost")
    git = ["git", "-c", f"user.name={name}", "-c", f"user.email={email}"]
    if not existed:
        ctx.run([*git, "init", "--quiet", "--initial-branch=main"], cwd=target)
        # Everything in the folder, but never HyperAgent's own staging folders.
        ctx.run([*git, "add", "--all", "--", ".", f":(exclude){OWN_FOLDERS}"], cwd=target)
    else:
        # Only what the repository does not ignore: naming an ignored file fails `git add` (a
        # template's `.env` in a repository that ignores it stays out of the commit, as it
        # would for the person).
        ignored: list[str] = []
        ctx.run(["git", "check-ignore", "--", *files], cwd=target, check=False,
                on_line=ignored.append)  # fmt: skip
        ignored = [line.strip() for line in ignored if line.strip()]
        if ignored:
            ctx.log.info(
                f"not committed, the repository ignores them: {', '.join(sorted(ignored))}"
            )
        kept = [f for f in files if f not in set(ignored)]
        if kept:
            ctx.run([*git, "add", "--", *kept], cwd=target)
    staged = ctx.run([*git, "diff", "--cached", "--quiet"], cwd=target, check=False)
    if staged == 0:
        ctx.log.info("nothing to commit: the repository already holds these files as they are")
    else:
        message = f"Create {target.name} from the {template} template (HyperAgent)"
        ctx.run([*git, "commit", "--quiet", "--no-verify", "-m", message], cwd=target)
    lines: list[str] = []
    ctx.run(["git", "rev-parse", "HEAD"], cwd=target, on_line=lines.append)
    return lines[-1].strip() if lines else ""


def _plan(template: Template, answers: rendering.Answers, target: Path) -> Plan | None:
    pc = template.postcheck
    if pc is None:
        return None
    context = rendering.render_context(template, answers, str(target))

    def r(s: str) -> str:
        return rendering.render_string(template, s, context, "hyperagent.yml")

    return Plan(
        python=r(pc.python),
        install=[r(a) for a in pc.install],
        test=[r(a) for a in pc.test],
        serve=[r(a) for a in pc.serve],
        health=r(pc.health),
    )


def _answers(
    ctx: TaskContext, template: Template, given: dict[str, Any], origin: vcs.Origin
) -> rendering.Answers:
    names = template.postcheck.names if template.postcheck else {}
    try:
        return rendering.resolve(
            template, given, names=names, dst_name=str(ctx.workspace), origin=origin
        )
    except rendering.AnswersError as err:
        raise TaskFailed(f"answers for template {template.name!r} are not valid: {err}") from err
    except TemplateError as err:
        raise TaskFailed(f"template {template.name!r} is broken: {err}") from err


def _check_folder(ctx: TaskContext, payload: dict[str, Any]) -> list[str]:
    """What the folder holds; refuses a folder that is not empty unless told to overwrite."""
    target = ctx.workspace
    if target.is_symlink() or not target.is_dir():
        raise TaskFailed(f"the project folder {target} must be a real folder, not a link")
    before = existing_entries(target)
    if before and not payload.get("dry_run", False) and not payload.get("overwrite", False):
        shown = ", ".join(before[:5]) + (", ..." if len(before) > 5 else "")
        raise TaskFailed(
            f"the project folder {target} is not empty ({len(before)} entries: {shown}); submit"
            " with overwrite: true to write the template's files over it (you will be asked, and"
            " what is replaced is snapshotted for rollback)"
        )
    stale = leftovers(target)
    if stale:
        ctx.log.warn("an interrupted bootstrap left staging folders here", folders=", ".join(stale))
    return before


def _failures(report: Report) -> str:
    """The failed checks with their error lines, then the ones that did not run."""
    what = "; ".join(f"{c.name}: {c.detail}" for c in report.failed)
    not_run = [c.name for c in report.checks if c.status == "skipped"]
    return f"{what}; not run: {', '.join(not_run)}" if not_run else what


def checks_outcome(report: Report) -> tuple[str, str]:
    """How a project that was made came out, as ``output.outcome`` and in words for the summary:
    ``checked`` (every check passed), ``checks skipped`` (some did not run: refused network, no
    Docker, ...; each named with why) or ``not checked`` (none ran: the person said so, or the
    template declares none). A project whose checks were skipped is not shown as fully done."""
    checks = report.checks
    if not checks:
        return "not checked", "not checked"
    passed = sum(1 for c in checks if c.status == "passed")
    skipped = [c for c in checks if c.status == "skipped"]
    if not skipped:
        return "checked", f"{passed}/{len(checks)} checks passed"
    words = ", ".join(f"{c.name} ({c.detail})" for c in skipped)
    return "checks skipped", f"{passed}/{len(checks)} checks passed, skipped: {words}"


def overwrite_description(template: str, target: Path, files: list[str]) -> str:
    """What overwriting does, said so that it completes "<agent> asks to ..." (the consent
    request's sentence, in the UI and the CLI): how many files are written and how many of them
    replace one that is there."""
    replaced = sum(1 for f in files if (target / f).exists() or (target / f).is_symlink())
    written = f"write the {template} template's {_count(len(files), 'file')} into {target}"
    if replaced == 0:
        return f"{written}, beside what is there (no file is replaced)"
    if replaced == len(files) > 1:
        return f"{written}, replacing all {replaced} already there"
    return f"{written}, replacing {_count(replaced, 'file')} already there"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _render_hint(
    template: Template, answers: rendering.Answers, target: Path, source: str, where: str
) -> str:
    if not source:
        return ""
    context = rendering.render_context(template, answers, str(target))
    return rendering.render_string(template, source, context, where)


def _dry_run(
    template: Template,
    target: Path,
    rendered: rendering.Rendered,
    tasks: list[rendering.PlannedTask],
) -> Outcome:
    """What a bootstrap would write, and which of the template's tasks would run (and ask)."""
    listing, diff = _diff(target, rendered)
    output: dict[str, Any] = {"dry_run": True, "path": str(target), "files": listing, "diff": diff}
    if tasks:
        output["tasks"] = [{"command": t.shown, "ran": False} for t in tasks]
    return Outcome(
        summary=f"dry run: {len(rendered.files)} files from {template.name}, nothing written",
        output=output,
    )


#: What the person reads beside a request to run a template's own code.
CODE_REASON = (
    "Code the template's author wrote, not HyperAgent's. It runs inside this task's sandbox: it"
    " can write only in the project's folder and reach only the hosts this task may reach."
)


def _allow_extensions(ctx: TaskContext, template: Template, name: str = "") -> Template:
    """The template, trusted to load its Jinja extensions once the person allowed them (a
    template without any needs nothing). ``name`` names it when its folder does not."""
    if not template.extensions:
        return template
    what = rendering.extensions_description(template, name)
    try:
        ctx.request_permission("run", what, CODE_REASON)
    except PermissionRefused as err:
        raise TaskFailed(
            f"the {template.name} template renders only with its Jinja extensions"
            f" ({', '.join(template.extensions)}), which were not allowed to run: {err}"
        ) from err
    # Its code runs in a renderer process narrowed to a private folder (see `confined`).
    return dataclasses.replace(template, trusted=True, confined=True)


def _planned_tasks(
    template: Template, answers: rendering.Answers, target: Path, origin: vcs.Origin
) -> list[rendering.PlannedTask]:
    context = rendering.render_context(template, answers, str(target), origin=origin)
    try:
        return rendering.planned_tasks(template, context)
    except TemplateError as err:
        raise TaskFailed(f"template {template.name!r} is broken: {err}") from err


def _run_tasks(
    ctx: TaskContext,
    name: str,
    tasks: list[rendering.PlannedTask],
    target: Path,
    where: str = "the new project",
) -> list[dict[str, Any]]:
    """The ``name`` template's ``_tasks`` in ``target``, once the person allowed exactly these
    commands; each one's output goes to the task's log. Refused: none runs and the project
    stays (as copier's ``--skip-tasks``). A failing one fails the task."""
    if not tasks:
        return []
    try:
        what = rendering.tasks_description(name, tasks, where)
        ctx.request_permission("run", what, CODE_REASON)
    except PermissionRefused as err:
        ctx.log.warn(f"the {name} template's tasks were not run: {err}")
        return [{"command": t.shown, "ran": False} for t in tasks]
    done = []
    # The template's code: narrowed to the new project and a private folder (its TMPDIR and
    # XDG_CACHE_HOME), so it cannot change the agent's state (uv's cache) for the next project.
    private = Path(tempfile.mkdtemp(prefix="template-tasks-"))
    try:
        for t in tasks:
            ctx.log.info(f"task {t.number} of the template: {t.shown}")
            ctx.run(
                narrowed(list(t.argv), write=[target, private], allow_unconfined=True),
                cwd=target / t.cwd,
                env={**t.env, **dict.fromkeys(TEMP_VARS, str(private))},
            )
            done.append({"command": t.shown, "ran": True})
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return done


@agent.task(
    "bootstrap.project",
    schema=BOOTSTRAP_SCHEMA,
    description="Make a project from a copier template in the task's folder; commit and check it.",
    examples=(
        "bootstrap a FastAPI project called shop with Postgres",
        "make me a new Django site named blog",
        "create a fastapi service called billing in ~/src/billing, no docker",
        "start a new project from the template at /srv/templates/api, answers: name=inventory",
        "new FastAPI app 'orders' with a SQLite database, don't run the checks",
        "scaffold a django project called crm",
        "generate a Django project named wiki in ~/src/wiki",
    ),
    folder="creates",
)
def bootstrap(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    step = Steps(ctx, BOOTSTRAP_STEPS)
    step("validating")
    settings = _settings()
    template, origin = _load(ctx, payload["template"], payload.get("vcs_ref"))
    template = _allow_extensions(ctx, template)
    for warning in template.warnings:
        ctx.log.warn(f"template {template.name}: {warning}")
    answers = _answers(ctx, template, payload.get("answers", {}), origin)
    if unasked := rendering.unasked_warning(template, answers):
        ctx.log.warn(f"template {template.name}: {unasked}")
    before = _check_folder(ctx, payload)
    target = ctx.workspace

    step("rendering")
    started = time.monotonic()
    try:
        rendered = rendering.render(template, answers, str(target), origin=origin)
    except TemplateError as err:
        raise TaskFailed(f"template {template.name!r} is broken: {err}") from err
    files = [f.path for f in rendered.files]
    ctx.log.info("rendered", files=len(files), ms=round((time.monotonic() - started) * 1000, 1))
    tasks = _planned_tasks(template, answers, target, origin)

    if payload.get("dry_run", False):
        return _dry_run(template, target, rendered, tasks)
    if before:
        try:
            ctx.prepare_destructive(
                overwrite_description(template.name, target, files),
                [str(target / p) for p in files],
            )
        except PermissionRefused as err:
            raise TaskFailed(f"the folder {target} was left as it was: {err}") from err

    placement = Placement(target, ctx.task_id[:12])
    try:
        step("moving into place")
        placement.stage(rendered)
        placement.move_in(rendered)
        if tasks:
            step("running the template's tasks")
        ran = _run_tasks(ctx, template.name, tasks, target)
        sha = ""
        if payload.get("git", True):
            step("committing")
            sha = _git(ctx, target, files, template.name, ".git" in before)
        plan = _plan(template, answers, target)
        report = Report()
        if payload.get("checks", True) and plan is not None:
            report = PostCheck(ctx, target, plan, settings, step).run()
    except (TaskCancelled, Exception):
        ctx.log.info("putting the folder back as it was")
        placement.undo()
        raise
    placement.finish()

    outcome, checked = _checked(report, target, template.name, f"the project is at {target}, but")
    return Outcome(
        summary=f"{template.name} project at {target}: {len(files)} files, {checked}",
        output={
            "path": str(target),
            "template": template.name,
            "answers": answers.remembered,
            "files": sorted(files),
            "commit": sha,
            "outcome": outcome,
            "checks": report.as_json(),
            **({"tasks": ran} if ran else {}),
            "start": _start_hint(template, answers, target),
            "message": _render_hint(
                template, answers, target, template.message_after_copy, "_message_after_copy"
            ),
        },
    )


def _checked(report: Report, target: Path, template: str, lead: str) -> tuple[str, str]:
    """How the post-check of the project in ``target`` went, as ``checks_outcome`` says it. A
    failed check fails the task ("<lead> its post-check failed: ...") with the checks table in
    its output."""
    if report.failed:
        raise TaskFailed(
            f"{lead} its post-check failed: {_failures(report)}",
            output={"path": str(target), "template": template, "checks": report.as_json()},
        )
    return checks_outcome(report)


def _start_hint(template: Template, answers: rendering.Answers, target: Path) -> str:
    """How to start the project, as the template's hyperagent.yml says (rendered)."""
    hint = template.postcheck.start_hint if template.postcheck else ""
    return _render_hint(template, answers, target, hint, "hyperagent.yml")


def _project(ctx: TaskContext, path: str | None) -> Path:
    """The project's folder: the task's, or ``path`` inside it."""
    if not path:
        return ctx.workspace
    rel = Path(path)
    if rel.is_absolute() or ".." in rel.parts:
        raise TaskFailed(f"path {path!r} must be relative to the task's folder, inside it")
    folder = ctx.workspace / rel
    if not folder.is_dir():
        raise TaskFailed(f"path {path!r}: there is no folder {folder}")
    return folder


def _update_fetch(ctx: TaskContext, project: Path) -> update.Fetch:
    """Checks the template out through the task (logged, cancellable); an https template only
    after the person allows the connection (asked once)."""
    asked: set[str] = set()

    def fetch(src_path: str, ref: str | None, dest: Path) -> vcs.Origin:
        source = update.source(project, src_path, gone_hint=_hidden_hint(src_path))
        parts = urlsplit(source)
        if parts.scheme and parts.scheme != "file":
            if parts.scheme != "https" or not parts.hostname:
                raise update.UpdateError(
                    f"the template {src_path}: only https:// git URLs can be fetched (ssh cannot"
                    " go through HyperAgent's egress proxy)"
                )
            host = f"{parts.hostname}:{parts.port or 443}"
            if host not in asked:
                try:
                    ctx.request_permission("connect", host, f"download the template {source}")
                except PermissionRefused as err:
                    raise TaskFailed(f"the template {source} was not downloaded: {err}") from err
                asked.add(host)
        return vcs.checkout(source, dest, ref, _git_runner(ctx), src_path=src_path)

    return fetch


def _hidden_hint(src_path: str) -> str:
    """What else a template that is not there may be: hidden by the sandbox."""
    return (
        f" (or the sandbox hides it: hyperagent policy allow --read {src_path}"
        " --agent bootstrapper)"
    )


def update_description(plan: update.Plan) -> str:
    """What the update does, completing "<agent> asks to ...": which version to which, and how
    many files it changes, adds and removes (and leaves with conflicts)."""
    parts = [
        f"{verb} {_count(n, 'file')}"
        for verb, n in (
            ("change", len(plan.changed)),
            ("add", len(plan.added)),
            ("remove", len(plan.removed)),
        )
        if n
    ]
    said = ", ".join(parts) or "change nothing"
    conflicts = (
        f", {_count(len(plan.conflicts), 'conflict')} left to resolve" if plan.conflicts else ""
    )
    return (
        f"update {plan.project} from its template {plan.src_path} ({plan.old_commit} ->"
        f" {plan.new_commit}): {said}{conflicts}"
    )


def _update_output(plan: update.Plan, preview: bool) -> dict[str, Any]:
    return {
        "path": str(plan.project),
        "template": plan.src_path,
        "old_commit": plan.old_commit,
        "new_commit": plan.new_commit,
        "changed": plan.changed,
        "added": plan.added,
        "removed": plan.removed,
        "conflicts": plan.conflicts,
        "conflict": plan.conflict,
        "answers": plan.answers,
        "warnings": plan.warnings,
        "message": plan.message,
        "preview": preview,
    }


def _trust_once(ctx: TaskContext) -> update.Trust:
    """Asks about a template version's extensions, once for the same code (the old and the new
    version usually share it); a refusal stops the update."""
    allowed: set[str] = set()

    def trust(template: Template) -> Template:
        if not template.extensions or template.code_digest() in allowed:
            return dataclasses.replace(template, trusted=True, confined=True)
        try:
            trusted = _allow_extensions(ctx, template, "project's")
        except TaskFailed as err:
            raise update.UpdateError(str(err)) from err
        allowed.add(template.code_digest())
        return trusted

    return trust


def _migrate(ctx: TaskContext, step: Steps) -> update.Migrate:
    """Asks once to run the update's migrations (every command, and when); a refusal stops the
    update before anything is written (it would be half done without them)."""

    def allow(
        before: list[rendering.PlannedTask], after: list[rendering.PlannedTask]
    ) -> Callable[[rendering.PlannedTask, Path], None]:
        first = (before or after)[0].env
        span = f"{first['VERSION_FROM']} -> {first['VERSION_TO']}"
        try:
            what = rendering.migrations_description("project's", before, after, span)
            ctx.request_permission("run", what, CODE_REASON)
        except PermissionRefused as err:
            raise update.UpdateError(
                f"the update from {span} needs the template's migrations, which were not allowed"
                f" to run: {err}"
            ) from err

        step("migrating")

        def run(t: rendering.PlannedTask, root: Path) -> None:
            # As the template's tasks: narrowed to the project's scratch copy and a private
            # folder, so the template's code cannot change the agent's state for the next task.
            ctx.log.info(f"migration {t.number} of the template: {t.shown}")
            private = Path(tempfile.mkdtemp(prefix="template-migration-"))
            try:
                ctx.run(
                    narrowed(list(t.argv), write=[root, private], allow_unconfined=True),
                    cwd=root / t.cwd,
                    env={**t.env, **dict.fromkeys(TEMP_VARS, str(private))},
                )
            finally:
                shutil.rmtree(private, ignore_errors=True)

        return run

    return allow


@agent.task(
    "project.update",
    schema=UPDATE_SCHEMA,
    description=(
        "Update a project made from a copier template to a newer template version, keeping"
        " the person's changes (copier update)."
    ),
    examples=(
        "update my project from its template",
        "update ~/src/shop to the latest version of its template",
        "update the project in ~/src/billing to template version v2.0.0",
        "bring ~/src/blog up to date with its template, leave conflicts as .rej files",
        "preview what updating ~/src/api from its template would change",
        "re-apply the template to ~/src/crm with a changed answer",
    ),
    folder="existing",
)
def update_project(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    step = Steps(ctx, UPDATE_STEPS)
    step("reading the project")
    project = _project(ctx, payload.get("path"))
    request = update.Request(
        vcs_ref=payload.get("vcs_ref"),
        data=payload.get("data", {}),
        conflict=payload.get("conflict", "inline"),
        answers_file=payload.get("answers_file"),
    )
    preview = bool(payload.get("preview", False))
    with tempfile.TemporaryDirectory(prefix="hyperagent-update-") as scratch:
        step("checking out the template")
        started = time.monotonic()
        try:
            plan = update.prepare(
                project,
                request,
                Path(scratch),
                _update_fetch(ctx, project),
                dst_name=str(project),
                trust=_trust_once(ctx),
                migrate=None if preview else _migrate(ctx, step),
            )
        except update.UpdateError as err:
            raise TaskFailed(f"{project} was not updated: {err}") from err
        ctx.log.info(
            "worked out", files=len(plan.touched), ms=round((time.monotonic() - started) * 1000, 1)
        )
        for warning in plan.warnings:
            ctx.log.warn(f"template {plan.src_path}: {warning}")
        for rel in plan.conflicts:
            ctx.log.warn("conflict", file=f"{rel}.rej" if plan.conflict == "rej" else rel)
        output = _update_output(plan, preview)
        counts = (
            f"{len(plan.changed)} changed, {len(plan.added)} added, {len(plan.removed)} removed,"
            f" {_count(len(plan.conflicts), 'conflict')}"
        )
        if preview:
            tasks = [{"command": t.shown, "ran": False} for t in plan.tasks]
            return Outcome(
                summary=f"preview of {plan.old_commit} -> {plan.new_commit}: {counts}; nothing"
                " written",
                output={**output, "diff": update.diff(plan), **({"tasks": tasks} if tasks else {})},
            )
        if not plan.touched:
            return Outcome(
                summary=f"{project} is up to date with {plan.new_commit}: nothing to change",
                output=output,
            )
        paths = [str(project / p) for p in plan.touched]
        if plan.sides and not _index_writable(ctx, plan):
            plan.sides.clear()
            ctx.log.warn(
                "conflicts are marked in the files only: the repository's index is outside the"
                " task's folder"
            )
        if plan.sides:
            paths.append(str(_index(plan)))
        try:
            ctx.prepare_destructive(update_description(plan), paths)
        except PermissionRefused as err:
            raise TaskFailed(f"{project} was left as it was: {err}") from err
        step("writing")
        placement = update.apply(plan, ctx.task_id[:12])
        try:
            if plan.tasks:
                step("running the template's tasks")
            ran = _run_tasks(ctx, "project's", plan.tasks, project, "the updated project")
        except BaseException:
            placement.undo()
            raise
        placement.finish()
        if ran:
            output["tasks"] = ran
    return Outcome(
        summary=f"{project} updated {plan.old_commit} -> {plan.new_commit}: {counts}; review"
        " with git diff, then commit",
        output=output,
    )


def _index(plan: update.Plan) -> Path:
    return update.repository_index(plan.project)


def _index_writable(ctx: TaskContext, plan: update.Plan) -> bool:
    """Whether the index (where copier marks conflicts) is inside the task's folder."""
    return _index(plan).resolve().is_relative_to(ctx.workspace.resolve())


@agent.task(
    "project.check",
    schema=CHECK_SCHEMA,
    description=(
        "Re-run the checks of a project made from a template (environment, install, server"
        " health), as when it was made; nothing is written but its environment."
    ),
    examples=(
        "re-run the checks on ~/src/shop",
        "does the project in ~/src/api still install?",
        "redo the checks of ~/src/billing",
        "the install was skipped when I made ~/src/crm; redo it now",
        "recheck ~/src/orders",
        "make sure ~/src/blog still installs and serves its health URL",
    ),
    folder="existing",
)
def check_project(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    step = Steps(ctx, CHECK_STEPS)
    step("reading the project")
    settings = _settings()
    project = _project(ctx, payload.get("path"))
    try:
        _, last = update.recorded(project, payload.get("answers_file"))
    except update.UpdateError as err:
        raise TaskFailed(
            f"the checks of {project} cannot be run again: {err}. The checks are those of the"
            " template a project was made from, which its answers file names"
        ) from err
    src_path, commit = str(last["_src_path"]), str(last.get("_commit") or "")
    step("checking out the template")
    with tempfile.TemporaryDirectory(prefix="hyperagent-check-") as scratch:
        try:
            template, origin = _recorded_template(
                ctx, project, last, Path(scratch) / _template_name(src_path)
            )
            template = _allow_extensions(ctx, template, "project's")
            answers = update.recorded_answers(template, last, origin, str(project))
        except update.UpdateError as err:
            raise TaskFailed(f"the checks of {project} were not run: {err}") from err
        plan = _plan(template, answers, project)
        if plan is None or not plan.install:
            at = f" at {commit}" if commit else ""
            raise TaskFailed(
                f"the template {src_path}{at}, which {project} was made from, declares no"
                " post-check (no hyperagent.yml with an `install` command), so there is nothing"
                " to run again; add one to the template, then update the project to that"
                " version (project.update)"
            )
        start = _start_hint(template, answers, project)
    report = PostCheck(ctx, project, plan, settings, step).run()
    outcome, checked = _checked(report, project, template.name, f"{project} was checked, and")
    return Outcome(
        summary=f"{template.name} project at {project}: {checked}",
        output={
            "path": str(project),
            "template": template.name,
            "template_version": commit,
            "outcome": outcome,
            "checks": report.as_json(),
            "start": start,
        },
    )


def _recorded_template(
    ctx: TaskContext, project: Path, last: dict[str, Any], dest: Path
) -> tuple[Template, vcs.Origin]:
    """The template the project was made from: checked out at the version its answers file
    records, as an update checks it out; or, made from a template that is no git repository (a
    folder of the catalogue), that folder as it is now."""
    if last.get("_commit"):
        return update.recorded_template(_update_fetch(ctx, project), last, dest)
    src_path = str(last["_src_path"])
    ctx.log.info(f"the template {src_path} records no versions: its checks as they are now")
    root = update.local_template(project, src_path, _hidden_hint(src_path))
    return _load(ctx, str(root), None)
