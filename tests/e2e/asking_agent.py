"""An agent for the tests of questions to the person: `ask.person` asks what its payload says
and returns the answer."""

from __future__ import annotations

from typing import Any

from hyperagent_sdk import Agent, TaskContext

agent = Agent(name="asking", version="0.0.1")


@agent.task(
    "ask.person",
    schema={
        "type": "object",
        "properties": {
            "question": {"type": "string"},
            "choices": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["question"],
        "additionalProperties": False,
    },
    description="Ask the person a question and return the answer.",
)
def ask(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    answer = ctx.ask_person(p["question"], p.get("choices", []))
    ctx.log.info(f"the person answered: {answer}")
    return {"answer": answer}


if __name__ == "__main__":
    agent.run()
