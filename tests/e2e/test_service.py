"""`hyperagent service`: the headless manager as a systemd user service. No systemd user manager
can run on the test machine (PID 1 is not systemd), so `systemctl` is a stand-in at the process
boundary (`standins/systemctl`, named as such): it runs the unit's ExecStart as systemd would. The
unit file we write is checked by the real `systemd-analyze verify`; the manager it starts is the
real binary with the real agents."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import DEADLINE, REPO, Manager, pid_alive, standin_systemctl, wait_until


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Manager]:
    systemctl = standin_systemctl(tmp_path)
    m = Manager(
        tmp_path,
        extra={
            "service": {"systemctl": systemctl, "unit_dir": str(tmp_path / "units")},
            "web": {"address": "127.0.0.1:0"},
        },
    )
    yield m
    # Whatever the test did, nothing of the service is left running.
    subprocess.run([*systemctl, "--user", "stop", "hyperagent.service"], check=False)


def status(m: Manager) -> dict:
    r = m.cli("--json", "service", "status")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def manager_pid(m: Manager) -> int:
    r = m.cli("--json", "status")
    assert r.returncode == 0, r.stderr
    return int(json.loads(r.stdout)["pid"])


def test_install_runs_the_manager_as_a_service_and_stop_start_uninstall_work(svc: Manager) -> None:
    assert status(svc)["state"] == "not_installed"
    assert "hyperagent service install" in status(svc)["detail"]

    r = svc.cli("service", "install")
    assert r.returncode == 0, r.stderr
    unit = svc.root / "units" / "hyperagent.service"
    text = unit.read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert "hyperagent" in exec_start
    assert '"serve" "--web"' in exec_start
    assert f'"--config" "{svc.config}"' in exec_start
    assert f'"--agents-dir" "{REPO / "agents"}"' in exec_start  # the bundled agents
    assert "running" in r.stdout
    assert "starts with your session" in r.stdout

    # systemd itself accepts the unit: no unknown keys, the binary exists.
    xdg_run = svc.root / "xdg-run"
    xdg_run.mkdir(mode=0o700)
    check = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        env={**svc.env(), "XDG_RUNTIME_DIR": str(xdg_run)},
        timeout=DEADLINE,
    )
    assert check.returncode == 0, check.stderr
    assert check.stderr == "", check.stderr

    s = status(svc)
    assert s["state"] == "running"
    assert s["enabled"] is True
    pid = s["pid"]
    assert manager_pid(svc) == pid  # the CLI reaches the service's manager
    discovery = json.loads((svc.root / "run" / "manager.json").read_text())
    assert discovery["pid"] == pid
    assert discovery["web"]["url"].startswith("http://127.0.0.1:")

    # A second `serve` for the same user is refused while the service runs.
    r = svc.cli("serve")
    assert r.returncode == 7
    assert f"pid {pid}" in r.stderr

    r = svc.cli("service", "stop")
    assert r.returncode == 0, r.stderr
    assert "installed, not running" in r.stdout
    assert not pid_alive(pid)
    assert svc.cli("status").returncode == 3  # nothing answers

    r = svc.cli("service", "start")
    assert r.returncode == 0, r.stderr
    again = status(svc)["pid"]
    assert again != pid
    assert manager_pid(svc) == again

    r = svc.cli("service", "uninstall")
    assert r.returncode == 0, r.stderr
    assert "not installed" in r.stdout
    assert not unit.exists()
    wait_until(lambda: not pid_alive(again), "the uninstalled service's manager to exit")
    calls = (svc.root / "systemd-state" / "calls.log").read_text()
    assert "--user enable hyperagent.service" in calls
    assert "--user disable --now hyperagent.service" in calls


def test_without_systemd_the_service_is_unavailable_and_install_says_why(tmp_path: Path) -> None:
    m = Manager(tmp_path, extra={"service": {"systemctl": ["/nonexistent/systemctl"]}})
    s = status(m)
    assert s["state"] == "unavailable"
    assert "cannot run `/nonexistent/systemctl` (service.systemctl)" in s["detail"]
    r = m.cli("service", "install")
    assert r.returncode != 0
    assert "the service needs systemd" in r.stderr


def test_start_before_install_and_uninstall_of_nothing_are_refused_with_the_fix(
    svc: Manager,
) -> None:
    r = svc.cli("service", "start")
    assert r.returncode != 0
    assert "`hyperagent service install` writes" in r.stderr
    r = svc.cli("service", "uninstall")
    assert r.returncode != 0
    assert "the service is not installed by this user" in r.stderr
    assert not (svc.root / "units").exists()
