"""Questions to the person through the real manager, a real Python agent on the SDK and the
CLI: the task awaits the person while its question is pending; the answer must be one of the
choices offered; the agent gets it and goes on. Unanswered in time, the question is given up
and the task fails saying so."""

from __future__ import annotations

import json
from pathlib import Path

from harness import Manager

from hyperagent.v1 import client_pb2, common_pb2

HERE = Path(__file__).resolve().parent


def pending(m: Manager, task_id: str) -> client_pb2.Question:
    """The task's question, once it is asked."""
    ev = m.wait_event(
        lambda e: (
            e.HasField("question") and e.question.status == client_pb2.QUESTION_STATUS_PENDING
        ),
        task_id=task_id,
    )
    return ev.question


def test_a_question_waits_for_the_person_and_takes_only_its_choices(make_manager, start_agent):
    m = make_manager({}).start()
    start_agent(m.socket, name="asking", module="asking_agent", PYTHONPATH=str(HERE))
    m.wait_agent("asking", online=True)
    t = m.submit(
        "ask.person", {"question": "Which name: shop or shop2?", "choices": ["shop", "shop2"]}
    )
    q = pending(m, t.id)
    assert m.task(t.id).state == common_pb2.TASK_STATE_AWAITING_CONSENT
    listed = m.cli("question", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{q.id} pending: agent `asking` asks for task {t.id}: Which name" in listed.stdout
    assert '[choices: "shop", "shop2"]' in listed.stdout
    wrong = m.cli("question", "answer", q.id, "shop3")
    assert wrong.returncode != 0
    assert '"shop3" is none of the choices this question offers: "shop", "shop2"' in wrong.stderr
    right = m.cli("question", "answer", q.id, "shop2")
    assert right.returncode == 0, right.stderr
    done = m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert json.loads(done.result.output_json) == {"answer": "shop2"}
    assert any("the person answered: shop2" in line.message for line in m.logs(t.id))
    entries = m.client.ListAudit(client_pb2.ListAuditRequest(task_id=t.id), timeout=30).entries
    assert {"question.asked", "question.answered"} <= {e.action for e in entries}


def test_an_unanswered_question_is_given_up_and_the_task_fails_saying_so(make_manager, start_agent):
    m = make_manager({"consent": {"timeout": "1s"}}).start()
    start_agent(m.socket, name="asking", module="asking_agent", PYTHONPATH=str(HERE))
    m.wait_agent("asking", online=True)
    t = m.submit("ask.person", {"question": "Anyone there?"})
    done = m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "the question was not answered (no answer within 1s): Anyone there?" in (
        done.status_reason
    ), done.status_reason
