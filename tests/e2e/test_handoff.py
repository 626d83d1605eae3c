"""Hand-offs through the real manager and a real Python agent on the SDK: a task passes its work
on to another task type on the same folder, in one commit; a pair handing work back and forth is
flagged as drift within three hops (warned, or refused when `drift.on_drift` cancels); a bad
hand-off is refused with what is wrong and the task goes on."""

from __future__ import annotations

import json
from pathlib import Path

from harness import Manager

from hyperagent.v1 import client_pb2, common_pb2

HERE = Path(__file__).resolve().parent


def audit(m: Manager, action: str) -> list[client_pb2.AuditEntry]:
    return list(m.client.ListAudit(client_pb2.ListAuditRequest(action=action), timeout=30).entries)


def chain(m: Manager, first: client_pb2.Task) -> list[client_pb2.Task]:
    """The tasks the work went through, from `first`, each once it ended."""
    out = [m.wait_state(first.id)]
    while out[-1].result.output_json and "handed_off_to" in out[-1].result.output_json:
        out.append(m.wait_state(json.loads(out[-1].result.output_json)["handed_off_to"]))
    return out


def test_a_looping_pair_is_flagged_within_three_hops_and_the_work_keeps_its_folder(
    make_manager, start_agent
):
    m = make_manager({}).start()
    start_agent(m.socket, name="relay", module="relay_agent", PYTHONPATH=str(HERE))
    m.wait_agent("relay", online=True)
    first = m.submit("relay.write", {"hops": 3})
    tasks = chain(m, first)
    assert [t.task_type for t in tasks] == [
        "relay.write",
        "relay.review",
        "relay.write",
        "relay.review",
    ]
    assert all(t.state == common_pb2.TASK_STATE_COMPLETED for t in tasks), [
        t.status_reason for t in tasks
    ]
    assert {t.workspace for t in tasks} == {first.workspace}
    turns = (Path(first.workspace) / "turns.txt").read_text().splitlines()
    assert turns == [f"{t.task_type} {t.id}" for t in tasks]
    assert "handed off by agent `relay` to `relay.review`" in tasks[0].status_reason
    assert tasks[1].handed_off.from_task == tasks[0].id
    assert list(tasks[1].handed_off.chain) == ["relay.write"]
    assert tasks[1].handed_off.note == "2 hops to go"
    assert not tasks[0].HasField("handed_off")
    shown = m.cli("task", tasks[1].id)
    assert shown.returncode == 0, shown.stderr
    assert (
        f"handed off from task {tasks[0].id} (relay.write -> relay.review): 2 hops to go"
        in shown.stdout
    ), shown.stdout
    # Every hand-off audited; the third task (hop 2) is where the loop shows, with its evidence.
    handed = [json.loads(e.detail_json) for e in audit(m, "task.handoff")]
    assert [h["to_task"] for h in handed] == [t.id for t in tasks[1:]]
    assert handed[1]["chain"] == ["relay.write", "relay.review"]
    drifts: dict[str, list[dict]] = {}
    for e in audit(m, "task.drift"):
        drifts.setdefault(e.task_id, []).append(json.loads(e.detail_json))
    assert tasks[0].id not in drifts
    looped = {
        "drift": "handoff_loop",
        "evidence": "handed back to `relay.write`: relay.write -> relay.review -> relay.write",
        "action": "warned",
    }
    # On the task that handed it back and on the one that took it, at the second hop.
    assert looped in drifts[tasks[1].id]
    assert looped in drifts[tasks[2].id]
    # Each task's own log lines were delivered before it ended.
    assert any("my turn: relay.write" in line.message for line in m.logs(tasks[0].id))


def test_a_loop_is_refused_when_drift_cancels_and_a_bad_hand_off_fails_the_task_saying_why(
    make_manager, start_agent
):
    m = make_manager({"drift": {"on_drift": "cancel"}}).start()
    start_agent(m.socket, name="relay", module="relay_agent", PYTHONPATH=str(HERE))
    m.wait_agent("relay", online=True)
    tasks = chain(m, m.submit("relay.write", {"hops": 3}))
    assert [t.state for t in tasks] == [
        common_pb2.TASK_STATE_COMPLETED,
        common_pb2.TASK_STATE_CANCELED,
    ]
    assert "relay.write -> relay.review -> relay.write" in tasks[1].status_reason
    # A task type no agent offers: the hand-off is refused, the handler's error fails the task.
    bad = m.wait_state(m.submit("relay.write", {"hops": 1, "to": "no.such"}).id)
    assert bad.state == common_pb2.TASK_STATE_FAILED
    assert "the manager refused the hand-off" in bad.status_reason, bad.status_reason
    assert "unknown task type `no.such`" in bad.status_reason
