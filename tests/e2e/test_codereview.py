"""The code-review agent end to end: the real manager runs the real bootstrapper to make a project,
the test changes it on a branch as a developer would (git, in the project's folder), and the real
code-review agent, confined by the kernel, reviews it with the real ruff.

What is planted: an unused import and a function longer than the limit, committed on a branch.
The review against the main branch must find exactly those two, at their lines; the whole-project
review of a fresh project must find nothing (the templates are meant to be clean).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import pytest
from harness import REPO, Manager, bootstrapper_agents, wait_until, wheelhouse, with_agent
from test_bootstrap import processes_in

from hyperagent.v1 import client_pb2, common_pb2

#: A function of 70 statements (72 lines with its def and return): long, yet clean for ruff.
LONG_BODY = "\n".join(f"    total += values[{i % 3}] * {i}" for i in range(70))
LONG_FUNCTION = "\n\ndef long_report(values: list[int]) -> int:\n    total = 0\n"
LONG_FUNCTION += f"{LONG_BODY}\n    return total\n"


@dataclass
class World:
    m: Manager
    root: Path  # the workspace root


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("codereview")
    wh = wheelhouse()
    agents = with_agent(bootstrapper_agents(base / "agents", wh), "codereview")
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
    m.wait_agent("codereview", online=True)
    yield World(m, base / "data" / "workspaces")
    m.stop()


def run(w: World, task_type: str, folder: str, payload: dict[str, Any]) -> tuple[Any, dict]:
    task = w.m.submit(task_type, payload, workspace=folder)
    done = w.m.wait_state(task.id)
    output = json.loads(done.result.output_json) if done.result.output_json else {}
    return done, output


def make_project(w: World, folder: str) -> Path:
    """A FastAPI project made by the real bootstrapper (no post-check: the review needs no venv)."""
    done, out = run(
        w,
        "bootstrap.project",
        folder,
        {"template": "fastapi", "answers": {"project_name": folder}, "checks": False},
    )
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    return Path(out["path"])


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@localhost", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def plant(project: Path, package: str) -> tuple[str, int, int]:
    """On a branch `feature`: an unused import in the import block (sorted, so isort is content)
    and a long function at the end of main.py. Before branching, main gets a finding of its own
    (an unused import in legacy.py), which a review against main must not report.
    Returns (file, import line, def line)."""
    (project / package / "legacy.py").write_text('"""Old code."""\n\nimport os\n')
    git(project, "add", "--", f"{package}/legacy.py")
    git(project, "commit", "-q", "-m", "Old code")
    git(project, "checkout", "-q", "-b", "feature")
    main = project / package / "main.py"
    lines = main.read_text().splitlines(keepends=True)
    first_import = next(i for i, line in enumerate(lines) if line.startswith("from fastapi"))
    lines[first_import:first_import] = ["import json\n", "\n"]
    text = "".join(lines) + LONG_FUNCTION
    main.write_text(text)
    git(project, "commit", "-q", "-am", "Add a report")
    numbered = text.splitlines()
    import_line = numbered.index("import json") + 1
    def_line = next(i for i, line in enumerate(numbered) if line.startswith("def long_report")) + 1
    return f"{package}/main.py", import_line, def_line


def test_a_fresh_project_has_no_findings_and_the_report_is_sarif(world: World) -> None:
    project = make_project(world, "fresh")
    started = time.monotonic()
    done, out = run(world, "code.review", "fresh", {})
    took = time.monotonic() - started
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["findings"] == [], out["findings"]
    assert out["total"] == 0
    assert done.result.summary == "no findings (whole project)"
    # The SARIF report is the task's artifact, outside the repository (which stays clean).
    [artifact] = done.result.artifacts
    report = Path(artifact.location)
    assert not report.is_relative_to(project)
    doc = json.loads(report.read_text())
    check_sarif(doc)
    assert [r["tool"]["driver"]["name"] for r in doc["runs"]] == ["ruff", "hyperagent-codereview"]
    assert git(project, "status", "--porcelain", "--ignored") == ""
    # It ran confined, and said what it did step by step.
    audit = world.m.cli("audit", "list", "--task", done.id, "--json")
    assert '"task.confined"' in audit.stdout
    messages = [line.message for line in world.m.logs(done.id)]
    assert any(m.startswith("ruff: ") and m.endswith(" files") for m in messages), messages
    assert any(m.startswith("complexity pass") for m in messages), messages
    print(f"whole-project review: {took:.2f}s")


def test_a_branch_gets_exactly_what_was_planted_on_its_changed_lines(world: World) -> None:
    project = make_project(world, "planted")
    path, import_line, def_line = plant(project, "planted")
    done, out = run(world, "code.review", "planted", {"base": "main"})
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    found = [(f["file"], f["line"], f["rule"]) for f in out["findings"]]
    assert found == [(path, import_line, "F401"), (path, def_line, "long-function")], found
    unused = out["findings"][0]
    assert unused["severity"] == "error"
    assert unused["fix"]["applicability"] == "safe"
    assert out["by_rule"] == {"F401": 1, "long-function": 1}
    assert done.result.summary.startswith("2 findings (1 error, 1 warning) in 1 file")
    doc = json.loads(Path(done.result.artifacts[0].location).read_text())
    check_sarif(doc)
    ruff_run, ours = doc["runs"]
    [f401] = ruff_run["results"]
    assert f401["ruleId"] == "F401"
    assert f401["locations"][0]["physicalLocation"]["region"]["startLine"] == import_line
    assert f401["fixes"][0]["artifactChanges"][0]["artifactLocation"]["uri"] == path
    assert [r["ruleId"] for r in ours["results"]] == ["long-function"]
    # The whole project has more: main's own unused import, on lines the branch did not change.
    done, whole = run(world, "code.review", "planted", {})
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert [(f["file"], f["line"], f["rule"]) for f in whole["findings"]] == [
        ("planted/legacy.py", 3, "F401"),
        (path, import_line, "F401"),
        (path, def_line, "long-function"),
    ]
    assert out["before_filter"] == 3


def test_an_unknown_base_and_a_folder_that_is_no_repository_fail_naming_them(
    world: World,
) -> None:
    make_project(world, "named")
    done, _ = run(world, "code.review", "named", {"base": "no-such-branch"})
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "unknown base ref 'no-such-branch'" in done.status_reason, done.status_reason
    done, _ = run(world, "code.review", "not-a-repo", {})
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "is not a git repository" in done.status_reason, done.status_reason


def check_sarif(doc: dict[str, Any]) -> None:
    """The report's shape against the parts of the SARIF 2.1.0 schema a review uses (a
    structural check written from the standard, kept with the agent's tests; the full schema is
    not vendored)."""
    schema_path = REPO / "agents" / "codereview" / "tests" / "data" / "sarif-2.1.0-shape.json"
    schema = json.loads(schema_path.read_text())
    jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)


def test_payloads_outside_the_schema_are_refused_at_submit(world: World) -> None:
    for payload, where in [
        ({"base": "--output=/etc/x"}, "/base"),
        ({"thresholds": {"max_nesting": 0}}, "/thresholds/max_nesting"),
        ({"colour": "red"}, "colour"),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            world.m.submit("code.review", payload, workspace="refused")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert where in (err.value.details() or ""), err.value.details()


def test_applying_fixes_asks_snapshots_fixes_and_rolls_back(world: World) -> None:
    project = make_project(world, "fixme")
    path, import_line, _ = plant(project, "fixme")
    main = project / path
    # An uncommitted formatting slip too: the working tree counts as changed.
    planted = main.read_text()
    main.write_text(planted + "\n\nitems = [1,2]\n")
    before = main.read_text()
    task = world.m.submit("code.review", {"base": "main", "apply_fixes": True}, workspace="fixme")
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "destructive", task_id=task.id
    )
    assert "apply ruff's safe fixes and formatting to 1 files" in ask.consent.target
    assert main.read_text() == before  # nothing changed before the person agreed
    granted = world.m.cli("consent", "grant", ask.consent.id, "--scope", "once")
    assert granted.returncode == 0, granted.stderr
    done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    out = json.loads(done.result.output_json)
    assert out["fixes"]["applied"] is True
    assert out["fixes"]["files"] == [path]
    # What ruff cannot fix safely stays: the long function; the import and the format are gone.
    assert [f["rule"] for f in out["findings"]] == ["long-function"]
    fixed = main.read_text()
    assert "import json" not in fixed
    assert "items = [1, 2]" in fixed
    actions = json.loads(world.m.cli("rollback", "--list", "--json").stdout)
    action = next(a for a in actions if a["task_id"] == task.id)
    assert action["id"] == out["fixes"]["action_id"]
    back = world.m.cli("rollback", action["id"])
    assert back.returncode == 0, back.stderr
    assert main.read_text() == before
    assert "import json\n" in before.splitlines(keepends=True)[import_line - 1]


def test_refusing_the_fixes_leaves_the_files_as_they_were(world: World) -> None:
    project = make_project(world, "refuse")
    path, _, _ = plant(project, "refuse")
    before = (project / path).read_text()
    task = world.m.submit("code.review", {"apply_fixes": True}, workspace="refuse")
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "destructive", task_id=task.id
    )
    denied = world.m.cli("consent", "deny", ask.consent.id)
    assert denied.returncode == 0, denied.stderr
    done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "no fix was applied" in done.status_reason, done.status_reason
    assert (project / path).read_text() == before
    assert git(project, "status", "--porcelain") == ""


def test_cancelling_mid_review_ends_it_and_leaves_no_process(world: World) -> None:
    """A repository big enough that the size and nesting pass takes seconds: cancelled once that
    pass has begun, the review ends as cancelled, no tool it started is left, nothing is written."""
    project = world.root / "big"
    (project / "pkg").mkdir(parents=True)
    body = "\n".join(f"    total += {i}" for i in range(150))
    for n in range(3000):
        (project / "pkg" / f"m{n:04d}.py").write_text(
            f'"""Module {n}."""\n\n\ndef f{n}(total: int) -> int:\n{body}\n    return total\n'
        )
    git(project, "init", "-q")
    git(project, "add", "--all")
    git(project, "commit", "-q", "-m", "A big package")
    before = {p: p.stat().st_mtime_ns for p in project.rglob("*") if ".git" not in p.parts}
    task = world.m.submit("code.review", {}, workspace="big")
    world.m.wait_event(
        lambda e: (
            e.HasField("task_progress")
            and e.task_progress.progress.step.startswith("complexity pass")
        ),
        task_id=task.id,
    )
    world.m.client.CancelTask(
        client_pb2.CancelTaskRequest(task_id=task.id, reason="stop"), timeout=30
    )
    done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_CANCELED, done.status_reason
    wait_until(lambda: not processes_in(project), f"no processes left in {project}")
    after = {p: p.stat().st_mtime_ns for p in project.rglob("*") if ".git" not in p.parts}
    assert after == before
