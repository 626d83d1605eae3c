"""Messages between agents, through the manager.

An agent receives them with a handler per kind (``@agent.on_message("handoff")``, or one for every
kind with no argument); it runs on a thread of its own, and the message is acknowledged once it
returns. A handler that raises leaves the message unacknowledged: the manager delivers it again
(after ``messages.ack_timeout``), and dead-letters it after ``messages.max_deliveries``.

Delivery is at least once: the same message can come again (``delivery`` > 1), for instance when
the agent was killed after handling it and before its acknowledgement arrived. A handler whose
effect must happen once keeps it to one per ``idempotency_key`` (the sender's key, or the message
id when it gave none): ``Message.key``.

An agent sends with :meth:`hyperagent_sdk.Agent.send_message`, a task with
:meth:`hyperagent_sdk.TaskContext.send_message`: to an agent by id, to the agent running a task,
or to an online agent offering a task type (a role). A send without a key of its own is given one
(made once per send), so a send repeated because its answer was lost is the same message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hyperagent.v1 import agent_pb2


@dataclass(frozen=True)
class Message:
    """A message another agent sent this one."""

    id: str
    #: The sending agent's id.
    sender: str
    kind: str
    body: Mapping[str, Any]
    #: The sender's idempotency key ("" when it gave none).
    idempotency_key: str
    #: The task it is about ("" when none).
    task_id: str
    #: 1 for the first delivery, 2 for the next, ...
    delivery: int

    @property
    def key(self) -> str:
        """What a handler keeps its effects to one of: the sender's key, else the message id."""
        return self.idempotency_key or self.id

    @classmethod
    def from_proto(cls, m: agent_pb2.AgentMessage) -> Message:
        body = json.loads(m.body_json) if m.body_json else {}
        return cls(
            id=m.id,
            sender=getattr(m, "from"),
            kind=m.kind,
            body=body if isinstance(body, dict) else {},
            idempotency_key=m.idempotency_key,
            task_id=m.task_id,
            delivery=m.delivery,
        )


#: A message handler.
MessageHandler = Callable[[Message], None]


@dataclass(frozen=True)
class Sent:
    """A message the manager took: its id, the agent it goes to, and whether it is new (False:
    its idempotency key named one sent before, whose id this is)."""

    message_id: str
    to_agent: str
    created: bool


def send_request(
    *,
    to_agent: str = "",
    to_task: str = "",
    to_role: str = "",
    kind: str,
    body: Mapping[str, Any] | None = None,
    idempotency_key: str = "",
    about_task: str = "",
) -> agent_pb2.SendMessageRequest:
    """A SendMessage request without its sender (the caller sets it); exactly one recipient."""
    named = [x for x in (to_agent, to_task, to_role) if x]
    if len(named) != 1:
        raise ValueError("name exactly one recipient: to_agent, to_task or to_role")
    request = agent_pb2.SendMessageRequest(
        kind=kind,
        body_json=json.dumps(dict(body or {})),
        idempotency_key=idempotency_key,
        about_task=about_task,
    )
    if to_agent:
        request.to_agent = to_agent
    elif to_task:
        request.to_task = to_task
    else:
        request.to_role = to_role
    return request
