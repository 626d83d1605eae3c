"""Task log lines: numbered, buffered, batched and shipped to the manager without loss.

``append`` is what ``ctx.log`` calls: it numbers the line (seq 1, 2, 3, ... per task) and appends it
to the task's queue under a lock, nothing more. One shipper thread turns a task's pending lines into
``PushLogs`` requests once ``batch_lines`` are pending or ``linger`` seconds passed since the oldest
pending line, splitting a batch so no request exceeds ``max_request_bytes`` (nor the manager's
``max_message_bytes``); a second thread sends them in seq order, two on their way at most (the
manager keeps a batch that overtakes its predecessor until that one is in), and takes their answers
in order. A batch is resent with the same seqs until the manager acknowledges it, across
reconnects.
Lines longer than the manager's ``max_log_line_bytes`` are cut at a UTF-8 character boundary and
marked ``truncated="true"``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import cast

import grpc

from hyperagent.v1 import agent_pb2, common_pb2

from .connection import TASK_GONE_CODES, Link, LinkClosed, Rejected, Session

logger = logging.getLogger("hyperagent_sdk")

TRUNCATED_SUFFIX = " … [truncated]"
_SUFFIX_BYTES = TRUNCATED_SUFFIX.encode("utf-8")

#: Room kept in a request for the task id, the capability token and framing.
_REQUEST_OVERHEAD = 1024

_time_ns = time.time_ns
_monotonic = time.monotonic

#: ``(seq, time_ns, level, message, fields)``: a line as ``append`` stores it.
_Entry = tuple[int, int, int, str, Mapping[str, str]]


def truncate_utf8(text: str, max_bytes: int) -> tuple[str, bool]:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, suffix included; and whether it was cut.

    The cut never splits a character. ``max_bytes <= 0`` means no limit.
    """
    if max_bytes <= 0 or len(text) * 4 <= max_bytes:  # no character is longer than 4 bytes
        return text, False
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text, False
    suffix = _SUFFIX_BYTES if len(_SUFFIX_BYTES) <= max_bytes else b""
    # The prefix is valid UTF-8 except perhaps a split last character, which "ignore" drops.
    kept = data[: max_bytes - len(suffix)].decode("utf-8", errors="ignore")
    return kept + suffix.decode("utf-8"), True


def cut_entry(entry: _Entry, max_line_bytes: int) -> _Entry:
    """A stored line with its message and field values cut to ``max_line_bytes`` each, marked
    ``truncated="true"`` when anything was cut."""
    seq, time_ns, level, message, fields = entry
    message, cut = truncate_utf8(message, max_line_bytes)
    if fields:
        truncated = {key: truncate_utf8(value, max_line_bytes) for key, value in fields.items()}
        if any(value_cut for _, value_cut in truncated.values()):
            fields = {key: value for key, (value, _) in truncated.items()}
            cut = True
    if cut:
        fields = {**fields, "truncated": "true"}
    return seq, time_ns, level, message, fields


def fill_columns(columns: agent_pb2.LogColumns, entries: list[_Entry], max_line_bytes: int) -> int:
    """Write ``entries`` (consecutive seqs) into ``columns``, each message and field value cut
    to ``max_line_bytes`` (``<= 0``: no limit); returns at least the bytes they take (four for
    every character, plus the numbers and framing).

    A few list copies in C for the whole batch: what a request of a thousand lines costs here
    is what bounds a Python agent's log rate (one LogLine message per line took ~2.5 µs a line,
    this ~0.4; see BENCHMARKS.md, "The SDK's log path").
    """
    seqs, times, levels, messages, fields = zip(*entries, strict=True)
    field_lines: list[int] = []
    keys: list[str] = []
    values: list[str] = []
    for i, line_fields in enumerate(fields):
        if line_fields:
            for key, value in line_fields.items():
                field_lines.append(i)
                keys.append(key)
                values.append(value)
    # No character is longer than 4 bytes: only a line this long may need cutting.
    longest = max_line_bytes // 4 if max_line_bytes > 0 else 0
    if longest and (
        max(map(len, messages)) > longest or (values and max(map(len, values)) > longest)
    ):
        return fill_columns(columns, [cut_entry(e, max_line_bytes) for e in entries], 0)
    columns.first_seq = seqs[0]
    columns.time_unix_nanos.extend(times)
    columns.levels = bytes(levels)
    columns.messages.extend(messages)
    columns.field_lines.extend(field_lines)
    columns.field_keys.extend(keys)
    columns.field_values.extend(values)
    chars = sum(map(len, messages)) + sum(map(len, keys)) + sum(map(len, values))
    return 4 * chars + 48 * len(messages) + 32 * len(keys)


def column_lines(columns: agent_pb2.LogColumns) -> list[common_pb2.LogLine]:
    """The lines ``columns`` carries, one LogLine each (what the manager reads from them)."""
    lines = [
        common_pb2.LogLine(
            seq=columns.first_seq + i,
            level=cast("common_pb2.LogLevel", level),
            message=message,
        )
        for i, (level, message) in enumerate(zip(columns.levels, columns.messages, strict=True))
    ]
    for line, time_ns in zip(lines, columns.time_unix_nanos, strict=True):
        line.time.seconds, line.time.nanos = divmod(time_ns, 1_000_000_000)
    for i, key, value in zip(
        columns.field_lines, columns.field_keys, columns.field_values, strict=True
    ):
        lines[i].fields[key] = value
    return lines


def _line_count(request: agent_pb2.PushLogsRequest) -> int:
    """How many lines a PushLogs request carries, whichever form it uses."""
    return len(request.columns.messages) or len(request.lines)


def request_lines(request: agent_pb2.PushLogsRequest) -> list[common_pb2.LogLine]:
    """The lines a PushLogs request carries, whichever form it uses."""
    return list(request.lines) or column_lines(request.columns)


def exact_size(entry: _Entry, max_line_bytes: int) -> int:
    """About the wire size of a stored line once cut to the limit, to within a few bytes over:
    its UTF-8 bytes, plus the numbers and framing."""
    if max_line_bytes > 0:
        entry = cut_entry(entry, max_line_bytes)
    _, _, _, message, fields = entry
    size = len(message.encode("utf-8")) + 24
    for key, value in fields.items():
        size += len(key.encode("utf-8")) + len(value.encode("utf-8")) + 20
    return size


def split(
    entries: list[_Entry], budget: int, max_lines: int, max_line_bytes: int
) -> list[list[_Entry]]:
    """``entries`` split into runs of at most ``max_lines`` lines and about ``budget`` bytes
    (a single line over the budget goes alone)."""
    out: list[list[_Entry]] = []
    run: list[_Entry] = []
    size = 0
    for entry in entries:
        line_size = exact_size(entry, max_line_bytes)
        if run and (size + line_size > budget or len(run) == max_lines):
            out.append(run)
            run, size = [], 0
        run.append(entry)
        size += line_size
    if run:
        out.append(run)
    return out


class _TaskLog:
    """One task's lines: the pending queue and how far the manager has acknowledged."""

    __slots__ = (
        "acked_seq",
        "capability_token",
        "closed",
        "dropped",
        "flushers",
        "next_seq",
        "pending",
        "pending_since",
        "task_id",
    )

    def __init__(self, task_id: str, capability_token: str) -> None:
        self.task_id = task_id
        self.capability_token = capability_token
        self.next_seq = 1
        self.pending: deque[_Entry] = deque()
        self.pending_since = 0.0
        self.acked_seq = 0
        self.dropped = False
        self.closed = False
        self.flushers = 0

    @property
    def settled(self) -> bool:
        """Every line appended so far is acknowledged (or dropped)."""
        return self.dropped or self.acked_seq >= self.next_seq - 1


#: Settle the requests whose answers came (put on the sender's queue by a call's callback).
_SETTLE = object()


class _Sending:
    """A request on its way: its task, the last seq it carries, and the call (None: not sent,
    no session was up; it is then sent, with retries, when its turn to settle comes)."""

    __slots__ = ("future", "last_seq", "log", "request", "session")

    def __init__(
        self,
        log: _TaskLog,
        request: agent_pb2.PushLogsRequest,
        last_seq: int,
        session: Session | None,
        future: grpc.Future[agent_pb2.PushLogsResponse] | None,
    ) -> None:
        self.log = log
        self.request = request
        self.last_seq = last_seq
        self.session = session
        self.future = future

    def done(self) -> bool:
        return self.future is None or self.future.done()


class LogShipper:
    """Buffers the log lines of every running task and ships them in batches: one thread builds
    the requests, another sends them, up to ``in_flight`` at once, and takes their answers in
    order (a batch counts as delivered only once it and every batch before it are), so the next
    batch is built and on its way while the manager stores the last one."""

    def __init__(
        self,
        link: Link,
        *,
        batch_lines: int = 1000,
        linger: float = 0.02,
        max_request_bytes: int = 1024 * 1024,
        in_flight: int = 2,
    ) -> None:
        if batch_lines < 1 or linger < 0 or max_request_bytes < 4096 or in_flight < 1:
            raise ValueError(
                "batch_lines >= 1, linger >= 0, max_request_bytes >= 4096 and in_flight >= 1"
            )
        self._link = link
        self._batch_lines = batch_lines
        self._linger = linger
        self._max_request_bytes = max_request_bytes
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the shipper waits for lines here
        self._acked = threading.Condition(self._lock)  # flushers wait for acknowledgements here
        self._tasks: dict[str, _TaskLog] = {}
        self._stopped = False
        self._thread: threading.Thread | None = None
        #: What the sender does next: send a built request, settle answered ones, or stop (None).
        self._outbox: queue.Queue[
            tuple[_TaskLog, agent_pb2.PushLogsRequest, int] | object | None
        ] = queue.Queue()
        #: Room for built requests not yet settled: the builder waits for it.
        self._room = threading.Semaphore(in_flight)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hyperagent-logs", daemon=True)
        self._thread.start()
        threading.Thread(target=self._send_all, name="hyperagent-logs-send", daemon=True).start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop shipping; whoever waits in :meth:`flush` returns False."""
        with self._lock:
            self._stopped = True
            self._work.notify_all()
            self._acked.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def open(self, task_id: str, capability_token: str) -> None:
        """Start collecting lines for a task (a no-op if it is already open)."""
        with self._lock:
            self._tasks.setdefault(task_id, _TaskLog(task_id, capability_token))

    def close(self, task_id: str) -> None:
        """Forget a task and whatever of it is still pending (call after :meth:`flush`); lines
        its sink gets after this are dropped."""
        with self._lock:
            log = self._tasks.pop(task_id, None)
            if log is not None:
                log.closed = True
                log.pending.clear()

    # -- the handlers' side --------------------------------------------------------------------

    def append(self, task_id: str, level: int, message: str, fields: Mapping[str, str]) -> None:
        """Queue one line of a task; cheap, never blocks on the network (a handler's
        ``ctx.log`` goes through :meth:`sink`, which finds the task once).

        ``fields`` is kept as given: callers must not change it afterwards.
        """
        with self._lock:
            log = self._tasks.get(task_id)
        if log is not None:
            self._appender(log)(level, message, fields)

    def sink(self, task_id: str) -> Callable[[int, str, Mapping[str, str]], None]:
        """What ``ctx.log`` calls for an open task: :meth:`append` with the task found once."""
        with self._lock:
            log = self._tasks[task_id]
        return self._appender(log)

    def _appender(self, log: _TaskLog) -> Callable[[int, str, Mapping[str, str]], None]:
        """Appends lines to ``log``: numbers a line and queues it under the lock, nothing more.
        Everything it needs is bound once (no lookup by id, no attribute reads of the shipper
        per line: this runs once per line of every handler)."""
        lock, wake, batch_lines, pending = (
            self._lock,
            self._work.notify,
            self._batch_lines,
            log.pending,
        )

        def append(level: int, message: str, fields: Mapping[str, str]) -> None:
            now = _time_ns()
            with lock:
                if log.dropped or log.closed:
                    return
                seq = log.next_seq
                log.next_seq = seq + 1
                pending.append((seq, now, level, message, fields))
                size = len(pending)
                if size == 1:
                    log.pending_since = _monotonic()
                    wake()
                elif size == batch_lines:
                    wake()

        return append

    def flush(self, task_id: str, timeout: float | None = None) -> bool:
        """Send a task's pending lines now and wait until all are acknowledged (or dropped).

        Returns False if that did not happen within ``timeout`` or the shipper stopped.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            log = self._tasks.get(task_id)
            if log is None:
                return True
            log.flushers += 1
            self._work.notify()
            try:
                while not log.settled:
                    if self._stopped:
                        return False
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._acked.wait(remaining)
                return True
            finally:
                log.flushers -= 1

    def stats(self, task_id: str) -> tuple[int, int, int]:
        """``(lines appended, lines acknowledged, lines pending)`` of a task (for diagnostics)."""
        with self._lock:
            log = self._tasks.get(task_id)
            if log is None:
                return 0, 0, 0
            return log.next_seq - 1, log.acked_seq, len(log.pending)

    # -- the shipper thread --------------------------------------------------------------------

    def _take_due(self) -> list[tuple[_TaskLog, list[_Entry]]] | None:
        """Wait until some task has lines due, and take them; None once stopped."""
        with self._lock:
            while not self._stopped:
                now = time.monotonic()
                due: list[tuple[_TaskLog, list[_Entry]]] = []
                wait: float | None = None
                for log in self._tasks.values():
                    pending = log.pending
                    if not pending or log.dropped:
                        continue
                    ready_at = log.pending_since + self._linger
                    if len(pending) >= self._batch_lines or log.flushers or ready_at <= now:
                        count = min(len(pending), self._batch_lines)
                        due.append((log, [pending.popleft() for _ in range(count)]))
                        log.pending_since = now
                    else:
                        wait = ready_at - now if wait is None else min(wait, ready_at - now)
                if due:
                    return due
                self._work.wait(wait)
            return None

    def _run(self) -> None:
        try:
            while (due := self._take_due()) is not None:
                for log, entries in due:
                    self._ship(log, entries)
        except LinkClosed:
            logger.debug("log shipper stopped: the agent is shutting down")
        finally:
            self._outbox.put(None)

    def _send_all(self) -> None:
        """The sender: each built request sent as it comes, their answers taken in order; a
        request whose call failed is sent again, with retries, when its turn comes (the manager
        stores a resent line once). Those of a task whose lines were dropped are skipped; after
        the link closed, what is left is let go."""
        sending: deque[_Sending] = deque()
        closed = False
        while (item := self._outbox.get()) is not None:
            if isinstance(item, tuple):
                log, request, last_seq = item
                if closed or log.dropped:
                    self._room.release()
                else:
                    sending.append(self._send(log, request, last_seq))
            while sending and sending[0].done():
                closed = self._settle(sending.popleft(), closed)
        while sending:  # stopping: what is on its way still counts
            closed = self._settle(sending.popleft(), closed)

    def _send(self, log: _TaskLog, request: agent_pb2.PushLogsRequest, last_seq: int) -> _Sending:
        """Start the call for a request; its answer puts a settle on the sender's queue."""
        session = self._link.current()
        future = None
        if session is not None and not session.retired.is_set():
            with contextlib.suppress(ValueError):  # the session's channel closed under us
                future = session.stub.PushLogs.future(request, timeout=self._link.rpc_timeout)
        if future is None:
            self._outbox.put(_SETTLE)
        else:
            future.add_done_callback(lambda _: self._outbox.put(_SETTLE))
        return _Sending(log, request, last_seq, session, future)

    def _settle(self, s: _Sending, closed: bool) -> bool:
        """Take a request's answer (waiting for it if need be): acknowledged, or sent again until
        it is. Returns whether the link is closed now."""
        try:
            if closed or s.log.dropped:
                return closed
            err = None if s.future is None else s.future.exception()
            if s.future is not None and err is None:
                self._acknowledged(s.log, s.last_seq)
                return False
            if isinstance(err, grpc.RpcError):
                # As a call through the link would take it: a task that is not ours any more
                # drops its lines; a lost connection retires the session; the rest is retried.
                code = err.code()
                if code in TASK_GONE_CODES:
                    self._drop(s.log, _line_count(s.request), Rejected(code, err.details() or ""))
                    return False
                if code is grpc.StatusCode.UNAVAILABLE and s.session is not None:
                    self._link.retire(s.session, f"PushLogs for task {s.log.task_id}: UNAVAILABLE")
            try:
                self._push(s.log, s.request, s.last_seq)
            except LinkClosed:
                logger.debug("log sender stopped: the agent is shutting down")
                return True
            return False
        finally:
            self._room.release()

    def _ship(self, log: _TaskLog, entries: list[_Entry]) -> None:
        """Send ``entries`` of one task in requests of bounded size, each until acknowledged."""
        self._link.wait_session()  # the session's limits apply to the conversion
        max_line, max_message = self._link.limits()
        budget = min(self._max_request_bytes, max_message) - _REQUEST_OVERHEAD
        budget -= len(log.task_id) + len(log.capability_token)
        max_lines = self._link.max_batch_lines() or len(entries)

        def new_request() -> agent_pb2.PushLogsRequest:
            return agent_pb2.PushLogsRequest(
                task_id=log.task_id, capability_token=log.capability_token
            )

        request = new_request()
        if fill_columns(request.columns, entries, max_line) <= budget and len(entries) <= max_lines:
            runs = [(request, entries)]  # the usual case: no exact sizes needed
        else:
            runs = []
            for run in split(entries, budget, max_lines, max_line):
                request = new_request()
                fill_columns(request.columns, run, max_line)
                runs.append((request, run))
        if not self._link.log_columns():
            # A manager that predates columns: the same lines, one message each.
            for request, _ in runs:
                request.lines.extend(column_lines(request.columns))
                request.ClearField("columns")
        for request, run in runs:
            self._room.acquire()
            if log.dropped:
                self._room.release()
                return
            self._outbox.put((log, request, run[-1][0]))

    def _drop(self, log: _TaskLog, lines: int, err: Rejected) -> None:
        """The manager refused a task's lines for good (the task is not this agent's any more):
        drop them and what is pending, and say so once."""
        with self._lock:
            if not log.dropped:
                logger.warning(
                    "dropping %d log lines of task %s: the manager refused them (%s)",
                    len(log.pending) + lines,
                    log.task_id,
                    err,
                )
            log.dropped = True
            log.pending.clear()
            self._acked.notify_all()

    def _push(self, log: _TaskLog, request: agent_pb2.PushLogsRequest, last_seq: int) -> None:
        """Send one request until acknowledged (or the task's lines are dropped)."""

        def send(session: Session) -> agent_pb2.PushLogsResponse:
            return session.stub.PushLogs(request, timeout=self._link.rpc_timeout)

        try:
            self._link.call(f"PushLogs for task {log.task_id}", send)
        except Rejected as err:
            self._drop(log, _line_count(request), err)
            return
        self._acknowledged(log, last_seq)

    def _acknowledged(self, log: _TaskLog, last_seq: int) -> None:
        """The manager stored a task's lines up to ``last_seq``: flushers waiting see it."""
        with self._lock:
            log.acked_seq = max(log.acked_seq, last_seq)
            self._acked.notify_all()
