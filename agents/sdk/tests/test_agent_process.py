"""An agent program as the manager's supervisor runs it: SIGTERM ends it cleanly with exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fake_manager import FakeManager
from support import exited

from hyperagent.v1 import common_pb2

PROGRAM = textwrap.dedent(
    """
    from hyperagent_sdk import Agent

    agent = Agent(name="sleeper", max_concurrency=2, backoff_initial=0.01, backoff_max=0.1)

    @agent.task("sleeper.child")
    def child(ctx, payload):
        ctx.run(
            ["sh", "-c", "sleep 30 & echo $!; wait"],
            on_start=lambda pid: ctx.log.info("child started", child_pid=pid),
        )

    if __name__ == "__main__":
        agent.run()
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_cancels_tasks_kills_their_children_and_exits_zero(
    manager: FakeManager, socket_path: str, tmp_path: Path, sig: signal.Signals
) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text(PROGRAM)
    env = {**os.environ, "HYPERAGENT_SOCKET": socket_path, "HYPERAGENT_AGENT_NAME": "sleeper-a"}
    agent = subprocess.Popen(
        [sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert manager.wait_for(lambda: manager.registrations)
        assert manager.registrations[0].name == "sleeper-a"
        assert manager.registrations[0].pid == agent.pid
        manager.start_task("t1", "sleeper.child")
        # The shell logs nothing itself; its grandchild's pid arrives as a stdout line.
        assert manager.wait_for(lambda: len(manager.messages("t1")) == 2)
        started, grandchild = manager.stored["t1"][1], manager.stored["t1"][2]
        shell_pid = int(started.fields["child_pid"])
        sleep_pid = int(grandchild.message)
        assert not exited(shell_pid)
        assert not exited(sleep_pid)
        agent.send_signal(sig)
        _, stderr = agent.communicate(timeout=15)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    assert agent.returncode == 0, stderr
    result = manager.finished["t1"].result
    assert (result.status, result.error) == (
        common_pb2.RESULT_STATUS_CANCELED,
        "agent shutting down",
    )
    assert exited(shell_pid)
    assert exited(sleep_pid)
    assert "agent sleeper-a stopped" in stderr
