"""An agent's manifest may tighten the resource limits of its task processes and lower their
priority (`[limits]`), never loosen what the config gives: the real manager runs a copy of the
hostile probe agent whose manifest asks for 64 MiB and niceness 7 under a config of 256 MiB, and
the kernel enforces them (a cgroup per task process, `setpriority` before exec)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from harness import REPO, Manager

from hyperagent.v1 import common_pb2

PROBE = REPO / "tests" / "e2e" / "agents" / "probe"
CONFIG_MEMORY = 256 * 1024 * 1024
MANIFEST_MEMORY = 64 * 1024 * 1024
NICE = 7


@pytest.fixture(scope="module")
def m(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    root = tmp_path_factory.mktemp("limits")
    agents = root / "agents" / "probe"
    agents.mkdir(parents=True)
    shutil.copy2(PROBE / "probe_agent.py", agents / "probe_agent.py")
    manifest = (PROBE / "agent.toml").read_text()
    (agents / "agent.toml").write_text(
        f"{manifest}\n[limits]\nmemory_bytes = {MANIFEST_MEMORY}\nnice = {NICE}\n"
    )
    m = Manager(
        root=root,
        agents_dir=root / "agents",
        extra={"sandbox": {"allow_unsupervised_agents": False, "task_memory_bytes": CONFIG_MEMORY}},
    ).start()
    m.wait_agent("probe", online=True)
    yield m
    m.stop()


def test_task_processes_run_at_the_manifests_lower_priority(m: Manager) -> None:
    done = m.wait_state(m.submit("probe.try", {"action": "priority"}).id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert json.loads(done.result.output_json)["nice"] == NICE


def test_the_manifests_memory_limit_is_enforced_below_the_configs(m: Manager) -> None:
    # 128 MiB fits the config's 256 MiB, not the manifest's 64 MiB.
    done = m.wait_state(m.submit("probe.try", {"action": "eat_memory", "mib": 128}).id)
    assert done.state != common_pb2.TASK_STATE_COMPLETED
    assert "memory limit" in done.attempts[0].error, done.attempts[0].error
    # Within the manifest's limit the same task completes.
    done = m.wait_state(m.submit("probe.try", {"action": "eat_memory", "mib": 8}).id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
