"""`code.change` run in memory through the SDK's own code against a real llama.cpp server (the
xllamacpp wheel) serving the tiny random-weights model. The model knows no language: at
temperature 0 it writes an empty file named `}` each turn, and its last turn (finish alone) says
`}`. So these tests check the machinery, never the sense of a change: the commit and its diff,
the cleanup, the main checkout untouched, a call outside the worktree refused, the step limit,
the token budget, and the usage totalled exactly as the server reported it call by call (read
by a forwarding proxy between the agent and the server)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from coder_testing import git

from hyperagent_coder import agent
from hyperagent_coder.agent import with_model
from hyperagent_coder.settings import Settings
from hyperagent_sdk.testing import HandlerRun, run_handler

TASK_ID = "0190abcd-1234-7000-8000-00000000beef"
BRANCH = "hyperagent/0000beef-coder"


class Recorder:
    """A forwarding HTTP proxy in front of the server that keeps each reply's `usage`."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.split("//")[1].split("/", maxsplit=1)[0].split(":")
        self.usages: list[dict[str, int]] = []
        recorder = self

        class Forward(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                conn.request("POST", self.path, body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                recorder.usages.append(json.loads(data)["usage"])
                self.send_response(resp.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def recorder(endpoint: str) -> Iterator[Recorder]:
    r = Recorder(endpoint)
    yield r
    r.server.shutdown()


def change(
    repo: Path,
    endpoint: str,
    workspace: Path,
    asked: list[tuple[str, str]] | None = None,
    **kw: Any,
) -> HandlerRun:
    def ask(kind: str, target: str, _reason: str) -> str:
        if asked is not None:
            asked.append((kind, target))
        return "granted"

    payload = {
        "repository": str(repo),
        "instruction": "add a line to the README",
        "endpoint": endpoint,
        **kw,
    }
    workspace.mkdir(exist_ok=True)
    return run_handler(agent, "code.change", payload, task_id=TASK_ID, workspace=workspace, ask=ask)


def test_the_change_is_committed_with_its_diff_and_usage(
    make_repo: Callable[..., Path], recorder: Recorder, tmp_path: Path
) -> None:
    repo = make_repo()
    head = git(repo, "rev-parse", "HEAD").strip()
    asked: list[tuple[str, str]] = []
    run = change(repo, recorder.url, tmp_path / "ws", asked, max_steps=3)
    assert run.status == "SUCCEEDED", run.error
    assert asked == [("write", str(repo / ".git"))]
    out = run.output
    assert out["branch"] == BRANCH
    assert out["commit"] == git(repo, "rev-parse", BRANCH).strip()
    assert out["base_commit"] == head
    assert out["diff"] == git(repo, "show", "--format=", out["commit"])
    assert out["diff_truncated"] is False
    assert [f["path"] for f in out["files"]] == git(
        repo, "show", "--format=", "--name-only", out["commit"]
    ).split()
    assert "".join(f["diff"] for f in out["files"]) == out["diff"]
    # The worktree is gone (on_success), the branch stays, the main checkout never moved.
    assert out["worktree_removed"] is True
    assert out["worktree"] is None
    assert not (tmp_path / "ws" / "0000beef-coder").exists()
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "status", "--porcelain") == ""
    # Three calls, the last a finish; the totals are the server's own counts, summed.
    assert [s["tool"] for s in out["steps"]][-1] == "finish"
    assert out["finished"] is True
    assert len(out["steps"]) == len(recorder.usages) == 3
    for step, reported in zip(out["steps"], recorder.usages, strict=True):
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            assert step[key] == reported[key]
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert out["usage"][key] == sum(u[key] for u in recorder.usages)
    assert out["usage"]["calls"] == 3
    assert out["usage"]["usage_reported"] is True
    # Each call is a structured log line.
    calls = [line for line in run.logs if line.message.startswith("model call ")]
    assert [line.fields["step"] for line in calls] == ["1", "2", "3"]
    assert [int(line.fields["total_tokens"]) for line in calls] == [
        u["total_tokens"] for u in recorder.usages
    ]
    assert all("model_ms" in line.fields for line in calls)
    assert run.summary.startswith(f"committed {len(out['files'])} file")
    print(f"code.change in memory: {run.summary}; {out['usage']}")


def test_a_write_through_a_link_out_of_the_worktree_is_refused(
    make_repo: Callable[..., Path], endpoint: str, tmp_path: Path
) -> None:
    # The model writes `}` every turn: here `}` is a committed link to a file outside.
    outside = tmp_path / "outside.txt"
    outside.write_text("the person's own file\n")
    repo = make_repo()
    (repo / "}").symlink_to(outside)
    git(repo, "add", "}")
    git(repo, "-c", "user.name=S", "-c", "user.email=s@example.org", "commit", "-qm", "link")
    run = change(repo, endpoint, tmp_path / "ws", max_steps=3, cleanup="never")
    assert run.status == "SUCCEEDED", run.error
    out = run.output
    assert outside.read_text() == "the person's own file\n"
    writes = [s for s in out["steps"] if s["tool"] == "write_file"]
    assert writes
    assert not any(s["ok"] for s in writes)
    refusals = [line.message for line in run.logs if "leads outside the worktree" in line.message]
    assert len(refusals) == len(writes)
    # Nothing changed: no commit, said plainly; `never` keeps the worktree and its branch.
    assert out["commit"] is None
    assert out["diff"] == ""
    assert run.summary.startswith("no change: the model changed no file in 3 steps")
    assert out["worktree"] == str(tmp_path / "ws" / "0000beef-coder")
    assert out["branch_kept"] is True
    assert git(repo, "rev-parse", BRANCH).strip() == git(repo, "rev-parse", "main").strip()


def test_the_step_limit_is_honoured(
    make_repo: Callable[..., Path], endpoint: str, tmp_path: Path
) -> None:
    repo = make_repo()
    one = change(repo, endpoint, tmp_path / "ws1", max_steps=1)
    assert one.status == "SUCCEEDED", one.error
    assert [s["tool"] for s in one.output["steps"]] == ["finish"]
    assert one.output["commit"] is None
    # Nothing changed and the worktree went: the branch went with it.
    assert one.output["branch_kept"] is False
    assert git(repo, "branch", "--list", "hyperagent/*") == ""
    five = change(repo, endpoint, tmp_path / "ws5", max_steps=5)
    assert [s["tool"] for s in five.output["steps"]] == ["write_file"] * 4 + ["finish"]


def test_the_token_budget_stops_the_loop(
    make_repo: Callable[..., Path], endpoint: str, tmp_path: Path
) -> None:
    repo = make_repo()
    run = change(repo, endpoint, tmp_path / "ws", max_steps=10, token_budget=1)
    assert run.status == "SUCCEEDED", run.error
    out = run.output
    assert len(out["steps"]) == 1
    assert out["stopped_by"] == "token_budget"
    assert out["finished"] is False
    assert out["commit"] is not None  # what the one turn wrote is committed
    assert run.summary.endswith("; the token budget was spent before the model finished")
    message = git(repo, "log", "-1", "--format=%B", out["commit"])
    assert "it stopped at the token budget" in message
    assert f"HyperAgent-Task: {TASK_ID}" in message


def test_a_base_that_names_no_commit_fails_and_leaves_nothing(
    make_repo: Callable[..., Path], endpoint: str, tmp_path: Path
) -> None:
    repo = make_repo()
    run = change(repo, endpoint, tmp_path / "ws", base="no-such-branch")
    assert run.status == "FAILED"
    assert run.error == f"base 'no-such-branch' names no commit in {repo}"
    assert git(repo, "branch", "--list", "hyperagent/*") == ""


def test_a_payload_without_a_model_uses_the_agents_own_and_without_either_fails_saying_so(
    make_repo: Callable[..., Path], recorder: Recorder, tmp_path: Path, monkeypatch: Any
) -> None:
    s = Settings.load(
        {"HYPERAGENT_CODER_ENDPOINT": recorder.url + "/", "HYPERAGENT_CODER_MODEL": "m"}
    )
    filled = with_model({"repository": "/r", "instruction": "x"}, s)
    assert (filled["endpoint"], filled["model"]) == (recorder.url, "m")
    named = with_model({"endpoint": "http://h:1/v1", "model": "n"}, s)
    assert (named["endpoint"], named["model"]) == ("http://h:1/v1", "n")
    with pytest.raises(ValueError, match="HYPERAGENT_CODER_ENDPOINT"):
        Settings.load({"HYPERAGENT_CODER_ENDPOINT": "ftp://h/v1"})
    # A task whose payload names no endpoint runs on the agent's own.
    monkeypatch.setenv("HYPERAGENT_CODER_ENDPOINT", recorder.url)
    repo = make_repo(tmp_path / "repo")
    payload = {"repository": str(repo), "instruction": "add a line", "max_steps": 1}
    (tmp_path / "ws").mkdir()
    run = run_handler(
        agent,
        "code.change",
        payload,
        task_id=TASK_ID,
        workspace=tmp_path / "ws",
        ask=lambda *_: "granted",
    )
    assert run.status == "SUCCEEDED", run.error
    assert recorder.usages, "the agent's own model was asked"
    # With neither, it fails saying which setting to set.
    monkeypatch.delenv("HYPERAGENT_CODER_ENDPOINT")
    (tmp_path / "ws2").mkdir()
    run = run_handler(
        agent,
        "code.change",
        payload,
        task_id=TASK_ID,
        workspace=tmp_path / "ws2",
        ask=lambda *_: "granted",
    )
    assert run.status == "FAILED"
    assert "HYPERAGENT_CODER_ENDPOINT" in run.error, run.error
