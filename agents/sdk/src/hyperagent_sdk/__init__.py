"""HyperAgent agent SDK: write an agent whose tasks the HyperAgent manager runs.

.. code-block:: python

    from hyperagent_sdk import Agent, TaskContext

    agent = Agent(name="echo", version="0.1.0", max_concurrency=4)

    @agent.task("echo.echo", schema={"type": "object"}, description="Echo a message.")
    def echo(ctx: TaskContext, payload: dict) -> dict:
        ctx.log.info("echoing", length=len(payload["message"]))
        return {"message": payload["message"], "summary": "echoed"}

    if __name__ == "__main__":
        agent.run()  # until SIGTERM/SIGINT

An agent reads its settings (its manifest's ``[env]``) with :class:`SettingsReader`;
:mod:`hyperagent_sdk.testing` runs a handler in memory, for an agent's own tests.
"""

from .agent import Agent, TaskDefinition
from .cancel import CancellationToken
from .context import TaskContext, TaskLogger
from .errors import DiscoveryError, PermissionRefused, TaskCancelled, TaskFailed, Unanswered
from .messages import Message, Sent
from .outcome import Artifact, Outcome
from .process import Child
from .runner import Handler, HandlerResult
from .settings import SettingError, SettingsReader
from .steps import Steps

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "Artifact",
    "CancellationToken",
    "Child",
    "DiscoveryError",
    "Handler",
    "HandlerResult",
    "Message",
    "Outcome",
    "PermissionRefused",
    "Sent",
    "SettingError",
    "SettingsReader",
    "Steps",
    "TaskCancelled",
    "TaskContext",
    "TaskDefinition",
    "TaskFailed",
    "TaskLogger",
    "Unanswered",
    "__version__",
]
