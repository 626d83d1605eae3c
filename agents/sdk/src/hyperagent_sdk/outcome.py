"""What a handler returns, and how that becomes the task's result.

The mapping (the contract with the manager):

=================================  =========  ===============================================
handler ...                        status     other fields
=================================  =========  ===============================================
returns a ``dict``                 SUCCEEDED  output_json = the dict as JSON; summary = its
                                              ``"summary"`` key if present
returns a ``str``                  SUCCEEDED  summary = the string
returns ``None``                   SUCCEEDED
returns an :class:`Outcome`        SUCCEEDED  summary, output, artifacts, exit_code as given
returns anything once cancelled    CANCELED   error = the cancellation reason
raises :class:`TaskCancelled`      CANCELED   error = the cancellation reason
raises :class:`TaskFailed`         FAILED     error = its message, exit_code = its code
raises anything else               FAILED     error = "ExcType: message", exit_code = 1
                                              (CANCELED instead once cancelled)
=================================  =========  ===============================================
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hyperagent.v1 import common_pb2

from .cancel import CancellationToken
from .errors import TaskCancelled, TaskFailed


@dataclass(frozen=True)
class Artifact:
    """Something a task produced that a person may want to open."""

    name: str
    #: "file", "directory", "url", ...
    kind: str = "file"
    #: An absolute path or a URL.
    location: str = ""
    description: str = ""


@dataclass(frozen=True)
class Outcome:
    """A successful result with everything a handler can say about it."""

    summary: str = ""
    #: Structured output; anything ``json.dumps`` accepts. ``None`` means no output.
    output: Any = None
    artifacts: Sequence[Artifact] = field(default_factory=tuple)
    exit_code: int = 0


def _cancelled(token: CancellationToken, fallback: str = "") -> common_pb2.TaskResult:
    reason = token.reason or fallback or "cancelled"
    return common_pb2.TaskResult(status=common_pb2.RESULT_STATUS_CANCELED, error=reason)


def _failed(error: str, exit_code: int = 1, output: object = None) -> common_pb2.TaskResult:
    return common_pb2.TaskResult(
        status=common_pb2.RESULT_STATUS_FAILED,
        error=error,
        exit_code=exit_code,
        output_json="" if output is None else json.dumps(output),
    )


def describe_exception(exc: BaseException) -> str:
    """``"ExcType: message"`` (or just ``"ExcType"`` when the message is empty)."""
    message = str(exc)
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


def result_from_return(  # noqa: PLR0911 - one return per row of the mapping
    value: object, token: CancellationToken
) -> common_pb2.TaskResult:
    """The result of a handler that returned ``value``."""
    if token.is_set():
        return _cancelled(token)
    try:
        if value is None:
            return common_pb2.TaskResult(status=common_pb2.RESULT_STATUS_SUCCEEDED)
        if isinstance(value, str):
            return common_pb2.TaskResult(status=common_pb2.RESULT_STATUS_SUCCEEDED, summary=value)
        if isinstance(value, dict):
            summary = value.get("summary")
            return common_pb2.TaskResult(
                status=common_pb2.RESULT_STATUS_SUCCEEDED,
                summary="" if summary is None else str(summary),
                output_json=json.dumps(value),
            )
        if isinstance(value, Outcome):
            return common_pb2.TaskResult(
                status=common_pb2.RESULT_STATUS_SUCCEEDED,
                summary=value.summary,
                output_json="" if value.output is None else json.dumps(value.output),
                exit_code=value.exit_code,
                artifacts=[
                    common_pb2.Artifact(
                        name=a.name, kind=a.kind, location=a.location, description=a.description
                    )
                    for a in value.artifacts
                ],
            )
    except (TypeError, ValueError) as err:
        return _failed(f"handler output is not JSON: {describe_exception(err)}")
    return _failed(
        f"TypeError: handler returned {type(value).__name__}; expected Outcome, dict, str or None"
    )


def result_from_exception(exc: BaseException, token: CancellationToken) -> common_pb2.TaskResult:
    """The result of a handler that raised ``exc``."""
    if isinstance(exc, TaskFailed):
        return _failed(exc.message, exc.exit_code, exc.output)
    if isinstance(exc, TaskCancelled):
        return _cancelled(token, exc.reason)
    if token.is_set():
        return _cancelled(token)
    return _failed(describe_exception(exc))
