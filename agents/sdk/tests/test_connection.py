"""Connection plumbing: backoff, and calls that wait for a session and retry."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from fake_manager import FakeManager

from hyperagent.v1 import agent_pb2
from hyperagent_sdk.connection import (
    Backoff,
    Link,
    LinkClosed,
    Rejected,
    Session,
    make_stub,
    open_channel,
)


def session_for(manager: FakeManager) -> Session:
    return Session(stub=make_stub(open_channel(manager.socket_path)), token="t")


def answer(session: Session) -> agent_pb2.AnswerTaskResponse:
    request = agent_pb2.AnswerTaskRequest(task_id="a", capability_token="cap-a", accepted=True)
    return session.stub.AnswerTask(request, timeout=5)


def test_backoff_starts_small_doubles_and_is_capped() -> None:
    backoff = Backoff()
    assert [backoff.next() for _ in range(8)] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    backoff.reset()
    assert backoff.next() == 0.05


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="initial"):
        Backoff(0, 1)
    with pytest.raises(ValueError, match="initial"):
        Backoff(2, 1)


def test_a_call_is_retried_until_it_succeeds(manager: FakeManager) -> None:
    link = Link(backoff_initial=0.001, backoff_max=0.01)
    link.publish(session_for(manager))
    manager.fail_next("AnswerTask", grpc.StatusCode.INTERNAL, grpc.StatusCode.RESOURCE_EXHAUSTED)
    link.call("AnswerTask", answer)
    assert manager.calls["AnswerTask"] == 3
    assert len(manager.answers) == 1


def test_unavailable_retires_the_session_and_the_call_goes_on_with_the_next(
    manager: FakeManager,
) -> None:
    link = Link(backoff_initial=0.001, backoff_max=0.01)
    first = session_for(manager)
    second = session_for(manager)
    first.on_retire = lambda: link.publish(second)  # what the connection loop does
    link.publish(first)
    manager.fail_next("AnswerTask", grpc.StatusCode.UNAVAILABLE)
    link.call("AnswerTask", answer)
    assert first.retired.is_set()
    assert link.current() is second
    assert len(manager.answers) == 1


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.INVALID_ARGUMENT,
    ],
)
def test_a_call_about_a_task_that_is_not_ours_gives_up(
    manager: FakeManager, code: grpc.StatusCode
) -> None:
    link = Link(backoff_initial=0.001, backoff_max=0.01)
    link.publish(session_for(manager))
    manager.fail_next("AnswerTask", code)
    with pytest.raises(Rejected) as rejected:
        link.call("AnswerTask", answer)
    assert rejected.value.code is code
    assert manager.calls["AnswerTask"] == 1


def test_callers_wait_for_a_session() -> None:
    link = Link()
    got: list[Session] = []
    thread = threading.Thread(target=lambda: got.append(link.wait_session()))
    thread.start()
    session = Session(stub=None, token="t")  # type: ignore[arg-type]
    link.publish(session)
    thread.join(5)
    assert got == [session]


def test_shutting_the_link_releases_waiting_callers() -> None:
    link = Link()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            link.wait_session()
        except LinkClosed as err:
            errors.append(err)

    thread = threading.Thread(target=wait)
    thread.start()
    link.shut()
    thread.join(5)
    assert len(errors) == 1


def test_past_the_close_deadline_calls_give_up() -> None:
    link = Link()
    link.close_at(time.monotonic())
    with pytest.raises(LinkClosed):
        link.wait_session()
    with pytest.raises(LinkClosed):
        link.pause(10)
