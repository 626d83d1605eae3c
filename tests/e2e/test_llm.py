"""The LLM agent end to end: the real manager runs the real `llm` agent, confined by the kernel,
and its `llm.route` and `llm.summarize` tasks ask a real llama.cpp server (the xllamacpp wheel,
on the host's loopback) through the SDK's relay and the manager's egress proxy.

The server is real; only its model is a stand-in (tests/llm/make_tiny_gguf.py: random weights,
so the answer's shape is checked, never its sense). The egress proxy reaches a loopback address
only when a rule names that very address: with one, the answer comes back and the connection is
in the audit log; without one, the person is asked, says no, and the task fails naming the
refusal.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from harness import REPO, Manager, with_agent

from hyperagent.v1 import common_pb2

sys.path.insert(0, str(REPO / "tests" / "llm"))
from llama_server import llama_server
from routing import CATALOG, route_payload
from summarizing import summarize_payload

KINDS = {"plan", "question", "refusal"}


@dataclass
class World:
    m: Manager
    endpoint: str  # http://127.0.0.1:PORT/v1
    port: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("llm")
    with llama_server(base / "llama") as endpoint:
        m = Manager(
            root=base,
            agents_dir=with_agent(base / "agents", "llm"),
            extra={
                "sandbox": {"allow_unsupervised_agents": False},
                "consent": {"timeout": "20s"},
            },
        ).start()
        m.wait_agent("llm", online=True)
        port = int(endpoint.split(":")[2].split("/", maxsplit=1)[0])
        yield World(m, endpoint, port)
        m.stop()


def payload(w: World, **changes: Any) -> dict[str, Any]:
    return route_payload(w.endpoint, **changes)


def audit(w: World, task_id: str) -> list[dict[str, Any]]:
    out = w.m.cli("--json", "audit", "list", "--task", task_id).stdout.splitlines()
    return [json.loads(x) for x in out]


@contextmanager
def allowed(w: World) -> Iterator[None]:
    """A rule letting the llm agent connect to the server, for the block's length."""
    rule = w.m.cli(
        "--json", "policy", "allow", "--connect", f"127.0.0.1:{w.port}", "--agent", "llm"
    )
    assert rule.returncode == 0, rule.stderr
    try:
        yield
    finally:
        w.m.cli("policy", "revoke", json.loads(rule.stdout)["id"])


def assert_connected_once(w: World, task_id: str) -> None:
    """The task's one connection is in the audit log, made for the llm agent, with no one asked."""
    entries = audit(w, task_id)
    actions = [e["action"] for e in entries]
    assert "task.confined" in actions
    connected = [e for e in entries if e["action"] == "net.connected"]
    assert [(e["detail"]["host"], e["detail"]["port"]) for e in connected] == [
        ("127.0.0.1", w.port)
    ]
    assert connected[0]["detail"]["agent"] == "llm"
    assert "consent.requested" not in actions, "the rule answered"


def test_a_route_goes_through_the_egress_proxy_to_the_model(world: World) -> None:
    with allowed(world):
        task = world.m.submit("llm.route", payload(world))
        done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, (done.status_reason, done.result.error)
    out = json.loads(done.result.output_json)
    assert set(out) == {"answer", "model", "usage", "elapsed_ms"}
    assert out["answer"]["kind"] in KINDS
    if out["answer"]["kind"] == "plan":
        types = {i["task_type"] for i in CATALOG["intents"]} - {"llm.route"}
        assert {s["task_type"] for s in out["answer"]["steps"]} <= types
    assert out["model"].endswith("tiny.gguf")
    assert out["usage"]["prompt_tokens"] > 0
    assert done.result.summary.endswith(f"in {out['elapsed_ms']} ms")
    # The task's telemetry is the server's own count of the call, and the agent's timing.
    assert done.usage.calls == 1
    assert done.usage.calls_without_usage == 0
    assert done.usage.prompt_tokens == out["usage"]["prompt_tokens"]
    assert done.usage.completion_tokens == out["usage"]["completion_tokens"]
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens
    assert done.usage.elapsed_ms == out["elapsed_ms"]
    assert done.usage.first_token_ms > 0  # llama.cpp's prompt_ms
    assert_connected_once(world, done.id)
    messages = [line.message for line in world.m.logs(done.id)]
    assert f"connecting to 127.0.0.1:{world.port} through the egress proxy" in messages[0]
    print(f"llm.route through the manager: {out['elapsed_ms']} ms, {out['usage']}, {out['answer']}")


def test_a_summary_goes_through_the_egress_proxy_to_the_model(world: World) -> None:
    started = time.monotonic()
    with allowed(world):
        task = world.m.submit("llm.summarize", summarize_payload(world.endpoint))
        done = world.m.wait_state(task.id)
    took = time.monotonic() - started
    assert done.state == common_pb2.TASK_STATE_COMPLETED, (done.status_reason, done.result.error)
    out = json.loads(done.result.output_json)
    assert set(out) == {"summary", "model", "usage", "elapsed_ms"}
    assert isinstance(out["summary"], str)
    assert 1 <= len(out["summary"]) <= 4000
    assert out["summary"] == out["summary"].strip()
    assert out["model"].endswith("tiny.gguf")
    assert out["usage"]["prompt_tokens"] > 0
    assert done.result.summary.startswith("a summary of 2 steps (")
    assert done.result.summary.endswith(f"in {out['elapsed_ms']} ms")
    assert_connected_once(world, done.id)
    print(f"llm.summarize through the manager: {took:.2f} s submit to done, {out}")


def test_without_a_rule_the_person_is_asked_and_a_denial_fails_the_task(world: World) -> None:
    small = {
        "intents": [i for i in CATALOG["intents"] if i["task_type"] in {"tests.run", "open"}],
        "templates": [],
    }
    task = world.m.submit("llm.route", payload(world, catalog=small, timeout_secs=60))
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "connect", task_id=task.id
    )
    assert ask.consent.target == f"127.0.0.1:{world.port}"
    assert ask.consent.agent_id == "llm"
    denied = world.m.cli("consent", "deny", ask.consent.id)
    assert denied.returncode == 0, denied.stderr
    done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_FAILED
    error = done.result.error
    assert error.startswith(
        f"the egress proxy refused the connection to 127.0.0.1:{world.port} (HTTP 403): "
    ), error
    assert "denied by the person" in error, error
    actions = [e["action"] for e in audit(world, done.id)]
    assert "net.refused" in actions
    assert "net.connected" not in actions


def test_payloads_outside_the_schema_are_refused_at_submit(world: World) -> None:
    for change, where in [
        ({"endpoint": "ftp://127.0.0.1/v1"}, "/endpoint"),
        ({"endpoint": f"{world.endpoint}/chat/completions"}, "/endpoint"),
        ({"request": "x" * 4097}, "/request"),
        ({"max_steps": 17}, "/max_steps"),
        ({"timeout_secs": 0}, "/timeout_secs"),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            world.m.submit("llm.route", payload(world, **change))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert where in (err.value.details() or ""), err.value.details()


def test_summary_payloads_outside_the_schema_are_refused_at_submit(world: World) -> None:
    step = {"number": 1, "task_type": "tests.run", "state": "failed", "summary": "", "task_ids": []}
    for change, where in [
        ({"steps": []}, "/steps"),
        ({"steps": [{**step, "state": "done"}]}, "/steps/0/state"),
        ({"steps": [{**step, "summary": "x" * 4001}]}, "/steps/0/summary"),
        ({"offline_summary": "x" * 16001}, "/offline_summary"),
        ({"max_steps": 8}, ""),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            world.m.submit("llm.summarize", summarize_payload(world.endpoint, **change))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert where in (err.value.details() or ""), err.value.details()
