"""An agent for the tests of messages between agents: its tasks send messages, its handlers keep
their effects to one per key in a file (`MAIL_EFFECTS`), one can die after its effect and before
its acknowledgement (as a killed worker would), one always fails."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hyperagent_sdk import Agent, Message, TaskContext

agent = Agent(name="mail", version="0.0.1", max_concurrency=2)
EFFECTS = Path(os.environ.get("MAIL_EFFECTS", "effects.txt"))


@agent.task(
    "mail.send",
    schema={
        "type": "object",
        "properties": {
            "to_agent": {"type": "string"},
            "to_role": {"type": "string"},
            "kind": {"type": "string"},
            "body": {"type": "object"},
            "key": {"type": "string"},
        },
        "required": ["kind"],
        "additionalProperties": False,
    },
    description="Send a message to another agent.",
)
def send(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    sent = ctx.send_message(
        to_agent=p.get("to_agent", ""),
        to_role=p.get("to_role", ""),
        kind=p["kind"],
        body=p.get("body", {}),
        idempotency_key=p.get("key", ""),
    )
    return {"message_id": sent.message_id, "to_agent": sent.to_agent, "created": sent.created}


@agent.on_message("work")
def work(m: Message) -> None:
    done = EFFECTS.read_text().splitlines() if EFFECTS.exists() else []
    if m.key not in done:  # one effect per key, however often the message comes
        with EFFECTS.open("a") as f:
            f.write(f"{m.key}\n")
    if m.body.get("die_before_ack") and m.delivery == 1:
        os._exit(3)  # killed after the effect, before the acknowledgement


@agent.on_message("fail")
def fail(_m: Message) -> None:
    raise RuntimeError("this handler always fails")


if __name__ == "__main__":
    agent.run()
