"""The bootstrap.project handler, run in memory: what it writes, and what it refuses and why."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

from hyperagent_bootstrapper.agent import agent, overwrite_description
from hyperagent_bootstrapper.postcheck import Settings
from hyperagent_sdk import CancellationToken
from hyperagent_sdk.testing import HandlerRun, run_handler

TASK = "bootstrap.project"


def entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_a_project_is_rendered_committed_and_described(thirdparty: Path, tmp_path: Path) -> None:
    run = run_handler(
        agent,
        TASK,
        {"template": str(thirdparty), "answers": {"project_name": "demo"}},
        workspace=tmp_path,
    )
    assert run.status == "SUCCEEDED", run.error
    out = run.output
    assert out["path"] == str(tmp_path)
    assert "demo/__init__.py" in out["files"]
    assert ".copier-answers.yml" in out["files"]
    assert out["answers"]["project_name"] == "demo"
    assert out["message"] == 'Your project "demo" is ready.\n'
    log = subprocess.run(
        ["git", "-C", str(tmp_path), "log", "--format=%H %s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert log[0] == out["commit"]
    status = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""  # everything rendered is committed
    assert not [n for n in entries(tmp_path) if n.startswith(".hyperagent")]
    steps = [step for _, step in run.progress]
    assert steps[:4] == ["validating", "rendering", "moving into place", "committing"]


def test_a_dry_run_returns_files_and_diff_and_writes_nothing(
    thirdparty: Path, tmp_path: Path
) -> None:
    (tmp_path / "README.md").write_text("# old\n")
    run = run_handler(
        agent,
        TASK,
        {"template": str(thirdparty), "answers": {"project_name": "demo"}, "dry_run": True},
        workspace=tmp_path,
    )
    assert run.status == "SUCCEEDED", run.error
    assert entries(tmp_path) == ["README.md"]
    assert (tmp_path / "README.md").read_text() == "# old\n"
    states = {f["path"]: f["state"] for f in run.output["files"]}
    assert states["README.md"] == "changed"
    assert states["demo/core.py"] == "new"
    assert "--- a/README.md\n+++ b/README.md\n" in run.output["diff"]
    assert "-# old\n+# demo\n" in run.output["diff"]


def test_every_bad_answer_is_named_with_what_is_allowed(thirdparty: Path, tmp_path: Path) -> None:
    run = run_handler(
        agent,
        TASK,
        {
            "template": str(thirdparty),
            "answers": {"project_name": "Demo", "year": "soon", "license": "GPL"},
        },
        workspace=tmp_path,
    )
    assert run.status == "FAILED"
    assert "project_name: Use lowercase letters" in run.error
    assert "year: must be a whole number (got 'soon')" in run.error
    assert "license: 'GPL' is not one of the choices ['MIT', 'Apache-2.0', 'none']" in run.error
    assert entries(tmp_path) == []


def test_a_required_answer_that_is_missing_is_named(thirdparty: Path, tmp_path: Path) -> None:
    run = run_handler(agent, TASK, {"template": str(thirdparty)}, workspace=tmp_path)
    assert run.status == "FAILED"
    assert (
        "project_name: required: the template has no default (What is your project called?)"
        in run.error
    )


def test_package_names_follow_pythons_rules(tmp_path: Path, repo: Path) -> None:
    for bad, why in [
        ("class", "package_name must not be a Python keyword"),
        ("json", "would shadow Python's standard module"),
        ("9lives", "must start with a lowercase letter"),
    ]:
        ws = tmp_path / bad
        ws.mkdir()
        answers = {"project_name": "shop", "package_name": bad}
        run = run_handler(
            agent,
            TASK,
            {"template": str(repo / "templates" / "fastapi"), "answers": answers, "checks": False},
            workspace=ws,
        )
        assert run.status == "FAILED", bad
        assert why in run.error, run.error


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(
    thirdparty: Path, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    run = run_handler(
        agent,
        TASK,
        {"template": str(thirdparty), "answers": {"project_name": "demo"}},
        workspace=tmp_path,
    )
    assert run.status == "FAILED"
    assert (
        f"the project folder {tmp_path} is not empty (1 entries: notes.txt);"
        " submit with overwrite: true" in run.error
    )
    assert entries(tmp_path) == ["notes.txt"]


def test_a_broken_template_is_reported_by_file_and_line_and_nothing_is_written(
    thirdparty: Path, tmp_path: Path
) -> None:
    src = tmp_path / "broken"
    shutil.copytree(thirdparty, src)
    readme = src / "project" / "README.md.jinja"
    readme.write_text("# {{ project_name }}\n\nline three\n{% if license %}\nno end\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    run = run_handler(
        agent, TASK, {"template": str(src), "answers": {"project_name": "demo"}}, workspace=ws
    )
    assert run.status == "FAILED"
    assert (
        "template 'broken' is broken: project/README.md.jinja:4: Unexpected end of template"
        in run.error
    )
    assert entries(ws) == []


def test_a_broken_manifest_is_reported_by_line(thirdparty: Path, tmp_path: Path) -> None:
    src = tmp_path / "broken"
    shutil.copytree(thirdparty, src)
    manifest = src / "copier.yml"
    manifest.write_text(manifest.read_text().replace("  type: int\n", "  type: integer\n", 1))
    run = run_handler(
        agent, TASK, {"template": str(src), "answers": {"project_name": "d"}}, workspace=tmp_path
    )
    assert run.status == "FAILED"
    assert (
        "copier.yml:25: question 'year' has type 'integer'; allowed: str, int, float, bool, json"
        in run.error
    )


def test_unknown_templates_and_ssh_urls_are_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo: Path
) -> None:
    monkeypatch.setenv("HYPERAGENT_TEMPLATE_DIRS", str(repo / "templates"))
    run = run_handler(agent, TASK, {"template": "rails"}, workspace=tmp_path)
    assert run.status == "FAILED"
    assert "no template named 'rails'; the catalogue has: django, fastapi" in run.error
    run = run_handler(agent, TASK, {"template": "git@github.com:me/tpl.git"}, workspace=tmp_path)
    assert run.status == "FAILED"
    assert "only https:// git URLs are supported" in run.error


def test_cancelling_during_the_commit_leaves_the_folder_as_it_was(
    thirdparty: Path, tmp_path: Path
) -> None:
    token = CancellationToken()
    run = run_handler(
        agent,
        TASK,
        {"template": str(thirdparty), "answers": {"project_name": "demo"}},
        workspace=tmp_path,
        cancel=token,
        on_progress=lambda _f, step: (
            token.cancel("changed my mind") if step == "committing" else None
        ),
    )
    assert (run.status, run.error) == ("CANCELED", "changed my mind")
    assert entries(tmp_path) == []


def test_the_manifests_settings_are_the_defaults(repo: Path) -> None:
    env = tomllib.loads((repo / "agents/bootstrapper/agent.toml").read_text())["env"]
    assert Settings.from_env(env) == Settings()
    one = Settings.from_env({"HYPERAGENT_BOOTSTRAP_PORTS": "8080"})
    assert one.ports == (8080, 8080)


PORTS_ALLOWED = "a port or a range of ports like 8000-8099 (from 1 to 65535)"


@pytest.mark.parametrize(
    ("setting", "allowed"),
    [
        ("PORTS=8099-8000", PORTS_ALLOWED),
        ("PORTS=http", PORTS_ALLOWED),
        ("SERVE_TIMEOUT=soon", "a number of at least 0.001"),
        ("INDEX_URL=ftp://mirror.test/", "an https://, http:// or file:// URL"),
    ],
)
def test_a_bad_setting_fails_the_task_before_anything_is_written(
    setting: str, allowed: str, thirdparty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, _, value = setting.partition("=")
    monkeypatch.setenv(f"HYPERAGENT_BOOTSTRAP_{key}", value)
    payload = {"template": str(thirdparty), "answers": {"project_name": "demo"}}
    run = run_handler(agent, TASK, payload, workspace=tmp_path)
    assert run.status == "FAILED"
    assert run.error == (
        "the bootstrapper's settings (agent.toml [env]):"
        f" HYPERAGENT_BOOTSTRAP_{key}={value!r} must be {allowed}"
    )
    assert entries(tmp_path) == []


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
    ).stdout


class Consent:
    """Answers overwriting's request in the person's place (granted), keeping each description."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, description: str, _paths: Sequence[str]) -> str:
        self.asked.append(description)
        return f"action-{len(self.asked)}"


@pytest.fixture
def consent() -> Consent:
    return Consent()


def make_over(template: Path, folder: Path, consent: Consent) -> HandlerRun:
    """The project "demo" made from ``template`` over what ``folder`` holds (asked first)."""
    payload = {"template": str(template), "answers": {"project_name": "demo"}, "overwrite": True}
    return run_handler(agent, TASK, payload, workspace=folder, destructive=consent)


def test_making_the_same_project_again_over_it_succeeds_without_an_empty_commit(
    thirdparty: Path, tmp_path: Path, consent: Consent
) -> None:
    payload = {"template": str(thirdparty), "answers": {"project_name": "demo"}}
    first = run_handler(agent, TASK, payload, workspace=tmp_path, destructive=consent)
    assert first.status == "SUCCEEDED", first.error
    again = run_handler(
        agent, TASK, {**payload, "overwrite": True}, workspace=tmp_path, destructive=consent
    )
    assert again.status == "SUCCEEDED", again.error
    assert again.output["commit"] == first.output["commit"]
    assert git(tmp_path, "log", "--format=%H").split() == [first.output["commit"]]
    assert git(tmp_path, "status", "--porcelain") == ""
    assert not [n for n in entries(tmp_path) if n.startswith(".hyperagent")]
    assert any("nothing to commit" in line.message for line in again.logs)
    files = len(first.output["files"])
    assert consent.asked == [
        f"write the thirdparty template's {files} files into {tmp_path}, replacing all {files}"
        " already there"
    ]


def test_overwriting_commits_the_changes_and_never_the_replaced_files(
    thirdparty: Path, tmp_path: Path, consent: Consent
) -> None:
    (tmp_path / "README.md").write_text("# mine\n")
    (tmp_path / "notes.txt").write_text("kept\n")
    run = make_over(thirdparty, tmp_path, consent)
    assert run.status == "SUCCEEDED", run.error
    committed = git(tmp_path, "ls-files").split()
    assert {"README.md", "notes.txt"} <= set(committed)
    assert not [n for n in committed if n.startswith(".hyperagent")]
    assert not [n for n in entries(tmp_path) if n.startswith(".hyperagent")]
    files = len(run.output["files"])
    assert consent.asked == [
        f"write the thirdparty template's {files} files into {tmp_path}, replacing 1 file"
        " already there"
    ]


def test_a_failed_overwrite_puts_the_folder_back_and_leaves_no_staging_folders(
    thirdparty: Path, tmp_path: Path, consent: Consent
) -> None:
    payload = {"template": str(thirdparty), "answers": {"project_name": "demo"}}
    first = run_handler(agent, TASK, payload, workspace=tmp_path, destructive=consent)
    assert first.status == "SUCCEEDED"
    (tmp_path / "README.md").write_text("# changed by me\n")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    token = CancellationToken()
    run = run_handler(
        agent,
        TASK,
        {**payload, "answers": {"project_name": "demo"}, "overwrite": True},
        workspace=tmp_path,
        cancel=token,
        on_progress=lambda _f, step: token.cancel("stop") if step == "committing" else None,
        destructive=consent,
    )
    assert run.status == "CANCELED"
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not [n for n in entries(tmp_path) if n.startswith(".hyperagent")]


def test_the_overwrite_request_reads_as_what_happens(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("")
    assert overwrite_description("fastapi", tmp_path, ["b"]) == (
        f"write the fastapi template's 1 file into {tmp_path}, beside what is there"
        " (no file is replaced)"
    )
    assert overwrite_description("fastapi", tmp_path, ["a"]) == (
        f"write the fastapi template's 1 file into {tmp_path}, replacing 1 file already there"
    )


def test_a_file_the_repository_ignores_is_written_and_not_committed(
    thirdparty: Path, tmp_path: Path, consent: Consent
) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / ".gitignore").write_text("README.md\n")
    git(tmp_path, "add", ".gitignore")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "ignore")
    run = make_over(thirdparty, tmp_path, consent)
    assert run.status == "SUCCEEDED", run.error
    assert (tmp_path / "README.md").is_file()
    committed = git(tmp_path, "ls-files").split()
    assert "README.md" not in committed
    assert len(committed) > 1
    assert any("the repository ignores them: README.md" in line.message for line in run.logs)
