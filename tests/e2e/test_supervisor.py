"""The supervisor starts agents from manifests, captures their output, restarts them when they
crash, and on shutdown leaves no process behind, even a task's grandchildren."""

from __future__ import annotations

import os
import signal

from harness import REPO, pid_alive, pids_running, wait_until

from hyperagent.v1 import common_pb2


def test_supervised_agents_start_restart_and_stop_leaving_no_process(make_manager):
    m = make_manager(agents_dir=REPO / "agents").start()
    first = m.wait_agent("echo", online=True)
    a = m.agents()["echo"]
    assert a.supervised
    assert a.pid > 0
    assert a.restarts == 0

    # Its stderr is captured into the feed.
    m.wait_event(lambda e: e.HasField("agent_output") and e.agent_output.agent_id == "echo")

    # Crash it: it goes offline and comes back as a new process.
    os.kill(a.pid, signal.SIGKILL)
    off = m.wait_agent("echo", online=False, after=first.seq)
    m.wait_agent("echo", online=True, after=off.seq)
    b = m.agents()["echo"]
    assert b.pid != a.pid
    assert b.restarts == 1

    # A task with a child shell and a grandchild sleep, then a clean manager shutdown.
    t = m.submit("echo.sleep", {"seconds": 876.543, "child": True})
    ev = m.wait_event(
        lambda e: e.HasField("task_log") and "child_pid" in e.task_log.line.fields, task_id=t.id
    )
    assert int(ev.task_log.line.fields["child_pid"]) > 0
    assert m.task(t.id).state == common_pb2.TASK_STATE_RUNNING
    assert m.stop() == 0
    # The child's pid is the one it has in its task's pid namespace, not the machine's: what
    # outlived the manager is looked for by command line below.
    assert not pid_alive(b.pid), f"process {b.pid} outlived the manager"
    wait_until(lambda: not pids_running("sleep", "876.543"), "no grandchild sleep left")
    assert not (m.root / "run" / "manager.sock").exists()
    assert not (m.root / "run" / "manager.json").exists()
