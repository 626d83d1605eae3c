"""A full disk under the data directory: refused work is never run, acknowledged work is never
lost, and the manager says what happened. The data directory is a real tmpfs of a few MiB mounted
by the test (root only), filled by a real file and by a real agent's log lines."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from harness import TERMINAL, tmpfs, wait_until

from hyperagent.v1 import client_pb2, common_pb2

MIB = 1 << 20
NOTE = "the disk holding the data directory has"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """`tmp_path/data` as a 24 MiB tmpfs (the harness's managers keep their data there)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    with tmpfs(tmp_path / "data", "24m") as data:
        yield data


def free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, leave: int) -> Path:
    """A real file that leaves `leave` bytes free on `path`'s filesystem."""
    filler = path / "filler"
    size = free(path) - leave
    assert size > 0
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, size)
    return filler


def test_a_nearly_full_disk_refuses_new_tasks_and_drops_lines_saying_so(
    small_disk: Path, tmp_path: Path, make_manager, start_agent
) -> None:
    m = make_manager(
        {
            "store": {"min_free_bytes": 4 * MIB, "free_space_check_interval": "20ms"},
            "paths": {"workspace_root": str(tmp_path / "work")},
        }
    ).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    t = m.submit("echo.sleep", {"seconds": 2.4, "steps": 24})
    wait_until(lambda: len(m.logs(t.id)) >= 2, "the task's first lines")

    filler = fill(small_disk, leave=2 * MIB)
    # The free space is read at most every free_space_check_interval: until then a submit may
    # still be taken (one task, whatever the tries: they share an idempotency key).
    refused: list[grpc.RpcError] = []

    def submit_is_refused() -> bool:
        try:
            m.submit("echo.echo", {"message": "while full"}, idempotency_key="probe")
        except grpc.RpcError as e:
            refused.append(e)
            return True
        return False

    wait_until(submit_is_refused, "a submit refused")
    assert refused[0].code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refused[0]
    assert "store.min_free_bytes" in refused[0].details()
    assert str(small_disk) in refused[0].details()
    cli = m.cli("submit", "echo.echo", "--payload", '{"message": "from the CLI"}')
    assert cli.returncode != 0
    assert "store.min_free_bytes" in cli.stderr, cli.stderr
    # The running task goes on; its log says lines are being dropped.
    wait_until(lambda: any(NOTE in x.message for x in m.logs(t.id)), "the dropping note")

    filler.unlink()
    done = m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    lines = m.logs(t.id)
    assert [x.seq for x in lines] == list(range(1, len(lines) + 1))
    numbers = [x.attempt_seq for x in lines]
    assert numbers == sorted(set(numbers)), "each attempt's numbers only grow"
    notes = [x for x in lines if NOTE in x.message]
    assert len(notes) == 1
    assert notes[0].level == common_pb2.LOG_LEVEL_WARN
    # Lines after the note are either the summary of what went or lines stored after room came.
    after = lines[lines.index(notes[0]) + 1 :]
    gaps = [
        (a, b)
        for a, b in zip([notes[0], *after], after, strict=False)
        if b.attempt_seq != a.attempt_seq + 1
    ]
    assert all("were dropped while the disk was nearly full" in b.message for _, b in gaps), gaps
    assert lines[-1].message == "slept step 24/24"
    # And new work is taken again.
    again = m.submit("echo.echo", {"message": "room again"})
    assert m.wait_state(again.id).state == common_pb2.TASK_STATE_COMPLETED


def test_a_failed_write_stops_the_manager_and_loses_nothing_it_acknowledged(
    small_disk: Path, tmp_path: Path, make_manager, start_agent
) -> None:
    """No reserve (`min_free_bytes = 0`): a log flood fills the disk until a write fails."""
    m = make_manager(
        {
            "store": {"min_free_bytes": 0, "wal_size_limit_bytes": 512 * 1024},
            "paths": {"workspace_root": str(tmp_path / "work")},
        }
    ).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    filler = fill(small_disk, leave=6 * MIB)
    flood = m.submit("echo.spam", {"lines": 400_000, "size": 200}, max_attempts=1)

    acked: dict[str, str] = {}  # message -> task id
    refused: list[str] = []  # messages the manager said it did not keep
    stop = threading.Event()

    def submit_until_it_stops() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            msg = f"n{i}"
            try:
                acked[msg] = m.submit("echo.echo", {"message": msg}).id
            except grpc.RpcError as e:
                if "could not be written" in (e.details() or ""):
                    refused.append(msg)
                elif e.code() == grpc.StatusCode.UNAVAILABLE:
                    return  # the manager is gone: the outcome of this one is unknown
                else:
                    raise

    submitter = threading.Thread(target=submit_until_it_stops)
    submitter.start()
    try:
        code = m.proc.wait(timeout=120)
    finally:
        stop.set()
        submitter.join()
    assert code == 9, code
    assert acked, "no submit was acknowledged before the disk filled: nothing was tested"
    said = m.log.read_text()
    assert "could not be written" in said
    assert "nothing of this request was kept" in said

    filler.unlink()
    m.start()
    # Everything acknowledged is there and runs to its end; nothing refused exists.
    messages = {}
    for t in m.client.ListTasks(client_pb2.ListTasksRequest(limit=1000), timeout=30).tasks:
        if t.task_type == "echo.echo":
            messages[json.loads(t.payload_json)["message"]] = t.id
    assert set(acked) <= set(messages), set(acked) - set(messages)
    assert not set(refused) & set(messages), set(refused) & set(messages)
    for msg, task_id in acked.items():
        assert messages[msg] == task_id
        assert m.wait_state(task_id).state == common_pb2.TASK_STATE_COMPLETED
    # The flood was running: it is not left stuck (max_attempts 1: it ends, it is not re-run).
    ended = m.wait_state(flood.id)
    assert ended.state in TERMINAL
    assert ended.state != common_pb2.TASK_STATE_COMPLETED
    # The audit chain has no gap and verifies (no false tamper alarm).
    verify = m.cli("audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # And the manager takes new work.
    t = m.submit("echo.echo", {"message": "after"})
    assert m.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED


def test_the_write_ahead_log_is_cut_back_while_the_manager_runs(
    tmp_path: Path, make_manager, start_agent
) -> None:
    limit = 256 * 1024
    m = make_manager({"store": {"wal_size_limit_bytes": limit}}).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    t = m.submit("echo.spam", {"lines": 40_000, "size": 100})
    assert m.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED
    wal = tmp_path / "data" / "hyperagent.db-wal"
    assert wal.parent.is_dir(), sorted(p.name for p in (tmp_path / "data").iterdir())
    wait_until(lambda: wal.exists() and wal.stat().st_size <= limit, "the WAL back under its limit")
    assert m.proc.poll() is None, "while the manager runs"
    assert shutil.disk_usage(wal.parent).free > 0
