"""``docker compose config``, where Docker answers: Compose's own reading of the file (it resolves
paths, interpolation and references the schema cannot see). It needs no daemon. When there is
no ``docker`` on PATH, or it has no ``compose`` command, the check is skipped and says why.

The commands run through the task's ``ctx.run`` (their own process group, ended on cancel); the
file checked is the new ``compose.yaml`` in a scratch folder, read as if it were in the project
(``--project-directory``), before anything is written there.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyperagent_sdk import TaskContext, TaskFailed


@dataclass(frozen=True)
class DockerCheck:
    #: ``passed``, ``failed`` or ``skipped``.
    outcome: str
    #: Why it was skipped, or what Compose said.
    detail: str
    command: list[str]

    @property
    def summary(self) -> str:
        if self.outcome == "passed":
            return "docker compose config passed"
        return f"docker compose config {self.outcome}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "detail": self.detail,
            "command": self.command,
            "summary": self.summary,
        }


def _said(lines: list[str], first: bool = False) -> str:
    """The first (or last) thing a command said."""
    said = [line.strip() for line in lines if line.strip()]
    if not said:
        return "no output"
    return said[0] if first else said[-1]


def check(ctx: TaskContext, root: Path, compose: Path, timeout: float) -> DockerCheck:
    """Checks ``compose`` (the new file, outside the project) as the project's Compose file."""
    docker = shutil.which("docker", path=os.environ.get("PATH"))
    argv = ["docker", "compose", "--project-directory", str(root), "-f", str(compose)]
    argv += ["config", "--quiet"]
    if docker is None:
        return DockerCheck("skipped", "docker not found", argv)
    said: list[str] = []
    try:
        code = ctx.run(
            [docker, "compose", "version"],
            cwd=root,
            check=False,
            timeout=timeout,
            on_line=said.append,
        )
    except TaskFailed as err:  # the timeout
        return DockerCheck("skipped", f"`docker compose version` did not answer: {err}", argv)
    if code != 0:
        return DockerCheck(
            "skipped", f"docker has no compose command ({_said(said, first=True)})", argv
        )
    said.clear()
    try:
        code = ctx.run(
            [docker, *argv[1:]], cwd=root, check=False, timeout=timeout, on_line=said.append
        )
    except TaskFailed as err:  # the timeout
        return DockerCheck("failed", f"did not answer: {err}", argv)
    if code != 0:
        return DockerCheck("failed", _said(said), argv)
    return DockerCheck("passed", "", argv)
