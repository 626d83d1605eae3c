"""The whole audit, in memory (the SDK's test runner, real tools, no manager): what was planted
is found, the SARIF report fits the schema, and the planted secret is nowhere in what the audit
says."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from hyperagent_sdk.testing import run_handler
from hyperagent_securityaudit import sarif
from hyperagent_securityaudit.agent import agent

#: Made up for these tests; the shape of an AWS access key id.
KEY = "AKIA" + "J3X7RT2MZQ8WVN4P"
SHAPE = json.loads(
    (
        Path(__file__).parents[2] / "codereview" / "tests" / "data" / "sarif-2.1.0-shape.json"
    ).read_text()
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@localhost", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HYPERAGENT_SECURITYAUDIT_REPORTS_DIR", str(tmp_path / "reports"))
    root = tmp_path / "shop"
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "shop" / "__init__.py").write_text('"""Shop."""\n')
    (root / "shop" / "cloud.py").write_text(f'"""Cloud."""\n\nKEY_ID = "{KEY}"\n')
    (root / "tests" / "test_shop.py").write_text("def test_it() -> None:\n    assert True\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Shop")
    (root / "shop" / "cloud.py").write_text(
        '"""Cloud."""\n\nimport os\n\nKEY_ID = os.environ["KEY_ID"]\n'
    )
    (root / "shop" / "run.py").write_text(
        '"""Run."""\n\nimport subprocess\n\n\ndef run(cmd: str) -> int:\n'
        "    return subprocess.call(cmd, shell=True)\n"
    )
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Key from the environment")
    return root


def test_the_history_secret_and_the_insecure_call_are_found_and_the_key_never_shown(
    project: Path,
) -> None:
    run = run_handler(agent, "security.audit", {"offline": True}, workspace=project)
    assert run.status == "SUCCEEDED", run.error
    out = run.output
    found = [(f["kind"], f["location"], f["rule"]) for f in out["findings"]]
    added = git(project, "rev-list", "--max-parents=0", "HEAD").strip()
    assert found == [
        ("secret", f"{added[:12]}:shop/cloud.py:3", "AWS Access Key"),
        ("code", "shop/run.py:7", "B602:subprocess_popen_with_shell_equals_true"),
    ], found
    assert out["dependencies"] == {"ran": False, "why": "offline: not asked for"}
    assert out["secrets"]["commits"] == 2
    assert run.summary == (
        "2 findings (2 high): 1 secret, 1 code; dependencies not audited (offline)"
    )
    report = Path(out["sarif"])
    doc = json.loads(report.read_text())
    jsonschema.validate(doc, SHAPE, cls=jsonschema.Draft7Validator)
    assert [r["tool"]["driver"]["name"] for r in doc["runs"]] == ["detect-secrets", "bandit"]
    secret = doc["runs"][0]["results"][0]
    assert secret["properties"]["commit"] == added
    assert secret["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    # The key is in the repository's history, and nowhere in what the audit said.
    logs = "\n".join(f"{line.message} {dict(line.fields)}" for line in run.logs)
    for text, where in [
        (logs, "logs"),
        (json.dumps(out), "result"),
        (report.read_text(), "SARIF"),
        (run.summary, "summary"),
    ]:
        assert KEY not in text, f"the planted key is in the {where}"
        assert KEY[4:] not in text, f"part of the planted key is in the {where}"
    # Nothing was written into the project.
    assert git(project, "status", "--porcelain", "--ignored") == ""


def test_passes_can_be_chosen_and_history_left_out(project: Path) -> None:
    run = run_handler(
        agent,
        "security.audit",
        {"passes": ["secrets"], "include_history": False},
        workspace=project,
    )
    assert run.status == "SUCCEEDED", run.error
    assert run.output["findings"] == []
    assert run.output["passes"] == ["secrets"]
    assert "dependencies" not in run.output
    assert run.summary == "no findings"


def test_a_folder_without_git_is_audited_as_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYPERAGENT_SECURITYAUDIT_REPORTS_DIR", str(tmp_path / "reports"))
    root = tmp_path / "plain"
    (root / ".venv").mkdir(parents=True)
    (root / ".venv" / "lib.py").write_text("import yaml\nyaml.load(open('x'))\n")
    (root / "load.py").write_text("import yaml\n\n\ndef load(f):\n    return yaml.load(f)\n")
    run = run_handler(agent, "security.audit", {"offline": True}, workspace=root)
    assert run.status == "SUCCEEDED", run.error
    assert [(f["location"], f["rule"]) for f in run.output["findings"]] == [
        ("load.py:5", "B506:yaml_load")
    ]
    assert run.output["secrets"]["history_skipped"] == "not a git repository with commits"


def test_the_sarif_levels_follow_the_severities() -> None:
    assert sarif.LEVELS == {"high": "error", "medium": "warning", "low": "note"}


def test_a_bad_setting_fails_the_task_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYPERAGENT_SECURITYAUDIT_OSV_URL", "http://osv.test/v1/query")
    run = run_handler(agent, "security.audit", {}, workspace=tmp_path)
    assert run.status == "FAILED"
    assert "HYPERAGENT_SECURITYAUDIT_OSV_URL='http://osv.test/v1/query' must be an https://" in (
        run.error
    )
