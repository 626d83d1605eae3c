"""Exceptions that a task handler raises to end its task, and the SDK's own errors."""

from __future__ import annotations


class TaskCancelled(Exception):  # noqa: N818 - the name reads as what happened to the task
    """The task was cancelled; raising it from a handler ends the task as CANCELED.

    :meth:`CancellationToken.raise_if_cancelled` and :meth:`TaskContext.run` raise it. A handler may
    also raise it itself; the task's error is then the cancellation reason if there is one, else the
    exception's message.
    """

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class TaskFailed(Exception):  # noqa: N818 - the name reads as what happened to the task
    """The task failed in a way the handler understands; the task ends FAILED.

    Its ``message`` becomes the task's error as is (no exception type prefix, no traceback),
    ``exit_code`` its exit code, and ``output`` (anything ``json.dumps`` accepts; ``None``: none)
    the failed result's structured output, e.g. what was checked before the failure.
    """

    def __init__(self, message: str, exit_code: int = 1, output: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.output = output


class PermissionRefused(TaskFailed):
    """The person (or a rule, or the clock) refused a permission the task asked for with
    :meth:`TaskContext.request_permission`. Unhandled, the task fails with the reason."""

    def __init__(self, kind: str, target: str, answered_by: str, reason: str) -> None:
        why = f": {reason}" if reason else ""
        super().__init__(f"permission refused ({answered_by}{why}): {kind} {target}")
        self.kind = kind
        self.target = target
        self.answered_by = answered_by
        self.reason = reason


class Unanswered(TaskFailed):
    """The person did not answer a question the task asked with :meth:`TaskContext.ask_person`
    (not within the manager's consent timeout, or its task ended first). Unhandled, the task
    fails with the reason."""

    def __init__(self, question: str, reason: str) -> None:
        super().__init__(f"the question was not answered ({reason}): {question}")
        self.question = question
        self.reason = reason


class DiscoveryError(Exception):
    """The manager's socket could not be found (no discovery file, or an unreadable one)."""
