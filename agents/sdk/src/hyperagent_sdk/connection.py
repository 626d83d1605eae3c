"""The connection to the manager: channels, sessions, and calls retried across reconnects.

The agent's connection loop (:mod:`hyperagent_sdk.runtime`) registers and *publishes* a
:class:`Session` on the :class:`Link`; every other thread calls the manager through
:meth:`Link.call`, which waits for a live session, retries transient failures with exponential
backoff (across reconnects: a call that fails on one session is retried on the next), and gives up
only when the manager says the task is no longer this agent's, or when the agent is shutting down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, cast

import grpc

from hyperagent.v1 import agent_pb2, agent_pb2_grpc

logger = logging.getLogger("hyperagent_sdk")

T = TypeVar("T")

#: Until the manager says otherwise (RegisterResponse.max_message_bytes).
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

#: Codes after which a call about one task is pointless to retry: the task is no longer this
#: agent's (reassigned, ended, unknown), its capability token is refused (e.g. expired at the
#: task's deadline), or the request itself is malformed.
TASK_GONE_CODES = frozenset(
    {
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.INVALID_ARGUMENT,
    }
)


class AgentStub(Protocol):
    """The typed client side of ``hyperagent.v1.AgentService``."""

    Register: grpc.UnaryUnaryMultiCallable[agent_pb2.RegisterRequest, agent_pb2.RegisterResponse]
    Heartbeat: grpc.UnaryUnaryMultiCallable[agent_pb2.HeartbeatRequest, agent_pb2.HeartbeatResponse]
    Work: grpc.StreamStreamMultiCallable[agent_pb2.WorkRequest, agent_pb2.WorkItem]
    AnswerTask: grpc.UnaryUnaryMultiCallable[
        agent_pb2.AnswerTaskRequest, agent_pb2.AnswerTaskResponse
    ]
    PushLogs: grpc.UnaryUnaryMultiCallable[agent_pb2.PushLogsRequest, agent_pb2.PushLogsResponse]
    ReportProgress: grpc.UnaryUnaryMultiCallable[
        agent_pb2.ReportProgressRequest, agent_pb2.ReportProgressResponse
    ]
    FinishTask: grpc.UnaryUnaryMultiCallable[
        agent_pb2.FinishTaskRequest, agent_pb2.FinishTaskResponse
    ]
    RequestConsent: grpc.UnaryUnaryMultiCallable[
        agent_pb2.RequestConsentRequest, agent_pb2.RequestConsentResponse
    ]
    PrepareDestructive: grpc.UnaryUnaryMultiCallable[
        agent_pb2.PrepareDestructiveRequest, agent_pb2.PrepareDestructiveResponse
    ]
    GetSecret: grpc.UnaryUnaryMultiCallable[agent_pb2.GetSecretRequest, agent_pb2.GetSecretResponse]
    SendMessage: grpc.UnaryUnaryMultiCallable[
        agent_pb2.SendMessageRequest, agent_pb2.SendMessageResponse
    ]
    HandOff: grpc.UnaryUnaryMultiCallable[agent_pb2.HandOffRequest, agent_pb2.HandOffResponse]
    AskPerson: grpc.UnaryUnaryMultiCallable[agent_pb2.AskPersonRequest, agent_pb2.AskPersonResponse]
    ReportModelCall: grpc.UnaryUnaryMultiCallable[
        agent_pb2.ReportModelCallRequest, agent_pb2.ReportModelCallResponse
    ]
    AckMessage: grpc.UnaryUnaryMultiCallable[
        agent_pb2.AckMessageRequest, agent_pb2.AckMessageResponse
    ]


def open_channel(
    socket_path: str, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> grpc.Channel:
    """An insecure channel to the manager's Unix socket.

    The default authority must be set: without it, gRPC's HTTP/2 ``:authority`` for a ``unix:``
    target is the socket path, which servers reject (every call then fails with ``RST_STREAM``).
    """
    return grpc.insecure_channel(
        f"unix:{socket_path}",
        options=[
            ("grpc.default_authority", "localhost"),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ],
    )


#: The generated (untyped) client class, seen through a typed signature.
_GeneratedStub: Callable[[grpc.Channel], object] = agent_pb2_grpc.AgentServiceStub


def make_stub(channel: grpc.Channel) -> AgentStub:
    """The AgentService client on ``channel``."""
    return cast(AgentStub, _GeneratedStub(channel))


class Backoff:
    """Exponential backoff: ``initial``, doubling on each :meth:`next`, capped at ``maximum``."""

    def __init__(self, initial: float = 0.05, maximum: float = 2.0) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self._next = initial

    def next(self) -> float:
        """The delay to wait now; the following one is twice as long (up to the cap)."""
        delay = self._next
        self._next = min(delay * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


@dataclass(eq=False)
class Session:
    """One registration with the manager, valid until the Work stream ends or it is lost."""

    stub: AgentStub
    token: str
    channel: grpc.Channel | None = None
    agent_id: str = ""
    heartbeat_interval: float = 5.0
    #: 0 when the manager sets no limit.
    max_log_line_bytes: int = 0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    #: Most lines in one PushLogs (0 when the manager sets no limit).
    max_log_batch_lines: int = 0
    #: Whether the manager reads log lines sent in columns (one that predates them does not).
    log_columns: bool = False
    #: Set once the session is no longer the current one.
    retired: threading.Event = field(default_factory=threading.Event)
    #: Called (once) on retirement, e.g. to cancel the Work stream so the connection loop wakes.
    on_retire: Callable[[], object] | None = None


class LinkClosed(Exception):  # noqa: N818 - a state, not an error of the caller
    """The agent is shutting down and the call could not be completed in time."""


class Rejected(Exception):  # noqa: N818 - the manager rejected the call
    """The manager refused a call for good (one of :data:`TASK_GONE_CODES`)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class Link:
    """The current session, shared by every thread that talks to the manager."""

    def __init__(
        self,
        *,
        backoff_initial: float = 0.05,
        backoff_max: float = 2.0,
        rpc_timeout: float = 10.0,
    ) -> None:
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.rpc_timeout = rpc_timeout
        self._cond = threading.Condition()
        self._session: Session | None = None
        self._last: Session | None = None
        self._shut = False
        self._deadline: float | None = None

    # -- the connection loop's side ------------------------------------------------------------

    def publish(self, session: Session) -> None:
        """Make ``session`` the current one; waiting callers proceed with it."""
        with self._cond:
            self._session = session
            self._last = session
            self._cond.notify_all()

    def retire(self, session: Session, why: str = "") -> None:
        """Declare ``session`` lost (idempotent); callers wait for the next one."""
        with self._cond:
            if session.retired.is_set():
                return
            session.retired.set()
            if self._session is session:
                self._session = None
            self._cond.notify_all()
        if why:
            logger.info("connection to the manager lost: %s", why)
        if session.on_retire is not None:
            session.on_retire()

    def close_at(self, deadline: float) -> None:
        """From now on, give up waiting and retrying at ``deadline`` (a ``time.monotonic()``)."""
        with self._cond:
            self._deadline = deadline
            self._cond.notify_all()

    def shut(self) -> None:
        """Give up at once: every waiting or retrying call raises :class:`LinkClosed`."""
        with self._cond:
            self._shut = True
            session = self._session
            self._cond.notify_all()
        if session is not None:
            self.retire(session)

    @property
    def is_shut(self) -> bool:
        with self._cond:
            return self._shut

    # -- the callers' side ---------------------------------------------------------------------

    def current(self) -> Session | None:
        with self._cond:
            return self._session

    def limits(self) -> tuple[int, int]:
        """``(max_log_line_bytes, max_message_bytes)`` of the latest session (0: no limit)."""
        with self._cond:
            last = self._last
        if last is None:
            return 0, DEFAULT_MAX_MESSAGE_BYTES
        return last.max_log_line_bytes, last.max_message_bytes

    def log_columns(self) -> bool:
        """Whether the latest session's manager reads log lines sent in columns."""
        with self._cond:
            last = self._last
        return last is not None and last.log_columns

    def max_batch_lines(self) -> int:
        """Most log lines one PushLogs may carry in the latest session (0: no limit)."""
        with self._cond:
            last = self._last
        return 0 if last is None else last.max_log_batch_lines

    def _remaining(self) -> float | None:
        """Seconds until the close deadline (None: no deadline); caller holds the lock."""
        if self._deadline is None:
            return None
        return self._deadline - time.monotonic()

    def wait_session(self) -> Session:
        """The current session, waiting for the connection loop to (re)connect if needed."""
        with self._cond:
            while True:
                if self._shut:
                    raise LinkClosed("the agent is shutting down")
                if self._session is not None:
                    return self._session
                remaining = self._remaining()
                if remaining is not None and remaining <= 0:
                    raise LinkClosed("no connection to the manager before the shutdown deadline")
                self._cond.wait(remaining)

    def pause(self, delay: float) -> None:
        """Wait ``delay`` seconds, or raise :class:`LinkClosed` if shut (or past the deadline)."""
        end = time.monotonic() + delay
        with self._cond:
            while True:
                if self._shut:
                    raise LinkClosed("the agent is shutting down")
                remaining = self._remaining()
                if remaining is not None and remaining <= 0:
                    raise LinkClosed("the shutdown deadline passed")
                wait = end - time.monotonic()
                if wait <= 0:
                    return
                self._cond.wait(wait if remaining is None else min(wait, remaining))

    def call(
        self,
        what: str,
        fn: Callable[[Session], T],
        *,
        give_up_on: frozenset[grpc.StatusCode] = TASK_GONE_CODES,
    ) -> T:
        """``fn(session)``, retried until it succeeds.

        Raises :class:`Rejected` when the manager answers one of ``give_up_on``, and
        :class:`LinkClosed` when the agent shuts down first. UNAVAILABLE retires the session (the
        connection loop reconnects and the call is retried on the new session); any other error is
        retried with backoff on the current session.
        """
        backoff = Backoff(self.backoff_initial, self.backoff_max)
        failures = 0
        while True:
            session = self.wait_session()
            try:
                result = fn(session)
            except grpc.RpcError as err:
                code = err.code()
                if code in give_up_on:
                    raise Rejected(code, err.details() or "") from None
                failures += 1
                log = logger.warning if failures == 1 else logger.debug
                log("%s failed (%s), retrying: %s", what, code.name, err.details())
                if code is grpc.StatusCode.UNAVAILABLE:
                    self.retire(session, f"{what}: UNAVAILABLE")
                self.pause(backoff.next())
                continue
            except ValueError:
                # grpc refuses calls on a closed channel: the session was retired under us.
                if not session.retired.is_set():
                    raise
                continue
            if failures:
                logger.info("%s succeeded after %d retries", what, failures)
            return result
