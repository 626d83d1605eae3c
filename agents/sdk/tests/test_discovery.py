"""Discovery: where the agent finds the manager's socket, and its name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hyperagent_sdk import Agent, DiscoveryError
from hyperagent_sdk.discovery import agent_name, discovery_file_path, resolve_socket_path


def write_discovery(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def test_socket_env_wins_over_any_discovery_file(tmp_path: Path) -> None:
    discovery = write_discovery(tmp_path / "manager.json", {"socket": "/from/file.sock"})
    env = {"HYPERAGENT_SOCKET": "/from/env.sock", "HYPERAGENT_DISCOVERY": str(discovery)}
    assert resolve_socket_path(env) == "/from/env.sock"


def test_discovery_env_names_the_file_to_read(tmp_path: Path) -> None:
    discovery = write_discovery(tmp_path / "elsewhere.json", {"socket": "/run/m.sock", "pid": 7})
    env = {"HYPERAGENT_DISCOVERY": str(discovery), "XDG_RUNTIME_DIR": str(tmp_path / "xdg")}
    assert resolve_socket_path(env) == "/run/m.sock"


def test_default_file_is_under_xdg_runtime_dir(tmp_path: Path) -> None:
    write_discovery(tmp_path / "hyperagent" / "manager.json", {"socket": "/xdg/m.sock"})
    env = {"XDG_RUNTIME_DIR": str(tmp_path)}
    assert discovery_file_path(env) == tmp_path / "hyperagent" / "manager.json"
    assert resolve_socket_path(env) == "/xdg/m.sock"


def test_without_xdg_runtime_dir_the_file_is_under_tmp_per_user() -> None:
    assert discovery_file_path({}) == Path(f"/tmp/hyperagent-{os.getuid()}/manager.json")


def test_empty_variables_count_as_unset(tmp_path: Path) -> None:
    write_discovery(tmp_path / "hyperagent" / "manager.json", {"socket": "/xdg/m.sock"})
    env = {"HYPERAGENT_SOCKET": "", "HYPERAGENT_DISCOVERY": "", "XDG_RUNTIME_DIR": str(tmp_path)}
    assert resolve_socket_path(env) == "/xdg/m.sock"


def test_the_file_is_read_again_on_every_resolution(tmp_path: Path) -> None:
    discovery = tmp_path / "manager.json"
    env = {"HYPERAGENT_DISCOVERY": str(discovery)}
    write_discovery(discovery, {"socket": "/first.sock"})
    assert resolve_socket_path(env) == "/first.sock"
    write_discovery(discovery, {"socket": "/restarted.sock"})
    assert resolve_socket_path(env) == "/restarted.sock"


def test_a_missing_file_says_where_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(DiscoveryError, match=r"no discovery file at .*nope\.json"):
        resolve_socket_path({"HYPERAGENT_DISCOVERY": str(missing)})


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", 'has no "socket"'),
        ('{"pid": 3}', 'has no "socket"'),
        ('{"socket": ""}', 'has no "socket"'),
        ('{"socket": 42}', 'has no "socket"'),
    ],
)
def test_a_malformed_file_is_an_error(tmp_path: Path, content: str, problem: str) -> None:
    discovery = tmp_path / "manager.json"
    discovery.write_text(content)
    with pytest.raises(DiscoveryError, match=problem):
        resolve_socket_path({"HYPERAGENT_DISCOVERY": str(discovery)})


def test_agent_name_env_overrides_the_declared_name() -> None:
    assert agent_name("echo", {}) == "echo"
    assert agent_name("echo", {"HYPERAGENT_AGENT_NAME": "echo-b"}) == "echo-b"
    assert Agent("echo", env={"HYPERAGENT_AGENT_NAME": "echo-b"}).name == "echo-b"


@pytest.mark.parametrize("bad", ["Echo", "1echo", "", "echo agent", "e" * 65])
def test_agent_names_must_be_valid_for_the_manager(bad: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        Agent(bad, env={})


def test_an_invalid_name_from_the_environment_is_refused_too() -> None:
    with pytest.raises(ValueError, match="must match"):
        Agent("echo", env={"HYPERAGENT_AGENT_NAME": "Echo B"})
