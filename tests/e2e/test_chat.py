"""`hyperagent chat` end to end: a conversation through the real CLI and manager, its requests run
as plans on the real, confined bootstrapper and test runner (packages from the offline
wheelhouse). The second request names no project ("now run its tests"): the conversation knows it.
The session is saved as it goes: the manager is killed (SIGKILL) and started again, and the
conversation is resumed, listed and exported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from harness import Manager, project_agents_manager

from hyperagent.v1 import client_pb2


@pytest.fixture(scope="module")
def m(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    m = project_agents_manager(tmp_path_factory.mktemp("chat"))
    yield m
    m.stop()


def conversation(m: Manager, conversation_id: str) -> client_pb2.ConversationView:
    return m.client.GetConversation(
        client_pb2.GetConversationRequest(conversation_id=conversation_id), timeout=30
    )


def test_a_conversation_knows_its_project_and_is_resumed_after_the_manager_is_killed(
    m: Manager,
) -> None:
    said = "\n".join(
        [
            "make a fastapi project called chatshop with sqlite, no checks",
            "now run its tests",
            "/save Shop work",
            "/quit",
        ]
    )
    out = m.cli("chat", "--mode", "auto", stdin=said + "\n")
    assert out.returncode == 0, out.stderr
    assert "hyperagent> A plan of 1 step: 1. bootstrap.project in chatshop." in out.stdout
    assert "hyperagent> A plan of 1 step: 1. tests.run in chatshop." in out.stdout
    saved = re.search(r'Saved as "Shop work" \(([0-9a-f-]{36})\)', out.stdout)
    assert saved, out.stdout
    cid = saved.group(1)
    v = conversation(m, cid)
    assert [t.request for t in v.conversation.turns] == [
        "make a fastapi project called chatshop with sqlite, no checks",
        "now run its tests",
    ]
    assert v.conversation.folder == "chatshop"
    assert v.conversation.mode == client_pb2.CONVERSATION_MODE_AUTO
    assert [p.state for p in v.plans] == [client_pb2.PLAN_STATE_SUCCEEDED] * 2, [
        (p.state, p.reason) for p in v.plans
    ]
    test_step = v.plans[1].steps[0]
    assert test_step.step.task_type == "tests.run"
    assert test_step.touches.split(" (")[0].endswith("/chatshop"), test_step.touches
    assert " passed" in test_step.summary, test_step.summary
    assert (v.totals.plans, v.totals.tasks) == (2, 2)

    # Saved as it went: nothing is lost when the manager is killed.
    m.kill9()
    m.start()
    listed = m.cli("chat", stdin="/sessions\n/quit\n")
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"{cid} .* 2 turns +auto +Shop work", listed.stdout), listed.stdout
    resumed = m.cli("chat", "--resume", cid, stdin="/export\n/quit\n")
    assert resumed.returncode == 0, resumed.stderr
    assert "you> now run its tests" in resumed.stdout
    assert "So far: 2 plans, 2 tasks" in resumed.stdout
    assert "# Shop work" in resumed.stdout, "the export follows"
    assert "## 2. now run its tests" in resumed.stdout
    # Deleted, it is listed no more; its plans stay.
    deleted = m.cli("chat", stdin=f"/delete {cid}\n/sessions\n/quit\n")
    assert deleted.returncode == 0, deleted.stderr
    assert f"Deleted {cid}" in deleted.stdout
    assert cid not in deleted.stdout.split(f"Deleted {cid}", 1)[1]
    plan = m.client.GetPlan(client_pb2.GetPlanRequest(plan_id=v.plans[0].id), timeout=30)
    assert plan.state == client_pb2.PLAN_STATE_SUCCEEDED


def test_in_the_preview_mode_a_plan_runs_only_on_a_yes_and_a_wrong_command_is_said(
    m: Manager,
) -> None:
    tasks_before = len(m.client.ListTasks(client_pb2.ListTasksRequest(), timeout=30).tasks)
    said = "/mode sideways\nrun the tests in chatshop\nno\n/quit\n"
    out = m.cli("chat", stdin=said)
    assert out.returncode == 0, out.stderr
    assert "/mode sideways is not a command here; /help lists them" in out.stderr
    assert "tests.run" in out.stdout
    assert "Not run." in out.stdout
    tasks_after = len(m.client.ListTasks(client_pb2.ListTasksRequest(), timeout=30).tasks)
    assert tasks_after == tasks_before, "nothing ran"
    plans = m.client.ListPlans(client_pb2.ListPlansRequest(limit=1), timeout=30).plans
    assert plans[0].state == client_pb2.PLAN_STATE_REJECTED
    # A command typed where the yes or no was asked leaves the plan and is taken next.
    out = m.cli("chat", stdin="run the tests in chatshop\n/sessions\n/quit\n")
    assert out.returncode == 0, out.stderr
    after = out.stdout.split("Not run.", 1)[1]
    assert " turns " in after, out.stdout
