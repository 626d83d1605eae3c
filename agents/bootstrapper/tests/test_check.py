"""The project.check handler, run in memory on a project made from a real template (a git
repository made here): the same post-check as a bootstrap's, run again on the project as it is,
and what it refuses and why."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from hyperagent_bootstrapper.agent import agent
from hyperagent_sdk.testing import HandlerRun, run_handler

#: The post-check of the template below: install a package from the folder of wheels, a test that
#: passes once the person made ``fixed.txt`` (check_fixed.py), and a dev server (Python's own)
#: with its health URL.
POSTCHECK = """\
install: ["demo-dep"]
test: ["python", "check_fixed.py"]
serve: ["python", "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
health: /
start_hint: "cd {{ name }} && python -m http.server"
"""


def git(cwd: Path, *args: str) -> str:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    return subprocess.run(
        ["git", *ident, *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def wheel(folder: Path) -> Path:
    """A real wheel of a one-module package ``demo-dep`` in ``folder`` (the offline source)."""
    folder.mkdir()
    files = {
        "demo_dep/__init__.py": b"VERSION = '1.0'\n",
        "demo_dep-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo-dep\nVersion: 1.0\n",
        "demo_dep-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for name, data in files.items()
    ]
    record.append("demo_dep-1.0.dist-info/RECORD,,")
    path = folder / "demo_dep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        for name, data in files.items():
            whl.writestr(name, data)
        whl.writestr("demo_dep-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return folder


def template(folder: Path, *, postcheck: str | None = POSTCHECK) -> Path:
    """A small template: a ``name`` question, its answers file, a README and its post-check."""
    folder.mkdir()
    (folder / "copier.yml").write_text("name:\n  type: str\n  default: demo\n")
    (folder / "{{_copier_conf.answers_file}}.jinja").write_text(
        "{{ _copier_answers|to_nice_yaml }}"
    )
    (folder / "README.md.jinja").write_text("# {{ name }}\n")
    (folder / "check_fixed.py").write_text(
        "import pathlib, sys\n\nimport demo_dep\n\n"
        "sys.exit(0 if pathlib.Path('fixed.txt').is_file() else 'not fixed yet')\n"
    )
    if postcheck is not None:
        (folder / "hyperagent.yml").write_text(postcheck)
    return folder


def release(src: Path, tag: str) -> None:
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", tag)
    git(src, "tag", tag)


def made(src: Path, project: Path, **payload: object) -> HandlerRun:
    """The project ``shop`` made from ``src`` in ``project`` without its checks."""
    project.mkdir()
    run = run_handler(
        agent,
        "bootstrap.project",
        {"template": str(src), "answers": {"name": "shop"}, "checks": False, **payload},
        workspace=project,
    )
    assert run.status == "SUCCEEDED", run.error
    return run


def check(project: Path, **payload: object) -> HandlerRun:
    return run_handler(agent, "project.check", payload, workspace=project)


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent installs from a folder of wheels made here: no network."""
    monkeypatch.setenv("HYPERAGENT_BOOTSTRAP_WHEELHOUSE", str(wheel(tmp_path / "wheels")))
    monkeypatch.setenv("HYPERAGENT_BOOTSTRAP_SERVE_TIMEOUT", "20")


@pytest.mark.usefixtures("offline")
def test_the_checks_run_again_at_the_recorded_version_fail_until_fixed_and_commit_nothing(
    tmp_path: Path,
) -> None:
    src = template(tmp_path / "service")
    git(src, "init", "-q", "-b", "main")
    release(src, "v1.0.0")
    project = tmp_path / "shop"
    first = made(src, project, vcs_ref="v1.0.0")
    assert first.output["checks"] == []
    # A newer release whose tests never pass: the project is checked as its own version says.
    (src / "hyperagent.yml").write_text(
        POSTCHECK.replace('["python", "check_fixed.py"]', '["python", "-c", "raise SystemExit(2)"]')
    )
    release(src, "v2.0.0")
    head = git(project, "rev-parse", "HEAD")

    failed = check(project)
    assert failed.status == "FAILED"
    assert failed.error.startswith(f"{project} was checked, and its post-check failed: tests:")
    assert "not fixed yet" in failed.error
    statuses = {c["name"]: c["status"] for c in failed.output["checks"]}
    assert statuses == {
        "environment": "passed",
        "install": "passed",
        "tests": "failed",
        "serve": "passed",
    }
    assert failed.output["path"] == str(project)
    assert failed.output["template"] == "service"

    (project / "fixed.txt").write_text("fixed by hand\n")
    passed = check(project)
    assert passed.status == "SUCCEEDED", passed.error
    out = passed.output
    assert [(c["name"], c["status"]) for c in out["checks"]] == [
        ("environment", "passed"),
        ("install", "passed"),
        ("tests", "passed"),
        ("serve", "passed"),
    ]
    assert out["outcome"] == "checked"
    assert out["template_version"] == "v1.0.0"
    assert out["start"] == "cd shop && python -m http.server"
    # The environment the first run made is kept, not made again.
    assert out["checks"][0]["detail"].startswith("the project's .venv (Python 3.")
    assert passed.summary == f"service project at {project}: 4/4 checks passed"
    steps = [step for _, step in passed.progress]
    assert steps[:3] == [
        "reading the project",
        "checking out the template",
        "creating the environment",
    ]
    # Nothing committed, nothing of the project's changed: only what the checks made is new.
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == "?? fixed.txt\n"  # (.venv ignores itself)
    assert (project / ".venv" / "pyvenv.cfg").is_file()


def test_a_folder_without_an_answers_file_is_refused_with_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print('mine')\n")
    run = check(tmp_path)
    assert run.status == "FAILED"
    assert run.error.startswith(
        f"the checks of {tmp_path} cannot be run again: {tmp_path} was not made from a template:"
        " it has no answers file (.copier-answers.yml, or the template's own `_answers_file`:"
        " give its path as answers_file)"
    ), run.error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.py"]


def test_a_template_without_a_post_check_is_named_with_what_to_do(tmp_path: Path) -> None:
    # Not a git repository (as the catalogue's templates): checked as the folder is now.
    src = template(tmp_path / "plain", postcheck=None)
    project = tmp_path / "shop"
    made(src, project)
    run = check(project)
    assert run.status == "FAILED"
    assert run.error.startswith(
        f"the template {src}, which {project} was made from, declares no post-check (no"
        " hyperagent.yml with an `install` command), so there is nothing to run again"
    ), run.error
    assert not (project / ".venv").exists()


def test_a_template_that_is_gone_is_named_with_where_it_was(tmp_path: Path) -> None:
    src = template(tmp_path / "service")
    git(src, "init", "-q", "-b", "main")
    release(src, "v1.0.0")
    project = tmp_path / "shop"
    made(src, project)
    shutil.rmtree(src)
    run = check(project, path=".")
    assert run.status == "FAILED"
    assert f"the checks of {project} were not run: the template {src} is gone" in run.error
    assert "set `_src_path` in the answers file to where it is now" in run.error


def test_a_path_outside_the_tasks_folder_is_refused(tmp_path: Path) -> None:
    run = check(tmp_path, path="../elsewhere")
    assert run.status == "FAILED"
    assert run.error == "path '../elsewhere' must be relative to the task's folder, inside it"
