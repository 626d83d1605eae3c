"""Messages between agents through the real manager and real Python agents on the SDK: stored,
delivered at least once on the recipient's Work stream, acknowledged; redelivered after the
worker is killed with no second effect (its idempotency key); dead-lettered after the allowed
deliveries; refused with what is wrong."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness import Manager, wait_until

from hyperagent.v1 import client_pb2, common_pb2

HERE = Path(__file__).resolve().parent


def audit(m: Manager, action: str) -> list[dict]:
    entries = m.client.ListAudit(client_pb2.ListAuditRequest(action=action), timeout=30).entries
    return [json.loads(e.detail_json) for e in entries]


def send(m: Manager, **payload: object) -> client_pb2.Task:
    t = m.submit("mail.send", payload, pin_agent="sender")
    return m.wait_state(t.id)


def test_a_message_redelivered_after_the_worker_is_killed_has_one_effect(
    make_manager, start_agent, tmp_path
):
    m = make_manager({"messages": {"ack_timeout": "1s", "max_deliveries": 3}}).start()
    effects = tmp_path / "effects.txt"
    env = {"PYTHONPATH": str(HERE), "MAIL_EFFECTS": str(effects)}
    start_agent(m.socket, name="sender", module="mail_agent", **env)
    worker = start_agent(m.socket, name="worker", module="mail_agent", **env)
    m.wait_agent("sender", online=True)
    m.wait_agent("worker", online=True)

    done = send(m, to_agent="worker", kind="work", body={"die_before_ack": True}, key="job-1")
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    out = json.loads(done.result.output_json)
    assert out["to_agent"] == "worker"
    assert out["created"] is True
    # The worker did the work, then died before acknowledging it.
    assert worker.proc is not None
    assert worker.proc.wait(timeout=30) == 3
    assert effects.read_text() == "job-1\n"
    # It comes back; the manager delivers the message again; the key keeps the effect to one.
    start_agent(m.socket, name="worker", module="mail_agent", **env)
    wait_until(
        lambda: any(a["message"] == out["message_id"] for a in audit(m, "message.acked")),
        "the redelivered message acknowledged",
    )
    [acked] = [a for a in audit(m, "message.acked") if a["message"] == out["message_id"]]
    assert acked["deliveries"] == 2
    assert effects.read_text() == "job-1\n"
    # Sending again with the same key is the same message: nothing new is delivered.
    again = json.loads(send(m, to_agent="worker", kind="work", key="job-1").result.output_json)
    assert (again["message_id"], again["created"]) == (out["message_id"], False)
    [sent] = [a for a in audit(m, "message.sent") if a["message"] == out["message_id"]]
    assert sent["idempotency_key"] == "job-1"


def test_a_message_no_handler_takes_is_dead_lettered_and_bad_ones_are_refused(
    make_manager, start_agent, tmp_path
):
    m = make_manager({"messages": {"ack_timeout": "1s", "max_deliveries": 2}}).start()
    env = {"PYTHONPATH": str(HERE), "MAIL_EFFECTS": str(tmp_path / "effects.txt")}
    start_agent(m.socket, name="sender", module="mail_agent", **env)
    start_agent(m.socket, name="worker", module="mail_agent", **env)
    m.wait_agent("sender", online=True)
    m.wait_agent("worker", online=True)
    # To a role: an online agent offering the task type (both do; the least busy one).
    done = send(m, to_role="mail.send", kind="fail", body={"n": 1})
    out = json.loads(done.result.output_json)
    assert out["to_agent"] in {"sender", "worker"}
    wait_until(
        lambda: any(a["message"] == out["message_id"] for a in audit(m, "message.dead_lettered")),
        "the failing message dead-lettered",
    )
    [dead] = [a for a in audit(m, "message.dead_lettered") if a["message"] == out["message_id"]]
    assert "after 2 deliveries" in dead["reason"]
    # The person sees it, and why, in `hyperagent messages`.
    listed = m.cli("messages", "--state", "dead_lettered", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["id"], row["state"], row["deliveries"]) == (out["message_id"], "dead_lettered", 2)
    assert "after 2 deliveries" in row["reason"]
    assert row["body"] == {"n": 1}
    # Sent without a key of its own, it was given one (a resend would be the same message).
    [sent] = [a for a in audit(m, "message.sent") if a["message"] == out["message_id"]]
    assert re.fullmatch(r"[0-9a-f]{32}", sent["idempotency_key"]), sent
    text = m.cli("messages", "--agent", out["to_agent"]).stdout
    assert f"{out['message_id']}  sender -> {out['to_agent']}" in text, text
    bad = m.cli("messages", "--state", "lost")
    assert bad.returncode != 0
    assert "none of: pending, delivered, acked, dead_lettered" in bad.stderr
    # Refused, with what is wrong: the task that sent it fails saying so.
    for payload, says in [
        ({"to_agent": "nobody", "kind": "work"}, "no agent `nobody`"),
        ({"to_agent": "worker", "kind": "two words"}, "letters, digits"),
        ({"to_role": "no.such", "kind": "work"}, "no online agent offers `no.such`"),
    ]:
        failed = send(m, **payload)
        assert failed.state == common_pb2.TASK_STATE_FAILED
        assert says in failed.result.error, failed.result.error
