"""The agent against a (fake) manager: register, work, answer, log, finish, reconnect, stop.

Each test runs a real Agent in a thread against FakeManager, a real gRPC server on a Unix socket.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from fake_manager import FakeManager

from hyperagent.v1 import common_pb2
from hyperagent_sdk import Agent, TaskContext
from hyperagent_sdk.logship import request_lines

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}


def make_agent(socket_path: str, **kwargs: Any) -> Agent:
    """An agent with fast retries and these task types:

    - ``t.count``: logs ``n`` lines, reports progress, returns ``{"n": n}``.
    - ``t.block``: logs "waiting", then waits until cancelled.
    - ``t.gated``: logs "before", waits for ``agent.release`` to be set, logs "after".
    """
    env = {"HYPERAGENT_SOCKET": socket_path, **kwargs.pop("env", {})}
    options: dict[str, Any] = {"backoff_initial": 0.01, "backoff_max": 0.05, "kill_grace": 0.5}
    agent = Agent("tester", "9.9.9", env=env, **{**options, **kwargs})
    release = threading.Event()
    agent.release = release  # type: ignore[attr-defined]

    @agent.task("t.count", schema=SCHEMA, description="Count.")
    def count(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
        n = payload.get("n", 3)
        for i in range(n):
            ctx.log.info(f"line {i}", i=i)
        ctx.progress(1.0, "counted")
        return {"n": n, "summary": f"counted {n}"}

    @agent.task("t.big")
    def big(ctx: TaskContext, payload: dict[str, Any]) -> None:
        for i in range(payload["n"]):
            ctx.log.info(f"{i:04d}" + "b" * payload["size"])

    @agent.task("t.block")
    def block(ctx: TaskContext, payload: dict[str, Any]) -> str:
        ctx.log.info("waiting")
        ctx.cancelled.wait()
        return "cancelled, so this summary is not used"

    @agent.task("t.gated")
    def gated(ctx: TaskContext, payload: dict[str, Any]) -> str:
        ctx.log.info("before")
        if not release.wait(10):
            return "never released"
        ctx.log.info("after")
        return "done"

    return agent


@contextmanager
def running(agent: Agent) -> Iterator[threading.Thread]:
    thread = threading.Thread(target=agent.run, kwargs={"install_signal_handlers": False})
    thread.start()
    try:
        yield thread
    finally:
        agent.stop()
        thread.join(15)
        assert not thread.is_alive(), "the agent did not stop"


def result_of(manager: FakeManager, task_id: str) -> common_pb2.TaskResult:
    assert manager.wait_for(lambda: task_id in manager.finished), f"{task_id} never finished"
    return manager.finished[task_id].result


def test_it_registers_its_identity_and_task_types(manager: FakeManager, socket_path: str) -> None:
    agent = make_agent(socket_path, max_concurrency=3, cost=2.5)
    with running(agent):
        assert manager.wait_for(lambda: manager.registrations)
    request = manager.registrations[0]
    assert (request.name, request.version, request.max_concurrency) == ("tester", "9.9.9", 3)
    assert (request.cost, request.pid, list(request.running_task_ids)) == (2.5, os.getpid(), [])
    types = {t.name: t for t in request.capabilities}
    assert sorted(types) == ["t.big", "t.block", "t.count", "t.gated"]
    assert json.loads(types["t.count"].payload_schema_json) == SCHEMA
    assert types["t.count"].description == "Count."


def test_the_name_comes_from_the_environment_when_set(
    manager: FakeManager, socket_path: str
) -> None:
    with running(make_agent(socket_path, env={"HYPERAGENT_AGENT_NAME": "tester-b"})):
        assert manager.wait_for(lambda: manager.registrations)
    assert manager.registrations[0].name == "tester-b"


def test_it_finds_the_manager_through_the_discovery_file(
    manager: FakeManager, socket_path: str, socket_dir: Any
) -> None:
    discovery = socket_dir / "manager.json"
    discovery.write_text(json.dumps({"socket": socket_path}))
    agent = make_agent("", env={"HYPERAGENT_SOCKET": "", "HYPERAGENT_DISCOVERY": str(discovery)})
    with running(agent):
        assert manager.wait_for(lambda: manager.registrations)


def test_a_task_runs_and_finishes_after_all_its_logs_are_stored(
    manager: FakeManager, socket_path: str
) -> None:
    with running(make_agent(socket_path)):
        manager.start_task("t1", "t.count", json.dumps({"n": 2500}))
        result = result_of(manager, "t1")
        answer = manager.answer("t1")
    assert answer is not None
    assert (answer.accepted, answer.reason) == (True, "")
    assert result.status == common_pb2.RESULT_STATUS_SUCCEEDED
    assert json.loads(result.output_json) == {"n": 2500, "summary": "counted 2500"}
    assert result.summary == "counted 2500"
    assert sorted(manager.stored["t1"]) == list(range(1, 2501))
    assert manager.stored["t1"][2500].fields["i"] == "2499"
    # Every log batch was acknowledged before the result was sent.
    assert manager.events[-1] == ("finish", "t1")
    assert [p.progress.fraction for p in manager.progress if p.task_id == "t1"] == [1.0]


def test_it_rejects_unknown_duplicate_and_excess_tasks(
    manager: FakeManager, socket_path: str
) -> None:
    with running(make_agent(socket_path, max_concurrency=1)):
        manager.start_task("a", "t.block")
        assert manager.wait_for(lambda: manager.messages("a") == ["waiting"])
        manager.start_task("a", "t.block")
        manager.start_task("b", "t.block")
        manager.start_task("c", "t.nope")
        assert manager.wait_for(lambda: len(manager.answers) == 4)
        answers = {(a.task_id, a.accepted, a.reason) for a in manager.answers}
        assert answers == {
            ("a", True, ""),
            ("a", False, "task a is already running on this agent"),
            ("b", False, "at capacity (1 of 1 tasks running)"),
            ("c", False, "unknown task type 't.nope'"),
        }
        manager.stop_task("a", "the user cancelled it")
        result = result_of(manager, "a")
        assert (result.status, result.error) == (
            common_pb2.RESULT_STATUS_CANCELED,
            "the user cancelled it",
        )
        # The slot is free again.
        manager.start_task("d", "t.count")
        assert result_of(manager, "d").status == common_pb2.RESULT_STATUS_SUCCEEDED


def test_heartbeats_report_load_and_can_stop_tasks(manager: FakeManager, socket_path: str) -> None:
    with running(make_agent(socket_path, max_concurrency=2)):
        manager.start_task("a", "t.block")
        assert manager.wait_for(
            lambda: any(list(h.running_task_ids) == ["a"] for h in manager.heartbeats)
        )
        beat = next(h for h in manager.heartbeats if list(h.running_task_ids) == ["a"])
        assert (beat.load, beat.session_token) == (0.5, "session-1")
        with manager.cond:
            manager.stop_on_heartbeat.append("a")
        result = result_of(manager, "a")
    assert (result.status, result.error) == (
        common_pb2.RESULT_STATUS_CANCELED,
        "stopped by the manager",
    )


def test_a_late_heartbeat_answer_stops_only_the_run_it_reported(
    manager: FakeManager, socket_path: str
) -> None:
    # The manager's answer to a heartbeat names the runs that heartbeat reported. When it comes
    # late, after that run ended and the next attempt of the same task started, the new run goes
    # on: the stop was never about it.
    with running(make_agent(socket_path, max_concurrency=2)):
        manager.start_task("a", "t.block")
        assert manager.wait_for(lambda: manager.messages("a") == ["waiting"])
        release = manager.hold("Heartbeat")
        with manager.cond:
            manager.stop_on_heartbeat.append("a")
            seen = manager.calls["Heartbeat"]
        # A heartbeat that lists the first run is on its way, and held.
        assert manager.wait_for(lambda: manager.calls["Heartbeat"] > seen)
        manager.stop_task("a", "first run stopped")
        assert result_of(manager, "a").error == "first run stopped"
        with manager.cond:
            del manager.finished["a"]
            manager.stored.pop("a", None)
            answered = len(manager.heartbeats)
        manager.start_task("a", "t.block")  # the next attempt, on the same agent
        assert manager.wait_for(lambda: manager.messages("a") == ["waiting"])
        release.set()

        # The held answer (stop "a") is computed as the call is recorded; later ones stop nothing.
        def late_answer_given() -> bool:
            if len(manager.heartbeats) <= answered:
                return False
            manager.stop_on_heartbeat.clear()
            return True

        assert manager.wait_for(late_answer_given)
        assert manager.wait_for(lambda: len(manager.heartbeats) > answered + 1)
        assert "a" not in manager.finished, manager.finished.get("a")
        manager.stop_task("a", "second run stopped")
        assert result_of(manager, "a").error == "second run stopped"


def test_a_forgotten_session_registers_again(manager: FakeManager, socket_path: str) -> None:
    with running(make_agent(socket_path)):
        assert manager.wait_for(lambda: manager.heartbeats)
        manager.forget_sessions()  # heartbeats now get FAILED_PRECONDITION
        assert manager.wait_for(lambda: len(manager.registrations) == 2)
        assert manager.wait_for(lambda: manager.heartbeats[-1].session_token == "session-2")


def test_after_a_manager_restart_it_reregisters_and_delivers_everything(
    socket_path: str,
) -> None:
    first = FakeManager(socket_path)
    agent = make_agent(socket_path)
    release: threading.Event = agent.release  # type: ignore[attr-defined]
    second: FakeManager | None = None
    try:
        with running(agent):
            first.start_task("a", "t.gated")
            assert first.wait_for(lambda: first.messages("a") == ["before"])
            first.stop()
            # The manager comes back on the same socket. (The real one reads the lines it stored
            # back from disk; this one never saw line 1, so line 2 must not wait for it.)
            second = FakeManager(socket_path, log_order_wait=0)
            assert second.wait_for(lambda: second.registrations)
            assert list(second.registrations[0].running_task_ids) == ["a"]
            release.set()
            result = result_of(second, "a")
    finally:
        if second is not None:
            second.stop()
    assert result.status == common_pb2.RESULT_STATUS_SUCCEEDED
    # Numbering goes on where it was. Line 1 reaches the new manager too if the old one stored it
    # but went away before its acknowledgement arrived (the manager ignores such duplicates).
    assert second.stored["a"][2].message == "after"
    assert set(first.stored["a"]) | set(second.stored["a"]) == {1, 2}


def test_tasks_the_manager_disowns_on_reregistration_are_cancelled(socket_path: str) -> None:
    first = FakeManager(socket_path)
    second: FakeManager | None = None
    try:
        with running(make_agent(socket_path)):
            first.start_task("a", "t.block")
            assert first.wait_for(lambda: first.messages("a") == ["waiting"])
            first.stop()
            second = FakeManager(socket_path)
            second.stop_on_register.append("a")
            second.fail_next("FinishTask", grpc.StatusCode.NOT_FOUND)  # it forgot the task
            assert second.wait_for(lambda: second.calls["FinishTask"] == 1)
            # The task is not reported any more once the manager refused its result.
            assert second.wait_for(
                lambda: bool(second.heartbeats) and not second.heartbeats[-1].running_task_ids
            )
    finally:
        if second is not None:
            second.stop()
    assert second.finished == {}


def test_results_are_retried_until_acknowledged(manager: FakeManager, socket_path: str) -> None:
    manager.fail_next("FinishTask", grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL)
    with running(make_agent(socket_path)):
        manager.start_task("t1", "t.count")
        result = result_of(manager, "t1")
    assert result.status == common_pb2.RESULT_STATUS_SUCCEEDED
    assert manager.calls["FinishTask"] == 3
    assert len(manager.registrations) >= 2  # UNAVAILABLE made it reconnect


def test_logs_are_retried_until_acknowledged(manager: FakeManager, socket_path: str) -> None:
    manager.fail_next("PushLogs", grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE)
    with running(make_agent(socket_path)):
        manager.start_task("t1", "t.count", json.dumps({"n": 1500}))
        assert result_of(manager, "t1").status == common_pb2.RESULT_STATUS_SUCCEEDED
    seqs = [line.seq for r in manager.log_requests for line in request_lines(r)]
    assert seqs == list(range(1, 1501))


def test_an_invalid_payload_fails_the_task(manager: FakeManager, socket_path: str) -> None:
    with running(make_agent(socket_path)):
        manager.start_task("t1", "t.count", "[1, 2]")
        result = result_of(manager, "t1")
    assert (result.status, result.error) == (
        common_pb2.RESULT_STATUS_FAILED,
        "the payload is not a JSON object",
    )


def test_stopping_cancels_running_tasks_and_delivers_their_results(
    manager: FakeManager, socket_path: str
) -> None:
    agent = make_agent(socket_path, max_concurrency=2)
    with running(agent) as thread:
        manager.start_task("a", "t.block")
        manager.start_task("b", "t.block")
        assert manager.wait_for(lambda: manager.messages("a") and manager.messages("b"))
        agent.stop()
        thread.join(10)
        assert not thread.is_alive()
    for task_id in ("a", "b"):
        result = manager.finished[task_id].result
        assert (result.status, result.error) == (
            common_pb2.RESULT_STATUS_CANCELED,
            "agent shutting down",
        )


def test_it_keeps_trying_until_a_manager_appears(socket_path: str) -> None:
    agent = make_agent(socket_path)
    with running(agent):
        manager = FakeManager(socket_path)  # nothing listened when the agent started
        try:
            assert manager.wait_for(lambda: manager.registrations)
        finally:
            manager.stop()


@pytest.mark.parametrize("reason", ["", "deadline passed"])
def test_a_stop_without_reason_gets_a_default_one(
    manager: FakeManager, socket_path: str, reason: str
) -> None:
    with running(make_agent(socket_path)):
        manager.start_task("a", "t.block")
        assert manager.wait_for(lambda: manager.messages("a") == ["waiting"])
        manager.stop_task("a", reason)
        result = result_of(manager, "a")
    assert result.error == (reason or "stopped by the manager")


def test_it_respects_the_managers_size_limits(socket_path: str) -> None:
    manager = FakeManager(socket_path, max_log_line_bytes=1000, max_message_bytes=20_000)
    try:
        with running(make_agent(socket_path)):
            manager.start_task("t1", "t.big", json.dumps({"n": 100, "size": 3000}))
            assert result_of(manager, "t1").status == common_pb2.RESULT_STATUS_SUCCEEDED
    finally:
        manager.stop()
    lines = [manager.stored["t1"][seq] for seq in range(1, 101)]
    assert all(len(line.message.encode()) <= 1000 for line in lines)
    assert all(line.fields["truncated"] == "true" for line in lines)
    assert lines[42].message.startswith("0042bbb")
    assert max(r.ByteSize() for r in manager.log_requests) <= 20_000
