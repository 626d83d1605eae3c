"""The dev-env agent end to end: the real manager runs the real bootstrapper to make FastAPI
projects (with PostgreSQL, without a database, with its own compose.yaml), and the real dev-env
agent, confined by the kernel, gives each a dev container and a Compose file.

What is planted, and must be found exactly: PostgreSQL from the template's dependencies; Redis
added to a project's dependencies by hand; no service at all for a project without a database.
The files written must validate against the specifications' schemas (checked here again with
jsonschema, from the vendored files). An existing compose.yaml is replaced only after consent:
refused, it stays as it was; granted, it is replaced with a snapshot that rollback restores.

Docker: the machine's own is used as it is (usually absent, so the check says why it was
skipped). The cancel test needs a `docker compose config` that does not return: a **stand-in
`docker` executable** (a shell script at the process boundary, named as such) on the PATH of a
manager of its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import pytest
import yaml
from harness import REPO, Manager, bootstrapper_agents, pids_running, wait_until, wheelhouse

from hyperagent.v1 import client_pb2, common_pb2

SCHEMAS = REPO / "agents" / "devenv" / "src" / "hyperagent_devenv" / "schemas"


@dataclass
class World:
    m: Manager
    root: Path  # the workspace root


def with_devenv(folder: Path) -> Path:
    """A folder of agents with the dev-env agent's own manifest added; returns the folder."""
    (folder / "devenv").mkdir(parents=True)
    manifest = (REPO / "agents" / "devenv" / "agent.toml").read_text()
    (folder / "devenv" / "agent.toml").write_text(manifest)
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("devenv")
    agents = with_devenv(bootstrapper_agents(base / "agents", wheelhouse()))
    m = Manager(
        root=base,
        agents_dir=agents,
        extra={
            "sandbox": {"allow_unsupervised_agents": False},
            "templates": {"dirs": [str(REPO / "templates")]},
            "consent": {"timeout": "20s"},
        },
    ).start()
    m.wait_agent("bootstrapper", online=True)
    m.wait_agent("devenv", online=True)
    yield World(m, base / "data" / "workspaces")
    m.stop()


def run(w: World, task_type: str, folder: str, payload: dict[str, Any]) -> tuple[Any, dict]:
    task = w.m.submit(task_type, payload, workspace=folder)
    done = w.m.wait_state(task.id)
    output = json.loads(done.result.output_json) if done.result.output_json else {}
    return done, output


def make_project(w: World, folder: str, database: str, docker: bool = False) -> Path:
    """A FastAPI project made by the real bootstrapper (no post-check: nothing is installed)."""
    answers = {"project_name": folder, "database": database, "docker": docker}
    payload = {"template": "fastapi", "answers": answers, "checks": False}
    done, out = run(w, "bootstrap.project", folder, payload)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    return Path(out["path"])


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def check_valid(project: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both files as written, validated against the vendored schemas; returns them parsed."""
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    devcontainer = json.loads((project / ".devcontainer" / "devcontainer.json").read_text())
    for doc, name in [
        (compose, "compose-spec.json"),
        (devcontainer, "devContainer.base.schema.json"),
    ]:
        schema = json.loads((SCHEMAS / name).read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(doc)
    return compose, devcontainer


def test_a_fastapi_project_with_postgres_gets_both_files_valid(world: World) -> None:
    project = make_project(world, "shop", "postgres")
    done, out = run(world, "devenv.create", "shop", {})
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    compose, devcontainer = check_valid(project)
    assert list(compose["services"]) == ["app", "db"]
    assert compose["services"]["app"]["environment"]["DATABASE_URL"] == (
        "postgresql+psycopg://postgres:postgres@db:5432/shop"
    )
    assert compose["services"]["db"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert compose["volumes"] == {"db-data": {}}
    assert devcontainer["dockerComposeFile"] == ["../compose.yaml"]
    assert devcontainer["runServices"] == ["app", "db"]
    stack = out["stack"]
    assert (stack["framework"], stack["services"]) == ("FastAPI", ["PostgreSQL"])
    assert stack["asgi_app"] == "shop.main:app"
    evidence = {(e["what"], e["file"], e["line"]) for e in stack["evidence"]}
    psycopg = line_of(project / "pyproject.toml", "psycopg[binary]")
    assert ("PostgreSQL", "pyproject.toml", psycopg) in evidence
    assert (
        "FastAPI",
        "pyproject.toml",
        line_of(project / "pyproject.toml", '"fastapi'),
    ) in evidence
    # The result carries each file in full with its diff, and every check's outcome.
    files = {f["path"]: f for f in out["files"]}
    assert files["compose.yaml"]["content"] == (project / "compose.yaml").read_text()
    assert files["compose.yaml"]["diff"].startswith("--- /dev/null\n+++ b/compose.yaml")
    assert [(f["existed"], f["written"]) for f in out["files"]] == [(False, True), (False, True)]
    assert [v["valid"] for v in out["validation"]] == [True, True]
    docker = out["docker"]
    assert docker["outcome"] in {"passed", "skipped"}, docker
    if docker["outcome"] == "skipped":
        assert docker["summary"].startswith("docker compose config skipped: "), docker
    assert done.result.summary.endswith(docker["summary"])
    # It ran confined, and said what it did step by step.
    audit = world.m.cli("audit", "list", "--task", done.id, "--json")
    assert '"task.confined"' in audit.stdout
    messages = [line.message for line in world.m.logs(done.id)]
    assert f"PostgreSQL: pyproject.toml:{psycopg} psycopg[binary]>=3.2,<4" in messages, messages
    assert "compose.yaml: valid (Compose Specification)" in messages


def test_redis_added_to_the_dependencies_appears_as_a_service(world: World) -> None:
    project = make_project(world, "cache", "postgres")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace('    "psycopg[binary]', '    "redis>=5,<6",\n    "psycopg[binary]')
    )
    done, out = run(world, "devenv.create", "cache", {})
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    compose, devcontainer = check_valid(project)
    assert list(compose["services"]) == ["app", "db", "redis"]
    assert compose["services"]["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert compose["services"]["app"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert devcontainer["forwardPorts"] == [8000, "db:5432", "redis:6379"]
    assert out["stack"]["services"] == ["PostgreSQL", "Redis"]
    redis = [e for e in out["stack"]["evidence"] if e["what"] == "Redis"]
    assert [(e["file"], e["line"]) for e in redis] == [
        ("pyproject.toml", line_of(pyproject, '"redis>=5'))
    ]


def test_a_project_without_a_database_gets_no_database_service(world: World) -> None:
    project = make_project(world, "plain", "none")
    done, out = run(world, "devenv.create", "plain", {})
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    compose, devcontainer = check_valid(project)
    assert list(compose["services"]) == ["app"]
    assert "volumes" not in compose
    assert "environment" not in compose["services"]["app"]
    assert devcontainer["runServices"] == ["app"]
    assert out["stack"]["services"] == []


def ask_to_replace(w: World, folder: str) -> tuple[client_pb2.Task, Any]:
    task = w.m.submit("devenv.create", {}, workspace=folder)
    ask = w.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "destructive", task_id=task.id
    )
    return task, ask


def test_refusing_to_replace_an_existing_compose_file_leaves_it_untouched(world: World) -> None:
    project = make_project(world, "refuse", "postgres", docker=True)
    before = (project / "compose.yaml").read_text()
    task, ask = ask_to_replace(world, "refuse")
    assert ask.consent.target.startswith("replace compose.yaml in ")
    assert "(and write .devcontainer/devcontainer.json)" in ask.consent.target
    assert (project / "compose.yaml").read_text() == before  # nothing changed before the answer
    denied = world.m.cli("consent", "deny", ask.consent.id)
    assert denied.returncode == 0, denied.stderr
    done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "nothing was written" in done.status_reason, done.status_reason
    assert (project / "compose.yaml").read_text() == before
    assert not (project / ".devcontainer").exists()


def test_a_granted_replacement_is_snapshotted_and_rollback_restores_it(world: World) -> None:
    project = make_project(world, "replace", "postgres", docker=True)
    before = (project / "compose.yaml").read_text()
    task, ask = ask_to_replace(world, "replace")
    granted = world.m.cli("consent", "grant", ask.consent.id, "--scope", "once")
    assert granted.returncode == 0, granted.stderr
    done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    out = json.loads(done.result.output_json)
    compose = next(f for f in out["files"] if f["path"] == "compose.yaml")
    assert (compose["existed"], compose["replaced"]) == (True, True)
    assert compose["diff"].startswith("--- a/compose.yaml\n+++ b/compose.yaml")
    assert (project / "compose.yaml").read_text() == compose["content"] != before
    check_valid(project)
    actions = json.loads(world.m.cli("rollback", "--list", "--json").stdout)
    action = next(a for a in actions if a["task_id"] == task.id)
    assert action["id"] == out["action_id"]
    back = world.m.cli("rollback", action["id"])
    assert back.returncode == 0, back.stderr
    assert (project / "compose.yaml").read_text() == before
    assert not (project / ".devcontainer" / "devcontainer.json").exists()


def test_a_folder_that_is_no_python_project_and_bad_payloads_are_refused(world: World) -> None:
    folder = world.root / "notes"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.md").write_text("# notes\n")
    done, _ = run(world, "devenv.create", "notes", {})
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "is not a Python project" in done.status_reason, done.status_reason
    for payload, where in [({"port": 0}, "/port"), ({"colour": "red"}, "colour")]:
        with pytest.raises(grpc.RpcError) as err:
            world.m.submit("devenv.create", payload, workspace="refused")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert where in (err.value.details() or ""), err.value.details()


#: A stand-in for docker whose `compose config` never answers: it says so, then waits until it
#: is ended (`sleep` with a number no other process here uses).
STANDIN_DOCKER = """#!/bin/sh
# Stand-in for docker, for the dev-env agent's cancel test.
if [ "$1 $2" = "compose version" ]; then echo "Docker Compose version v2 (stand-in)"; exit 0; fi
echo "stand-in docker: checking"
exec sleep 4321
"""


def test_cancel_while_docker_compose_config_runs_ends_it_and_writes_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = tmp_path_factory.mktemp("devenv-cancel")
    agents = with_devenv(base / "agents")
    # In the agents folder, which the agent's processes may read (and so run).
    bindir = agents / "standin-bin"
    bindir.mkdir()
    (bindir / "docker").write_text(STANDIN_DOCKER)
    (bindir / "docker").chmod(0o755)
    m = Manager(
        root=base,
        agents_dir=agents,
        extra={"sandbox": {"allow_unsupervised_agents": False}},
        env_extra={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
    ).start()
    try:
        m.wait_agent("devenv", online=True)
        project = base / "data" / "workspaces" / "slow"
        (project / "slow").mkdir(parents=True)
        (project / "pyproject.toml").write_text(
            '[project]\nname = "slow"\ndependencies = ["fastapi", "redis"]\n'
        )
        (project / "slow" / "main.py").write_text(
            "from fastapi import FastAPI\n\napp = FastAPI()\n"
        )
        task = m.submit("devenv.create", {}, workspace="slow")
        m.wait_event(
            lambda e: (
                e.HasField("task_log") and e.task_log.line.message == "stand-in docker: checking"
            ),
            task_id=task.id,
        )
        assert pids_running("sleep", "4321"), "the stand-in docker runs while the task waits"
        m.client.CancelTask(
            client_pb2.CancelTaskRequest(task_id=task.id, reason="stop"), timeout=30
        )
        done = m.wait_state(task.id)
        assert done.state == common_pb2.TASK_STATE_CANCELED
        wait_until(lambda: not pids_running("sleep", "4321"), "the stand-in docker is ended")
        assert not (project / "compose.yaml").exists()
        assert not (project / ".devcontainer").exists()
    finally:
        m.stop()
