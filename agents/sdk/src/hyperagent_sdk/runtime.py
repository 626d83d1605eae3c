"""The running agent: connection loop, heartbeats, work dispatch, task threads and shutdown.

Threads:

- ``hyperagent-connection``: discovers the manager, registers, reads the Work stream and
  dispatches StartTask / StopTask; reconnects with backoff whenever the session is lost.
- ``hyperagent-heartbeat``: one per session, a beat on its Work stream every
  ``heartbeat_interval_ms``, answered on the stream with the tasks to stop (the first beat, and
  any that lists running tasks or has tasks to stop: an idle agent's later beats are not).
- ``hyperagent-logs`` (builds log requests), ``hyperagent-logs-send`` (sends them, in order) and
  ``hyperagent-progress``: ship log lines and progress.
- ``task-<id>``: one per accepted task: answers, runs the handler, flushes logs, finishes.

A confined agent does not run tasks in its own process: the manager starts a *task process* (the
same program, with ``HYPERAGENT_TASK_STDIN=1``) for each task, confined to that task's workspace,
and writes the task to its stdin as JSON. :meth:`Runtime.start_task_process` runs that one task
(no registration, no Work stream) with the same answer/log/progress/finish path.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import grpc

from hyperagent.v1 import agent_pb2, common_pb2

from .cancel import CancellationToken
from .connection import (
    DEFAULT_MAX_MESSAGE_BYTES,
    Backoff,
    Link,
    LinkClosed,
    Rejected,
    Session,
    make_stub,
    open_channel,
)
from .context import TaskContext
from .discovery import resolve_socket_path
from .egress import EgressRelay
from .errors import DiscoveryError, PermissionRefused, Unanswered
from .logship import LogShipper
from .messages import Message, Sent
from .process import ChildRegistry
from .progress import ProgressReporter
from .runner import execute

if TYPE_CHECKING:
    from .agent import Agent, TaskDefinition

logger = logging.getLogger("hyperagent_sdk")

T = TypeVar("T")

SHUTDOWN_REASON = "agent shutting down"


class _Task:
    """A task this process has taken on, from its StartTask until its result is delivered."""

    def __init__(self, start: agent_pb2.StartTask, definition: TaskDefinition) -> None:
        self.task_id = start.task_id
        self.start = start
        self.definition = definition
        self.token = CancellationToken()
        self.handler_running = True


class _Outbox:
    """The agent's side of a Work stream: its session first, then each beat, until closed."""

    def __init__(self, first: agent_pb2.WorkRequest) -> None:
        self._queue: queue.SimpleQueue[agent_pb2.WorkRequest | None] = queue.SimpleQueue()
        self._queue.put(first)
        self._closed = False

    def put(self, request: agent_pb2.WorkRequest) -> bool:
        """Queue a message; False once the stream is closed."""
        if self._closed:
            return False
        self._queue.put(request)
        return True

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)

    def __iter__(self) -> Iterator[agent_pb2.WorkRequest]:
        while (request := self._queue.get()) is not None:
            yield request


def _failed(error: str) -> common_pb2.TaskResult:
    return common_pb2.TaskResult(status=common_pb2.RESULT_STATUS_FAILED, error=error, exit_code=1)


class Runtime:
    """Runs an :class:`~hyperagent_sdk.Agent` against the manager (see :meth:`Agent.run`)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.definitions = agent.tasks
        self.link = Link(
            backoff_initial=agent.backoff_initial,
            backoff_max=agent.backoff_max,
            rpc_timeout=agent.rpc_timeout,
        )
        self.shipper = LogShipper(
            self.link,
            batch_lines=agent.log_batch_lines,
            linger=agent.log_linger,
            max_request_bytes=agent.log_max_request_bytes,
        )
        self.progress = ProgressReporter(self.link)
        self.children = ChildRegistry()
        self._cond = threading.Condition()
        self._tasks: dict[str, _Task] = {}
        #: Messages whose handler is running (a redelivery meanwhile is left to it).
        self._handling: set[str] = set()
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: A task process's channel, made (and connecting) before its task comes.
        self._early_channel: grpc.Channel | None = None
        self._relay: EgressRelay | None = None
        #: Kept so the connection attempt it started is not dropped.
        self._early_ready: grpc.Future[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.shipper.start()
        self.progress.start()
        self._thread = threading.Thread(
            target=self._connection_loop, name="hyperagent-connection", daemon=True
        )
        self._thread.start()

    def prepare_task_process(self) -> grpc.Channel:
        """Before a task process's task is known (a warm process waits for it on stdin): start
        connecting to the manager, and start what every task needs (the log and progress
        threads, the egress relay), so the task finds them ready. Done once; returns the
        channel."""
        if self._early_channel is not None:
            return self._early_channel
        channel = open_channel(resolve_socket_path(self.agent.env))
        self._early_channel = channel
        self._early_ready = grpc.channel_ready_future(channel)
        proxy_socket = self.agent.env.get("HYPERAGENT_EGRESS_SOCKET")
        proxy_port = self.agent.env.get("HYPERAGENT_PROXY_PORT")
        if proxy_socket and proxy_port:
            self._relay = EgressRelay(int(proxy_port), proxy_socket)
            self._relay.start()
        self.shipper.start()
        self.progress.start()
        return channel

    def start_task_process(self, task: dict[str, object], on_done: Callable[[], None]) -> None:
        """Run the one task of a task process (see the module docs); ``on_done`` when it ended."""
        start = agent_pb2.StartTask(
            task_id=str(task["task_id"]),
            task_type=str(task["task_type"]),
            payload_json=str(task.get("payload_json", "")),
            workspace=str(task.get("workspace", "")),
            capability_token=str(task["capability_token"]),
            attempt=int(str(task.get("attempt", 1))),
        )
        deadline_ms = task.get("deadline_unix_ms")
        if isinstance(deadline_ms, int) and deadline_ms > 0:
            start.deadline.FromMilliseconds(deadline_ms)
        self._publish_direct(self.prepare_task_process(), task)
        if self._relay is not None:
            self._relay.admit(start.task_id, start.capability_token)
        definition = self.definitions.get(start.task_type)
        if definition is None:
            reason = f"unknown task type {start.task_type!r}"
            logger.error("task process: %s", reason)
            self._answer(start, False, reason)
            on_done()
            return
        task_state = _Task(start, definition)
        with self._cond:
            self._tasks[start.task_id] = task_state

        def run() -> None:
            try:
                self._run_task(task_state)
            finally:
                on_done()

        threading.Thread(target=run, name=f"task-{start.task_id}", daemon=True).start()

    def _publish_direct(self, channel: grpc.Channel, task: dict[str, object]) -> None:
        """A session without registration (a task process's calls carry the task's token), with
        the limits the manager handed over with the task; when the connection drops, a new one
        is published after a pause and calls are retried on it."""
        backoff = Backoff(self.agent.backoff_initial, self.agent.backoff_max)

        def number(key: str) -> int:
            value = task.get(key)
            return value if isinstance(value, int) and value >= 0 else 0

        def publish() -> None:
            if self.link.is_shut:
                return
            session = Session(
                stub=make_stub(channel),
                channel=channel,
                token="",
                max_log_line_bytes=number("max_log_line_bytes"),
                max_message_bytes=number("max_message_bytes") or DEFAULT_MAX_MESSAGE_BYTES,
                max_log_batch_lines=number("max_log_batch_lines"),
                # A manager that predates columns says nothing: send it lines.
                log_columns=task.get("log_columns") is True,
            )
            session.on_retire = lambda: threading.Timer(backoff.next(), publish).start()
            self.link.publish(session)

        publish()

    def running_task_ids(self) -> list[str]:
        with self._cond:
            return sorted(self._tasks)

    def shutdown(self, reason: str = SHUTDOWN_REASON) -> None:
        """Cancel every task, let handlers end, deliver what can be delivered in time, stop."""
        agent = self.agent
        with self._cond:
            self._stopping = True
            tasks = list(self._tasks.values())
        for task in tasks:
            task.token.cancel(reason)
        with self._cond:
            self._cond.wait_for(
                lambda: not any(t.handler_running for t in self._tasks.values()),
                agent.kill_grace + 1.0,
            )
            stuck = [t.task_id for t in self._tasks.values() if t.handler_running]
        killed = self.children.kill_all()
        if killed:
            logger.warning("killed %d command process groups still running", killed)
        if stuck:
            logger.warning("handlers of tasks %s did not end; abandoning them", ", ".join(stuck))
        # Logs and results of the tasks that ended: delivered by their threads, in bounded time.
        self.link.close_at(time.monotonic() + agent.shutdown_timeout)
        with self._cond:
            # Done when the only tasks left are those whose handler never ended.
            delivered = self._cond.wait_for(
                lambda: all(t.handler_running for t in self._tasks.values()),
                agent.shutdown_timeout + 0.5,
            )
        if not delivered:
            logger.warning("could not deliver every log line and result before exiting")
        self.link.shut()
        self.shipper.stop()
        self.progress.stop()
        if self._thread is not None:
            self._thread.join(1.0)

    # -- connection ----------------------------------------------------------------------------

    def _connection_loop(self) -> None:
        backoff = Backoff(self.agent.backoff_initial, self.agent.backoff_max)
        max_message = DEFAULT_MAX_MESSAGE_BYTES
        last_problem = ""
        try:
            while not self.link.is_shut:
                try:
                    session = self._register(max_message)
                except (DiscoveryError, grpc.RpcError) as err:
                    problem = (
                        f"{err.code().name}: {err.details()}"
                        if isinstance(err, grpc.RpcError)
                        else str(err)
                    )
                    if problem != last_problem:
                        logger.warning("cannot register with the manager (%s); retrying", problem)
                        last_problem = problem
                    self.link.pause(backoff.next())
                    continue
                last_problem = ""
                max_message = session.max_message_bytes
                self._serve(session, backoff)
                if not self.link.is_shut:
                    self.link.pause(backoff.next())
        except LinkClosed:
            pass
        except Exception:  # a bug here must be visible, not a silent dead agent
            logger.exception("connection loop failed")
            raise

    def _register(self, max_message: int) -> Session:
        socket_path = resolve_socket_path(self.agent.env)
        channel = open_channel(socket_path, max_message)
        running = self.running_task_ids()
        request = agent_pb2.RegisterRequest(
            name=self.agent.name,
            version=self.agent.version,
            capabilities=[d.to_proto() for d in self.definitions.values()],
            max_concurrency=self.agent.max_concurrency,
            running_task_ids=running,
            cost=self.agent.cost,
            pid=os.getpid(),
        )
        try:
            response = make_stub(channel).Register(request, timeout=self.agent.rpc_timeout)
        except BaseException:
            channel.close()
            raise
        limit = response.max_message_bytes or DEFAULT_MAX_MESSAGE_BYTES
        if limit != max_message:  # message size limits are fixed when a channel is made
            channel.close()
            channel = open_channel(socket_path, limit)
        logger.info(
            "registered with the manager at %s as %s (agent id %s, %d tasks still running)",
            socket_path,
            self.agent.name,
            response.agent_id,
            len(running),
        )
        self._stop_tasks(response.stop_task_ids, "the manager no longer assigns it to this agent")
        return Session(
            stub=make_stub(channel),
            channel=channel,
            token=response.session_token,
            agent_id=response.agent_id,
            heartbeat_interval=(response.heartbeat_interval_ms or 5000) / 1000,
            max_log_line_bytes=response.max_log_line_bytes,
            max_log_batch_lines=response.max_log_batch_lines,
            max_message_bytes=limit,
            log_columns=response.log_columns,
        )

    def _serve(self, session: Session, backoff: Backoff) -> None:
        """Read the session's Work stream until it ends or the session is lost, beating on it."""
        outbox = _Outbox(agent_pb2.WorkRequest(session_token=session.token))
        work = session.stub.Work(iter(outbox))

        def on_retire() -> None:
            outbox.close()
            work.cancel()

        session.on_retire = on_retire
        self.link.publish(session)
        if self.link.is_shut:
            self.link.retire(session)
        # The runs each beat listed, by its seq: a stop in its answer is for them, not for a later
        # run of the same task that started while the answer was on its way.
        reports: dict[int, dict[str, _Task]] = {}
        heartbeat = threading.Thread(
            target=self._heartbeat_loop,
            args=(session, outbox, reports),
            name="hyperagent-heartbeat",
            daemon=True,
        )
        heartbeat.start()
        reason = "the manager ended the work stream"
        answered = False
        try:
            for item in work:
                if item.WhichOneof("item") != "beat":
                    self._dispatch(item)
                    continue
                with self._cond:
                    reported = reports.pop(item.beat.seq, {})
                    for seq in [s for s in reports if s < item.beat.seq]:
                        del reports[seq]
                if (
                    not answered
                ):  # the session works: the next reconnect starts from the shortest delay
                    backoff.reset()
                    answered = True
                self._stop_tasks(item.beat.stop_task_ids, "stopped by the manager", reported)
        except grpc.RpcError as err:
            reason = f"work stream: {err.code().name}: {err.details()}"
        outbox.close()
        self.link.retire(session, "" if session.retired.is_set() else reason)
        if session.channel is not None:
            session.channel.close()  # ends calls still in flight on it: they retry on the next
        heartbeat.join()

    def _heartbeat_loop(
        self, session: Session, outbox: _Outbox, reports: dict[int, dict[str, _Task]]
    ) -> None:
        """Every heartbeat interval, a beat on the Work stream: load and the running tasks."""
        seq = 0
        while not session.retired.wait(session.heartbeat_interval):
            seq += 1
            with self._cond:
                running = sorted(self._tasks)
                if running:  # an idle beat after the first is not answered: nothing to keep
                    reports[seq] = dict(self._tasks)
                busy = sum(t.handler_running for t in self._tasks.values())
            beat = agent_pb2.Beat(
                seq=seq, load=min(busy / self.agent.max_concurrency, 1.0), running_task_ids=running
            )
            if not outbox.put(agent_pb2.WorkRequest(beat=beat)):
                return

    # -- work ----------------------------------------------------------------------------------

    def _dispatch(self, item: agent_pb2.WorkItem) -> None:
        kind = item.WhichOneof("item")
        if kind == "start":
            self._on_start(item.start)
        elif kind == "stop":
            self._stop_tasks([item.stop.task_id], item.stop.reason or "stopped by the manager")
        elif kind == "message":
            self._on_message(item.message)
        else:
            logger.warning("ignoring a work item of unknown kind %r", kind)

    # -- messages ------------------------------------------------------------------------------

    def _on_message(self, m: agent_pb2.AgentMessage) -> None:
        """Runs the message's handler on a thread of its own, then acknowledges it; one already
        being handled here (delivered again meanwhile) is left to that run."""
        handlers = self.agent.message_handlers
        handler = handlers.get(m.kind) or handlers.get("")
        with self._cond:
            if m.id in self._handling:
                return
            self._handling.add(m.id)

        def run() -> None:
            try:
                if handler is None:
                    # Nothing here takes it: acknowledged, and said, so it is not sent forever.
                    logger.warning("message %s of kind %r: no handler; dropped", m.id, m.kind)
                else:
                    handler(Message.from_proto(m))
                self._ack(m.id)
            except Exception:
                logger.exception(
                    "message %s of kind %r: the handler failed; the manager sends it again",
                    m.id,
                    m.kind,
                )
            finally:
                with self._cond:
                    self._handling.discard(m.id)

        threading.Thread(target=run, name=f"message-{m.id}", daemon=True).start()

    def _ack(self, message_id: str) -> None:
        def ack(session: Session) -> agent_pb2.AckMessageResponse:
            return session.stub.AckMessage(
                agent_pb2.AckMessageRequest(session_token=session.token, message_id=message_id),
                timeout=self.link.rpc_timeout,
            )

        try:
            self.link.call(f"AckMessage {message_id}", ack)
        except (Rejected, LinkClosed) as err:
            logger.warning("message %s was not acknowledged: %s", message_id, err)

    def send_message(self, request: agent_pb2.SendMessageRequest) -> Sent:
        """Send as this agent's session (``Agent.send_message``)."""

        def send(session: Session) -> agent_pb2.SendMessageResponse:
            signed = agent_pb2.SendMessageRequest()
            signed.CopyFrom(request)
            signed.session_token = session.token
            return session.stub.SendMessage(signed, timeout=self.link.rpc_timeout)

        return self._sent(request, send)

    def _task_send_message(
        self, task_id: str, token: str, request: agent_pb2.SendMessageRequest
    ) -> Sent:
        """Send as a task (``ctx.send_message``): a task process has no session."""
        signed = agent_pb2.SendMessageRequest()
        signed.CopyFrom(request)
        signed.task_id = task_id
        signed.capability_token = token
        return self._sent(
            signed,
            lambda session: session.stub.SendMessage(signed, timeout=self.link.rpc_timeout),
        )

    def _task_hand_off(
        self, task_id: str, token: str, task_type: str, payload_json: str, note: str
    ) -> str:
        """``ctx.hand_off``: the task's log and progress delivered, then the hand-off, which
        ends the task (its FinishTask afterwards is answered as a repeat and changes nothing)."""
        self.progress.flush(task_id)
        if not self.shipper.flush(task_id):
            logger.warning("task %s: not every log line was delivered", task_id)
        request = agent_pb2.HandOffRequest(
            task_id=task_id,
            capability_token=token,
            task_type=task_type,
            payload_json=payload_json,
            note=note,
        )
        try:
            r = self.link.call(
                f"HandOff {task_type}",
                lambda s: s.stub.HandOff(request, timeout=self.link.rpc_timeout),
            )
        except Rejected as err:
            raise ValueError(f"the manager refused the hand-off: {err.details}") from None
        return r.task_id

    def _sent(
        self,
        request: agent_pb2.SendMessageRequest,
        call: Callable[[Session], agent_pb2.SendMessageResponse],
    ) -> Sent:
        # A message without the sender's own key gets one, made once: sent again because its
        # answer was lost, it is the same message, not a second one.
        if not request.idempotency_key:
            request.idempotency_key = uuid.uuid4().hex
        try:
            r = self.link.call(f"SendMessage {request.kind}", call)
        except Rejected as err:
            raise ValueError(f"the manager refused the message: {err.details}") from None
        return Sent(message_id=r.message_id, to_agent=r.to_agent, created=r.created)

    def _stop_tasks(
        self, task_ids: Iterable[str], reason: str, reported: Mapping[str, _Task] | None = None
    ) -> None:
        """Cancels the runs of `task_ids`; with `reported`, only those runs (a heartbeat's stop
        names the run its report listed, never a newer attempt of the same task)."""
        with self._cond:
            tasks = [
                self._tasks[i]
                for i in task_ids
                if i in self._tasks and (reported is None or reported.get(i) is self._tasks[i])
            ]
        for task in tasks:
            if task.token.cancel(reason):
                logger.info("cancelling task %s: %s", task.task_id, reason)

    def _on_start(self, start: agent_pb2.StartTask) -> None:
        definition = self.definitions.get(start.task_type)
        capacity = self.agent.max_concurrency
        with self._cond:
            # A new attempt of a task whose previous run here has ended and is only being
            # forgotten (its result delivered) waits for that, briefly: the manager sends it only
            # once it has stored that result.
            previous = self._tasks.get(start.task_id)
            if previous is not None and not previous.handler_running:
                self._cond.wait_for(
                    lambda: self._tasks.get(start.task_id) is not previous, self.agent.rpc_timeout
                )
            if self._stopping:
                reason = SHUTDOWN_REASON
            elif definition is None:
                reason = f"unknown task type {start.task_type!r}"
            elif start.task_id in self._tasks:
                reason = f"task {start.task_id} is already running on this agent"
            elif sum(t.handler_running for t in self._tasks.values()) >= capacity:
                # Tasks whose handler ended (only their result is still being delivered) do not
                # count: the manager frees the slot once it has stored the result.
                reason = f"at capacity ({capacity} of {capacity} tasks running)"
            else:
                reason = ""
                task = _Task(start, definition)
                self._tasks[task.task_id] = task
        if reason:
            logger.info("rejecting task %s: %s", start.task_id, reason)
            threading.Thread(
                target=self._answer,
                args=(start, False, reason),
                name=f"answer-{start.task_id}",
                daemon=True,
            ).start()
            return
        threading.Thread(
            target=self._run_task, args=(task,), name=f"task-{task.task_id}", daemon=True
        ).start()

    def _answer(self, start: agent_pb2.StartTask, accepted: bool, reason: str) -> bool:
        request = agent_pb2.AnswerTaskRequest(
            task_id=start.task_id,
            capability_token=start.capability_token,
            accepted=accepted,
            reason=reason,
        )
        try:
            self.link.call(
                f"AnswerTask for task {start.task_id}",
                lambda s: s.stub.AnswerTask(request, timeout=self.agent.rpc_timeout),
            )
        except Rejected as err:
            logger.warning("the manager refused the answer for task %s: %s", start.task_id, err)
            return False
        except LinkClosed:
            return False
        return True

    def _run_task(self, task: _Task) -> None:
        task_id = task.task_id
        token = task.start.capability_token
        try:
            if not self._answer(task.start, True, ""):
                return
            self.shipper.open(task_id, token)
            self.progress.open(task_id, token)
            logger.info("task %s (%s) started", task_id, task.start.task_type)
            try:
                result = self._execute(task)
            finally:
                with self._cond:
                    task.handler_running = False
                    self._cond.notify_all()
            self._finish(task, result)
        except Exception:
            logger.exception("task %s: internal error", task_id)
        finally:
            self.shipper.close(task_id)
            self.progress.forget(task_id)
            with self._cond:
                task.handler_running = False
                del self._tasks[task_id]
                self._cond.notify_all()

    def _execute(self, task: _Task) -> common_pb2.TaskResult:
        start = task.start
        try:
            payload = json.loads(start.payload_json) if start.payload_json else {}
        except json.JSONDecodeError as err:
            return _failed(f"the payload is not JSON: {err}")
        if not isinstance(payload, dict):
            return _failed("the payload is not a JSON object")
        workspace = Path(start.workspace) if start.workspace else Path.cwd()
        ctx = TaskContext(
            task_id=start.task_id,
            task_type=start.task_type,
            payload=payload,
            workspace=workspace,
            attempt=start.attempt or 1,
            deadline=(
                start.deadline.ToDatetime(tzinfo=UTC) if start.HasField("deadline") else None
            ),
            cancelled=task.token,
            emit=self.shipper.sink(start.task_id),
            report_progress=partial(self.progress.report, start.task_id),
            children=self.children,
            kill_grace=self.agent.kill_grace,
            ask=partial(self._request_consent, start.task_id, start.capability_token),
            destructive=partial(self._prepare_destructive, start.task_id, start.capability_token),
            secret=partial(self._get_secret, start.task_id, start.capability_token),
            send=partial(self._task_send_message, start.task_id, start.capability_token),
            hand_off=partial(self._task_hand_off, start.task_id, start.capability_token),
            ask_person=partial(self._ask_person, start.task_id, start.capability_token),
            model_call=partial(self._model_call, start.task_id, start.capability_token),
        )
        return execute(task.definition.handler, ctx)

    def _ask(self, what: str, kind: str, target: str, call: Callable[[Session], T]) -> T:
        """A call that needs the person's (or a rule's) yes, waiting as long as the manager takes
        (it answers by its consent timeout, or when the task ends): a refusal raises
        :class:`PermissionRefused`, bad input :class:`ValueError`."""
        try:
            return self.link.call(what, call)
        except Rejected as err:
            if err.code == grpc.StatusCode.INVALID_ARGUMENT:
                raise ValueError(err.details) from None
            raise PermissionRefused(kind, target, "the manager", err.details) from None
        except LinkClosed:
            raise PermissionRefused(kind, target, "nobody", "the agent is shutting down") from None

    def _get_secret(self, task_id: str, token: str, name: str) -> str:
        """Fetch a secret (the manager may ask the person first)."""
        request = agent_pb2.GetSecretRequest(task_id=task_id, capability_token=token, name=name)
        response = self._ask(
            f"GetSecret for task {task_id}", "secret", name, lambda s: s.stub.GetSecret(request)
        )
        return response.value

    def _prepare_destructive(
        self, task_id: str, token: str, description: str, paths: Sequence[str]
    ) -> str:
        """Announce a destructive action; wait for consent and the snapshot."""
        request = agent_pb2.PrepareDestructiveRequest(
            task_id=task_id, capability_token=token, description=description, paths=list(paths)
        )
        response = self._ask(
            f"PrepareDestructive for task {task_id}",
            "destructive",
            description,
            lambda s: s.stub.PrepareDestructive(request),
        )
        logger.info(
            "task %s: snapshot %s taken (%d files) before: %s",
            task_id,
            response.action_id,
            response.files,
            description,
        )
        return response.action_id

    def _model_call(self, task_id: str, token: str, call: common_pb2.ModelCall) -> None:
        """``ctx.report_model_call``: telemetry, never the task's failure. The call gets an id
        of its own, so a report sent again because its answer was lost is counted once."""
        if not call.id:
            call.id = uuid.uuid4().hex
        request = agent_pb2.ReportModelCallRequest(
            task_id=task_id, capability_token=token, call=call
        )
        try:
            self.link.call(
                f"ReportModelCall for task {task_id}",
                lambda s: s.stub.ReportModelCall(request, timeout=self.link.rpc_timeout),
            )
        except (Rejected, LinkClosed) as err:
            logger.warning("task %s: a model call was not recorded: %s", task_id, err)

    def _ask_person(self, task_id: str, token: str, question: str, choices: Sequence[str]) -> str:
        """Ask the person (``ctx.ask_person``), waiting as long as the manager takes."""
        request = agent_pb2.AskPersonRequest(
            task_id=task_id, capability_token=token, question=question, choices=list(choices)
        )
        logger.info("task %s asks the person: %s", task_id, question)
        try:
            response = self.link.call(
                f"AskPerson for task {task_id}", lambda s: s.stub.AskPerson(request)
            )
        except Rejected as err:
            if err.code == grpc.StatusCode.INVALID_ARGUMENT:
                raise ValueError(err.details) from None
            raise Unanswered(question, err.details) from None
        except LinkClosed:
            raise Unanswered(question, "the agent is shutting down") from None
        if not response.answered:
            raise Unanswered(question, response.reason)
        return response.answer

    def _request_consent(
        self, task_id: str, token: str, kind: str, target: str, reason: str
    ) -> str:
        """Ask the manager (and through it the person)."""
        request = agent_pb2.RequestConsentRequest(
            task_id=task_id, capability_token=token, kind=kind, target=target, reason=reason
        )
        logger.info("task %s asks for permission: %s %s", task_id, kind, target)
        response = self._ask(
            f"RequestConsent for task {task_id}",
            kind,
            target,
            lambda s: s.stub.RequestConsent(request),
        )
        if not response.granted:
            raise PermissionRefused(kind, target, response.answered_by, response.reason)
        return response.consent_id

    def _finish(self, task: _Task, result: common_pb2.TaskResult) -> None:
        task_id = task.task_id
        self.progress.flush(task_id)
        if not self.shipper.flush(task_id):
            logger.warning("task %s: not every log line was delivered", task_id)
        request = agent_pb2.FinishTaskRequest(
            task_id=task_id, capability_token=task.start.capability_token, result=result
        )
        status = common_pb2.ResultStatus.Name(result.status).removeprefix("RESULT_STATUS_")
        try:
            response = self.link.call(
                f"FinishTask for task {task_id}",
                lambda s: s.stub.FinishTask(request, timeout=self.agent.rpc_timeout),
            )
        except Rejected as err:
            logger.warning("the manager refused the result of task %s: %s", task_id, err)
            return
        except LinkClosed:
            logger.warning("could not deliver the result of task %s before exiting", task_id)
            return
        logger.info(
            "task %s finished: %s (the manager recorded %s)",
            task_id,
            status,
            common_pb2.TaskState.Name(response.state).removeprefix("TASK_STATE_"),
        )
