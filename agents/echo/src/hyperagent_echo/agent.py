"""The echo agent's task types and handlers."""

from __future__ import annotations

from typing import Any

from hyperagent_sdk import Agent, TaskCancelled, TaskContext

DRAFT = "https://json-schema.org/draft/2020-12/schema"

agent = Agent(name="echo", version="0.1.0", max_concurrency=4, cost=1.0)

ECHO_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "echo.echo payload",
    "type": "object",
    "properties": {
        "message": {"type": "string", "maxLength": 10000, "description": "What to echo."},
    },
    "required": ["message"],
    "additionalProperties": False,
}

SLEEP_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "echo.sleep payload",
    "type": "object",
    "properties": {
        "seconds": {"type": "number", "minimum": 0, "maximum": 86400},
        "steps": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
            "default": 10,
            "description": "How many progress steps to report.",
        },
        "child": {
            "type": "boolean",
            "default": False,
            "description": "Sleep in a child shell (with a grandchild sleep) instead.",
        },
    },
    "required": ["seconds"],
    "additionalProperties": False,
}

SPAM_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "echo.spam payload",
    "type": "object",
    "properties": {
        "lines": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
        "size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65536,
            "default": 80,
            "description": "About how many bytes each line has.",
        },
    },
    "required": ["lines"],
    "additionalProperties": False,
}

FAIL_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "echo.fail payload",
    "type": "object",
    "properties": {
        "message": {"type": "string", "maxLength": 10000, "description": "The error message."},
    },
    "required": ["message"],
    "additionalProperties": False,
}

ASK_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "echo.ask payload",
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 1, "maxLength": 2000},
        "choices": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 200},
            "maxItems": 20,
            "uniqueItems": True,
            "description": "The answers it takes; any text when none.",
        },
    },
    "required": ["question"],
    "additionalProperties": False,
}


def _decimal(seconds: float) -> str:
    """``seconds`` as plain decimal digits for sleep(1): 987.654 -> "987.654", 3.0 -> "3"."""
    return f"{seconds:.9f}".rstrip("0").rstrip(".")


@agent.task(
    "echo.echo",
    schema=ECHO_SCHEMA,
    description="Log a message and return it.",
    examples=("echo hello world", "say 'ping' back to me", "repeat the message: deploy done"),
)
def echo(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    message: str = payload["message"]
    ctx.log.info(message, length=len(message))
    return {"message": message, "summary": f"echoed {len(message)} characters"}


@agent.task(
    "echo.sleep",
    schema=SLEEP_SCHEMA,
    description="Sleep, in steps with progress, or in a child shell that cancellation kills.",
    examples=("sleep for 5 seconds", "wait 30 seconds in 3 steps", "pause for a minute"),
)
def sleep(ctx: TaskContext, payload: dict[str, Any]) -> str:
    seconds = float(payload["seconds"])
    if payload.get("child", False):
        ctx.log.info("sleeping in a child shell", seconds=seconds)
        ctx.run(
            ["sh", "-c", f"sleep {_decimal(seconds)} & wait"],
            on_start=lambda pid: ctx.log.info("child started", child_pid=pid),
        )
        ctx.progress(1.0, "sleep 1/1")
        return f"slept {seconds:g} s in a child shell"
    steps = int(payload.get("steps", 10))
    ctx.log.info("sleeping", seconds=seconds, steps=steps)
    for i in range(1, steps + 1):
        if ctx.cancelled.wait(seconds / steps):
            raise TaskCancelled(ctx.cancelled.reason)
        ctx.progress(i / steps, f"sleep {i}/{steps}")
        ctx.log.info(f"slept step {i}/{steps}")
    return f"slept {seconds:g} s"


@agent.task(
    "echo.spam",
    schema=SPAM_SCHEMA,
    description="Log many lines as fast as possible.",
    examples=("log 1000 lines", "spam the log with 50000 lines of 200 bytes"),
)
def spam(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    lines = int(payload["lines"])
    size = int(payload.get("size", 80))
    filler = "x" * size
    tenth = max(lines // 10, 1)
    info = ctx.log.info
    total = 0
    for i in range(1, lines + 1):
        head = f"line {i} "
        message = head + filler[: max(size - len(head), 0)]
        info(message, n=i)
        total += len(message)
        if i % tenth == 0:
            ctx.progress(i / lines, "spam")
            ctx.cancelled.raise_if_cancelled()
        elif i % 1024 == 0:
            ctx.cancelled.raise_if_cancelled()
    return {"lines": lines, "bytes": total, "summary": f"logged {lines} lines ({total} bytes)"}


@agent.task(
    "echo.fail",
    schema=FAIL_SCHEMA,
    description="Fail with the given message.",
    examples=("fail with the message 'boom'", "make a task that fails on purpose"),
)
def fail(ctx: TaskContext, payload: dict[str, Any]) -> None:
    ctx.log.info("failing on request")
    raise RuntimeError(payload["message"])


@agent.task(
    "echo.ask",
    schema=ASK_SCHEMA,
    description="Ask the person the given question and return their answer (a demo of questions).",
    examples=("ask me a question and give back my answer", "ask me to choose yes or no"),
)
def ask(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    answer = ctx.ask_person(payload["question"], payload.get("choices", []))
    ctx.log.info(f"the person answered: {answer}")
    return {"answer": answer, "summary": f"answered: {answer}"}
