"""CancellationToken: how a handler learns that its task should stop."""

from __future__ import annotations

import threading

import pytest

from hyperagent_sdk import CancellationToken, TaskCancelled


def test_a_fresh_token_is_not_set_and_has_no_reason() -> None:
    token = CancellationToken()
    assert not token.is_set()
    assert token.reason == ""
    assert token.wait(0) is False
    token.raise_if_cancelled()  # does nothing


def test_cancel_sets_it_and_the_first_reason_wins() -> None:
    token = CancellationToken()
    assert token.cancel("stopped by the user") is True
    assert token.cancel("agent shutting down") is False
    assert token.is_set()
    assert token.reason == "stopped by the user"
    assert token.wait(0) is True


def test_raise_if_cancelled_raises_task_cancelled_with_the_reason() -> None:
    token = CancellationToken()
    token.cancel("deadline passed")
    with pytest.raises(TaskCancelled) as raised:
        token.raise_if_cancelled()
    assert raised.value.reason == "deadline passed"


def test_wait_wakes_up_when_another_thread_cancels() -> None:
    token = CancellationToken()
    waiting = threading.Event()
    woke: list[bool] = []

    def waiter() -> None:
        waiting.set()
        woke.append(token.wait(10))

    thread = threading.Thread(target=waiter)
    thread.start()
    assert waiting.wait(5)
    token.cancel("now")
    thread.join(5)
    assert woke == [True]


def test_callbacks_run_once_with_the_reason_even_when_added_late() -> None:
    token = CancellationToken()
    early: list[str] = []
    token.add_callback(early.append)
    token.cancel("first")
    token.cancel("second")
    late: list[str] = []
    token.add_callback(late.append)
    assert early == ["first"]
    assert late == ["first"]


def test_a_removed_callback_does_not_run() -> None:
    token = CancellationToken()
    called: list[str] = []
    remove = token.add_callback(called.append)
    remove()
    remove()  # removing twice is harmless
    token.cancel("x")
    assert called == []
