"""The dev-env agent: ``devenv.create`` gives the Python project that is the task's folder a dev
container (``.devcontainer/devcontainer.json``) and a Compose file (``compose.yaml``).

Steps, each reported as progress with its log lines: detect the stack and its services from the
project's files (every finding with its file and line) -> build both files as data -> validate
them against the Dev Container and Compose specifications' JSON Schemas -> ``docker compose
config`` where Docker answers -> write them. Nothing is written before every check passed; an
existing file is replaced only after the person agreed, the manager having snapshotted it (and
the new file beside it, so a rollback puts the project back as it was).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hyperagent_sdk import (
    Agent,
    Outcome,
    PermissionRefused,
    SettingError,
    Steps,
    TaskContext,
    TaskFailed,
)

from . import dockercheck, files, generate
from .detect import DetectionError, Stack, detect
from .dockercheck import DockerCheck
from .settings import Settings
from .validate import Validation, validate

DRAFT = "https://json-schema.org/draft/2020-12/schema"
VERSION = "0.1.0"

agent = Agent(name="devenv", version=VERSION, max_concurrency=2, cost=1.0)

CREATE_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "devenv.create payload",
    "description": "The project is the task's folder (`workspace` when submitting).",
    "type": "object",
    "properties": {
        "port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
            "description": "The port the app listens on and is published on (default 8000).",
        },
        "dry_run": {
            "type": "boolean",
            "default": False,
            "description": "Detect, generate and check, and show the files; write nothing.",
        },
    },
    "additionalProperties": False,
}

#: Compose files Compose itself would read after ``compose.yaml`` (its own order of preference).
OTHER_COMPOSE_FILES = ("compose.yml", "docker-compose.yaml", "docker-compose.yml")

#: Progress steps, with the fraction of the whole each starts at.
STEPS = {
    "detecting the stack": 0.0,
    "generating": 0.3,
    "validating": 0.4,
    "docker compose config": 0.55,
    "writing": 0.85,
}


def _detect(ctx: TaskContext, root: Path, settings: Settings) -> Stack:
    try:
        stack = detect(root, settings.max_file_bytes, ctx.cancelled.raise_if_cancelled)
    except DetectionError as err:
        raise TaskFailed(f"{root}: {err}") from err
    if not stack.manifests:
        raise TaskFailed(
            f"{root} is not a Python project: no pyproject.toml, requirements*.txt or manage.py"
            " (name the project's top folder as the task's workspace)"
        )
    for e in stack.evidence:
        ctx.log.info(str(e), what=e.what, file=e.file, line=e.line)
    return stack


def _describe(stack: Stack) -> str:
    parts = [stack.framework or "Python (no FastAPI or Django found)", *stack.services]
    return " + ".join(parts)


def _stack_output(stack: Stack) -> dict[str, Any]:
    return {
        "name": stack.name,
        "framework": stack.framework,
        "services": stack.services,
        "python": stack.python,
        "asgi_app": stack.asgi_app,
        "install": stack.install,
        "serve": stack.serve,
        "manifests": stack.manifests,
        "evidence": [e.as_dict() for e in stack.evidence],
        "summary": _describe(stack),
    }


def _ask(ctx: TaskContext, root: Path, planned: list[files.Planned]) -> str:
    """The person's consent to replace the existing files (all the files are named, so the
    snapshot holds the new ones' absence too); the action id."""
    replaced = [p.path for p in planned if p.replaces]
    others = [p.path for p in planned if not p.replaces and not p.unchanged]
    what = f"replace {', '.join(replaced)} in {root}"
    if others:
        what += f" (and write {', '.join(others)})"
    try:
        return ctx.prepare_destructive(
            what + " with a generated dev environment", [root / p.path for p in planned]
        )
    except PermissionRefused as err:
        raise TaskFailed(f"nothing was written, the files are as they were: {err}") from err


def _validate(ctx: TaskContext, texts: dict[str, str]) -> list[Validation]:
    """Both files against their schemas; any error fails the task before anything is written."""
    validations = [validate(path, text) for path, text in texts.items()]
    for v in validations:
        ctx.log.info(f"{v.file}: {'valid' if v.valid else 'INVALID'} ({v.specification})")
        for error in v.errors:
            ctx.log.error(f"{v.file} {error}")
    invalid = [v for v in validations if not v.valid]
    if invalid:
        first = invalid[0]
        raise TaskFailed(
            f"nothing was written: the generated {first.file} fails the {first.specification}"
            f" schema ({first.errors[0]})"
        )
    return validations


def _docker(ctx: TaskContext, root: Path, compose: str, settings: Settings) -> DockerCheck:
    """``docker compose config`` on the new file, in a scratch folder (nothing is written in
    the project yet); Compose refusing it fails the task."""
    with tempfile.TemporaryDirectory(prefix="devenv-") as scratch:
        candidate = Path(scratch) / generate.COMPOSE_FILE
        candidate.write_text(compose, encoding="utf-8")
        docker = dockercheck.check(ctx, root, candidate, settings.docker_timeout)
    ctx.log.info(docker.summary)
    if docker.outcome == "failed":
        raise TaskFailed(
            f"nothing was written: Compose refuses the generated file: {docker.detail}"
        )
    return docker


def _write(
    ctx: TaskContext, step: Steps, root: Path, planned: list[files.Planned], dry_run: bool
) -> tuple[str, list[str]]:
    """Writes what changes, asking first when an existing file would be replaced; the rollback
    action's id (empty when nothing was replaced) and the paths written."""
    if dry_run:
        step("writing", "dry run: nothing written")
        return "", []
    action_id = ""
    if any(p.replaces for p in planned):
        step("writing", "asking before replacing existing files")
        action_id = _ask(ctx, root, planned)
    step("writing", ", ".join(p.path for p in planned if not p.unchanged) or "no change")
    return action_id, files.write(root, planned)


@agent.task(
    "devenv.create",
    schema=CREATE_SCHEMA,
    description=(
        "Detect a Python project's stack and services (FastAPI or Django, PostgreSQL, Redis) and"
        " write a validated .devcontainer/devcontainer.json and compose.yaml."
    ),
    examples=(
        "Give the project a dev container",
        "Make a docker compose file for my FastAPI app with Postgres",
        "set up a devcontainer for ~/src/shop",
        "write a compose.yaml with the database and redis my Django project uses",
        "I want to develop billing in a container: make the dev environment",
        "add docker compose and a dev container config to my project",
    ),
    folder="existing",
)
def create(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    try:
        settings = Settings.load(os.environ)
    except SettingError as err:
        raise TaskFailed(f"the dev-env agent's settings (agent.toml [env]): {err}") from err
    root = ctx.workspace.resolve()
    dry_run = bool(payload.get("dry_run", False))
    step = Steps(ctx, STEPS)

    step("detecting the stack", str(root))
    stack = _detect(ctx, root, settings)
    ctx.log.info(f"detected: {_describe(stack)}")
    others = [name for name in OTHER_COMPOSE_FILES if (root / name).is_file()]
    if others:
        ctx.log.warn(
            f"{', '.join(others)} also in the project: Compose reads {generate.COMPOSE_FILE}"
            " first, so that one is the stack from now on"
        )

    step("generating", f"{generate.DEVCONTAINER_FILE} and {generate.COMPOSE_FILE}")
    texts = generate.build(stack, settings, payload.get("port")).texts()

    step("validating", "against the Dev Container and Compose schemas")
    validations = _validate(ctx, texts)

    step("docker compose config")
    docker = _docker(ctx, root, texts[generate.COMPOSE_FILE], settings)

    try:
        planned = files.plan(root, texts)
    except files.NotAFileError as err:
        raise TaskFailed(f"nothing was written: {err}") from err
    action_id, written = _write(ctx, step, root, planned, dry_run)

    summary = f"{_describe(stack)}: "
    if dry_run:
        summary += "dry run, nothing written"
    elif written:
        summary += f"wrote {', '.join(written)}"
    else:
        summary += "the files were already up to date"
    summary += f"; both files valid; {docker.summary}"
    ctx.log.info(summary)
    return Outcome(
        summary=summary,
        output={
            "summary": summary,
            "path": str(root),
            "dry_run": dry_run,
            "stack": _stack_output(stack),
            "files": [p.as_dict(p.path in written) for p in planned],
            "validation": [v.as_dict() for v in validations],
            "docker": docker.as_dict(),
            "action_id": action_id,
            "other_compose_files": others,
        },
    )
