"""Log streams, the resumable event feed, idempotency, and bad input."""

from __future__ import annotations

import json

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from harness import channel

from hyperagent.v1 import client_pb2, client_pb2_grpc, common_pb2


@pytest.fixture
def echo(manager, start_agent):
    start_agent(manager.socket, name="echo")
    manager.wait_agent("echo", online=True)
    return manager


def log_lines(m, task_id, after=0):
    """Every log line of a finished task via GetLogs, page by page."""
    out = []
    while True:
        page = m.client.GetLogs(
            client_pb2.GetLogsRequest(task_id=task_id, after_seq=after, limit=1000), timeout=30
        )
        out.extend(page.lines)
        if page.lines:
            after = page.lines[-1].seq
        if page.complete or not page.lines:
            return out


def test_a_live_log_stream_arrives_complete_and_in_order(echo):
    n = 20_000
    t = echo.submit("echo.spam", {"lines": n, "size": 60})
    seqs, numbers = [], []
    for ev in echo.events(after=0, task_id=t.id):
        if ev.HasField("task_log"):
            seqs.append(ev.task_log.line.seq)
            numbers.append(int(ev.task_log.line.fields["n"]))
        if ev.HasField("task_state") and ev.task_state.to == common_pb2.TASK_STATE_COMPLETED:
            break
    assert seqs == list(range(1, n + 1))
    assert numbers == list(range(1, n + 1))
    stored = log_lines(echo, t.id)
    assert [x.seq for x in stored] == list(range(1, n + 1))
    assert stored[41].message.startswith("line 42 ")
    assert echo.task(t.id).result.summary.startswith(f"logged {n} lines")


def test_a_subscriber_that_reconnects_from_its_cursor_misses_nothing(echo):
    t = echo.submit("echo.spam", {"lines": 5_000, "size": 40})
    first = echo.events(after=0, task_id=t.id)
    seen = []
    for ev in first:
        seen.append(ev.seq)
        if len(seen) == 1_234:
            break
    first.cancel()  # the client drops mid-stream
    cursor = seen[-1]
    for ev in echo.events(after=cursor, task_id=t.id):
        seen.append(ev.seq)
        if ev.HasField("task_state") and ev.task_state.to == common_pb2.TASK_STATE_COMPLETED:
            break
    full = []
    for ev in echo.events(after=0, task_id=t.id):
        full.append(ev.seq)
        if ev.HasField("task_state") and ev.task_state.to == common_pb2.TASK_STATE_COMPLETED:
            break
    assert seen == full, "the resumed stream has a gap or a duplicate"
    assert len(set(full)) == len(full)
    assert full == sorted(full)


def test_the_feed_from_now_shows_only_new_events(echo):
    old = echo.submit("echo.echo", {"message": "old"})
    echo.wait_state(old.id)
    stream = echo.events(after=None)
    new = echo.submit("echo.echo", {"message": "new"})
    for ev in stream:
        assert not (ev.HasField("task_state") and ev.task_state.task_id == old.id)
        if (
            ev.HasField("task_state")
            and ev.task_state.task_id == new.id
            and ev.task_state.to in (common_pb2.TASK_STATE_COMPLETED,)
        ):
            break
    stream.cancel()


def test_submitting_twice_with_one_idempotency_key_gives_one_task(echo):
    req = client_pb2.SubmitTaskRequest(
        task_type="echo.echo", payload_json='{"message": "once"}', idempotency_key="k-1"
    )
    a = echo.client.SubmitTask(req, timeout=30)
    b = echo.client.SubmitTask(req, timeout=30)
    assert a.created
    assert not b.created
    assert a.task.id == b.task.id
    echo.wait_state(a.task.id)
    c = echo.client.SubmitTask(req, timeout=30)  # still the same after it ended
    assert c.task.id == a.task.id
    assert not c.created
    tasks = echo.client.ListTasks(client_pb2.ListTasksRequest(), timeout=30).tasks
    assert [t.id for t in tasks if t.idempotency_key == "k-1"] == [a.task.id]
    with pytest.raises(grpc.RpcError) as err:
        echo.client.SubmitTask(
            client_pb2.SubmitTaskRequest(
                task_type="echo.echo", payload_json='{"message": "other"}', idempotency_key="k-1"
            ),
            timeout=30,
        )
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "idempotency key `k-1` was already used" in err.value.details()


def rpc_error(fn, *args, **kw):
    with pytest.raises(grpc.RpcError) as err:
        fn(*args, timeout=30, **kw)
    return err.value.code(), err.value.details()


def test_bad_inputs_get_clear_errors_and_break_nothing(echo):
    c = echo.client
    code, msg = rpc_error(
        c.SubmitTask, client_pb2.SubmitTaskRequest(task_type="echo.nope", payload_json="{}")
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        msg == "unknown task type `echo.nope`; known task types: echo.ask, echo.echo, echo.fail, "
        "echo.sleep, echo.spam"
    )

    code, msg = rpc_error(
        c.SubmitTask,
        client_pb2.SubmitTaskRequest(task_type="echo.sleep", payload_json='{"seconds": -1}'),
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert msg.startswith(
        "payload for task type `echo.sleep` does not match its schema: /seconds: "
    )

    code, msg = rpc_error(
        c.SubmitTask,
        client_pb2.SubmitTaskRequest(task_type="echo.sleep", payload_json='{"seconds": 1, "x": 2}'),
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Additional properties" in msg

    code, msg = rpc_error(
        c.SubmitTask,
        client_pb2.SubmitTaskRequest(task_type="echo.echo", payload_json='{"message": '),
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert msg.startswith("payload is not valid JSON: ")
    assert "line 1" in msg

    # Larger than server.max_message_bytes (4 MiB): refused by the transport, the manager stays up.
    big = json.dumps({"message": "x" * (5 << 20)})
    code, msg = rpc_error(
        c.SubmitTask, client_pb2.SubmitTaskRequest(task_type="echo.echo", payload_json=big)
    )
    # (tonic reports it as OUT_OF_RANGE, other servers as RESOURCE_EXHAUSTED)
    assert code in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.OUT_OF_RANGE), msg
    assert "message length too large" in msg
    assert "4194304" in msg

    # Larger than tasks.max_payload_bytes (1 MiB) but within the message limit.
    mid = json.dumps({"message": "x" * (2 << 20)})
    code, msg = rpc_error(
        c.SubmitTask, client_pb2.SubmitTaskRequest(task_type="echo.echo", payload_json=mid)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "tasks.max_payload_bytes" in msg

    code, msg = rpc_error(c.GetTask, client_pb2.GetTaskRequest(task_id="no-such-task"))
    assert (code, msg) == (grpc.StatusCode.NOT_FOUND, "no task with id `no-such-task`")
    code, _ = rpc_error(c.CancelTask, client_pb2.CancelTaskRequest(task_id="no-such-task"))
    assert code == grpc.StatusCode.NOT_FOUND
    code, _ = rpc_error(c.GetLogs, client_pb2.GetLogsRequest(task_id="no-such-task"))
    assert code == grpc.StatusCode.NOT_FOUND
    code, msg = rpc_error(
        c.SubmitTask,
        client_pb2.SubmitTaskRequest(
            task_type="echo.echo", payload_json='{"message": "x"}', pin_agent="ghost"
        ),
    )
    assert (code, msg) == (grpc.StatusCode.NOT_FOUND, "no agent with id `ghost`")
    code, msg = rpc_error(c.ListTasks, client_pb2.ListTasksRequest(states=[42]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a task state" in msg

    # Nothing else was affected: a normal task still runs to completion.
    t = echo.submit("echo.echo", {"message": "still fine"})
    assert echo.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED


def test_cancelling_an_ended_task_says_so(echo):
    t = echo.submit("echo.echo", {"message": "x"})
    echo.wait_state(t.id)
    code, msg = rpc_error(echo.client.CancelTask, client_pb2.CancelTaskRequest(task_id=t.id))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert msg == f"task {t.id} already ended (completed); there is nothing to cancel"


def test_a_failing_handler_fails_the_task_with_its_error(echo):
    t = echo.submit("echo.fail", {"message": "boom"})
    done = echo.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "boom" in done.result.error
    assert len(done.attempts) == 1, "a failure the agent reports is not retried"


def test_the_tcp_listener_needs_the_bearer_token(make_manager):
    m = make_manager({"server": {"tcp": "127.0.0.1:0"}}).start()
    disc = json.loads((m.root / "run" / "manager.json").read_text())
    assert (m.root / "run" / "manager.json").stat().st_mode & 0o777 == 0o600
    addr, token = disc["tcp"]["address"], disc["tcp"]["token"]
    ch = grpc.insecure_channel(addr)
    stub = client_pb2_grpc.ClientServiceStub(ch)
    code, msg = rpc_error(stub.ListAgents, client_pb2.ListAgentsRequest())
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "Bearer" in msg
    code, msg = rpc_error(
        stub.ListAgents, client_pb2.ListAgentsRequest(), metadata=[("authorization", "Bearer nope")]
    )
    assert (code, msg) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "wrong bearer token for the TCP listener",
    )
    ok = stub.ListAgents(
        client_pb2.ListAgentsRequest(), metadata=[("authorization", f"Bearer {token}")], timeout=30
    )
    assert list(ok.agents) == []
    ch.close()


def test_health_and_reflection_answer_stock_clients(manager):
    ch = channel(manager.socket)
    health = health_pb2_grpc.HealthStub(ch)
    for svc in ("", "hyperagent.v1.ClientService", "hyperagent.v1.AgentService"):
        resp = health.Check(health_pb2.HealthCheckRequest(service=svc), timeout=30)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING, svc
    refl = reflection_pb2_grpc.ServerReflectionStub(ch)
    resp = next(
        iter(
            refl.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=30
            )
        )
    )
    names = {s.name for s in resp.list_services_response.service}
    assert {
        "hyperagent.v1.ClientService",
        "hyperagent.v1.AgentService",
        "grpc.health.v1.Health",
    } <= names
    ch.close()
