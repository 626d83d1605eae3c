"""Choosing the workspace root (the introduction's and Settings' "Where workspaces live"): kept in
the database across restarts, used for new tasks only, refused with the reason for folders that
cannot be one, audited."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from harness import DEADLINE, Manager

from hyperagent.v1 import client_pb2, common_pb2


@pytest.fixture
def echo(manager: Manager, start_agent) -> Manager:  # type: ignore[no-untyped-def]
    start_agent(manager.socket, name="echo")
    manager.wait_agent("echo", online=True)
    return manager


def root(m: Manager) -> dict:
    r = m.cli("--json", "config", "workspace-root")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def set_root(m: Manager, path: str) -> client_pb2.ManagerStatus:
    return m.client.SetWorkspaceRoot(
        client_pb2.SetWorkspaceRootRequest(path=path), timeout=DEADLINE
    )


def test_a_chosen_root_takes_new_tasks_survives_a_restart_and_resets(
    echo: Manager, tmp_path: Path
) -> None:
    default = root(echo)
    assert default["source"] == "default"
    assert default["workspace_root"] == str(tmp_path / "data" / "workspaces")
    before = echo.submit("echo.echo", {"message": "old root"})
    echo.wait_state(before.id)

    projects = tmp_path / "my projects"  # made if missing; a space is fine
    r = echo.cli("config", "workspace-root", str(projects))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{projects} (from app)"
    assert projects.is_dir()
    t = echo.submit("echo.echo", {"message": "new root"}, workspace="shop")
    assert t.workspace == str(projects / "shop")
    assert echo.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED
    # Tasks made before keep their folders.
    assert echo.task(before.id).workspace.startswith(default["workspace_root"])
    assert "workspaces:" in echo.cli("status").stdout

    assert echo.stop() == 0
    echo.start()
    assert root(echo) == {"workspace_root": str(projects), "source": "app"}

    s = set_root(echo, "")
    assert s.workspace_root == default["workspace_root"]
    assert s.workspace_root_source == "default"
    audit = echo.cli("--json", "audit", "list").stdout
    assert audit.count('"settings.workspace_root"') == 2


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("projects", "must be an absolute path"),
        ("/tmp/../etc", "must not contain `..`"),
        ("/", "cannot be the file system's root"),
    ],
)
def test_a_root_that_cannot_be_one_is_refused_with_the_reason(
    manager: Manager, path: str, why: str
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        set_root(manager, path)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"workspace root `{path}`: {why}" in err.value.details()
    assert root(manager)["source"] == "default"  # nothing changed


def test_a_file_or_a_folder_around_the_managers_data_is_refused(
    manager: Manager, tmp_path: Path
) -> None:
    f = tmp_path / "a-file"
    f.write_text("")
    for path, why in [
        (f, "is a file, not a folder"),
        (tmp_path, "contains HyperAgent's own data folder"),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            set_root(manager, str(path))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert why in err.value.details()
    assert root(manager)["source"] == "default"
