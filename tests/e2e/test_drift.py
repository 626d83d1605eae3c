"""Drift: a running task that has stopped getting anywhere is noticed by the manager from what it
already sees, said on the feed and in the audit log, and cancelled when configured so. Real
manager; a real Python echo agent for the silent task, a protocol-level agent for the loop."""

from __future__ import annotations

import json

from harness import Manager
from test_protocol import RawAgent, line

from hyperagent.v1 import agent_pb2, client_pb2, common_pb2


def drift_entries(m: Manager, task_id: str) -> list[dict]:
    entries = m.client.ListAudit(
        client_pb2.ListAuditRequest(task_id=task_id, action="task.drift"), timeout=30
    ).entries
    return [json.loads(e.detail_json) for e in entries]


def test_a_real_agents_silent_task_is_flagged_and_keeps_running(make_manager, start_agent):
    m = make_manager({"drift": {"silent_after": "1s"}}).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    # One progress step at the start, then a long sleep in silence.
    t = m.submit("echo.sleep", {"seconds": 3600, "steps": 1})
    ev = m.wait_event(lambda e: e.HasField("task_drift") and e.task_drift.task_id == t.id)
    assert ev.task_drift.drift == "silent"
    assert ev.task_drift.action == "warned"
    assert "nothing logged or reported for" in ev.task_drift.evidence
    assert m.task(t.id).state == common_pb2.TASK_STATE_RUNNING
    [entry] = drift_entries(m, t.id)
    assert entry["drift"] == "silent"
    m.client.CancelTask(client_pb2.CancelTaskRequest(task_id=t.id), timeout=30)


def test_a_task_logging_the_same_line_over_and_over_is_cancelled_when_so_configured(make_manager):
    m = make_manager({"drift": {"repeat_lines": 5, "on_drift": "cancel"}}).start()
    raw = RawAgent(m.socket)
    t = m.submit("raw.job", {"n": 1})
    start = raw.next_start()
    tok = start.capability_token
    raw.stub.AnswerTask(
        agent_pb2.AnswerTaskRequest(task_id=t.id, capability_token=tok, accepted=True), timeout=30
    )
    # A different line, then the same one five times.
    same = [
        common_pb2.LogLine(seq=n, level=common_pb2.LOG_LEVEL_ERROR, message="retry: refused")
        for n in range(2, 7)
    ]
    raw.stub.PushLogs(
        agent_pb2.PushLogsRequest(task_id=t.id, capability_token=tok, lines=[line(1), *same]),
        timeout=30,
    )
    ev = m.wait_event(lambda e: e.HasField("task_drift") and e.task_drift.task_id == t.id)
    assert (ev.task_drift.drift, ev.task_drift.action) == ("repeating", "cancelled")
    assert "5 times in a row" in ev.task_drift.evidence
    assert "retry: refused" in ev.task_drift.evidence
    # The agent is told to stop it, as after a person's cancel.
    while True:
        item = raw._next_item()
        if item.HasField("stop"):
            assert item.stop.task_id == t.id
            break
    assert m.task(t.id).cancel_requested
    assert "seemed stuck" in m.task(t.id).status_reason
    raw.close()
