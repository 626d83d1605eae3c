"""A real gRPC server implementing AgentService in-process, for the SDK's tests.

It stores what agents send, lets a test push work items down the Work stream, and can answer the
next calls of a method with an error code (``fail_next``) or hold them (``hold``).
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc

from hyperagent.v1 import agent_pb2, agent_pb2_grpc, common_pb2
from hyperagent_sdk.logship import request_lines


class FakeManager(agent_pb2_grpc.AgentServiceServicer):
    def __init__(
        self,
        socket_path: str,
        *,
        heartbeat_interval_ms: int = 50,
        max_log_line_bytes: int = 0,
        max_message_bytes: int = 0,
        log_columns: bool = True,
        log_order_wait: float = 5.0,
    ) -> None:
        self.socket_path = socket_path
        #: Whether it reads PushLogs' columns (False: a manager that predates them, which reads
        #: only ``lines`` and stores nothing of a batch sent in columns).
        self.log_columns = log_columns
        #: How long a log batch that overtook its predecessor waits for it (as the manager's
        #: ``agents.log_order_wait``).
        self.log_order_wait = log_order_wait
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.max_log_line_bytes = max_log_line_bytes
        self.max_message_bytes = max_message_bytes
        self.cond = threading.Condition()
        self.registrations: list[agent_pb2.RegisterRequest] = []
        self.heartbeats: list[agent_pb2.HeartbeatRequest] = []
        self.answers: list[agent_pb2.AnswerTaskRequest] = []
        #: Every PushLogs request the manager acknowledged, in order.
        self.log_requests: list[agent_pb2.PushLogsRequest] = []
        #: Stored lines by task and seq (a resent line is stored once).
        self.stored: dict[str, dict[int, common_pb2.LogLine]] = defaultdict(dict)
        self.progress: list[agent_pb2.ReportProgressRequest] = []
        self.finished: dict[str, agent_pb2.FinishTaskRequest] = {}
        #: ("logs" | "finish", task id) in the order the manager acknowledged them.
        self.events: list[tuple[str, str]] = []
        self.calls: dict[str, int] = defaultdict(int)
        self.faults: dict[str, deque[grpc.StatusCode]] = defaultdict(deque)
        self.holds: dict[str, threading.Event] = {}
        self.stop_on_register: list[str] = []
        self.stop_on_heartbeat: list[str] = []
        self.sessions: set[str] = set()
        self._streams: list[queue.Queue[agent_pb2.WorkItem | None]] = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        agent_pb2_grpc.add_AgentServiceServicer_to_server(self, self.server)
        self.server.add_insecure_port(f"unix:{socket_path}")
        self.server.start()

    # -- test controls -------------------------------------------------------------------------

    def stop(self) -> None:
        self.server.stop(grace=None).wait(5)
        with self.cond:
            for stream in self._streams:
                stream.put(None)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def fail_next(self, method: str, *codes: grpc.StatusCode) -> None:
        with self.cond:
            self.faults[method].extend(codes)

    def hold(self, method: str) -> threading.Event:
        """Make calls of ``method`` wait until the returned event is set."""
        release = threading.Event()
        with self.cond:
            self.holds[method] = release
        return release

    def forget_sessions(self) -> None:
        with self.cond:
            self.sessions.clear()

    def send(self, item: agent_pb2.WorkItem) -> None:
        """Push a work item down the newest Work stream (waits for one to be open)."""
        assert self.wait_for(lambda: self._streams), "no agent opened a Work stream"
        with self.cond:
            self._streams[-1].put(item)

    def start_task(
        self, task_id: str, task_type: str, payload: str = "{}", workspace: str = ""
    ) -> None:
        self.send(
            agent_pb2.WorkItem(
                start=agent_pb2.StartTask(
                    task_id=task_id,
                    task_type=task_type,
                    payload_json=payload,
                    workspace=workspace,
                    capability_token=f"cap-{task_id}",
                    attempt=1,
                )
            )
        )

    def stop_task(self, task_id: str, reason: str) -> None:
        self.send(agent_pb2.WorkItem(stop=agent_pb2.StopTask(task_id=task_id, reason=reason)))

    def answer(self, task_id: str) -> agent_pb2.AnswerTaskRequest | None:
        with self.cond:
            return next((a for a in self.answers if a.task_id == task_id), None)

    def messages(self, task_id: str) -> list[str]:
        with self.cond:
            lines = self.stored.get(task_id, {})
            return [lines[seq].message for seq in sorted(lines)]

    # -- the service ---------------------------------------------------------------------------

    def _enter(self, method: str, context: grpc.ServicerContext) -> None:
        with self.cond:
            self.calls[method] += 1
            hold = self.holds.get(method)
            self.cond.notify_all()
        if hold is not None:
            hold.wait(10)
        with self.cond:
            code = self.faults[method].popleft() if self.faults[method] else None
        if code is not None:
            context.abort(code, f"injected {code.name}")

    def _check_task(self, task_id: str, token: str, context: grpc.ServicerContext) -> None:
        if token != f"cap-{task_id}":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "capability token names another task")

    def Register(self, request: Any, context: Any) -> Any:  # noqa: N802
        self._enter("Register", context)
        with self.cond:
            self.registrations.append(request)
            token = f"session-{len(self.registrations)}"
            self.sessions.add(token)
            stop = [t for t in request.running_task_ids if t in self.stop_on_register]
            self.cond.notify_all()
        return agent_pb2.RegisterResponse(
            agent_id=f"agent-{request.name}",
            session_token=token,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
            stop_task_ids=stop,
            max_log_line_bytes=self.max_log_line_bytes,
            max_message_bytes=self.max_message_bytes,
            log_columns=self.log_columns,
        )

    def Heartbeat(self, request: Any, context: Any) -> Any:  # noqa: N802
        self._enter("Heartbeat", context)
        with self.cond:
            known = request.session_token in self.sessions
            if known:
                self.heartbeats.append(request)
                self.cond.notify_all()
            stop = [t for t in request.running_task_ids if t in self.stop_on_heartbeat]
        if not known:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "session forgotten: register again")
        return agent_pb2.HeartbeatResponse(stop_task_ids=stop)

    def Work(self, requests: Iterator[Any], context: Any) -> Iterator[Any]:  # noqa: N802
        self._enter("Work", context)
        token = next(requests).session_token
        stream: queue.Queue[agent_pb2.WorkItem | None] = queue.Queue()
        forgotten = agent_pb2.WorkItem()  # a marker: the session is forgotten
        with self.cond:
            self._streams.append(stream)
            self.cond.notify_all()
        context.add_callback(lambda: stream.put(None))

        def read_beats() -> None:
            try:
                for request in requests:
                    if request.HasField("beat"):
                        stream.put(self._beat(token, request.beat, context) or forgotten)
            except grpc.RpcError:
                pass  # the stream ended

        threading.Thread(target=read_beats, daemon=True).start()
        while (item := stream.get()) is not None:
            if item is forgotten:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION, "session forgotten: register again"
                )
            yield item

    def _beat(self, token: str, beat: Any, context: Any) -> agent_pb2.WorkItem | None:
        """A beat on a Work stream, recorded as the Heartbeat call it replaces; its answer, or
        None when the session is forgotten."""
        self._enter("Heartbeat", context)
        with self.cond:
            if token not in self.sessions:
                return None
            self.heartbeats.append(
                agent_pb2.HeartbeatRequest(
                    session_token=token, load=beat.load, running_task_ids=beat.running_task_ids
                )
            )
            self.cond.notify_all()
            stop = [t for t in beat.running_task_ids if t in self.stop_on_heartbeat]
        return agent_pb2.WorkItem(beat=agent_pb2.BeatAnswer(seq=beat.seq, stop_task_ids=stop))

    def AnswerTask(self, request: Any, context: Any) -> Any:  # noqa: N802
        self._enter("AnswerTask", context)
        self._check_task(request.task_id, request.capability_token, context)
        with self.cond:
            self.answers.append(request)
            self.cond.notify_all()
        return agent_pb2.AnswerTaskResponse()

    def PushLogs(self, request: Any, context: Any) -> Any:  # noqa: N802
        self._enter("PushLogs", context)
        self._check_task(request.task_id, request.capability_token, context)
        with self.cond:
            batch = request_lines(request) if self.log_columns else list(request.lines)
            lines = self.stored[request.task_id]
            # As the manager does: a batch that overtakes its predecessor waits for it (a while).
            first = batch[0].seq if batch else 1
            self.cond.wait_for(
                lambda: all(s in lines for s in range(1, first)), timeout=self.log_order_wait
            )
            self.log_requests.append(request)
            for line in batch:
                lines[line.seq] = line
            self.events.append(("logs", request.task_id))
            self.cond.notify_all()
            return agent_pb2.PushLogsResponse(stored_seq=max(lines, default=0))

    def ReportProgress(self, request: Any, context: Any) -> Any:  # noqa: N802
        self._enter("ReportProgress", context)
        self._check_task(request.task_id, request.capability_token, context)
        with self.cond:
            self.progress.append(request)
            self.cond.notify_all()
        return agent_pb2.ReportProgressResponse()

    def FinishTask(self, request: Any, context: Any) -> Any:  # noqa: N802
        self._enter("FinishTask", context)
        self._check_task(request.task_id, request.capability_token, context)
        with self.cond:
            self.finished[request.task_id] = request
            self.events.append(("finish", request.task_id))
            self.cond.notify_all()
        state = {
            common_pb2.RESULT_STATUS_SUCCEEDED: common_pb2.TASK_STATE_COMPLETED,
            common_pb2.RESULT_STATUS_FAILED: common_pb2.TASK_STATE_FAILED,
            common_pb2.RESULT_STATUS_CANCELED: common_pb2.TASK_STATE_CANCELED,
        }.get(request.result.status, common_pb2.TASK_STATE_UNSPECIFIED)
        return agent_pb2.FinishTaskResponse(state=state)
