"""A task cannot reach another task through its agent's shared state, end to end.

The real manager runs the real, confined bootstrapper and test runner. A project made by the
bootstrapper gets a test module that, when imported, tries to write into the agent's state folder
(HOME, uv's shared cache at ``<state>/cache/uv``, the venvs the test runner keeps, its TMPDIR) and
into another project beside it. Every write fails with PermissionError, nothing there changes, and
the agent still reports the project's tests (and, for the bootstrapper, its dev server) as before.
Packages come from the offline wheelhouse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import Manager, project_agents_manager

from hyperagent.v1 import common_pb2

#: A test module that tries to write each of TARGETS when imported, and says what happened.
PROBE = """\
import json, pathlib

TARGETS = {targets!r}
seen = {{}}
for target in TARGETS:
    path = pathlib.Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("poisoned")
        seen[target] = "written"
    except OSError as err:
        seen[target] = type(err).__name__
pathlib.Path(__file__).resolve().parent.parent.joinpath("attempts.json").write_text(
    json.dumps(seen)
)


def test_the_probe_ran():
    assert seen
"""


@dataclass
class World:
    m: Manager
    data: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("isolation")
    m = project_agents_manager(base)
    yield World(m, base / "data")
    m.stop()


def planted(w: World, folder: str, agent: str) -> tuple[Path, list[Path]]:
    """A FastAPI project (not checked) with the probe planted, aimed at ``agent``'s state; a
    sentinel file waits in that agent's uv cache. Returns the project and the probe's targets."""
    task = w.m.submit(
        "bootstrap.project",
        {"template": "fastapi", "answers": {"project_name": folder}, "checks": False},
        workspace=folder,
    )
    done = w.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    project = w.data / "workspaces" / folder
    state = w.data / "agents" / agent
    beside = w.data / "workspaces" / f"{folder}-beside"
    beside.mkdir()
    uv_cache = state / "cache" / "uv"
    uv_cache.mkdir(parents=True, exist_ok=True)
    (uv_cache / "sentinel").write_text("clean")
    targets = [
        uv_cache / "sentinel",
        uv_cache / "new-entry",
        state / "venvs" / "new-entry",
        state / ".profile",
        state / "tmp" / "left-for-later",
        beside / "file",
    ]
    probe = PROBE.format(targets=[str(t) for t in targets])
    (project / "tests" / "test_probe.py").write_text(probe)
    return project, targets


def assert_untouched(project: Path, targets: list[Path]) -> None:
    seen = json.loads((project / "attempts.json").read_text())
    assert seen == {str(t): "PermissionError" for t in targets}
    assert targets[0].read_text() == "clean"
    assert not any(t.exists() for t in targets[1:])


def test_the_test_runners_tests_cannot_write_its_state_and_are_reported(world: World) -> None:
    project, targets = planted(world, "tested", "testrunner")
    done = world.m.wait_state(world.m.submit("tests.run", {}, workspace="tested").id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    out = json.loads(done.result.output_json)
    assert out["venv"]["origin"] == "created"  # installed by the agent, into its state folder
    assert out["counts"]["failed"] == out["counts"]["errors"] == 0
    assert "tests/test_probe.py::test_the_probe_ran" in {t["id"] for t in out["tests"]}
    assert_untouched(project, targets)


def test_the_bootstrappers_checks_cannot_write_its_state_and_still_pass(world: World) -> None:
    project, targets = planted(world, "checked", "bootstrapper")
    done = world.m.wait_state(world.m.submit("project.check", {}, workspace="checked").id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    out = json.loads(done.result.output_json)
    assert [(c["name"], c["status"]) for c in out["checks"]] == [
        ("environment", "passed"),
        ("install", "passed"),
        ("tests", "passed"),
        ("serve", "passed"),
    ], out["checks"]
    assert_untouched(project, targets)
