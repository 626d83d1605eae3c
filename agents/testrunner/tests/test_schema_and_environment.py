"""The payload schema (what the manager checks before the agent sees a task) and the pure parts
of finding a Python and a venv."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hyperagent_sdk.testing import run_handler
from hyperagent_testrunner import agent, environment

MANIFEST = Path(__file__).resolve().parents[1] / "agent.toml"


def validator() -> Draft202012Validator:
    schema = json.loads(agent.agent.tasks["tests.run"].to_proto().payload_schema_json)
    return Draft202012Validator(schema)


def test_the_manifest_lists_exactly_the_task_types_the_agent_offers() -> None:
    manifest = tomllib.loads(MANIFEST.read_text())
    assert manifest["name"] == agent.agent.name == "testrunner"
    assert sorted(manifest["capabilities"]) == sorted(agent.agent.tasks) == ["tests.run"]
    keys = ("WHEELHOUSE", "INDEX_URL", "TRACEBACK_CHARS", "MAX_FAILURES", "MAX_TESTS")
    for key in (*keys, "POLL_INTERVAL"):
        assert f"HYPERAGENT_TESTRUNNER_{key}" in manifest["env"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"python": "3.11", "k": "health and not slow", "markers": "not db"},
        {"node_ids": ["tests/test_a.py::TestX::test_y[1-2]", "tests/test_b.py"]},
        {"fail_fast": True, "rerun_failures": 3, "timeout": 1.5},
    ],
)
def test_valid_payloads_are_accepted(payload: dict[str, Any]) -> None:
    assert list(validator().iter_errors(payload)) == []


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"python": "3"}, "python"),
        ({"python": "3.11; rm -rf /"}, "python"),
        ({"node_ids": ["-p", "evil"]}, "node_ids"),
        ({"node_ids": ["/etc/passwd"]}, "node_ids"),
        ({"node_ids": ["../other/tests"]}, "node_ids"),
        ({"node_ids": ["tests/../../x.py"]}, "node_ids"),
        ({"rerun_failures": 11}, "rerun_failures"),
        ({"timeout": 0}, "timeout"),
        ({"k": ""}, "k"),
        ({"workers": 4}, ""),
    ],
)
def test_bad_payloads_are_refused_at_the_field(payload: dict[str, Any], where: str) -> None:
    errors = list(validator().iter_errors(payload))
    assert errors
    assert where in "/".join(str(p) for p in errors[0].absolute_path) or not where


LISTING = [
    {"version_parts": {"major": 3, "minor": 11, "patch": 2}, "path": "/usr/bin/python3.11"},
    {"version_parts": {"major": 3, "minor": 11, "patch": 2}, "path": "/usr/bin/python3"},
    {"version_parts": {"major": 3, "minor": 9, "patch": 18}, "path": "/opt/py39/bin/python3.9"},
    {"version_parts": {"major": 3, "minor": 12, "patch": 1}, "path": "/opt/py312/bin/python3"},
]


def test_installed_pythons_are_named_by_version_newest_first() -> None:
    found = environment.pythons_from_listing(list(LISTING))
    assert list(found) == ["3.12", "3.11", "3.9"]
    assert found["3.11"] == Path("/usr/bin/python3.11")
    message = environment.missing_python("3.7", found)
    assert message.startswith("Python 3.7 is not installed on this machine")
    assert "installed: 3.12, 3.11, 3.9" in message


def test_the_projects_own_venv_is_used_only_for_the_python_asked_for(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.11.2\n")
    assert environment.project_venv(tmp_path, None) is not None
    found = environment.project_venv(tmp_path, "3.11")
    assert found is not None
    assert (found.python, found.origin, found.has_pytest) == ("3.11.2", "project", False)
    assert environment.project_venv(tmp_path, "3.1") is None  # 3.11 is not 3.1
    assert environment.project_venv(tmp_path, "3.12") is None


def test_a_venv_key_changes_with_the_dependencies_and_the_python(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    key = environment.venv_key(tmp_path, "3.11")
    assert environment.venv_key(tmp_path, "3.11") == key
    assert environment.venv_key(tmp_path, "3.12") != key
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["x"]\n')
    assert environment.venv_key(tmp_path, "3.11") != key


def test_the_project_is_installed_editable_with_its_test_extra_and_pytest(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\n[project.optional-dependencies]\ntests = ["x"]\ndocs = ["y"]\n'
    )
    assert environment.install_args(tmp_path) == ["-e", f"{tmp_path}[tests]", "pytest"]
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "requirements.txt").write_text("x\n")
    assert environment.install_args(tmp_path) == [
        "-r",
        str(tmp_path / "requirements.txt"),
        "pytest",
    ]


def test_the_summary_reads_like_a_person_would_say_it() -> None:
    counts = {"total": 120, "passed": 117, "failed": 2, "skipped": 1, "errors": 0, "flaky": 0}
    assert agent.summarize(counts, 3.21) == "120 tests: 117 passed, 2 failed, 1 skipped (3.2 s)"


def test_the_manifests_settings_are_the_defaults() -> None:
    env = tomllib.loads(MANIFEST.read_text())["env"]
    assert environment.Settings.from_env(env) == environment.Settings()
    local = environment.Settings.from_env({"HYPERAGENT_TESTRUNNER_INDEX_URL": "file:///srv/simple"})
    assert local.index_url == "file:///srv/simple"


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("MAX_TESTS", "lots", "a whole number of at least 0"),
        ("TRACEBACK_CHARS", "-1", "a whole number of at least 0"),
        ("POLL_INTERVAL", "0", "a number of at least 0.001"),
        ("INDEX_URL", "mirror.test/simple", "an https://, http:// or file:// URL"),
    ],
)
def test_a_bad_setting_fails_the_task_naming_it(
    key: str, value: str, allowed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    monkeypatch.setenv(f"HYPERAGENT_TESTRUNNER_{key}", value)
    run = run_handler(agent.agent, "tests.run", {}, workspace=tmp_path)
    assert run.status == "FAILED"
    assert run.error == (
        "the test runner's settings (agent.toml [env]):"
        f" HYPERAGENT_TESTRUNNER_{key}={value!r} must be {allowed}"
    )
