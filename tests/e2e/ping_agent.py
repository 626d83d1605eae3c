"""A second, minimal agent for the tests: offers `ping.ping`, so dispatch by capability shows."""

from __future__ import annotations

from typing import Any

from hyperagent_sdk import Agent, TaskContext

agent = Agent(name="ping", version="0.0.1", max_concurrency=2)


@agent.task(
    "ping.ping",
    schema={"type": "object", "properties": {}, "additionalProperties": False},
    description="Answer pong.",
)
def ping(ctx: TaskContext, payload: dict[str, Any]) -> str:
    ctx.log.info("pong")
    return "pong"


if __name__ == "__main__":
    agent.run()
