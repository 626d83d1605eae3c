"""The coding worker end to end: the real manager runs the real `coder` agent, confined by the
kernel, on a git repository outside the workspace root; it asks a real llama.cpp server (the
xllamacpp wheel, tiny random-weights model) through the SDK's relay and the manager's egress
proxy.

The repository's git folder is reached only through a write grant: the task asks, the test
answers as the person would ("for this task"), and since a grant cannot widen a process already
confined, the first attempt ends and the second runs with it. The model is random: the test
checks the machinery (the commit on the branch, its diff in the result, the worktree gone, the
main checkout untouched, the consent asked and audited), never the sense of the change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from harness import REPO, Manager, with_agent

from hyperagent.v1 import client_pb2, common_pb2

sys.path.insert(0, str(REPO / "tests" / "llm"))
from llama_server import llama_server


@dataclass
class World:
    m: Manager
    endpoint: str
    port: int
    base: Path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def make_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("# a project\n")
    git(path, "add", ".")
    git(
        path,
        "-c",
        "user.name=Someone",
        "-c",
        "user.email=someone@example.org",
        "commit",
        "-qm",
        "first",
    )
    return path


def coder_using(folder: Path, endpoint: str) -> Path:
    """The bundled coder's manifest with ``endpoint`` as the model a payload that names none asks
    (as a person sets it up: a plan's step from plain words names no endpoint)."""
    with_agent(folder, "coder")
    manifest = folder / "coder" / "agent.toml"
    setting = 'HYPERAGENT_CODER_ENDPOINT = ""'
    assert setting in manifest.read_text()
    manifest.write_text(
        manifest.read_text().replace(setting, f'HYPERAGENT_CODER_ENDPOINT = "{endpoint}"')
    )
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("coder")
    with llama_server(base / "llama") as endpoint:
        m = Manager(
            root=base,
            agents_dir=coder_using(base / "agents", endpoint),
            extra={
                "sandbox": {"allow_unsupervised_agents": False},
                "consent": {"timeout": "30s"},
            },
        ).start()
        m.wait_agent("coder", online=True)
        port = int(endpoint.split(":")[2].split("/", maxsplit=1)[0])
        rule = m.cli(
            "--json", "policy", "allow", "--connect", f"127.0.0.1:{port}", "--agent", "coder"
        )
        assert rule.returncode == 0, rule.stderr
        yield World(m, endpoint, port, base)
        m.stop()


def audit(w: World, task_id: str) -> list[dict[str, Any]]:
    out = w.m.cli("--json", "audit", "list", "--task", task_id).stdout.splitlines()
    return [json.loads(x) for x in out]


def test_a_change_is_committed_on_its_branch_after_the_person_grants_the_git_folder(
    world: World,
) -> None:
    repo = make_repo(world.base / "repos" / "project")
    head = git(repo, "rev-parse", "HEAD").strip()
    task = world.m.submit(
        "code.change",
        {
            "repository": str(repo),
            "instruction": "add a line to the README",
            "endpoint": world.endpoint,
            "max_steps": 3,
        },
    )
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "write", task_id=task.id
    )
    assert ask.consent.target == str(repo / ".git")
    assert ask.consent.agent_id == "coder"
    granted = world.m.cli("consent", "grant", ask.consent.id, "--scope", "task")
    assert granted.returncode == 0, granted.stderr
    done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, (done.status_reason, done.result.error)
    # The first attempt asked and ended; the second ran confined with the grant.
    assert len(done.attempts) == 2, done.attempts
    assert "before reporting a result" in done.attempts[0].error
    out = json.loads(done.result.output_json)
    branch = out["branch"]
    assert branch.startswith("hyperagent/")
    assert branch.endswith("-coder")
    assert out["commit"], out
    assert git(repo, "rev-parse", f"refs/heads/{branch}").strip() == out["commit"]
    assert git(repo, "rev-parse", f"{out['commit']}^").strip() == head
    assert out["diff"] == git(repo, "show", "--format=", out["commit"])
    author = git(repo, "show", "-s", "--format=%an <%ae>|%cn", out["commit"])
    assert author.strip() == "HyperAgent <hyperagent@localhost>|HyperAgent"
    # The worktree is gone (policy on_success), from git's record and from the task's folder.
    assert out["worktree_removed"] is True
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not Path(done.workspace).exists() or not any(Path(done.workspace).iterdir())
    # The main checkout is as it was.
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    # What the task could reach is in the audit log: its workspace and the git folder only.
    entries = audit(world, done.id)
    actions = [e["action"] for e in entries]
    assert "consent.requested" in actions
    confined = [e["detail"] for e in entries if e["action"] == "task.confined"]
    assert [c["write"] for c in confined] == [[], [str(repo / ".git")]]
    assert all(c["confined"] for c in confined)
    assert any(e["action"] == "net.connected" for e in entries)
    # The task's telemetry adds up the calls as the server counted them.
    assert done.usage.calls == out["usage"]["calls"]
    assert done.usage.total_tokens == out["usage"]["total_tokens"]
    assert done.usage.prompt_tokens == out["usage"]["prompt_tokens"]
    print(f"code.change through the manager: {done.result.summary}; usage {out['usage']}")


def test_a_denied_git_folder_fails_the_task_and_changes_nothing(world: World) -> None:
    repo = make_repo(world.base / "repos" / "denied")
    task = world.m.submit(
        "code.change",
        {"repository": str(repo), "instruction": "anything", "endpoint": world.endpoint},
    )
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "write", task_id=task.id
    )
    assert world.m.cli("consent", "deny", ask.consent.id).returncode == 0
    done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "permission refused" in done.result.error, done.result.error
    assert git(repo, "branch", "--list", "hyperagent/*") == ""


def test_two_workers_change_one_repository_at_once_each_on_its_own_branch_and_worktree(
    world: World,
) -> None:
    repo = make_repo(world.base / "repos" / "shared")
    head = git(repo, "rev-parse", "HEAD").strip()
    # The person allows the git folder for the coder once (an agent-wide grant would do as well).
    rule = world.m.cli(
        "--json", "policy", "allow", "--write", str(repo / ".git"), "--agent", "coder"
    )
    assert rule.returncode == 0, rule.stderr
    try:
        tasks = [
            world.m.submit(
                "code.change",
                {
                    "repository": str(repo),
                    "instruction": f"change number {n}",
                    "endpoint": world.endpoint,
                    "max_steps": 2,
                },
            )
            for n in (1, 2)
        ]
        done = [world.m.wait_state(t.id) for t in tasks]
    finally:
        world.m.cli("policy", "revoke", json.loads(rule.stdout)["id"])
    for d in done:
        assert d.state == common_pb2.TASK_STATE_COMPLETED, (d.status_reason, d.result.error)
    outs = [json.loads(d.result.output_json) for d in done]
    branches = [o["branch"] for o in outs]
    assert len(set(branches)) == 2, branches
    # Each worker ran in a worktree of its own, inside its own task's folder.
    assert all(d.workspace for d in done)
    assert len({d.workspace for d in done}) == 2
    for o in outs:
        if o["commit"]:
            assert git(repo, "rev-parse", f"refs/heads/{o['branch']}").strip() == o["commit"]
            assert git(repo, "rev-parse", f"{o['commit']}^").strip() == head
    # Neither touched the main checkout, and no worktree is left behind.
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_a_conversation_delegates_a_change_in_plain_words_to_a_coding_worker(
    world: World,
) -> None:
    """The person says what to change and where; the conversation's plan hands the repository to
    the coding worker (its `repository`, made absolute), which asks for the git folder, and
    commits on its own branch; the conversation counts the task and its model calls."""
    repo = make_repo(world.base / "repos" / "talk")
    head = git(repo, "rev-parse", "HEAD").strip()
    c = world.m.client.StartConversation(
        client_pb2.StartConversationRequest(mode=client_pb2.CONVERSATION_MODE_AUTO), timeout=30
    )
    said = f"have a coder add a line to the README of {repo}"
    a = world.m.client.Ask(client_pb2.AskRequest(text=said, conversation_id=c.id), timeout=60)
    assert a.plan.id, (a.question, a.refusal)
    [step] = a.plan.steps
    assert step.step.task_type == "code.change"
    assert "add a line to the README" in json.loads(step.step.payload_json)["instruction"]
    assert step.touches.startswith(f"{repo} (reached by asking you, unless a rule allows it)"), (
        step.touches
    )
    assert step.problem == "", step.problem
    # It asks for the repository's git folder: the first attempt ends, the second has it.
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.target == str(repo / ".git")
    )
    assert (ask.consent.kind, ask.consent.agent_id) == ("write", "coder")
    granted = world.m.cli("consent", "grant", ask.consent.id, "--scope", "task")
    assert granted.returncode == 0, granted.stderr
    ended = world.m.wait_event(
        lambda e: e.HasField("plan") and e.plan.plan.id == a.plan.id and e.plan.plan.summary != ""
    )
    assert ended.plan.plan.state == client_pb2.PLAN_STATE_SUCCEEDED, ended.plan.plan.reason
    [ran] = ended.plan.plan.steps
    assert json.loads(ran.step.payload_json)["repository"] == str(repo)
    done = world.m.client.GetTask(client_pb2.GetTaskRequest(task_id=ran.task_ids[-1]), timeout=30)
    out = json.loads(done.result.output_json)
    # Its own branch and commit, on the repository the words named; the checkout untouched.
    assert git(repo, "rev-parse", f"refs/heads/{out['branch']}").strip() == out["commit"]
    assert git(repo, "rev-parse", f"{out['commit']}^").strip() == head
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "status", "--porcelain") == ""
    # It ran in a folder of its own, not in the repository.
    assert not Path(done.workspace).is_relative_to(repo), done.workspace
    view = world.m.client.GetConversation(
        client_pb2.GetConversationRequest(conversation_id=c.id), timeout=30
    )
    assert (view.totals.plans, view.totals.tasks) == (1, 1)
    assert view.totals.tokens == out["usage"]["total_tokens"] > 0
