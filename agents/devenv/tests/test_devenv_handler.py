"""The task end to end in memory (the SDK's own handler runner): what is written, when the person
is asked, what the result says; and the settings as agent.toml and the README give them."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from devenv_projects import pyproject, write_project

from hyperagent_devenv.agent import agent
from hyperagent_devenv.settings import NUMBERS, PREFIX, TEXTS, Settings
from hyperagent_sdk import CancellationToken, PermissionRefused, SettingError, TaskContext
from hyperagent_sdk.process import ChildRegistry
from hyperagent_sdk.runner import execute
from hyperagent_sdk.testing import run_handler

AGENT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Docker is out of these tests' way (its branches are in test_devenv_docker.py)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_a_project_gets_both_files_and_a_result_the_ui_can_show(fastapi_postgres: Path) -> None:
    run = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert run.status == "SUCCEEDED", run.error
    out = run.output
    compose = (fastapi_postgres / "compose.yaml").read_text()
    devcontainer = (fastapi_postgres / ".devcontainer" / "devcontainer.json").read_text()
    assert [(f["path"], f["written"], f["existed"], f["replaced"]) for f in out["files"]] == [
        (".devcontainer/devcontainer.json", True, False, False),
        ("compose.yaml", True, False, False),
    ]
    assert out["files"][1]["content"] == compose
    assert out["files"][0]["content"] == devcontainer
    assert out["files"][1]["diff"].startswith("--- /dev/null\n+++ b/compose.yaml\n")
    assert json.loads(devcontainer)["dockerComposeFile"] == ["../compose.yaml"]
    assert out["stack"]["framework"] == "FastAPI"
    assert out["stack"]["services"] == ["PostgreSQL"]
    assert {"what": "PostgreSQL", "file": "pyproject.toml", "line": 6} | {
        "text": "psycopg[binary]>=3.2,<4"
    } in out["stack"]["evidence"]
    assert [(v["file"], v["valid"], v["errors"]) for v in out["validation"]] == [
        (".devcontainer/devcontainer.json", True, []),
        ("compose.yaml", True, []),
    ]
    assert out["docker"]["outcome"] == "skipped"
    assert out["docker"]["summary"] == "docker compose config skipped: docker not found"
    assert run.summary == (
        "FastAPI + PostgreSQL: wrote .devcontainer/devcontainer.json, compose.yaml;"
        " both files valid; docker compose config skipped: docker not found"
    )
    steps = [step.split(":")[0] for _, step in run.progress]
    assert steps == [
        "detecting the stack",
        "generating",
        "validating",
        "docker compose config",
        "writing",
    ]
    assert "PostgreSQL: pyproject.toml:6 psycopg[binary]>=3.2,<4" in run.messages("INFO")


def test_running_again_changes_nothing_and_asks_nothing(fastapi_postgres: Path) -> None:
    first = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert first.status == "SUCCEEDED", first.error
    again = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert again.status == "SUCCEEDED", again.error
    assert [f["unchanged"] for f in again.output["files"]] == [True, True]
    assert [f["diff"] for f in again.output["files"]] == ["", ""]
    assert "the files were already up to date" in again.summary


def test_a_dry_run_shows_everything_and_writes_nothing(fastapi_postgres: Path) -> None:
    run = run_handler(agent, "devenv.create", {"dry_run": True}, workspace=fastapi_postgres)
    assert run.status == "SUCCEEDED", run.error
    assert not (fastapi_postgres / "compose.yaml").exists()
    assert not (fastapi_postgres / ".devcontainer").exists()
    assert [f["written"] for f in run.output["files"]] == [False, False]
    assert "services:" in run.output["files"][1]["content"]


def test_a_folder_that_is_no_python_project_fails_naming_it(tmp_path: Path) -> None:
    root = write_project(tmp_path / "notes", {"notes.md": "# notes\n"})
    run = run_handler(agent, "devenv.create", {}, workspace=root)
    assert run.status == "FAILED"
    assert "is not a Python project" in run.error
    assert sorted(p.name for p in root.iterdir()) == ["notes.md"]


def test_a_folder_where_the_file_goes_is_left_alone(fastapi_postgres: Path) -> None:
    (fastapi_postgres / "compose.yaml").mkdir()
    run = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert run.status == "FAILED"
    assert "compose.yaml is not a regular file" in run.error
    assert not (fastapi_postgres / ".devcontainer").exists()


def run_with_consent(root: Path, answer: str | None) -> tuple[Any, list[tuple[str, list[str]]]]:
    """The handler with a person who grants (returns ``answer`` as the action id) or refuses
    (``None``) what it announces; returns the result and what was announced."""
    asked: list[tuple[str, list[str]]] = []

    def destructive(description: str, paths: Sequence[str]) -> str:
        asked.append((description, list(paths)))
        if answer is None:
            raise PermissionRefused("destructive", description, "person", "no")
        return answer

    children = ChildRegistry()
    ctx = TaskContext(
        task_id="t",
        task_type="devenv.create",
        payload={},
        workspace=root,
        cancelled=CancellationToken(),
        emit=lambda level, message, fields: None,
        report_progress=lambda fraction, step: None,
        children=children,
        destructive=destructive,
    )
    try:
        result = execute(agent.tasks["devenv.create"].handler, ctx)
    finally:
        children.kill_all()
    return result, asked


def test_an_existing_compose_file_is_replaced_only_after_consent(fastapi_postgres: Path) -> None:
    mine = "services:\n  web:\n    image: nginx\n"
    (fastapi_postgres / "compose.yaml").write_text(mine)
    result, asked = run_with_consent(fastapi_postgres, None)
    assert result.error.startswith("nothing was written, the files are as they were")
    assert (fastapi_postgres / "compose.yaml").read_text() == mine
    assert not (fastapi_postgres / ".devcontainer").exists()
    [(description, paths)] = asked
    assert description.startswith(f"replace compose.yaml in {fastapi_postgres}")
    assert "(and write .devcontainer/devcontainer.json)" in description
    # Both paths are snapshotted, so a rollback also removes the new file.
    assert paths == [
        str(fastapi_postgres / ".devcontainer" / "devcontainer.json"),
        str(fastapi_postgres / "compose.yaml"),
    ]

    result, asked = run_with_consent(fastapi_postgres, "action-1")
    out = json.loads(result.output_json)
    assert out["action_id"] == "action-1"
    compose = out["files"][1]
    assert (compose["existed"], compose["replaced"], compose["written"]) == (True, True, True)
    assert "-    image: nginx\n" in compose["diff"]
    assert compose["diff"].startswith("--- a/compose.yaml\n+++ b/compose.yaml\n")
    assert (fastapi_postgres / "compose.yaml").read_text() == compose["content"]


def test_cancelling_between_steps_writes_nothing(fastapi_postgres: Path) -> None:
    token = CancellationToken()
    run = run_handler(
        agent,
        "devenv.create",
        {},
        workspace=fastapi_postgres,
        cancel=token,
        on_progress=lambda fraction, step: (
            token.cancel("stop") if step.startswith("generating") else None
        ),
    )
    assert run.status == "CANCELED"
    assert not (fastapi_postgres / "compose.yaml").exists()


def test_the_settings_are_agent_tomls_and_the_readmes() -> None:
    manifest = tomllib.loads((AGENT_DIR / "agent.toml").read_text())
    env = manifest["env"]
    readme = (AGENT_DIR / "README.md").read_text()
    for key, (default, _, _) in NUMBERS.items():
        assert env[PREFIX + key] == str(default)
        assert f"| `{PREFIX}{key}` | {default} |" in readme
    for key, text in TEXTS.items():
        assert env[PREFIX + key] == text
        assert f"| `{PREFIX}{key}` | " in readme
    assert Settings.load(env) == Settings.load({})
    assert manifest["capabilities"] == list(agent.tasks)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("APP_PORT", "0"),
        ("HEALTH_RETRIES", "many"),
        ("DEFAULT_PYTHON", "2.7"),
        ("REDIS_IMAGE", "a b"),
    ],
)
def test_a_bad_setting_fails_the_task_naming_it(
    key: str, value: str, fastapi_postgres: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SettingError, match=PREFIX + key):
        Settings.load({PREFIX + key: value})
    monkeypatch.setenv(PREFIX + key, value)
    run = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert run.status == "FAILED"
    assert f"{PREFIX}{key}=" in run.error
    assert not (fastapi_postgres / "compose.yaml").exists()


def test_an_older_compose_file_is_named_and_left_alone(fastapi_postgres: Path) -> None:
    mine = "services:\n  web:\n    image: nginx\n"
    (fastapi_postgres / "docker-compose.yml").write_text(mine)
    run = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert run.status == "SUCCEEDED", run.error
    assert run.output["other_compose_files"] == ["docker-compose.yml"]
    assert any(m.startswith("docker-compose.yml also in the project") for m in run.messages("WARN"))
    assert (fastapi_postgres / "docker-compose.yml").read_text() == mine


def test_a_project_without_a_database_gets_no_database(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "api",
        {"pyproject.toml": pyproject("api", ["fastapi"]), "api/main.py": "app = FastAPI()\n"},
    )
    run = run_handler(agent, "devenv.create", {}, workspace=root)
    assert run.status == "SUCCEEDED", run.error
    assert run.output["stack"]["services"] == []
    assert "db:" not in (root / "compose.yaml").read_text()
