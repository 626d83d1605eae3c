"""The test runner end to end: the real manager runs the real, confined `testrunner` agent on a
project the real bootstrapper made, after tests were planted in it: a failing test, a flaky one
(fails the first time, passes the next), a skipped one, a slow one. The agent must report exactly
what was planted, and nothing else, since every test the template brings passes.

Packages come from the offline wheelhouse (both agents' offline mode, read through a policy
rule), so no test depends on the network.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import Manager, project_agents_manager, wait_until, wheelhouse, with_testrunner
from test_bootstrap import processes_in

from hyperagent.v1 import client_pb2, common_pb2

PLANTED = """\
import pathlib

import pytest


def total(prices):
    return sum(prices) + 1  # the planted bug


def test_total_adds_the_prices():
    assert total([1, 2]) == 3, "total is off by one"


def test_fails_once_then_passes():
    marker = pathlib.Path(__file__).with_name(".flaky-marker")
    if not marker.exists():
        marker.write_text("failed once")
        raise AssertionError("flaky: first run fails")


@pytest.mark.skip(reason="planted skip")
def test_skipped():
    pass
"""

SLOW = """\
import pathlib
import time


def test_waits_for_a_file_that_never_comes():
    never = pathlib.Path(__file__).with_name("never-created")
    for _ in range(6000):
        if never.exists():
            return
        time.sleep(0.02)
"""


@dataclass
class World:
    m: Manager
    root: Path  # the workspace root


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("testrunner")
    m = project_agents_manager(base)
    yield World(m, base / "data" / "workspaces")
    m.stop()


def make_project(w: World, folder: str, **payload: object) -> Path:
    """A FastAPI project made by the bootstrapper (installed into its .venv and tested unless
    checks is false)."""
    task = w.m.submit(
        "bootstrap.project",
        {"template": "fastapi", "answers": {"project_name": folder}, **payload},
        workspace=folder,
    )
    done = w.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    return w.root / folder


def run_tests(w: World, folder: str, **payload: object) -> client_pb2.Task:
    return w.m.submit("tests.run", payload, workspace=folder)


def finished(w: World, task: client_pb2.Task) -> tuple[client_pb2.Task, dict, list[str]]:
    """The task once ended, its output, and every progress step it reported, in order."""
    steps: list[str] = []
    stream = w.m.events(task_id=task.id, exclude_logs=True)
    try:
        for ev in stream:
            if ev.HasField("task_progress"):
                steps.append(ev.task_progress.progress.step)
            if ev.HasField("task_state") and ev.task_state.to in {
                common_pb2.TASK_STATE_COMPLETED,
                common_pb2.TASK_STATE_FAILED,
                common_pb2.TASK_STATE_CANCELED,
            }:
                break
    finally:
        stream.cancel()
    done = w.m.task(task.id)
    out = json.loads(done.result.output_json) if done.result.output_json else {}
    return done, out, steps


def files_of(project: Path) -> set[str]:
    skip = {".venv", ".git"}
    return {
        str(p.relative_to(project))
        for p in project.rglob("*")
        if not skip & set(p.relative_to(project).parts)
    }


@pytest.fixture(scope="module")
def shop(world: World) -> Path:
    project = make_project(world, "shop")
    (project / "tests" / "test_planted.py").write_text(PLANTED)
    return project


def test_exactly_the_planted_failure_and_flaky_test_are_reported(world: World, shop: Path) -> None:
    (shop / "tests" / ".flaky-marker").unlink(missing_ok=True)
    before = files_of(shop)
    task = run_tests(world, "shop", rerun_failures=1)
    done, out, steps = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason

    assert out["framework"] == "pytest"
    assert out["venv"]["origin"] == "project"  # the bootstrapper's .venv, Python matching
    assert out["venv"]["path"] == str(shop / ".venv")
    assert out["python"].startswith("3.")
    counts = out["counts"]
    assert (counts["failed"], counts["flaky"], counts["skipped"], counts["errors"]) == (1, 1, 1, 0)
    assert counts["passed"] == counts["total"] - 3 > 0  # every test of the template passed

    [failure] = out["failures"]
    assert failure["id"] == "tests/test_planted.py::test_total_adds_the_prices"
    assert failure["kind"] == "failed"
    planted_line = PLANTED.splitlines().index(
        '    assert total([1, 2]) == 3, "total is off by one"'
    )
    assert (failure["file"], failure["line"]) == ("tests/test_planted.py", planted_line + 1)
    assert "total is off by one" in failure["message"]
    assert "assert total([1, 2]) == 3" in failure["traceback"]
    assert len(failure["traceback"]) <= 4000
    assert [f["id"] for f in out["flaky"]] == ["tests/test_planted.py::test_fails_once_then_passes"]
    assert "flaky: first run fails" in out["flaky"][0]["first_failure"]
    # Every test, one by one, as the UI's table lists them.
    outcome = {t["id"]: t["outcome"] for t in out["tests"]}
    assert len(outcome) == counts["total"]
    assert out["tests_omitted"] == 0
    assert outcome["tests/test_planted.py::test_total_adds_the_prices"] == "failed"
    assert outcome["tests/test_planted.py::test_fails_once_then_passes"] == "flaky"
    assert outcome["tests/test_planted.py::test_skipped"] == "skipped"
    assert sum(o == "passed" for o in outcome.values()) == counts["passed"]
    assert all(t["file"].startswith("tests/") and t["line"] > 0 for t in out["tests"])

    total = counts["total"]
    assert re.fullmatch(
        rf"{total} tests: {total - 3} passed, 1 failed, 1 flaky, 1 skipped \(\d+\.\d s\)",
        done.result.summary,
    ), done.result.summary
    assert done.result.exit_code == 1  # a failure remains
    # Per-test progress streamed while it ran ("3/6: 3 passed; running ..."), then the rerun's,
    # whose end is the last step (a task's latest progress is delivered before its result).
    assert any(re.match(rf"\d+/{total}: \d+ passed", s) for s in steps), steps
    assert steps[-1] == "rerun 1: 2/2: 1 passed, 1 failed", steps
    # The CLI's compact summary: the counts, then each failure at its file:line, the flaky test.
    shown = world.m.cli("task", task.id)
    assert shown.returncode == 0, shown.stderr
    counted = f"{total - 3} passed, 1 failed, 1 flaky, 1 skipped"
    assert f"  tests:    {total} run: {counted} (pytest, Python " in shown.stdout
    failed_at = f"tests/test_planted.py:{planted_line + 1}"
    assert (
        f"    FAILED tests/test_planted.py::test_total_adds_the_prices  {failed_at}  "
        in shown.stdout
    )
    assert (
        "    FLAKY  tests/test_planted.py::test_fails_once_then_passes (passed on attempt 2)"
        in shown.stdout
    )
    # The project holds what it held (the flaky test's own marker aside): no cache, no report.
    assert files_of(shop) - before == {"tests/.flaky-marker"}


def test_a_selection_runs_only_what_it_names(world: World, shop: Path) -> None:
    task = run_tests(
        world, "shop", node_ids=["tests/test_planted.py"], k="not prices", fail_fast=True
    )
    done, out, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["counts"]["total"] == 2  # the flaky one (its marker is there: passes) and the skip
    assert (out["counts"]["passed"], out["counts"]["skipped"]) == (1, 1)
    assert out["failures"] == []
    assert done.result.exit_code == 0


def test_a_python_the_machine_lacks_is_a_clear_error_naming_the_ones_it_has(
    world: World, shop: Path
) -> None:
    task = run_tests(world, "shop", python="3.7")
    done, _, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "Python 3.7 is not installed on this machine" in done.status_reason
    assert "never downloads" in done.status_reason
    assert re.search(r"installed: (\d\.\d+, )*3\.11", done.status_reason), done.status_reason


def test_a_bad_payload_is_refused_naming_the_field(world: World) -> None:
    import grpc  # noqa: PLC0415

    for payload, where in [
        ({"python": "three"}, "/python"),
        ({"node_ids": ["--rootdir=/etc"]}, "/node_ids/0"),
        ({"rerun_failures": -1}, "/rerun_failures"),
        ({"colour": "red"}, "colour"),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            run_tests(world, "shop", **payload)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert where in (err.value.details() or ""), err.value.details()


def test_cancelling_mid_run_stops_pytest_and_its_processes(world: World, shop: Path) -> None:
    (shop / "tests" / "test_slow.py").write_text(SLOW)
    try:
        task = run_tests(world, "shop", node_ids=["tests/test_slow.py"])
        world.m.wait_event(
            lambda e: (
                e.HasField("task_progress")
                and "running tests/test_slow.py::test_waits" in e.task_progress.progress.step
            ),
            task_id=task.id,
        )
        running = [p for p in processes_in(shop) if "pytest" in p]
        assert running, "pytest is running in the project while its test waits"
        world.m.client.CancelTask(
            client_pb2.CancelTaskRequest(task_id=task.id, reason="stop"), timeout=30
        )
        done = world.m.wait_state(task.id)
        assert done.state == common_pb2.TASK_STATE_CANCELED
        wait_until(lambda: not processes_in(shop), f"no processes left in {shop}")
    finally:
        (shop / "tests" / "test_slow.py").unlink()


def test_a_project_without_a_venv_gets_one_in_the_agents_state_folder(world: World) -> None:
    project = make_project(world, "bare", checks=False)
    assert not (project / ".venv").exists()
    task = run_tests(world, "bare")
    done, out, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["venv"]["origin"] == "created"
    assert not out["venv"]["path"].startswith(str(project))
    assert out["counts"]["failed"] == 0 < out["counts"]["passed"]
    assert not (project / ".venv").exists()
    again, out2, _ = finished(world, run_tests(world, "bare"))
    assert again.state == common_pb2.TASK_STATE_COMPLETED, again.status_reason
    assert out2["venv"] == {**out["venv"], "origin": "reused"}


def other_python() -> Path | None:
    """An interpreter of a newer minor version than the venv's own (the machine's pyenv versions,
    or Debian's), or None when this machine has only one Python. Newer, because the offline
    wheelhouse holds what pytest needs from 3.11 on (older ones need backports too)."""
    own = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = sorted(Path("/root/.pyenv/versions").glob("3.1[0-9]*/bin/python3.1[0-9]"))
    found += sorted(Path("/usr/bin").glob("python3.1[0-9]"))
    newer = [p for p in found if p.name > own and p.is_file()]
    return max(newer, key=lambda p: int(p.name.rsplit(".", 1)[1]), default=None)


ONE_PYTHON = """import sys


def test_runs_everywhere():
    assert sum([1, 2]) == 3


def test_passes_only_on_{own}():
    assert sys.version_info[:2] == ({major}, {minor}), "needs Python {own_dotted}"
"""


def test_a_test_failing_on_one_python_fails_there_only(tmp_path: Path) -> None:
    other = other_python()
    if other is None:
        pytest.skip("this machine has one Python only: nothing to run a second version on")
    version = other.name.removeprefix("python")
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    wh = wheelhouse()
    agents = with_testrunner(tmp_path / "agents", wh)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / other.name).symlink_to(other)
    m = Manager(
        root=tmp_path,
        agents_dir=agents,
        extra={"sandbox": {"allow_unsupervised_agents": False}},
        # The second interpreter is on the manager's PATH, so on its agents' (uv looks there),
        # after everything else (`python3` stays the venv's).
        env_extra={"PATH": f"{os.environ['PATH']}:{bindir}"},
    ).start()
    try:
        m.wait_agent("testrunner", online=True)
        for path in (wh, bindir, other.parent.parent):
            allowed = m.cli("policy", "allow", "--read", str(path), "--agent", "testrunner")
            assert allowed.returncode == 0, allowed.stderr
        project = tmp_path / "data" / "workspaces" / "both"
        (project / "tests").mkdir(parents=True)
        (project / "conftest.py").write_text("")  # a pytest project with no packages
        major, minor = own.split(".")
        (project / "tests" / "test_versions.py").write_text(
            ONE_PYTHON.format(own=f"{major}_{minor}", major=major, minor=minor, own_dotted=own)
        )
        outcomes = {}
        for python in (own, version):
            done = m.wait_state(m.submit("tests.run", {"python": python}, workspace="both").id)
            assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
            out = json.loads(done.result.output_json)
            assert out["python"].startswith(f"{python}."), out["python"]
            outcomes[python] = {t["id"].split("::")[1]: t["outcome"] for t in out["tests"]}
        passes_only = f"test_passes_only_on_{major}_{minor}"
        assert outcomes[own] == {"test_runs_everywhere": "passed", passes_only: "passed"}
        assert outcomes[version] == {"test_runs_everywhere": "passed", passes_only: "failed"}
    finally:
        m.stop()
