"""Running one handler and turning how it ended into the task's result."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, Union

from hyperagent.v1 import common_pb2

from .context import TaskContext
from .errors import TaskCancelled, TaskFailed
from .outcome import Outcome, result_from_exception, result_from_return

#: What a handler may return (see :mod:`hyperagent_sdk.outcome` for what each means).
HandlerResult = Union[Outcome, dict[str, Any], str, None]  # noqa: UP007 - a runtime alias
#: A task handler: ``handler(ctx, payload)``.
Handler = Callable[[TaskContext, dict[str, Any]], HandlerResult]


def execute(handler: Handler, ctx: TaskContext) -> common_pb2.TaskResult:
    """Call ``handler(ctx, ctx.payload)`` and map its return value or exception to a result.

    A task cancelled before it starts is not run. An unexpected exception's traceback is logged at
    ERROR in the task log (at WARN when the task had been cancelled).
    """
    token = ctx.cancelled
    if token.is_set():
        return result_from_return(None, token)
    try:
        value = handler(ctx, ctx.payload)
    except (TaskCancelled, TaskFailed) as exc:
        return result_from_exception(exc, token)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a handler's bug must not take the agent down
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
        (ctx.log.warn if token.is_set() else ctx.log.error)(text)
        return result_from_exception(exc, token)
    return result_from_return(value, token)
