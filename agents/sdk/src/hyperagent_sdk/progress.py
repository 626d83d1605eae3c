"""Task progress, coalesced: only the latest value of a task is sent when several are pending."""

from __future__ import annotations

import logging
import threading

from hyperagent.v1 import agent_pb2, common_pb2

from .connection import Link, LinkClosed, Rejected, Session

logger = logging.getLogger("hyperagent_sdk")


class ProgressReporter:
    """Sends ``ReportProgress`` from one thread, retrying across reconnects."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._cond = threading.Condition()
        self._tokens: dict[str, str] = {}
        self._pending: dict[str, common_pb2.Progress] = {}
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hyperagent-progress", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def open(self, task_id: str, capability_token: str) -> None:
        with self._cond:
            self._tokens[task_id] = capability_token

    def forget(self, task_id: str) -> None:
        """Stop reporting a task (a value not sent yet is dropped)."""
        with self._cond:
            self._tokens.pop(task_id, None)
            self._pending.pop(task_id, None)
            self._cond.notify_all()

    def flush(self, task_id: str) -> bool:
        """Wait until the task's latest value is sent (or refused); False if stopped first."""
        with self._cond:
            while task_id in self._pending:
                if self._stopped:
                    return False
                self._cond.wait()
            return True

    def report(self, task_id: str, fraction: float, step: str) -> None:
        """Record the task's latest progress; it replaces a value not sent yet."""
        with self._cond:
            if task_id not in self._tokens:
                return
            self._pending[task_id] = common_pb2.Progress(fraction=fraction, step=step)
            self._cond.notify_all()

    def _next(self) -> str | None:
        with self._cond:
            while not self._pending:
                if self._stopped:
                    return None
                self._cond.wait()
            return None if self._stopped else next(iter(self._pending))

    def _run(self) -> None:
        try:
            while (task_id := self._next()) is not None:
                self._send(task_id)
        except LinkClosed:
            logger.debug("progress reporter stopped: the agent is shutting down")

    def _send(self, task_id: str) -> None:
        sent: list[common_pb2.Progress] = []

        def send(session: Session) -> agent_pb2.ReportProgressResponse:
            # Each attempt sends the latest value, so a retry never sends a superseded one.
            with self._cond:
                progress = self._pending.get(task_id)
                token = self._tokens.get(task_id)
            if progress is None or token is None:  # forgotten meanwhile
                return agent_pb2.ReportProgressResponse()
            request = agent_pb2.ReportProgressRequest(
                task_id=task_id, capability_token=token, progress=progress
            )
            response = session.stub.ReportProgress(request, timeout=self._link.rpc_timeout)
            sent.append(progress)
            return response

        try:
            self._link.call(f"ReportProgress for task {task_id}", send)
        except Rejected as err:
            logger.warning("not reporting progress of task %s any more: %s", task_id, err)
            self.forget(task_id)
            return
        with self._cond:
            if not sent or self._pending.get(task_id) is sent[-1]:
                self._pending.pop(task_id, None)
            self._cond.notify_all()
