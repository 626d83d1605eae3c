"""Consent end to end with a real confined agent: it asks, the task awaits consent, the person
answers through the CLI; rules persist across a manager restart and deny wins."""

from __future__ import annotations

import json
from typing import Any

import pytest
from harness import REPO, Manager

from hyperagent.v1 import common_pb2

PROBE_DIR = REPO / "tests" / "e2e" / "agents"
TIMEOUT = "2s"


@pytest.fixture
def m(make_manager: Any) -> Manager:
    mgr: Manager = make_manager(
        extra={
            "supervisor": {"agent_dirs": [str(PROBE_DIR)]},
            "sandbox": {"allow_unsupervised_agents": False},
            "consent": {"timeout": TIMEOUT},
        }
    ).start()
    mgr.wait_agent("probe", online=True)
    return mgr


def ask(m: Manager, kind: str, target: str) -> str:
    t = m.submit("probe.try", {"action": "ask", "kind": kind, "target": target, "reason": "test"})
    return t.id


def pending(m: Manager, task_id: str) -> dict[str, Any]:
    """Waits until the task awaits consent, and returns its request as `consent list` shows it."""
    m.wait_state(task_id, common_pb2.TASK_STATE_AWAITING_CONSENT)
    listed = json.loads(m.cli("--json", "consent", "list").stdout)
    mine = [c for c in listed if c["task_id"] == task_id]
    assert len(mine) == 1, listed
    return mine[0]


def audit(m: Manager, task_id: str) -> list[str]:
    out = m.cli("--json", "audit", "list", "--task", task_id).stdout.splitlines()
    return [json.loads(x)["action"] for x in out]


def test_grant_once_lets_the_task_proceed(m: Manager) -> None:
    t = ask(m, "connect", "pypi.org:443")
    c = pending(m, t)
    assert c["status"] == "pending"
    assert c["agent_id"] == "probe"
    assert c["kind"] == "connect"
    assert c["target"] == "pypi.org:443"
    assert c["reason"] == "test"
    r = m.cli("consent", "grant", c["id"])
    assert r.returncode == 0, r.stderr
    done = m.wait_state(t)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert json.loads(done.result.output_json)["consent"] == c["id"]
    assert audit(m, t).count("consent.requested") == 1
    assert "consent.answered" in audit(m, t)
    # Once means once: the same question from another task is asked again.
    t2 = ask(m, "connect", "pypi.org:443")
    assert pending(m, t2)["target"] == "pypi.org:443"
    m.cli("consent", "deny", pending(m, t2)["id"])


def test_deny_fails_the_task_with_the_reason(m: Manager) -> None:
    t = ask(m, "read", "/home/someone/.aws/credentials")
    c = pending(m, t)
    assert m.cli("consent", "deny", c["id"]).returncode == 0
    done = m.wait_state(t)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "permission refused" in done.result.error
    assert "denied by the person" in done.result.error


def test_no_answer_in_time_is_a_denial(m: Manager) -> None:
    t = ask(m, "write", "/srv/shared/out")
    pending(m, t)
    done = m.wait_state(t)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "no answer within 2s" in done.result.error
    assert "timeout" in done.result.error


def test_an_agent_cannot_word_its_own_destructive_or_secret_question(m: Manager) -> None:
    """Those are asked in the manager's words (PrepareDestructive lists the paths it snapshots
    first; GetSecret names a secret the manifest declares): a question an agent worded itself
    could promise a snapshot never taken."""
    for kind, target, call in (
        ("destructive", "clean the cache", "PrepareDestructive"),
        ("secret", "GITHUB_TOKEN", "GetSecret"),
    ):
        done = m.wait_state(ask(m, kind, target))
        assert done.state == common_pb2.TASK_STATE_FAILED, kind
        assert call in done.result.error + done.status_reason, done.result.error
    assert json.loads(m.cli("--json", "consent", "list").stdout) == []


def test_always_persists_across_a_restart_and_revoke_works(m: Manager) -> None:
    t = ask(m, "connect", "files.pythonhosted.org:443")
    c = pending(m, t)
    assert m.cli("consent", "grant", c["id"], "--scope", "always").returncode == 0
    assert m.wait_state(t).state == common_pb2.TASK_STATE_COMPLETED
    rules = json.loads(m.cli("--json", "policy", "list").stdout)
    assert [(r["kind"], r["target"], r["agent"]) for r in rules] == [
        ("connect", "files.pythonhosted.org:443", None)
    ]
    assert rules[0]["origin"] == f"consent {c['id']}"

    assert m.stop() == 0
    m.start()
    m.wait_agent("probe", online=True)
    again = ask(m, "connect", "files.pythonhosted.org:443")
    done = m.wait_state(again)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, "a granted scope is never asked again"
    assert "consent.decided" in audit(m, again)
    assert "consent.requested" not in audit(m, again)

    assert m.cli("policy", "revoke", rules[0]["id"]).returncode == 0
    third = ask(m, "connect", "files.pythonhosted.org:443")
    m.cli("consent", "deny", pending(m, third)["id"])
    assert m.wait_state(third).state == common_pb2.TASK_STATE_FAILED


def test_for_this_task_covers_what_is_beneath_and_deny_rules_win(m: Manager) -> None:
    assert m.cli("policy", "deny", "--read", "/srv/secret").returncode == 0
    t = ask(m, "read", "/srv/secret/key")
    done = m.wait_state(t)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "a deny rule refuses it" in done.result.error
    assert "consent.requested" not in audit(m, t), "a deny rule answers without asking"


def test_bad_requests_get_specific_errors(m: Manager) -> None:
    t = ask(m, "read", "relative/path")
    done = m.wait_state(t)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "must be absolute" in done.result.error
    r = m.cli("consent", "grant", "no-such-id")
    assert r.returncode != 0
    assert "no pending consent request" in r.stderr
