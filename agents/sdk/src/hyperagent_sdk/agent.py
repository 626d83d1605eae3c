"""The agent an author declares: its identity, its task types and their handlers."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

from hyperagent.v1 import agent_pb2, common_pb2

from .discovery import agent_name
from .messages import MessageHandler, Sent, send_request
from .runner import Handler

logger = logging.getLogger("hyperagent_sdk")

#: Set by the manager on a task process: run the one task given as JSON on stdin, then exit.
TASK_STDIN_ENV = "HYPERAGENT_TASK_STDIN"

#: Why a task process's task is cancelled when the process is told to stop.
TASK_STOP_REASON = "stopped by the manager"

#: What the manager accepts as an agent name.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,63}")

H = TypeVar("H", bound=Handler)


#: What a task type may say it does with its task's folder, as the protocol names it.
FOLDER_USES = {
    "any": common_pb2.FOLDER_USE_UNSPECIFIED,
    "existing": common_pb2.FOLDER_USE_EXISTING,
    "creates": common_pb2.FOLDER_USE_CREATES,
}


@dataclass(frozen=True)
class TaskDefinition:
    """A task type this agent offers, and the handler that runs it."""

    name: str
    handler: Handler
    #: JSON Schema of the payload (draft 2020-12 unless ``$schema`` says otherwise).
    schema: Mapping[str, Any]
    description: str = ""
    #: Requests in plain words this task type serves, with the payload's values written out (the
    #: manager matches what a person asks against them).
    examples: tuple[str, ...] = ()
    #: What it does with its task's folder: "any", "existing" (works on what is there: a
    #: project to test or review) or "creates" (makes something new there).
    folder: str = "any"

    def to_proto(self) -> common_pb2.TaskType:
        return common_pb2.TaskType(
            name=self.name,
            description=self.description,
            payload_schema_json=json.dumps(self.schema),
            examples=list(self.examples),
            folder=FOLDER_USES[self.folder],
        )


class _StopSignal:
    """A one-way flag that a signal handler may set: it only writes to a pipe (no locks).

    The pipe is also the interpreter's signal wakeup fd while :meth:`Agent.run` waits, because a
    process signal may be delivered to any thread: the write wakes the main thread's ``read`` so
    that the Python-level handler runs at once.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self.is_set = False
        self._closed = False

    @property
    def wakeup_fd(self) -> int:
        return self._write

    def set(self) -> None:
        self.is_set = True
        if self._closed:
            return
        with contextlib.suppress(OSError):  # a full pipe is signalled enough
            os.write(self._write, b"x")

    def wait(self) -> None:
        while not self.is_set:
            os.read(self._read, 1)

    def close(self) -> None:
        self._closed = True
        os.close(self._read)
        os.close(self._write)


class Agent:
    """An agent: register task handlers with :meth:`task`, then :meth:`run`.

    ``max_concurrency`` tasks run at once, each in its own thread. The name is overridden by the
    environment variable ``HYPERAGENT_AGENT_NAME`` (so one agent program can run twice under two
    names). The other arguments tune the runtime and rarely need changing:

    - ``backoff_initial`` / ``backoff_max``: reconnect (and retry) delays, doubling from the first
      to the cap.
    - ``kill_grace``: seconds between SIGTERM and SIGKILL for the commands ``ctx.run`` started.
    - ``log_batch_lines`` / ``log_linger`` / ``log_max_request_bytes``: a task's log lines are sent
      once that many are pending or the oldest waited that long, in requests of at most that size.
    - ``shutdown_timeout``: on SIGTERM/SIGINT, how long to try delivering logs and results after
      the handlers ended.
    - ``rpc_timeout``: the deadline of each call to the manager.
    - ``env``: the environment to read (``os.environ`` by default).
    """

    def __init__(
        self,
        name: str,
        version: str = "0.0.0",
        *,
        max_concurrency: int = 1,
        cost: float = 1.0,
        backoff_initial: float = 0.05,
        backoff_max: float = 2.0,
        kill_grace: float = 2.0,
        log_batch_lines: int = 1000,
        log_linger: float = 0.02,
        log_max_request_bytes: int = 1024 * 1024,
        shutdown_timeout: float = 3.0,
        rpc_timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.name = agent_name(name, self.env)
        if not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(f"agent name {self.name!r} must match {NAME_PATTERN.pattern}")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if not 0 < backoff_initial <= backoff_max:
            raise ValueError("backoff needs 0 < backoff_initial <= backoff_max")
        self.version = version
        self.max_concurrency = max_concurrency
        self.cost = cost
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.kill_grace = kill_grace
        self.log_batch_lines = log_batch_lines
        self.log_linger = log_linger
        self.log_max_request_bytes = log_max_request_bytes
        self.shutdown_timeout = shutdown_timeout
        self.rpc_timeout = rpc_timeout
        self._tasks: dict[str, TaskDefinition] = {}
        #: Message handlers by kind ("" for every kind without one of its own).
        self._message_handlers: dict[str, MessageHandler] = {}
        #: The running agent's way to send messages (set while it runs).
        self._send: Callable[[agent_pb2.SendMessageRequest], Sent] | None = None
        self._stop = _StopSignal()
        self._ran = False

    @property
    def tasks(self) -> Mapping[str, TaskDefinition]:
        """The task types this agent offers, by name."""
        return dict(self._tasks)

    def task(
        self,
        name: str,
        *,
        schema: Mapping[str, Any] | None = None,
        description: str | None = None,
        examples: Sequence[str] = (),
        folder: str = "any",
    ) -> Callable[[H], H]:
        """Decorator: ``handler(ctx, payload)`` runs tasks of type ``name``.

        ``schema`` is the JSON Schema the manager checks payloads against (default: any object);
        ``description`` defaults to the first line of the handler's docstring; ``examples`` are
        requests in plain words this type serves, as a person would say them ("make a FastAPI
        project called shop"): the manager routes plain-words requests by them. ``folder`` says
        what the task does with its folder: ``"existing"`` (works on what is there, e.g. a
        project to test), ``"creates"`` (makes something new there) or ``"any"``; the manager's
        planner checks a plan's folders by it.
        """
        if isinstance(examples, str):
            raise TypeError("examples is a sequence of requests, not one string")
        if folder not in FOLDER_USES:
            raise ValueError(f"folder is {folder!r}; one of: {', '.join(FOLDER_USES)}")

        def register(handler: H) -> H:
            if name in self._tasks:
                raise ValueError(f"task type {name!r} is already registered")
            doc = (handler.__doc__ or "").strip().splitlines()
            self._tasks[name] = TaskDefinition(
                name=name,
                handler=handler,
                schema={"type": "object"} if schema is None else schema,
                description=description if description is not None else (doc[0] if doc else ""),
                examples=tuple(examples),
                folder=folder,
            )
            return handler

        return register

    @property
    def message_handlers(self) -> Mapping[str, MessageHandler]:
        """The message handlers, by kind ("" for every kind without one of its own)."""
        return dict(self._message_handlers)

    def on_message(self, kind: str = "") -> Callable[[MessageHandler], MessageHandler]:
        """Decorator: ``handler(message)`` handles messages of ``kind`` (every kind without a
        handler of its own when empty), on a thread of its own; the message is acknowledged once
        it returns (see :mod:`hyperagent_sdk.messages`)."""

        def register(handler: MessageHandler) -> MessageHandler:
            if kind in self._message_handlers:
                raise ValueError(f"a handler for messages of kind {kind!r} is already registered")
            self._message_handlers[kind] = handler
            return handler

        return register

    def send_message(
        self,
        *,
        to_agent: str = "",
        to_task: str = "",
        to_role: str = "",
        kind: str,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str = "",
        about_task: str = "",
    ) -> Sent:
        """Send a message to another agent through the manager, from this agent's own process
        (a task sends with ``ctx.send_message``); returns once the manager stored it. Exactly one
        recipient: an agent by id, the agent running a task, or an online agent offering a task
        type. Raises ``ValueError`` for bad input and ``RuntimeError`` when the agent is not
        running."""
        if self._send is None:
            raise RuntimeError("the agent is not running: messages are sent while it runs")
        return self._send(
            send_request(
                to_agent=to_agent,
                to_task=to_task,
                to_role=to_role,
                kind=kind,
                body=body,
                idempotency_key=idempotency_key,
                about_task=about_task,
            )
        )

    def stop(self) -> None:
        """Ask :meth:`run` to shut down, as SIGTERM does.

        Safe to call from any thread, and from a signal handler.
        """
        self._stop.set()

    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Serve tasks until SIGTERM/SIGINT (or :meth:`stop`), then shut down cleanly and return.

        Shutting down cancels every task (reason "agent shutting down"), gives the handlers the
        kill grace to end (killing the commands they started), then tries for up to
        ``shutdown_timeout`` seconds to deliver the remaining logs and results.
        """
        from .runtime import Runtime  # noqa: PLC0415 - runtime imports this module

        if self._ran:
            raise RuntimeError("an Agent runs only once")
        self._ran = True
        if not logging.getLogger().handlers:
            logging.basicConfig(
                stream=sys.stderr,
                level=logging.INFO,
                format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            )
        previous: dict[signal.Signals, Any] = {}
        previous_wakeup_fd: int | None = None
        if install_signal_handlers and threading.current_thread() is threading.main_thread():

            def on_signal(signum: int, _frame: FrameType | None) -> None:
                self._stop.set()

            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, on_signal)
            previous_wakeup_fd = signal.set_wakeup_fd(
                self._stop.wakeup_fd, warn_on_full_buffer=False
            )
        runtime = Runtime(self)
        self._send = runtime.send_message
        task_process = self.env.get(TASK_STDIN_ENV) == "1"
        try:
            if task_process:
                # A write past the sandbox's file size limit then fails with EFBIG (an error the
                # handler can report) instead of killing the process.
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                # A warm process waits here, everything imported, until its task comes; the
                # manager closes stdin without one when it is no longer needed.
                runtime.prepare_task_process()
                given = sys.stdin.read()
                if given.strip():
                    # SIGTERM cancels the task; the process ends once its result is delivered.
                    runtime.start_task_process(json.loads(given), self._stop.set)
                    self._stop.wait()
                runtime.shutdown(TASK_STOP_REASON)
            else:
                runtime.start()
                self._stop.wait()
                logger.info("agent %s shutting down", self.name)
                runtime.shutdown()
        finally:
            if previous_wakeup_fd is not None:
                signal.set_wakeup_fd(previous_wakeup_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop.close()
        self._send = None
        logger.info("agent %s stopped", self.name)
