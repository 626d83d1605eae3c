"""An agent for the tests of hand-offs: `relay.write` and `relay.review` each note their turn
in the task's folder (`turns.txt`), then, while `hops` is above 0, hand the work to the other
with one hop less: a pair that hands work back and forth, as a looping pair of workers would."""

from __future__ import annotations

from typing import Any

from hyperagent_sdk import Agent, TaskContext

agent = Agent(name="relay", version="0.0.1", max_concurrency=2)
OTHER = {"relay.write": "relay.review", "relay.review": "relay.write"}
SCHEMA = {
    "type": "object",
    "properties": {"hops": {"type": "integer", "minimum": 0}, "to": {"type": "string"}},
    "additionalProperties": False,
}


def turn(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any] | None:
    with (ctx.workspace / "turns.txt").open("a") as f:
        f.write(f"{ctx.task_type} {ctx.task_id}\n")
    ctx.log.info(f"my turn: {ctx.task_type}")
    hops = int(p.get("hops", 0))
    if hops == 0:
        return {"done": True}
    to = p.get("to") or OTHER[ctx.task_type]
    ctx.hand_off(to, {"hops": hops - 1}, note=f"{hops - 1} hops to go")
    return None


for name in OTHER:
    agent.task(name, schema=SCHEMA, description=f"A relay's {name.split('.')[1]} turn.")(turn)


if __name__ == "__main__":
    agent.run()
