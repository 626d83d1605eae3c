"""The agent protocol spoken directly over gRPC by a protocol-level agent written in the test:
tokens, duplicates, and the errors a misbehaving agent gets."""

from __future__ import annotations

import json
import queue
import threading

import grpc
import pytest
from harness import channel

from hyperagent.v1 import agent_pb2, agent_pb2_grpc, client_pb2, common_pb2

SCHEMA = json.dumps(
    {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}
)


class RawAgent:
    def __init__(self, socket, name="raw", schema=SCHEMA):
        self.ch = channel(socket)
        self.stub = agent_pb2_grpc.AgentServiceStub(self.ch)
        self.reg = self.stub.Register(
            agent_pb2.RegisterRequest(
                name=name,
                version="1",
                capabilities=[common_pb2.TaskType(name="raw.job", payload_schema_json=schema)],
                max_concurrency=2,
            ),
            timeout=30,
        )
        self.items: queue.Queue = queue.Queue()
        # Its side of the stream: the session first, then whatever a test puts (beats).
        self.outbox: queue.SimpleQueue = queue.SimpleQueue()
        self.outbox.put(agent_pb2.WorkRequest(session_token=self.reg.session_token))
        self.work = self.stub.Work(iter(self.outbox.get, None))
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        try:
            for item in self.work:
                self.items.put(item)
        except grpc.RpcError:
            pass
        self.items.put(None)  # the stream ended

    def _next_item(self):
        item = self.items.get(timeout=30)
        if item is None:
            raise ConnectionError("the work stream ended")
        return item

    def next_start(self):
        while True:
            item = self._next_item()
            if item.HasField("start"):
                return item.start

    def beat(self, seq, running):
        """A beat on the Work stream; returns its answer (commands before it are kept)."""
        self.outbox.put(
            agent_pb2.WorkRequest(beat=agent_pb2.Beat(seq=seq, load=0.5, running_task_ids=running))
        )
        kept = []
        while True:
            item = self._next_item()
            if item.HasField("beat"):
                for k in kept:
                    self.items.put(k)
                return item.beat
            kept.append(item)

    def close(self):
        self.outbox.put(None)
        self.work.cancel()
        self.ch.close()


def line(seq):
    return common_pb2.LogLine(seq=seq, level=common_pb2.LOG_LEVEL_INFO, message=f"line {seq}")


def code_of(fn, req):
    with pytest.raises(grpc.RpcError) as e:
        fn(req, timeout=30)
    return e.value.code(), e.value.details()


def test_tokens_scope_every_call_to_one_task_and_resent_logs_are_not_duplicated(manager):
    raw = RawAgent(manager.socket)
    a = manager.submit("raw.job", {"n": 1})
    b = manager.submit("raw.job", {"n": 2})
    starts = {s.task_id: s for s in (raw.next_start(), raw.next_start())}
    ta, tb = starts[a.id].capability_token, starts[b.id].capability_token
    assert starts[a.id].workspace.endswith(a.id)

    code, msg = code_of(raw.stub.PushLogs, agent_pb2.PushLogsRequest(task_id=a.id, lines=[line(1)]))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert msg.startswith("missing capability token")
    forged = ta[:-4] + ("AAAA" if not ta.endswith("AAAA") else "BBBB")
    code, msg = code_of(
        raw.stub.PushLogs,
        agent_pb2.PushLogsRequest(task_id=a.id, capability_token=forged, lines=[line(1)]),
    )
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "signature is wrong" in msg
    code, msg = code_of(
        raw.stub.PushLogs,
        agent_pb2.PushLogsRequest(task_id=a.id, capability_token=tb, lines=[line(1)]),
    )
    assert (code, msg) == (
        grpc.StatusCode.PERMISSION_DENIED,
        f"the capability token is for task {b.id}, not task {a.id}",
    )

    raw.stub.AnswerTask(
        agent_pb2.AnswerTaskRequest(task_id=a.id, capability_token=ta, accepted=True), timeout=30
    )
    # The three refusals are in the audit log (committed before the answer above was).
    audit = manager.client.ListAudit(client_pb2.ListAuditRequest(task_id=a.id), timeout=30)
    refused = [e for e in audit.entries if e.action == "token.refused"]
    assert len(refused) == 3
    assert "signature is wrong" in json.loads(refused[1].detail_json)["reason"]
    r1 = raw.stub.PushLogs(
        agent_pb2.PushLogsRequest(
            task_id=a.id, capability_token=ta, lines=[line(i) for i in (1, 2, 3)]
        ),
        timeout=30,
    )
    # The ack was "lost": the agent resends an overlapping batch.
    r2 = raw.stub.PushLogs(
        agent_pb2.PushLogsRequest(
            task_id=a.id, capability_token=ta, lines=[line(i) for i in (2, 3, 4)]
        ),
        timeout=30,
    )
    assert (r1.stored_seq, r2.stored_seq) == (3, 4)
    finish = agent_pb2.FinishTaskRequest(
        task_id=a.id,
        capability_token=ta,
        result=common_pb2.TaskResult(status=common_pb2.RESULT_STATUS_SUCCEEDED, summary="ok"),
    )
    done = raw.stub.FinishTask(finish, timeout=30)
    assert done.state == common_pb2.TASK_STATE_COMPLETED
    logs = manager.client.GetLogs(client_pb2.GetLogsRequest(task_id=a.id), timeout=30)
    assert [x.message for x in logs.lines] == [
        "line 1",
        "line 2",
        "line 3",
        "line 4",
    ]
    assert logs.complete
    # The finish's answer was "lost": the agent finishes again the same way, and is answered as
    # the first time.
    again = raw.stub.FinishTask(finish, timeout=30)
    assert again.state == common_pb2.TASK_STATE_COMPLETED
    # Ending it another way is refused.
    code, msg = code_of(
        raw.stub.FinishTask,
        agent_pb2.FinishTaskRequest(
            task_id=a.id,
            capability_token=ta,
            result=common_pb2.TaskResult(status=common_pb2.RESULT_STATUS_FAILED, exit_code=1),
        ),
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "has ended" in msg

    # A rejected task goes back to the queue with the reason recorded.
    raw.stub.AnswerTask(
        agent_pb2.AnswerTaskRequest(
            task_id=b.id, capability_token=tb, accepted=False, reason="busy"
        ),
        timeout=30,
    )
    again = raw.next_start()
    assert again.task_id == b.id
    assert again.attempt == 2
    assert manager.task(b.id).attempts[0].error == "rejected by agent `raw`: busy"
    code, _ = code_of(
        raw.stub.PushLogs,
        agent_pb2.PushLogsRequest(task_id=b.id, capability_token=tb, lines=[line(1)]),
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION, "attempt 1's token no longer works"
    raw.close()


def test_beats_on_the_work_stream_keep_the_agent_alive_and_are_answered_there(manager):
    raw = RawAgent(manager.socket, name="beater")
    # The first beat is answered; an idle one after it is not (the next answer is beat 3's).
    assert raw.beat(1, []).seq == 1
    raw.outbox.put(agent_pb2.WorkRequest(beat=agent_pb2.Beat(seq=2, load=0.0, running_task_ids=[])))
    a = manager.submit("raw.job", {"n": 1})
    start = raw.next_start()
    assert start.task_id == a.id
    assert raw.beat(3, [a.id]).seq == 3
    # A beat naming the task it holds and one the manager never gave it: the stranger is stopped.
    answer = raw.beat(7, [a.id, "no-such-task"])
    assert answer.seq == 7
    assert list(answer.stop_task_ids) == ["no-such-task"]
    # The beat's load is the agent's, as a Heartbeat call's would be.
    agents = manager.client.ListAgents(client_pb2.ListAgentsRequest(), timeout=30).agents
    beater = next(x for x in agents if x.id == raw.reg.agent_id)
    assert beater.status == common_pb2.AGENT_STATUS_ONLINE
    assert beater.load == 0.5
    # Canceled, the task is in the next beat's answer.
    manager.client.CancelTask(client_pb2.CancelTaskRequest(task_id=a.id), timeout=30)
    assert list(raw.beat(8, [a.id]).stop_task_ids) == [a.id]
    raw.close()


def test_an_agent_beating_on_its_stream_does_not_keep_a_stopping_manager_alive(manager):
    raw = RawAgent(manager.socket, name="beater")
    assert raw.beat(1, []).seq == 1
    # SIGTERM: the manager ends the stream (the agent is still beating on its side) and exits.
    assert manager.stop() == 0
    with pytest.raises(ConnectionError):
        raw.beat(2, [])  # the stream ended; nothing answers any more
    raw.close()


def test_bad_registrations_and_sessions_are_refused(manager):
    ch = channel(manager.socket)
    stub = agent_pb2_grpc.AgentServiceStub(ch)
    tt = common_pb2.TaskType(name="raw.job", payload_schema_json=SCHEMA)
    code, msg = code_of(
        stub.Register,
        agent_pb2.RegisterRequest(name="Bad Name", capabilities=[tt], max_concurrency=1),
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "agent name `Bad Name` is not allowed" in msg
    code, msg = code_of(
        stub.Register, agent_pb2.RegisterRequest(name="raw", capabilities=[tt], max_concurrency=0)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_concurrency must be between 1 and 1024" in msg
    broken = common_pb2.TaskType(name="raw.job", payload_schema_json='{"type": 5}')
    code, msg = code_of(
        stub.Register,
        agent_pb2.RegisterRequest(name="raw", capabilities=[broken], max_concurrency=1),
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert msg.startswith("task type `raw.job`: payload schema is not a valid JSON Schema")
    code, msg = code_of(stub.Heartbeat, agent_pb2.HeartbeatRequest(session_token="stale"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "register again" in msg
    first = RawAgent(manager.socket, name="raw-a")
    other = common_pb2.TaskType(name="raw.job", payload_schema_json='{"type": "object"}')
    code, msg = code_of(
        stub.Register,
        agent_pb2.RegisterRequest(name="raw-b", capabilities=[other], max_concurrency=1),
    )
    assert code in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.INVALID_ARGUMENT)
    assert "already offered by online agent `raw-a` with a different payload schema" in msg
    first.close()
    ch.close()


def test_a_log_batch_that_overtakes_its_predecessor_waits_for_it(manager):
    raw = RawAgent(manager.socket)
    t = manager.submit("raw.job", {"n": 1})
    start = raw.next_start()
    tok = start.capability_token
    raw.stub.AnswerTask(
        agent_pb2.AnswerTaskRequest(task_id=t.id, capability_token=tok, accepted=True), timeout=30
    )
    later = raw.stub.PushLogs.future(
        agent_pb2.PushLogsRequest(task_id=t.id, capability_token=tok, lines=[line(4), line(5)]),
        timeout=30,
    )
    first = raw.stub.PushLogs(
        agent_pb2.PushLogsRequest(
            task_id=t.id, capability_token=tok, lines=[line(1), line(2), line(3)]
        ),
        timeout=30,
    )
    assert first.stored_seq == 3
    assert later.result().stored_seq == 5
    logs = manager.client.GetLogs(client_pb2.GetLogsRequest(task_id=t.id), timeout=30)
    assert [x.seq for x in logs.lines] == [1, 2, 3, 4, 5]
    raw.close()


def test_log_lines_in_columns_are_stored_as_lines_and_malformed_columns_are_refused(manager):
    raw = RawAgent(manager.socket)
    t = manager.submit("raw.job", {"n": 1})
    tok = raw.next_start().capability_token
    raw.stub.AnswerTask(
        agent_pb2.AnswerTaskRequest(task_id=t.id, capability_token=tok, accepted=True), timeout=30
    )

    def columns(**changes):
        c = agent_pb2.LogColumns(
            first_seq=1,
            time_unix_nanos=[1_700_000_000_000_000_000, 1_700_000_001_000_000_000],
            levels=bytes([common_pb2.LOG_LEVEL_INFO, common_pb2.LOG_LEVEL_ERROR]),
            messages=["first", "second"],
            field_lines=[1, 1],
            field_keys=["file", "line"],
            field_values=["a.py", "7"],
        )
        for key, value in changes.items():
            c.ClearField(key)
            getattr(c, key).extend(value) if isinstance(value, list) else setattr(c, key, value)
        return agent_pb2.PushLogsRequest(task_id=t.id, capability_token=tok, columns=c)

    bad = {
        "a time missing": (columns(time_unix_nanos=[1]), "2 messages, 1 times and 2 levels"),
        "a field of no line": (columns(field_lines=[1, 2]), "batch of 2 lines"),
        "fields out of order": (columns(field_lines=[1, 0]), "line order"),
        "a key missing": (columns(field_keys=["file"]), "2 field lines, 1 keys and 2 values"),
    }
    for why, (request, says) in bad.items():
        code, msg = code_of(raw.stub.PushLogs, request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, why
        assert says in msg, (why, msg)
    both = columns()
    both.lines.append(line(1))
    assert "not in both" in code_of(raw.stub.PushLogs, both)[1]

    assert raw.stub.PushLogs(columns(), timeout=30).stored_seq == 2
    logs = manager.client.GetLogs(client_pb2.GetLogsRequest(task_id=t.id), timeout=30)
    assert [(x.seq, x.level, x.message, dict(x.fields)) for x in logs.lines] == [
        (1, common_pb2.LOG_LEVEL_INFO, "first", {}),
        (2, common_pb2.LOG_LEVEL_ERROR, "second", {"file": "a.py", "line": "7"}),
    ]
    assert logs.lines[1].time.seconds == 1_700_000_001
    raw.close()


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmRSS:"))
    return int(kb) * 1024


def test_an_agent_that_never_reads_its_stream_cannot_grow_the_managers_memory(manager):
    """Each beat naming tasks the agent does not hold is answered with them all (to stop); an
    agent that beats without ever reading its stream gets no answers queued past a few, whatever
    it sends: its stream backs up, not the manager's memory."""
    ch = channel(manager.socket)
    stub = agent_pb2_grpc.AgentServiceStub(ch)
    reg = stub.Register(
        agent_pb2.RegisterRequest(
            name="deaf",
            version="1",
            capabilities=[common_pb2.TaskType(name="raw.job", payload_schema_json=SCHEMA)],
            max_concurrency=2,
        ),
        timeout=30,
    )
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    outbox.put(agent_pb2.WorkRequest(session_token=reg.session_token))
    work = stub.Work(iter(outbox.get, None))  # its answers are never read
    strangers = [f"{n:036d}" for n in range(1024)]  # as many as an agent may hold, each an id
    before = rss_bytes(manager.proc.pid)
    beats = 2000  # ~80 MB of answers, were each queued
    for seq in range(1, beats + 1):
        outbox.put(
            agent_pb2.WorkRequest(
                beat=agent_pb2.Beat(seq=seq, load=0.5, running_task_ids=strangers)
            )
        )
    # The last beat says another load: once the registry shows it, every beat was read.
    outbox.put(agent_pb2.WorkRequest(beat=agent_pb2.Beat(seq=beats + 1, load=0.25)))
    while True:
        agents = manager.client.ListAgents(client_pb2.ListAgentsRequest(), timeout=30).agents
        if next(a for a in agents if a.id == reg.agent_id).load == 0.25:
            break
    grown = rss_bytes(manager.proc.pid) - before
    assert grown < 40 * 1024 * 1024, f"the manager grew {grown / 1e6:.0f} MB"
    outbox.put(None)
    work.cancel()
    ch.close()
