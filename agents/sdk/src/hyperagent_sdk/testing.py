"""Run a handler in memory, for an agent's own tests: no manager, logs and progress recorded.

.. code-block:: python

    from hyperagent_sdk.testing import run_handler
    from my_agent import agent

    def test_echo() -> None:
        run = run_handler(agent, "echo.echo", {"message": "hi"})
        assert run.status == "SUCCEEDED"
        assert run.output == {"message": "hi", "summary": "echoed 2 characters"}
        assert "hi" in run.messages()

The handler runs in the calling thread, through the same code the agent uses (context, ``ctx.run``,
outcome mapping), so what it returns or raises maps to the result exactly as in production. To
cancel a running handler, pass a :class:`CancellationToken` and cancel it from ``on_log`` or
``on_progress`` (called in the thread that logged) or from another thread.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hyperagent.v1 import common_pb2

from .agent import Agent
from .cancel import CancellationToken
from .context import ConsentSink, DestructiveSink, TaskContext
from .outcome import Artifact
from .process import ChildRegistry
from .runner import execute

__all__ = ["HandlerRun", "LoggedLine", "run_handler"]

LEVEL_NAMES: dict[int, str] = {
    common_pb2.LOG_LEVEL_TRACE: "TRACE",
    common_pb2.LOG_LEVEL_DEBUG: "DEBUG",
    common_pb2.LOG_LEVEL_INFO: "INFO",
    common_pb2.LOG_LEVEL_WARN: "WARN",
    common_pb2.LOG_LEVEL_ERROR: "ERROR",
}


@dataclass(frozen=True)
class LoggedLine:
    """One line of the task log, as the manager would store it (before any truncation)."""

    seq: int
    #: "TRACE", "DEBUG", "INFO", "WARN" or "ERROR".
    level: str
    message: str
    fields: Mapping[str, str]


@dataclass
class HandlerRun:
    """How a handler run ended, and what it logged and reported on the way."""

    result: common_pb2.TaskResult
    logs: list[LoggedLine] = field(default_factory=list)
    #: Every ``ctx.progress(fraction, step)`` call, in order (none coalesced).
    progress: list[tuple[float, str]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """ "SUCCEEDED", "FAILED" or "CANCELED"."""
        return common_pb2.ResultStatus.Name(self.result.status).removeprefix("RESULT_STATUS_")

    @property
    def summary(self) -> str:
        return self.result.summary

    @property
    def error(self) -> str:
        return self.result.error

    @property
    def exit_code(self) -> int:
        return self.result.exit_code

    @property
    def output(self) -> Any:
        """The handler's structured output, decoded from JSON (None when it gave none)."""
        return json.loads(self.result.output_json) if self.result.output_json else None

    @property
    def artifacts(self) -> list[Artifact]:
        return [
            Artifact(name=a.name, kind=a.kind, location=a.location, description=a.description)
            for a in self.result.artifacts
        ]

    def messages(self, level: str | None = None) -> list[str]:
        """The logged messages, optionally only those of one level."""
        return [line.message for line in self.logs if level is None or line.level == level]


@contextmanager
def _workspace(path: Path | None) -> Iterator[Path]:
    if path is not None:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="hyperagent-task-") as tmp:
        yield Path(tmp)


def run_handler(
    agent: Agent,
    task_type: str,
    payload: Mapping[str, Any] | None = None,
    *,
    task_id: str = "test-task",
    workspace: Path | None = None,
    attempt: int = 1,
    deadline: datetime | None = None,
    cancel: CancellationToken | None = None,
    on_log: Callable[[LoggedLine], object] | None = None,
    on_progress: Callable[[float, str], object] | None = None,
    kill_grace: float | None = None,
    ask: ConsentSink | None = None,
    destructive: DestructiveSink | None = None,
) -> HandlerRun:
    """Run the handler of ``task_type`` on ``payload`` and return how it ended.

    ``payload`` goes through JSON first, as it would on the wire. ``workspace`` defaults to a
    temporary directory removed afterwards. ``kill_grace`` defaults to the agent's. ``ask``
    answers ``ctx.request_permission(kind, target, reason)`` and ``destructive`` answers
    ``ctx.prepare_destructive(description, paths)`` in the person's place (each returns a request
    id, or raises :class:`PermissionRefused`); without them the handler cannot ask.
    """
    definitions = agent.tasks
    if task_type not in definitions:
        known = ", ".join(sorted(definitions)) or "none"
        raise KeyError(f"agent {agent.name} has no task type {task_type!r} (it has: {known})")
    token = CancellationToken() if cancel is None else cancel
    lock = threading.Lock()
    run = HandlerRun(result=common_pb2.TaskResult())

    def emit(level: int, message: str, fields: Mapping[str, str]) -> None:
        with lock:
            line = LoggedLine(
                len(run.logs) + 1, LEVEL_NAMES.get(level, str(level)), message, fields
            )
            run.logs.append(line)
        if on_log is not None:
            on_log(line)

    def report(fraction: float, step: str) -> None:
        with lock:
            run.progress.append((fraction, step))
        if on_progress is not None:
            on_progress(fraction, step)

    children = ChildRegistry()
    with _workspace(workspace) as path:
        ctx = TaskContext(
            task_id=task_id,
            task_type=task_type,
            payload=json.loads(json.dumps(dict(payload or {}))),
            workspace=path,
            attempt=attempt,
            deadline=deadline,
            cancelled=token,
            emit=emit,
            report_progress=report,
            children=children,
            kill_grace=agent.kill_grace if kill_grace is None else kill_grace,
            ask=ask,
            destructive=destructive,
        )
        try:
            run.result = execute(definitions[task_type].handler, ctx)
        finally:
            children.kill_all()
    return run
