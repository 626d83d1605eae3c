"""Faults between a change and what it promises: a client that gives up while its change is being
stored, another connection holding the database's write lock, a retried call answered too early,
a restart after retention. A real manager on a real SQLite file; the test holds the database's
write lock itself (`BEGIN IMMEDIATE` on a second connection, as a long retention step or a
person's `sqlite3` shell would) to keep a commit in flight for as long as it needs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from harness import TERMINAL, Manager, wait_until
from test_protocol import RawAgent

from hyperagent.v1 import agent_pb2, client_pb2, common_pb2

#: Long enough that the manager's writer never gives up while a test holds the lock.
PATIENT = {"store": {"busy_timeout": "200ms", "write_lock_patience": "10m"}}
#: A client deadline that passes while the lock is held (the lock, not the time, decides).
GIVE_UP = 0.5
#: What a call cut off by its deadline ends with: the client's own deadline, or the server's
#: (it cancels the call once the deadline the client sent has passed).
GAVE_UP = {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


@contextmanager
def write_lock(m: Manager) -> Iterator[None]:
    """Holds the database's write lock: the manager's commits wait until the block ends."""
    db = sqlite3.connect(m.root / "data" / "hyperagent.db", isolation_level=None, timeout=30)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        db.execute("ROLLBACK")
    finally:
        db.close()


def test_a_submission_whose_client_gave_up_during_its_commit_still_runs(
    make_manager, start_agent
) -> None:
    m = make_manager(PATIENT).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    req = client_pb2.SubmitTaskRequest(
        task_type="echo.echo", payload_json=json.dumps({"message": "x"}), idempotency_key="k1"
    )
    with write_lock(m):
        with pytest.raises(grpc.RpcError) as gave_up:
            m.client.SubmitTask(req, timeout=GIVE_UP)
        assert gave_up.value.code() in GAVE_UP, gave_up.value
    # Stored once the lock is gone; the retry is the same task, and it runs.
    t = m.client.SubmitTask(req, timeout=30).task
    assert m.wait_state(t.id, *TERMINAL).state == common_pb2.TASK_STATE_COMPLETED
    assert len(m.client.ListTasks(client_pb2.ListTasksRequest()).tasks) == 1


def test_the_manager_waits_out_another_connections_write_lock(make_manager, start_agent) -> None:
    m = make_manager(PATIENT).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    with write_lock(m):
        answer = m.client.SubmitTask.future(
            client_pb2.SubmitTaskRequest(
                task_type="echo.echo", payload_json=json.dumps({"message": "after the lock"})
            ),
            timeout=60,
        )
        # Several busy timeouts pass while it waits; before, the first one stopped the manager.
        wait_until(
            lambda: (
                m.log.read_text().count("another connection holds the database's write lock") >= 3
            ),
            "the manager's commit waiting for the lock, three times",
        )
        assert m.proc is not None
        assert m.proc.poll() is None, m.log.read_text()[-2000:]
        assert not answer.done()
    t = answer.result().task
    assert m.wait_state(t.id, *TERMINAL).state == common_pb2.TASK_STATE_COMPLETED
    assert m.proc.poll() is None


def test_a_retried_finish_is_not_acknowledged_before_the_first_is_stored(make_manager) -> None:
    m = make_manager(PATIENT).start()
    raw = RawAgent(m.socket)
    t = m.submit("raw.job", {"n": 1})
    s = raw.next_start()
    raw.stub.AnswerTask(
        agent_pb2.AnswerTaskRequest(
            task_id=t.id, capability_token=s.capability_token, accepted=True
        ),
        timeout=30,
    )
    fin = agent_pb2.FinishTaskRequest(
        task_id=t.id,
        capability_token=s.capability_token,
        result=common_pb2.TaskResult(status=common_pb2.RESULT_STATUS_SUCCEEDED),
    )
    with write_lock(m):
        with pytest.raises(grpc.RpcError) as first:
            raw.stub.FinishTask(fin, timeout=GIVE_UP)
        assert first.value.code() in GAVE_UP, first.value
        # The first end is in memory, not on disk: its retry is not told it is stored.
        with pytest.raises(grpc.RpcError) as retried:
            raw.stub.FinishTask(fin, timeout=GIVE_UP)
        assert retried.value.code() in GAVE_UP, retried.value
    # Stored now: the retry is answered as the first would have been.
    raw.stub.FinishTask(fin, timeout=30)
    assert m.task(t.id).state == common_pb2.TASK_STATE_COMPLETED
    raw.close()


def test_a_retried_message_is_not_acknowledged_before_the_first_is_stored(make_manager) -> None:
    m = make_manager(PATIENT).start()
    sender = RawAgent(m.socket, name="sender")
    RawAgent(m.socket, name="receiver")
    send = agent_pb2.SendMessageRequest(
        session_token=sender.reg.session_token,
        to_agent="receiver",
        kind="note",
        body_json=json.dumps({"x": 1}),
        idempotency_key="once",
    )
    with write_lock(m):
        with pytest.raises(grpc.RpcError) as first:
            sender.stub.SendMessage(send, timeout=GIVE_UP)
        assert first.value.code() in GAVE_UP, first.value
        with pytest.raises(grpc.RpcError) as retried:
            sender.stub.SendMessage(send, timeout=GIVE_UP)
        assert retried.value.code() in GAVE_UP, retried.value
    again = sender.stub.SendMessage(send, timeout=30)
    assert not again.created
    sent = m.client.ListMessages(client_pb2.ListMessagesRequest(), timeout=30).messages
    assert [x.id for x in sent] == [again.message_id]


def test_feed_numbers_are_never_given_twice_after_retention_and_a_restart(
    make_manager, start_agent
) -> None:
    m = make_manager(
        {
            "store": {
                "task_retention": "1s",
                "log_retention": "1s",
                "retention_sweep_interval": "200ms",
            }
        }
    ).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    # Enough events that a numbering started again after retention would stay below the last.
    for i in range(10):
        t = m.submit("echo.echo", {"message": f"x{i}"})
        top = m.wait_event(
            lambda e: e.HasField("task_state") and e.task_state.to in TERMINAL, task_id=t.id
        ).seq

    def swept() -> bool:
        try:
            m.task(t.id)
        except grpc.RpcError as e:
            return e.code() == grpc.StatusCode.NOT_FOUND
        return False

    wait_until(swept, "the ended task deleted by retention")
    m.kill9()
    m.start()
    u = m.submit("echo.echo", {"message": "y"})
    ended = m.wait_event(
        lambda e: e.HasField("task_state") and e.task_state.to in TERMINAL,
        after=top,
        task_id=u.id,
    )
    assert ended.seq > top


def test_a_grant_for_the_rest_of_a_task_outlives_a_restart(make_manager, tmp_path: Path) -> None:
    m = make_manager({**PATIENT, "consent": {"timeout": "30s"}}).start()
    raw = RawAgent(m.socket)
    t = m.submit("raw.job", {"n": 1})
    s = raw.next_start()
    outside = str(tmp_path / "outside")
    ask = agent_pb2.RequestConsentRequest(
        task_id=t.id,
        capability_token=s.capability_token,
        kind="write",
        target=outside,
        reason="to write there",
    )
    asked = raw.stub.RequestConsent.future(ask, timeout=30)
    pending = m.wait_event(lambda e: e.HasField("consent"), task_id=t.id).consent
    m.client.AnswerConsent(
        client_pb2.AnswerConsentRequest(id=pending.id, answer=client_pb2.CONSENT_ANSWER_TASK),
        timeout=30,
    )
    assert asked.result().granted
    raw.close()
    m.kill9()
    m.start()
    again = RawAgent(m.socket)
    s2 = again.next_start()
    assert s2.task_id == t.id
    assert s2.attempt > s.attempt
    answer = again.stub.RequestConsent(
        agent_pb2.RequestConsentRequest(
            task_id=t.id,
            capability_token=s2.capability_token,
            kind="write",
            target=outside,
            reason="again, after the restart",
        ),
        timeout=30,
    )
    assert answer.granted, answer
    again.close()


def a_running_plan(m: Manager) -> tuple[client_pb2.Plan, str]:
    """A plan of one long `echo.sleep` step, accepted, its task running; the plan and the task."""
    asked = m.client.Ask(client_pb2.AskRequest(text="sleep for 600 seconds"), timeout=30)
    assert [s.step.task_type for s in asked.plan.steps] == ["echo.sleep"], asked
    plan = m.client.AcceptPlan(client_pb2.AcceptPlanRequest(plan_id=asked.plan.id), timeout=30)
    task_id = plan.steps[0].task_ids[0]
    wait_until(
        lambda: m.task(task_id).state == common_pb2.TASK_STATE_RUNNING, "the step's task running"
    )
    return plan, task_id


def test_a_plan_cancel_whose_client_gave_up_still_stops_its_tasks(
    make_manager, start_agent
) -> None:
    m = make_manager(PATIENT).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    plan, task_id = a_running_plan(m)
    with write_lock(m):
        with pytest.raises(grpc.RpcError) as gave_up:
            m.client.CancelPlan(client_pb2.CancelPlanRequest(plan_id=plan.id), timeout=GIVE_UP)
        assert gave_up.value.code() in GAVE_UP, gave_up.value
    assert m.wait_state(task_id, *TERMINAL).state == common_pb2.TASK_STATE_CANCELED
    wait_until(
        lambda: (
            m.client.GetPlan(client_pb2.GetPlanRequest(plan_id=plan.id), timeout=30).state
            == client_pb2.PLAN_STATE_CANCELED
        ),
        "the plan cancelled",
    )


def test_a_plan_accepted_by_a_client_that_gave_up_still_starts(make_manager, start_agent) -> None:
    m = make_manager(PATIENT).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    asked = m.client.Ask(client_pb2.AskRequest(text="echo hello there"), timeout=30)
    assert [s.step.task_type for s in asked.plan.steps] == ["echo.echo"], asked
    with write_lock(m):
        with pytest.raises(grpc.RpcError) as gave_up:
            m.client.AcceptPlan(
                client_pb2.AcceptPlanRequest(plan_id=asked.plan.id), timeout=GIVE_UP
            )
        assert gave_up.value.code() in GAVE_UP, gave_up.value

    def ended() -> client_pb2.Plan | None:
        p = m.client.GetPlan(client_pb2.GetPlanRequest(plan_id=asked.plan.id), timeout=30)
        return (
            p
            if p.state in (client_pb2.PLAN_STATE_SUCCEEDED, client_pb2.PLAN_STATE_FAILED)
            else None
        )

    wait_until(lambda: ended() is not None, "the plan ended")
    assert ended().state == client_pb2.PLAN_STATE_SUCCEEDED
