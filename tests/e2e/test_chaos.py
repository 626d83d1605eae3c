"""Chaos: many tasks on three confined agents while agents are killed with SIGKILL, the manager is
killed and stopped gracefully, and the data directory's disk is filled and freed. At the end every
invariant is checked: all acknowledged work is there and ended, none twice, each attempt's log
lines in order and complete, the audit chain intact, no process left behind, nothing stuck.

The client here behaves as a careful one does: every submit carries an idempotency key and is
tried again (same key) while the manager is away or the disk is full.

Sized for CI by default (about half a minute). `HYPERAGENT_CHAOS_TASKS` sets the number of tasks,
`HYPERAGENT_CHAOS_REPORT` a file to write the figures to (BENCHMARKS.md quotes them), and
`HYPERAGENT_CHAOS_CALM=1` runs the same workload with no fault at all (the baseline).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from harness import TERMINAL, Manager, pid_alive, tmpfs, wait_until

from hyperagent.v1 import client_pb2, common_pb2

MIB = 1 << 20
TASKS = int(os.environ.get("HYPERAGENT_CHAOS_TASKS", "120"))
CALM = os.environ.get("HYPERAGENT_CHAOS_CALM") == "1"
SPAM_LINES = 2_000
AGENTS = ("echo-a", "echo-b", "echo-c")
#: Submits are spread over this many seconds; the manager is killed, the disk filled (and freed
#: DISK_FULL_FOR later) and the manager stopped gracefully at these fractions of it; an agent is
#: killed every AGENT_KILL_EVERY seconds; the manager stays away MANAGER_AWAY seconds each time
#: (as a service manager's restart delay would keep it).
SUBMIT_WINDOW = 20.0
MANAGER_KILL_AT, DISK_FULL_AT, MANAGER_STOP_AT = 0.3, 0.55, 0.85
DISK_FULL_FOR, MANAGER_AWAY = 2.5, 0.5
AGENT_KILL_EVERY = 1.2
DISK_NOTE = "the disk holding the data directory has"
DROPPED = "were dropped while the disk was nearly full"


@pytest.fixture
def chaos_disk(tmp_path: Path) -> Iterator[Path | None]:
    """`tmp_path/data` as a 64 MiB tmpfs when run as root (else no disk phase)."""
    if os.geteuid() != 0:
        yield None
        return
    with tmpfs(tmp_path / "data", "64m") as data:
        yield data


@dataclass
class Run:
    m: Manager
    #: idempotency key -> task id, for every acknowledged submit.
    acked: dict[str, str] = field(default_factory=dict)
    #: idempotency key -> task type.
    kinds: dict[str, str] = field(default_factory=dict)
    retries: Counter[str] = field(default_factory=Counter)
    #: (wall time in us, agent id, task ids it was running) per agent kill.
    kills: list[tuple[int, str, list[str]]] = field(default_factory=list)
    manager_kills: int = 0
    manager_stops: int = 0
    disk_fills: int = 0
    last_ack: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    #: What stopped the submitter early, if anything.
    error: BaseException | None = None

    def client(self):
        # No lock: a call may meet a manager that is away, as a real client's would.
        return self.m.client


def workload(i: int, rng: random.Random) -> tuple[str, dict]:
    r = rng.random()
    if r < 0.40:
        return "echo.echo", {"message": f"m{i}"}
    if r < 0.65:
        return "echo.sleep", {"seconds": round(rng.uniform(0.3, 1.5), 2), "steps": 5}
    if r < 0.90:
        return "echo.spam", {"lines": SPAM_LINES, "size": 60}
    return "echo.fail", {"message": f"f{i}"}


def submitter(run: Run, rng: random.Random) -> None:
    try:
        submit_all(run, rng)
    except BaseException as e:
        run.error = e
        raise


def submit_all(run: Run, rng: random.Random) -> None:
    for i in range(TASKS):
        key = f"chaos-{i}"
        task_type, payload = workload(i, rng)
        run.kinds[key] = task_type
        while True:
            try:
                resp = run.client().SubmitTask(
                    client_pb2.SubmitTaskRequest(
                        task_type=task_type,
                        payload_json=json.dumps(payload),
                        idempotency_key=key,
                        max_attempts=10,
                    ),
                    timeout=10,
                )
                run.acked[key] = resp.task.id
                run.last_ack = time.monotonic()
                break
            except grpc.RpcError as e:
                # Away (killed, stopping, restarting) or the disk is full: the same key again.
                # CANCELLED: this client closed the channel under the call to reach the restarted
                # manager; the outcome is unknown, so the same key again.
                if e.code() not in (
                    grpc.StatusCode.CANCELLED,
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                ):
                    raise
                run.retries[e.code().name] += 1
            except ValueError:
                run.retries["closed channel"] += 1  # the manager was being restarted
            run.done.wait(0.05)  # a client's back-off, not a synchronisation
        # Pacing: the submits cover the whole window.
        run.done.wait(SUBMIT_WINDOW / TASKS)


def restart(run: Run, graceful: bool) -> None:
    if graceful:
        assert run.m.stop() == 0
        run.manager_stops += 1
    else:
        run.m.kill9()
        run.manager_kills += 1
    run.done.wait(MANAGER_AWAY)  # a service manager's restart delay
    run.m.start()


def chaos(run: Run, disk: Path | None, rng: random.Random) -> None:
    start = time.monotonic()
    events = [(MANAGER_KILL_AT * SUBMIT_WINDOW, "kill"), (MANAGER_STOP_AT * SUBMIT_WINDOW, "stop")]
    if CALM:
        events = []
    if disk is not None and not CALM:
        full = DISK_FULL_AT * SUBMIT_WINDOW
        events += [(full, "fill"), (full + DISK_FULL_FOR, "free")]
    events.sort()
    filler = disk / "filler" if disk is not None else None
    next_agent_kill = start + AGENT_KILL_EVERY
    while not run.done.is_set():
        now = time.monotonic()
        if events and now - start >= events[0][0]:
            _, what = events.pop(0)
            if what in ("kill", "stop"):
                restart(run, graceful=what == "stop")
            elif what == "fill" and filler is not None and disk is not None:
                st = os.statvfs(disk)
                size = st.f_bavail * st.f_frsize - 4 * MIB  # under the 8 MiB reserve
                with open(filler, "wb") as f:
                    os.posix_fallocate(f.fileno(), 0, size)
                run.disk_fills += 1
            elif what == "free" and filler is not None:
                filler.unlink()
        elif now >= next_agent_kill and not CALM:
            next_agent_kill = now + AGENT_KILL_EVERY
            try:
                agents = run.client().ListAgents(client_pb2.ListAgentsRequest(), timeout=5).agents
            except (grpc.RpcError, ValueError):
                continue  # the manager is restarting
            busy = [
                a
                for a in agents
                if a.status == common_pb2.AGENT_STATUS_ONLINE and a.running_task_ids
            ]
            if busy:
                a = rng.choice(busy)
                try:
                    os.kill(a.pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                run.kills.append((time.time_ns() // 1000, a.id, list(a.running_task_ids)))
        if (not events and len(run.acked) == TASKS) or run.error is not None:
            return
        run.done.wait(0.02)


def all_tasks(m: Manager, states: list[int] | None = None) -> list[client_pb2.Task]:
    """Every task (in these states), page by page."""
    out: list[client_pb2.Task] = []
    token = ""
    while True:
        page = m.client.ListTasks(
            client_pb2.ListTasksRequest(states=states or [], page_token=token), timeout=30
        )
        out.extend(page.tasks)
        token = page.next_page_token
        if not token:
            return out


def check_log(task: client_pb2.Task, lines: list[common_pb2.LogLine]) -> None:
    """Task-wide numbers with no gap; per attempt, numbers that only grow, with a gap only where
    the log says lines were dropped; a completed spam task's last attempt has every line."""
    assert [x.seq for x in lines] == list(range(1, len(lines) + 1)), task.id
    by_attempt: dict[int, list[common_pb2.LogLine]] = defaultdict(list)
    for x in lines:
        by_attempt[x.attempt].append(x)
    assert set(by_attempt) <= {a.number for a in task.attempts}, (task.id, set(by_attempt))
    for n, mine in by_attempt.items():
        numbers = [x.attempt_seq for x in mine]
        assert numbers == sorted(set(numbers)), (task.id, n)
        assert numbers[0] == 1 or DISK_NOTE in mine[0].message, (task.id, n, numbers[:3])
        for a, b in itertools.pairwise(mine):
            if b.attempt_seq != a.attempt_seq + 1:
                assert DROPPED in b.message or DISK_NOTE in a.message, (task.id, n, a, b)
    if task.task_type == "echo.spam" and task.state == common_pb2.TASK_STATE_COMPLETED:
        last = by_attempt[task.attempts[-1].number]
        if not any(DISK_NOTE in x.message for x in last):
            got = [int(x.message.split()[1]) for x in last if x.message.startswith("line ")]
            assert got == list(range(1, SPAM_LINES + 1)), (task.id, len(got))


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def check_invariants(m: Manager, run: Run, tmp_path: Path) -> dict[str, client_pb2.Task]:
    """Every invariant of the run; returns the tasks (as stored before the final stop)."""
    tasks = {t.id: t for t in all_tasks(m)}
    # Everything acknowledged is there, once: one task per key, no other task.
    assert len(tasks) == TASKS, len(tasks)
    assert {t.idempotency_key: t.id for t in tasks.values()} == run.acked
    assert all(t.state in TERMINAL for t in tasks.values())
    # echo.echo and echo.sleep complete (they may be retried, never lost); echo.fail fails.
    for key, task_id in run.acked.items():
        t = tasks[task_id]
        if run.kinds[key] == "echo.fail":
            assert t.state in (common_pb2.TASK_STATE_FAILED, common_pb2.TASK_STATE_DEAD_LETTERED), t
        elif run.kinds[key] in ("echo.echo", "echo.sleep"):
            # Completed, unless every attempt ran on an agent the test killed (a long sleep can
            # be the victim of each kill in a row): never lost any other way.
            killed = all("went offline" in a.error for a in t.attempts)
            assert t.state == common_pb2.TASK_STATE_COMPLETED or (
                t.state == common_pb2.TASK_STATE_DEAD_LETTERED and killed
            ), (t.id, t.status_reason)
    # None completed twice: the feed's state changes, read to a marker task's end.
    marker = m.submit("echo.echo", {"message": "marker"})
    completed: Counter[str] = Counter()
    for ev in m.events(after=0, exclude_logs=True):
        if ev.HasField("task_state") and ev.task_state.to == common_pb2.TASK_STATE_COMPLETED:
            if ev.task_state.task_id == marker.id:
                break
            completed[ev.task_state.task_id] += 1
    assert completed
    assert max(completed.values()) == 1, completed.most_common(3)
    # Each attempt's lines in order and complete.
    for t in tasks.values():
        check_log(t, m.logs(t.id))
    # The audit chain verifies.
    verify = m.cli("audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # Nothing left behind: no agent or task process after a clean stop, no workspace.
    pids = [a.pid for a in m.agents().values()]
    assert m.stop() == 0
    assert not [p for p in pids if pid_alive(p)]
    wait_until(lambda: not echo_processes(), "no echo process left")
    work = tmp_path / "data" / "workspaces"
    assert not work.exists() or not any(work.iterdir()), sorted(p.name for p in work.iterdir())
    return tasks


def test_chaos(chaos_disk: Path | None, tmp_path: Path, make_manager) -> None:
    agents_dir = tmp_path / "agents"
    for name in AGENTS:
        (agents_dir / name).mkdir(parents=True)
        (agents_dir / name / "agent.toml").write_text(
            f'name = "{name}"\ncommand = ["python3", "-m", "hyperagent_echo"]\n'
            'capabilities = ["echo.echo", "echo.sleep", "echo.spam", "echo.fail", "echo.ask"]\n'
            '[restart]\npolicy = "always"\n[env]\nPYTHONUNBUFFERED = "1"\n'
        )
    m = make_manager(
        {
            "supervisor": {"agent_dirs": [str(agents_dir)]},
            "sandbox": {"allow_unsupervised_agents": False},
            "store": {"min_free_bytes": 8 * MIB, "free_space_check_interval": "20ms"},
            "tasks": {"on_manager_restart": "requeue"},
        }
    ).start()
    for name in AGENTS:
        m.wait_agent(name, online=True)
    # Not for secrets: a reproducible run (HYPERAGENT_CHAOS_SEED).
    rng = random.Random(int(os.environ.get("HYPERAGENT_CHAOS_SEED", "19")))  # noqa: S311
    run = Run(m=m)
    began = time.monotonic()
    seed = rng.getrandbits(64)
    sub = threading.Thread(target=submitter, args=(run, random.Random(seed)))  # noqa: S311
    sub.start()
    try:
        chaos(run, chaos_disk, rng)
    finally:
        run.done.set()
        sub.join()
    assert run.error is None, repr(run.error)
    assert len(run.acked) == TASKS

    # Drain: every acknowledged task ends.
    pending = set(run.acked.values())
    drained_from = time.monotonic()

    def drained() -> bool:
        ended = {t.id for t in all_tasks(m, sorted(TERMINAL))}
        return pending <= ended

    wait_until(drained, "every acknowledged task ended", timeout=240)
    drain = time.monotonic() - drained_from
    elapsed = time.monotonic() - began

    tasks = check_invariants(m, run, tmp_path)

    # Figures.
    requeue_ms: list[float] = []
    for at_us, agent, running in run.kills:
        for task_id in running:
            t = tasks.get(task_id)
            if t is None:
                continue
            for a in t.attempts:
                ended_us = a.ended_at.ToMicroseconds()
                if a.agent_id == agent and a.error and ended_us >= at_us:
                    requeue_ms.append((ended_us - at_us) / 1000)
                    break
    if not CALM:
        assert run.kills, "no agent was killed"
        assert requeue_ms, "no killed attempt was seen re-queued"
    report = {
        "tasks": TASKS,
        "agent_kills": len(run.kills),
        "manager_kills": run.manager_kills,
        "manager_graceful_stops": run.manager_stops,
        "disk_fills": run.disk_fills,
        "submit_retries": dict(run.retries),
        "attempts": sum(len(t.attempts) for t in tasks.values()),
        "states": dict(Counter(common_pb2.TaskState.Name(t.state) for t in tasks.values())),
        "seconds_total": round(elapsed, 1),
        "seconds_to_drain_after_last_submit": round(drain + (drained_from - run.last_ack), 1),
        "requeue_ms_p50": round(statistics.median(requeue_ms), 1) if requeue_ms else None,
        "requeue_ms_p95": round(percentile(requeue_ms, 0.95), 1) if requeue_ms else None,
        "requeues_measured": len(requeue_ms),
    }
    print(json.dumps(report))
    if out := os.environ.get("HYPERAGENT_CHAOS_REPORT"):
        Path(out).write_text(json.dumps(report, indent=2) + "\n")


def echo_processes() -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes()
        except OSError:
            continue
        if b"hyperagent_echo" in cmd and pid_alive(int(p.name)):
            out.append(int(p.name))
    return out
