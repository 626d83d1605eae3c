"""hyperagent_sdk.Steps: named steps logged, reported as progress, and where a cancel stops."""

from __future__ import annotations

from typing import Any

from hyperagent_sdk import Agent, CancellationToken, Steps, TaskContext
from hyperagent_sdk.testing import run_handler

agent = Agent("steps-test", version="0.1.0", max_concurrency=1)
STARTS = {"first": 0.0, "second": 0.5}
reached: list[str] = []


@agent.task("t.steps", schema={"type": "object"}, description="Go through named steps.")
def steps(ctx: TaskContext, _payload: dict[str, Any]) -> str:
    step = Steps(ctx, STARTS)
    for name, detail in (("first", ""), ("second", "12 files"), ("unlisted", "")):
        step(name, detail)
        reached.append(name)
    return "done"


def test_each_step_is_logged_and_reported_at_its_start() -> None:
    reached.clear()
    run = run_handler(agent, "t.steps", {})
    assert run.progress == [(0.0, "first"), (0.5, "second: 12 files"), (-1.0, "unlisted")]
    assert [line.message for line in run.logs] == ["first", "second: 12 files", "unlisted"]
    assert reached == ["first", "second", "unlisted"]


def test_a_cancelled_task_stops_at_its_next_step() -> None:
    reached.clear()
    token = CancellationToken()

    def cancel_after_first(_fraction: float, step: str) -> None:
        if step == "first":
            token.cancel("stop")

    run_handler(agent, "t.steps", {}, cancel=token, on_progress=cancel_after_first)
    assert reached == []
