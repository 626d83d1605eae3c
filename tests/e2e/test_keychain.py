"""Secrets in the desktop keychain: a real D-Bus session bus with GNOME Keyring's Secret Service
(Debian's packages, unlocked with a test password), the way a desktop session has it. The manager
picks it over the kernel key store when the session has a bus, and secrets then survive a restart
of the manager (and, with the keychain, of the machine)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import REPO, Manager, session_bus, wait_until

from hyperagent.v1 import common_pb2

PROBE_DIR = REPO / "tests" / "e2e" / "agents"


@pytest.fixture
def desktop_session(tmp_path: Path) -> Iterator[dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir()
    with session_bus(tmp_path) as address:
        yield from keychain(tmp_path, home, address)


def keychain(tmp_path: Path, home: Path, address: str) -> Iterator[dict[str, str]]:
    """gnome-keyring-daemon on the bus, unlocked with a test password; stopped at the end."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = dict(
        os.environ, DBUS_SESSION_BUS_ADDRESS=address, HOME=str(home), XDG_RUNTIME_DIR=str(run)
    )
    keyring = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert keyring.stdin is not None
    keyring.stdin.write(b"test-password")
    keyring.stdin.close()

    def unlocked() -> bool:
        # Fails until the daemon owns the Secret Service name, and reads locked until it has
        # taken the password; stores before that fail with "locked collection".
        r = subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets/aliases/default",
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection",
                "string:Locked",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        return r.returncode == 0 and "boolean false" in r.stdout

    try:
        wait_until(unlocked, "the test keychain to be unlocked")
        yield {"DBUS_SESSION_BUS_ADDRESS": address, "HOME": str(home)}
    finally:  # the bus and the daemon go however the test ends
        keyring.terminate()
        keyring.wait(timeout=30)


def test_secrets_go_to_the_desktop_keychain_and_survive_a_restart(
    make_manager: Any, desktop_session: dict[str, str]
) -> None:
    m: Manager = make_manager(
        extra={
            "supervisor": {"agent_dirs": [str(PROBE_DIR)]},
            "sandbox": {"allow_unsupervised_agents": False},
        }
    )
    m.home = Path(desktop_session["HOME"])
    m.env_extra = {"DBUS_SESSION_BUS_ADDRESS": desktop_session["DBUS_SESSION_BUS_ADDRESS"]}
    m.start()
    value = f"keychain-secret-{os.getpid()}-Xy7"
    r = m.cli("secret", "set", "PROBE_TOKEN", stdin=value)
    assert r.returncode == 0, r.stderr
    assert "desktop keychain (Secret Service)" in m.cli("secret", "list").stdout
    # Audited before the keychain is written, then as done; by name only.
    lines = m.cli("audit", "list", "--json").stdout.splitlines()
    audit = [json.loads(line) for line in lines if line.strip()]
    secret = [(e["action"], e["detail"]) for e in audit if e["action"].startswith("secret.")]
    assert secret == [
        ("secret.set_started", {"name": "PROBE_TOKEN"}),
        ("secret.set", {"name": "PROBE_TOKEN"}),
    ], secret

    assert m.stop() == 0
    m.start()
    m.wait_agent("probe", online=True)
    assert "PROBE_TOKEN" in m.cli("secret", "list").stdout
    t = m.submit("probe.try", {"action": "secret", "name": "PROBE_TOKEN"})
    m.wait_state(t.id, common_pb2.TASK_STATE_AWAITING_CONSENT)
    pending = json.loads(m.cli("--json", "consent", "list").stdout)
    assert m.cli("consent", "grant", pending[0]["id"]).returncode == 0
    done = m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert json.loads(done.result.output_json)["length"] == len(value)

    # Not in the clear anywhere: the data dir, the manager's log, nor the keychain's own files.
    for path in m.root.rglob("*"):
        if path.is_file():
            assert value.encode() not in path.read_bytes(), f"the secret is in {path}"
