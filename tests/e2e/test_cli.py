"""The `hyperagent` command: each subcommand against a real manager, its output and exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
from harness import BIN, REPO, Manager

from hyperagent.v1 import client_pb2, common_pb2
from hyperagent_echo.agent import agent as echo_agent


@pytest.fixture
def echo(manager, start_agent):
    start_agent(manager.socket, name="echo")
    manager.wait_agent("echo", online=True)
    return manager


def test_submit_wait_prints_the_finished_task_and_exits_0(echo):
    r = echo.cli("--json", "submit", "echo.echo", "--payload", '{"message": "hello"}', "--wait")
    assert r.returncode == 0, r.stderr
    task = json.loads(r.stdout)
    assert task["state"] == "completed"
    assert task["result"]["output"]["message"] == "hello"
    r = echo.cli("--json", "task", task["id"])
    assert r.returncode == 0
    assert json.loads(r.stdout)["id"] == task["id"]


def test_types_lists_each_task_types_examples_as_its_agent_declared_them(echo):
    """Example requests travel from the agent's declaration (the SDK) through registration to the
    client API: the router's material comes from the live registry."""
    declared = {name: list(t.examples) for name, t in echo_agent.tasks.items()}
    assert all(declared.values()), declared
    r = echo.cli("--json", "types")
    assert r.returncode == 0, r.stderr
    listed = {t["name"]: t["examples"] for t in json.loads(r.stdout)}
    assert listed == declared
    r = echo.cli("types")
    assert r.returncode == 0, r.stderr
    assert f'e.g. "{declared["echo.echo"][0]}"' in r.stdout


def test_a_task_that_fails_exits_6_and_bad_input_exits_5(echo):
    r = echo.cli("submit", "echo.fail", "--payload", '{"message": "nope"}', "--wait")
    assert r.returncode == 6
    assert "state:    failed" in r.stdout
    r = echo.cli("submit", "echo.nope")
    assert r.returncode == 5
    assert r.stderr.strip() == (
        "hyperagent: unknown task type `echo.nope`; "
        "known task types: echo.ask, echo.echo, echo.fail, echo.sleep, echo.spam"
    )
    r = echo.cli("submit", "echo.sleep", "--payload", "{oops")
    assert r.returncode == 5
    assert "payload is not valid JSON" in r.stderr
    r = echo.cli("tasks", "--state", "finished")
    assert r.returncode == 5
    assert "use one of queued, assigned, running" in r.stderr
    r = echo.cli("task", "missing")
    assert r.returncode == 4
    assert r.stderr.strip() == "hyperagent: no task with id `missing`"


def test_payload_from_stdin_idempotency_and_listing(echo):
    args = ["submit", "echo.echo", "--payload-file", "-", "--idempotency-key", "cli-1"]
    a = echo.cli(*args, stdin='{"message": "from stdin"}')
    b = echo.cli(*args, stdin='{"message": "from stdin"}')
    assert a.returncode == b.returncode == 0
    tid = a.stdout.strip()
    assert b.stdout.strip() == f"{tid} (already submitted with this idempotency key)"
    echo.wait_state(tid)
    r = echo.cli("--json", "tasks", "--type", "echo.echo")
    assert tid in [t["id"] for t in json.loads(r.stdout)]


def test_logs_and_logs_follow_print_every_line_in_order(echo):
    tid = echo.cli("submit", "echo.spam", "--payload", '{"lines": 3000, "size": 20}').stdout.strip()
    follow = echo.cli("--json", "logs", tid, "--follow")
    assert follow.returncode == 0, follow.stderr
    seqs = [json.loads(line)["seq"] for line in follow.stdout.splitlines()]
    assert seqs == list(range(1, 3001))
    plain = echo.cli("logs", tid)
    assert len(plain.stdout.splitlines()) == 3000
    assert " INFO  line 1 " in plain.stdout.splitlines()[0]


def test_cancel_and_agents(echo):
    tid = echo.cli("submit", "echo.sleep", "--payload", '{"seconds": 600}').stdout.strip()
    echo.wait_state(tid, 3)  # running
    r = echo.cli("cancel", tid, "--reason", "changed my mind")
    assert r.returncode == 0, r.stderr
    assert echo.wait_state(tid).status_reason == "cancelled: changed my mind"
    r = echo.cli("--json", "agents")
    agents = json.loads(r.stdout)
    assert [a["id"] for a in agents] == ["echo"]
    assert agents[0]["status"] == "online"


def test_config_show_prints_the_effective_config(manager):
    r = manager.cli("config", "show")
    assert r.returncode == 0
    assert f'data_dir = "{manager.root / "data"}"' in r.stdout
    assert 'heartbeat_interval = "100ms"' in r.stdout


def test_a_bad_config_file_is_refused_with_the_key_and_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[agents]\nheartbeat = 3\n")
    r = subprocess.run(
        [str(BIN), "--config", str(bad), "config", "show"], capture_output=True, text=True
    )
    assert r.returncode == 5
    assert f"config {bad}:" in r.stderr
    assert "unknown field `heartbeat`" in r.stderr
    assert "line 2" in r.stderr


def test_an_unreachable_manager_exits_3(tmp_path):
    r = subprocess.run(
        [str(BIN), "--socket", str(tmp_path / "none.sock"), "agents"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 3
    assert "cannot reach the manager" in r.stderr
    assert "hyperagent serve" in r.stderr


def test_a_second_manager_on_the_same_socket_refuses_to_start(manager):
    r = manager.cli("serve")
    assert r.returncode == 7
    assert r.stderr.strip().endswith(
        f"another HyperAgent manager (pid {manager.proc.pid}) is already serving {manager.socket}; "
        "stop it first, or start this one with another --socket"
    )
    # The first one is unaffected.
    assert manager.cli("agents").returncode == 0


def test_help_documents_the_exit_codes():
    r = subprocess.run([str(BIN), "--help"], capture_output=True, text=True)
    assert "Exit codes:" in r.stdout
    assert "6  --wait" in r.stdout


def test_pause_holds_new_work_until_resume_and_both_are_audited(echo):
    paused = echo.cli("--json", "pause")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["paused"] is True
    t = echo.submit("echo.echo", {"message": "later"})
    status = json.loads(echo.cli("--json", "status").stdout)
    assert status["paused"] is True
    assert status["tasks_queued"] == 1
    assert status["agents_online"] == 1
    assert echo.task(t.id).state == common_pb2.TASK_STATE_QUEUED
    assert "PAUSED" in echo.cli("status").stdout
    resumed = echo.cli("resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "dispatching" in resumed.stdout
    assert echo.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED
    audit = echo.cli("audit", "list", "--json").stdout
    assert '"scheduling.paused"' in audit
    assert '"scheduling.resumed"' in audit
    # Followers of the feed (the tray, the UI's status) hear of both, in order.
    changes = []
    stream = echo.events(after=0)
    try:
        for e in stream:
            if e.HasField("scheduling"):
                changes.append((e.scheduling.paused, e.scheduling.actor))
            if len(changes) == 2:
                break
    finally:
        stream.cancel()
    assert changes == [(True, "client"), (False, "client")]


def test_the_cli_never_hangs_on_a_manager_that_does_not_answer(tmp_path):
    """A stopped manager (`kill -STOP`) holds its socket but answers nothing: every call gives up
    after server.client_timeout with exit 3 and says so."""
    m = Manager(tmp_path, extra={"server": {"client_timeout": "1s"}}).start()
    assert m.proc is not None
    os.kill(m.proc.pid, signal.SIGSTOP)
    try:
        for args in (["status"], ["tasks"], ["submit", "echo.echo", "--payload", "{}"]):
            r = m.cli(*args)
            assert r.returncode == 3, (args, r.returncode, r.stderr)
            assert "not answering" in r.stderr, r.stderr
    finally:
        os.kill(m.proc.pid, signal.SIGCONT)
    assert m.cli("status").returncode == 0
    assert m.stop() == 0


def test_odd_inputs_get_bounded_specific_answers(tmp_path):
    """A 20 KB task-type name gets a clear, bounded error (not an HTTP/2 protocol error); a cursor
    past every line returns none; a reader that closes the pipe early ends the CLI quietly."""
    m = Manager(tmp_path, agents_dir=REPO / "agents").start()
    r = m.cli("submit", "x" * 20_000, "--payload", "{}")
    assert r.returncode == 5, r.stderr
    assert "message cut" in r.stderr
    assert len(r.stderr) < 4096
    assert "h2 protocol error" not in r.stderr

    m.wait_agent("echo", online=True)
    t = m.submit("echo.echo", {"message": "hello"})
    assert m.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED
    past = m.client.GetLogs(client_pb2.GetLogsRequest(task_id=t.id, after_seq=2**64 - 1))
    assert list(past.lines) == []

    # The reader is gone before the CLI writes a byte.
    read, write = os.pipe()
    os.close(read)
    closed = subprocess.run(
        [str(BIN), "--config", str(m.config), "config", "show"],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    os.close(write)
    assert "panicked" not in closed.stderr
    assert closed.returncode != 101
    assert m.stop() == 0
