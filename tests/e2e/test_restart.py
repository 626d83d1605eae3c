"""A manager killed by SIGKILL loses nothing it acknowledged; interrupted tasks obey the policy."""

from __future__ import annotations

import subprocess

import grpc
import pytest
from harness import BIN, REPO, TERMINAL, Manager, channel

from hyperagent.v1 import client_pb2, client_pb2_grpc, common_pb2

RUNNING = common_pb2.TASK_STATE_RUNNING


def running_event(m, task_id):
    return m.wait_event(
        lambda e: e.HasField("task_state") and e.task_state.to == RUNNING, task_id=task_id
    )


def test_after_kill_9_history_is_intact_tasks_are_requeued_and_agents_reconnect(
    make_manager, start_agent
):
    m = make_manager().start()
    start_agent(m.socket, name="echo-ext")
    m.wait_agent("echo-ext", online=True)
    done = m.submit("echo.spam", {"lines": 1_000, "size": 30})
    assert m.wait_state(done.id).state == common_pb2.TASK_STATE_COMPLETED
    t = m.submit("echo.sleep", {"seconds": 1.5, "steps": 15}, max_attempts=5)
    before = running_event(m, t.id)

    m.kill9()
    m.start()

    # History is intact: the finished task, its result and every acknowledged log line.
    old = m.task(done.id)
    assert old.state == common_pb2.TASK_STATE_COMPLETED
    lines = m.client.GetLogs(
        client_pb2.GetLogsRequest(task_id=done.id, limit=5_000), timeout=30
    ).lines
    assert [x.seq for x in lines] == list(range(1, 1_001))
    # The agent reconnects by itself and the interrupted task runs again to completion.
    m.wait_agent("echo-ext", online=True, after=before.seq)
    final = m.wait_state(t.id)
    assert final.state == common_pb2.TASK_STATE_COMPLETED, final.status_reason
    assert final.attempts[0].error == "the manager restarted while it ran"
    history = []
    for e in m.events(after=0, task_id=t.id, exclude_logs=True):
        if e.HasField("task_state"):
            history.append(e.task_state.to)
            if e.task_state.to == common_pb2.TASK_STATE_COMPLETED:
                break
    assert common_pb2.TASK_STATE_INTERRUPTED in history
    assert history.index(common_pb2.TASK_STATE_INTERRUPTED) < history.index(
        common_pb2.TASK_STATE_COMPLETED
    )


def test_with_the_fail_policy_interrupted_tasks_fail_with_the_reason(make_manager, start_agent):
    m = make_manager({"tasks": {"on_manager_restart": "fail"}}).start()
    start_agent(m.socket, name="echo-ext")
    m.wait_agent("echo-ext", online=True)
    t = m.submit("echo.sleep", {"seconds": 30, "steps": 300})
    running_event(m, t.id)
    m.kill9()
    m.start()
    final = m.task(t.id)
    assert final.state == common_pb2.TASK_STATE_FAILED
    assert (
        final.status_reason
        == 'the manager restarted while it ran (tasks.on_manager_restart = "fail")'
    )


def test_sigterm_ends_open_feeds_so_the_manager_exits_cleanly(tmp_path):
    """A client following the feed (the UI, `hyperagent events`) must not keep a stopping manager
    alive: its feed ends with UNAVAILABLE "shutting down" and the manager exits 0."""
    m = Manager(tmp_path).start()
    follower = channel(m.socket)  # a client of its own, as the UI is
    stream = client_pb2_grpc.ClientServiceStub(follower).Subscribe(client_pb2.SubscribeRequest())
    stream.initial_metadata()  # the subscription is established
    assert m.stop() == 0
    with pytest.raises(grpc.RpcError) as err:
        for _ in stream:
            pass
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "shutting down" in err.value.details()
    follower.close()


def test_a_graceful_stop_requeues_running_work_like_a_crash(tmp_path):
    """`systemctl --user restart` sends SIGTERM: the tasks the manager's own stop interrupted are
    re-queued at the next start (tasks.on_manager_restart = "requeue"), as after a crash, not
    failed because their agents were stopped."""
    m = Manager(tmp_path, agents_dir=REPO / "agents").start()
    m.wait_agent("echo", online=True)
    tasks = [m.submit("echo.sleep", {"seconds": 60, "steps": 600}) for _ in range(3)]
    for t in tasks:
        running_event(m, t.id)
    assert m.stop() == 0
    m.start()
    for t in tasks:
        again = m.task(t.id)
        assert again.state not in TERMINAL, again.status_reason
        assert again.attempts[0].error == "the manager restarted while it ran"
        assert m.cli("cancel", t.id).returncode == 0
    for t in tasks:
        assert m.wait_state(t.id).state == common_pb2.TASK_STATE_CANCELED
    assert m.stop() == 0


def test_a_second_manager_on_the_same_data_directory_is_refused(tmp_path):
    """The single-instance lock is on the data directory too: a manager started with the same
    database but another socket (a shell without XDG_RUNTIME_DIR while the service runs) stops at
    once instead of running the first one's tasks again."""
    (tmp_path / "first").mkdir()
    first = Manager(tmp_path / "first").start()
    config = tmp_path / "second.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{tmp_path / "first" / "data"}"\n'
        f'runtime_dir = "{tmp_path / "second-run"}"\n'
    )
    second = subprocess.run(
        [str(BIN), "--config", str(config), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 7, second.stderr
    assert f"pid {first.proc.pid}" in second.stderr
    assert "already uses the data directory" in second.stderr
    assert first.proc.poll() is None
    assert first.stop() == 0


def test_a_runtime_folder_others_can_write_is_not_used(tmp_path):
    """Neither the manager nor the CLI trusts a runtime folder another user could write: the
    socket or the discovery file in it could be someone else's."""
    run = tmp_path / "run"
    run.mkdir()
    run.chmod(0o777)
    (run / "manager.json").write_text('{"socket": "/tmp/someone-elses.sock", "pid": 1}')
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\nruntime_dir = "{run}"\n')
    serve = subprocess.run(
        [str(BIN), "--config", str(config), "serve"], capture_output=True, text=True, timeout=60
    )
    assert serve.returncode != 0
    assert "can be written by others (mode 777)" in serve.stderr
    status = subprocess.run(
        [str(BIN), "--config", str(config), "status"], capture_output=True, text=True, timeout=60
    )
    assert status.returncode == 5, status.stderr
    assert f"not using {run}" in status.stderr
    assert "someone-elses" not in status.stderr
