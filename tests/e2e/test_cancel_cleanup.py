"""A cancelled task's folder is put back as it was, even when its process had to be killed: a task
that ignores the cancel is killed at the end of `tasks.cancel_grace`, and the folder the manager
made for it is removed with what the task left there (audited); a folder that existed before the
task is never removed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from harness import REPO, Manager, wait_until

from hyperagent.v1 import client_pb2, common_pb2

PROBE = REPO / "tests" / "e2e" / "agents" / "probe"


@pytest.fixture(scope="module")
def m(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    root = tmp_path_factory.mktemp("cancel-cleanup")
    shutil.copytree(PROBE, root / "agents" / "probe")
    m = Manager(
        root=root,
        agents_dir=root / "agents",
        extra={
            "sandbox": {"allow_unsupervised_agents": False},
            "tasks": {"cancel_grace": "1s"},
        },
    ).start()
    m.wait_agent("probe", online=True)
    yield m
    m.stop()


def cancel_when_written(m: Manager, workspace: str) -> client_pb2.Task:
    t = m.submit("probe.try", {"action": "stubborn", "files": 50}, workspace=workspace)
    m.wait_event(
        lambda e: e.HasField("task_log") and "ignoring the cancel" in e.task_log.line.message,
        task_id=t.id,
    )
    m.client.CancelTask(client_pb2.CancelTaskRequest(task_id=t.id, reason="stop"), timeout=30)
    done = m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_CANCELED, done.status_reason
    assert "did not stop within 1s" in done.status_reason + done.attempts[-1].error
    return done


def removals(m: Manager) -> list[tuple[str, str]]:
    lines = m.cli("audit", "list", "--json").stdout.splitlines()
    audit = [json.loads(line) for line in lines if line.strip()]
    # Audited before the folder goes (`workspace.removed` follows once it has gone).
    return [
        (e["task_id"], e["detail"]["folder"])
        for e in audit
        if e["action"] == "workspace.remove_started"
    ]


def test_a_folder_made_for_a_cancelled_task_goes_with_what_it_left(m: Manager) -> None:
    folder = m.root / "data" / "workspaces" / "made-for-it"
    done = cancel_when_written(m, "made-for-it")
    wait_until(lambda: not folder.exists(), f"{folder} removed")
    assert (done.id, str(folder)) in removals(m)


def test_a_folder_that_was_there_before_is_left_as_the_task_left_it(m: Manager) -> None:
    folder = m.root / "data" / "workspaces" / "mine"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine\n")
    kept = cancel_when_written(m, "mine")
    # A later cancelled task's folder removed: the earlier one's fate was decided before it.
    later = cancel_when_written(m, "later")
    wait_until(
        lambda: (later.id, str(m.root / "data" / "workspaces" / "later")) in removals(m),
        "the later folder removed",
    )
    assert (folder / "notes.txt").read_text() == "mine\n"
    assert (folder / "half" / "done").is_dir()
    assert all(task != kept.id for task, _ in removals(m))


def test_a_cancelled_task_knows_it_before_its_commands_die(m: Manager) -> None:
    """The stop goes to the task first, which ends its own commands: SIGTERM to the whole process
    tree at once let a command die before the task knew, so it reported a failure and kept what
    it had changed instead of putting it back."""
    for _ in range(2):
        t = m.submit("probe.try", {"action": "command"})
        m.wait_event(
            lambda e: e.HasField("task_log") and e.task_log.line.message == "command running",
            task_id=t.id,
        )
        m.client.CancelTask(client_pb2.CancelTaskRequest(task_id=t.id, reason="stop"), timeout=30)
        done = m.wait_state(t.id)
        assert done.state == common_pb2.TASK_STATE_CANCELED, done.status_reason
        said = [
            line.message for line in m.logs(t.id) if line.message.startswith(("the", "command"))
        ]
        assert said == [
            "command running",
            "command stopped by its task",
            "the command ended; cancelled=True",
        ], said
