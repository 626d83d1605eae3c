"""Registration, heartbeats, dispatch by capability, and what happens when agents die or freeze."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from harness import TERMINAL, pid_alive, pids_running, wait_until

from hyperagent.v1 import client_pb2, common_pb2

HERE = Path(__file__).parent


def test_an_agent_registers_with_its_capabilities_and_heartbeats(manager, start_agent):
    agent = start_agent(manager.socket, name="echo")
    manager.wait_agent("echo", online=True)
    a = manager.agents()["echo"]
    assert a.status == common_pb2.AGENT_STATUS_ONLINE
    assert a.pid == agent.pid
    assert sorted(c.name for c in a.capabilities) == [
        "echo.ask",
        "echo.echo",
        "echo.fail",
        "echo.sleep",
        "echo.spam",
    ]
    schema = json.loads(
        next(c for c in a.capabilities if c.name == "echo.sleep").payload_schema_json
    )
    assert schema["required"] == ["seconds"]
    first = a.last_heartbeat.ToMicroseconds()
    # Heartbeats keep arriving: the recorded time moves on while the agent stays online.
    wait_until(
        lambda: manager.agents()["echo"].last_heartbeat.ToMicroseconds() > first,
        "a later heartbeat",
    )
    assert manager.agents()["echo"].status == common_pb2.AGENT_STATUS_ONLINE


def test_tasks_go_only_to_agents_offering_their_type(manager, start_agent):
    start_agent(manager.socket, name="echo")
    start_agent(manager.socket, name="ping", module="ping_agent", PYTHONPATH=str(HERE))
    manager.wait_agent("echo", online=True)
    manager.wait_agent("ping", online=True)
    e = manager.submit("echo.echo", {"message": "hi"})
    p = manager.submit("ping.ping", {})
    e_done = manager.wait_state(e.id)
    p_done = manager.wait_state(p.id)
    assert (e_done.state, e_done.agent_id) == (common_pb2.TASK_STATE_COMPLETED, "echo")
    assert (p_done.state, p_done.agent_id) == (common_pb2.TASK_STATE_COMPLETED, "ping")
    assert json.loads(e_done.result.output_json)["message"] == "hi"
    assert p_done.result.summary == "pong"


def test_a_task_waits_in_the_queue_until_a_capable_agent_comes(manager, start_agent):
    start_agent(manager.socket, name="echo")
    manager.wait_agent("echo", online=True)
    # Take the only agent away: the task must queue, not fail, and say why.
    ag = manager.agents()["echo"]
    assert ag.status == common_pb2.AGENT_STATUS_ONLINE
    os.kill(ag.pid, signal.SIGTERM)
    manager.wait_agent("echo", online=False)
    t = manager.submit("echo.echo", {"message": "later"})
    wait_until(
        lambda: "waiting for an online agent" in manager.task(t.id).status_reason, "a queued reason"
    )
    assert manager.task(t.id).state == common_pb2.TASK_STATE_QUEUED
    start_agent(manager.socket, name="echo")
    assert manager.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED


def test_a_killed_agent_goes_offline_and_its_task_completes_on_another(manager, start_agent):
    a = start_agent(manager.socket, name="echo-a")
    b = start_agent(manager.socket, name="echo-b")
    manager.wait_agent("echo-a", online=True)
    manager.wait_agent("echo-b", online=True)
    t = manager.submit("echo.sleep", {"seconds": 3, "steps": 30})
    running = manager.wait_state(t.id, common_pb2.TASK_STATE_RUNNING)
    victim = a if running.agent_id == "echo-a" else b
    victim.signal(signal.SIGKILL)
    manager.wait_agent(running.agent_id, online=False)
    done = manager.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED
    assert done.agent_id != running.agent_id
    assert len(done.attempts) == 2
    assert "went offline" in done.attempts[0].error
    # The dead agent was never given work again.
    assert manager.agents()[running.agent_id].status == common_pb2.AGENT_STATUS_OFFLINE


def test_a_retry_keeps_every_line_of_each_attempt_and_shows_them_apart(manager, start_agent):
    """Each attempt's process numbers its lines from 1; none of the retry's may be taken for a
    resend of the first attempt's (they were before: its first lines were dropped)."""
    a = start_agent(manager.socket, name="echo-a")
    b = start_agent(manager.socket, name="echo-b")
    manager.wait_agent("echo-a", online=True)
    manager.wait_agent("echo-b", online=True)
    t = manager.submit("echo.sleep", {"seconds": 3, "steps": 12})
    # Kill its agent once the first attempt has stored a few lines.
    wait_until(lambda: len(manager.logs(t.id)) >= 3, "three lines of attempt 1")
    running = manager.task(t.id)
    (a if running.agent_id == "echo-a" else b).signal(signal.SIGKILL)
    done = manager.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert len(done.attempts) == 2

    lines = manager.logs(t.id)
    # The task-wide number is the resume cursor: 1..n with no gap.
    assert [x.seq for x in lines] == list(range(1, len(lines) + 1))
    assert {x.attempt for x in lines} == {1, 2}
    assert [x.attempt for x in lines] == sorted(x.attempt for x in lines)
    for n in (1, 2):
        mine = [x for x in lines if x.attempt == n]
        assert [x.attempt_seq for x in mine] == list(range(1, len(mine) + 1)), n
        assert mine[0].message == "sleeping", (n, mine[0].message)
    second = [x.message for x in lines if x.attempt == 2]
    assert second[1:13] == [f"slept step {i}/12" for i in range(1, 13)]

    # The CLI shows where the retry begins, and numbers each line in JSON.
    text = manager.cli("logs", t.id)
    assert text.returncode == 0, text.stderr
    out = text.stdout.splitlines()
    heading = out.index("-- attempt 2 --")
    assert out[heading + 1].endswith("INFO  sleeping seconds=3.0 steps=12"), out[heading + 1]
    assert sum(1 for x in out if x.startswith("-- attempt")) == 1
    js = [json.loads(x) for x in manager.cli("logs", t.id, "--json").stdout.splitlines()]
    assert [(x["attempt"], x["attempt_seq"]) for x in js] == [
        (x.attempt, x.attempt_seq) for x in lines
    ]


def test_a_frozen_agent_misses_heartbeats_and_is_told_to_stop_when_it_wakes(manager, start_agent):
    a = start_agent(manager.socket, name="echo-a")
    manager.wait_agent("echo-a", online=True)
    t = manager.submit(
        "echo.sleep", {"seconds": 2, "steps": 20}, pin_agent="echo-a", max_attempts=3
    )
    manager.wait_state(t.id, common_pb2.TASK_STATE_RUNNING)
    a.signal(signal.SIGSTOP)  # the process lives and its socket stays open, but it is silent
    off = manager.wait_agent("echo-a", online=False)
    assert "no heartbeat" in off.agent_status.reason
    requeued = manager.wait_state(t.id, common_pb2.TASK_STATE_QUEUED)
    assert "went offline" in requeued.attempts[0].error
    a.signal(signal.SIGCONT)
    # It comes back on its own, re-registers, is told to stop the old run, and runs the retry.
    manager.wait_agent("echo-a", online=True, after=off.seq)
    done = manager.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED
    assert [x.number for x in done.attempts] == [1, 2]
    assert done.attempts[1].agent_id == "echo-a"


def test_retries_are_spent_then_the_task_is_dead_lettered_with_every_error(
    make_manager, start_agent
):
    m = make_manager({"agents": {"answer_timeout": "300ms"}}).start()
    a = start_agent(m.socket, name="echo-a")
    m.wait_agent("echo-a", online=True)
    a.signal(signal.SIGSTOP)  # online until the heartbeat timeout, but it never answers
    t = m.submit("echo.echo", {"message": "x"}, max_attempts=2, pin_agent="echo-a")
    done = m.wait_state(t.id)
    a.signal(signal.SIGCONT)
    assert done.state == common_pb2.TASK_STATE_DEAD_LETTERED
    assert len(done.attempts) == 2
    assert all(x.error for x in done.attempts), done.attempts
    assert done.status_reason.startswith("gave up after 2 attempts: 1) on `echo-a`: ")
    assert done.state in TERMINAL


def test_cancel_of_a_running_task_ends_it_and_kills_its_children(manager, start_agent):
    start_agent(manager.socket, name="echo")
    manager.wait_agent("echo", online=True)
    t = manager.submit("echo.sleep", {"seconds": 987.654, "child": True})
    ev = manager.wait_event(
        lambda e: e.HasField("task_log") and "child_pid" in e.task_log.line.fields, task_id=t.id
    )
    child = int(ev.task_log.line.fields["child_pid"])
    assert pid_alive(child)
    grandchildren = pids_running("sleep", "987.654")
    assert grandchildren, "the child shell started a grandchild sleep"
    canceled = manager.client.CancelTask(
        client_pb2.CancelTaskRequest(task_id=t.id, reason="test"), timeout=30
    )
    assert canceled.cancel_requested
    done = manager.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_CANCELED
    assert done.status_reason == "cancelled: test"
    assert not pid_alive(child)
    wait_until(lambda: not any(pid_alive(g) for g in grandchildren), "grandchildren gone")
