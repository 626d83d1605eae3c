"""A template's own code — its Jinja extensions and its ``_tasks`` — runs only once the person
allows exactly that code, and a refusal or a failure leaves nothing half-made.

The person is played by ``run_handler(ask=...)``: it records each request and answers as told.
(The end-to-end test through the real manager and its sandbox is tests/e2e/test_template_code.py.)
"""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
from pathlib import Path

import pytest

from hyperagent_bootstrapper import cli, confined
from hyperagent_bootstrapper import render as rendering
from hyperagent_bootstrapper.agent import agent
from hyperagent_bootstrapper.template import TemplateError, load
from hyperagent_sdk import PermissionRefused
from hyperagent_sdk.narrow import abi
from hyperagent_sdk.testing import HandlerRun, run_handler

TASK = "bootstrap.project"

EXTENSION = """\
from jinja2.ext import Extension


class Shout(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["shout"] = lambda s: str(s).upper() + "!"
"""


def template(root: Path, *, tasks: str = "", extensions: str = "") -> Path:
    """A small template whose README goes through the `shout` filter of its own extension."""
    root.mkdir(parents=True)
    manifest = "project_name:\n  type: str\n  default: shop\n"
    manifest += extensions or (
        "_jinja_extensions:\n"
        "  - copier_template_extensions.TemplateExtensionLoader\n"
        "  - ext.py:Shout\n"
    )
    manifest += tasks
    (root / "copier.yml").write_text(manifest)
    (root / "ext.py").write_text(EXTENSION)
    (root / "README.md.jinja").write_text("{{ project_name | shout }}\n")
    return root


class Person:
    """Answers consent requests: allows the kinds of code it is told to, records every one."""

    def __init__(self, *allowed: str) -> None:
        self.allowed = allowed
        self.asked: list[tuple[str, str, str]] = []

    def __call__(self, kind: str, target: str, reason: str) -> str:
        self.asked.append((kind, target, reason))
        if not any(word in target for word in self.allowed):
            raise PermissionRefused(kind, target, "client", "denied by the person")
        return f"c{len(self.asked)}"


def bootstrap(src: Path, workspace: Path, person: Person) -> HandlerRun:
    workspace.mkdir(exist_ok=True)
    payload = {"template": str(src), "git": False, "checks": False}
    return run_handler(agent, TASK, payload, workspace=workspace, ask=person)


def test_extensions_run_once_allowed_and_the_request_names_them_and_their_code(
    tmp_path: Path,
) -> None:
    src = template(tmp_path / "t")
    person = Person("Jinja extension")
    run = bootstrap(src, tmp_path / "proj", person)
    assert run.status == "SUCCEEDED", run.error
    assert (tmp_path / "proj" / "README.md").read_text() == "SHOP!\n"
    [(kind, target, reason)] = person.asked
    assert kind == "run"
    assert target.startswith(
        "the t template's Jinja extensions"
        " copier_template_extensions.TemplateExtensionLoader, ext.py:Shout (code sha256 "
    )
    assert "inside this task's sandbox" in reason
    # The code's digest is in what was allowed: other code is another request.
    before = load(src).code_digest()
    (src / "ext.py").write_text(EXTENSION.replace('"!"', '"!!"'))
    assert load(src).code_digest() != before


def test_refused_extensions_fail_the_task_naming_them_and_write_nothing(tmp_path: Path) -> None:
    src = template(tmp_path / "t")
    (tmp_path / "proj").mkdir()
    run = bootstrap(src, tmp_path / "proj", Person())
    assert run.status == "FAILED"
    assert "renders only with its Jinja extensions" in run.error
    assert "ext.py:Shout" in run.error
    assert list((tmp_path / "proj").iterdir()) == []


def test_tasks_run_in_the_project_once_allowed_with_copiers_environment(tmp_path: Path) -> None:
    tasks = (
        "_tasks:\n"
        '  - echo "$STAGE $COPIER_OPERATION {{ project_name }}" > made-by-task.txt\n'
        "  - command: [touch, inner.txt]\n"
        "    working_directory: docs\n"
        "  - command: echo never\n"
        "    when: \"{{ project_name == 'other' }}\"\n"
    )
    src = template(tmp_path / "t", tasks=tasks)
    (src / "docs").mkdir()
    (src / "docs" / "index.md").write_text("docs\n")
    person = Person("Jinja extension", "commands")
    run = bootstrap(src, tmp_path / "proj", person)
    assert run.status == "SUCCEEDED", run.error
    assert (tmp_path / "proj" / "made-by-task.txt").read_text() == "task copy shop\n"
    assert (tmp_path / "proj" / "docs" / "inner.txt").is_file()
    assert run.output["tasks"] == [
        {"command": 'echo "$STAGE $COPIER_OPERATION shop" > made-by-task.txt', "ran": True},
        {"command": "touch inner.txt", "ran": True},
    ]
    # One request for exactly the commands that will run (the false `when` is not among them).
    kind, target, _ = person.asked[1]
    assert kind == "run"
    assert target == (
        "the t template's 2 commands in the new project:"
        ' `echo "$STAGE $COPIER_OPERATION shop" > made-by-task.txt`; `touch inner.txt` in docs'
    )
    assert any("task 1 of the template" in m for m in run.messages("INFO"))


@pytest.mark.skipif(abi() == 0, reason="needs Landlock")
def test_tasks_may_write_the_project_and_nothing_of_the_agents_own(tmp_path: Path) -> None:
    # The folder stands for the agent's state (uv's cache): the next project would read it.
    state = tmp_path / "agent-state"
    state.mkdir()
    attempt = f"(echo poison > {state}/planted && echo wrote || echo refused) > outcome.txt"
    src = template(tmp_path / "t", tasks=f"_tasks:\n  - {attempt}\n")
    run = bootstrap(src, tmp_path / "proj", Person("Jinja extension", "command"))
    assert run.status == "SUCCEEDED", run.error
    assert (tmp_path / "proj" / "outcome.txt").read_text() == "refused\n"
    assert list(state.iterdir()) == []


def test_refused_tasks_leave_the_project_made_and_say_so(tmp_path: Path) -> None:
    src = template(tmp_path / "t", tasks="_tasks:\n  - touch made-by-task.txt\n")
    run = bootstrap(src, tmp_path / "proj", Person("Jinja extension"))
    assert run.status == "SUCCEEDED", run.error
    assert (tmp_path / "proj" / "README.md").is_file()
    assert not (tmp_path / "proj" / "made-by-task.txt").exists()
    assert run.output["tasks"] == [{"command": "touch made-by-task.txt", "ran": False}]
    assert any("tasks were not run" in m for m in run.messages("WARN"))


def test_a_failing_task_fails_the_bootstrap_and_puts_the_folder_back(tmp_path: Path) -> None:
    src = template(tmp_path / "t", tasks="_tasks:\n  - touch half.txt && exit 3\n")
    (tmp_path / "proj").mkdir()
    run = bootstrap(src, tmp_path / "proj", Person("Jinja extension", "command"))
    assert run.status == "FAILED"
    assert "code 3" in run.error, run.error
    assert list((tmp_path / "proj").iterdir()) == []


def test_a_dry_run_lists_the_tasks_it_would_run_and_runs_none(tmp_path: Path) -> None:
    src = template(tmp_path / "t", tasks="_tasks:\n  - touch made-by-task.txt\n")
    person = Person("Jinja extension")
    payload = {"template": str(src), "dry_run": True}
    (tmp_path / "proj").mkdir()
    run = run_handler(agent, TASK, payload, workspace=tmp_path / "proj", ask=person)
    assert run.status == "SUCCEEDED", run.error
    assert run.output["tasks"] == [{"command": "touch made-by-task.txt", "ran": False}]
    assert len(person.asked) == 1  # the extensions (rendering needs them); the tasks not asked


def test_an_extension_the_environment_lacks_is_named_with_its_package(tmp_path: Path) -> None:
    src = template(tmp_path / "t", extensions="_jinja_extensions: [hyperagent_no_such.Ext]\n")
    run = bootstrap(src, tmp_path / "proj", Person("Jinja extension"))
    assert run.status == "FAILED"
    assert "needs the Python module `hyperagent_no_such`" in run.error
    assert "`hyperagent-no-such`" in run.error


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("../outside.py:Ext", "must name a file inside the template"),
        ("/etc/ext.py:Ext", "must name a file inside the template"),
    ],
)
def test_an_extension_file_outside_the_template_is_refused(
    tmp_path: Path, entry: str, said: str
) -> None:
    src = template(tmp_path / "t", extensions=f"_jinja_extensions: ['{entry}']\n")
    with pytest.raises(TemplateError) as err:
        load(src)
    assert said in str(err.value)
    assert str(err.value).startswith("copier.yml:")


def test_an_extension_linked_outside_the_template_is_refused(tmp_path: Path) -> None:
    src = template(tmp_path / "t", extensions="_jinja_extensions: ['link.py:Ext']\n")
    (tmp_path / "elsewhere.py").write_text(EXTENSION)
    (src / "link.py").symlink_to(tmp_path / "elsewhere.py")
    with pytest.raises(TemplateError) as err:
        load(src)
    assert "links outside the template" in str(err.value)


def test_the_cli_runs_a_templates_code_only_with_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = template(tmp_path / "t", tasks="_tasks:\n  - touch made-by-task.txt\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main([str(src), "refused"]) == 2
    assert "pass --trust to run it" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()
    assert cli.main([str(src), "trusted", "--trust"]) == 0
    assert (tmp_path / "trusted" / "README.md").read_text() == "SHOP!\n"
    assert (tmp_path / "trusted" / "made-by-task.txt").is_file()
    assert cli.main([str(src), "skipped", "--trust", "--skip-tasks"]) == 0
    assert not (tmp_path / "skipped" / "made-by-task.txt").exists()


def test_a_task_that_fails_in_the_cli_exits_1_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = template(tmp_path / "t", tasks="_tasks:\n  - exit 4\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main([str(src), "proj", "--trust"]) == 1
    assert "error: task 1 (exit 4) exited with 4" in capsys.readouterr().err


def test_a_trusted_templates_context_says_it_is_unsafe_as_copiers_does(tmp_path: Path) -> None:
    src = template(tmp_path / "t")
    trusted = dataclasses.replace(load(src), trusted=True)
    answers = rendering.resolve(trusted, {}, dst_name="proj")
    context = rendering.render_context(trusted, answers, "proj")
    assert context["_copier_conf"]["unsafe"] is True
    untrusted = rendering.render_context(load(src), answers, "proj")
    assert untrusted["_copier_conf"]["unsafe"] is False


PLANTING = """\
import os

from jinja2.ext import Extension


class Plant(Extension):
    # Tries to leave something behind for the next project, and says how that went.
    def __init__(self, environment):
        super().__init__(environment)
        try:
            with open(os.environ["PLANT_AT"], "w") as f:
                f.write("planted")
            outcome = "wrote"
        except OSError as err:
            outcome = type(err).__name__
        print("this goes to stderr, not into the renderer's answers")
        environment.globals["planted"] = outcome
        environment.globals["pid"] = os.getpid()
        environment.filters["boom"] = lambda s: 1 / 0
"""


@pytest.mark.skipif(abi() == 0, reason="needs Landlock")
def test_extensions_run_in_a_renderer_that_writes_nothing_of_the_agents_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The folder stands for the agent's state (uv's cache): the next project would read it.
    state = tmp_path / "agent-state"
    state.mkdir()
    monkeypatch.setenv("PLANT_AT", str(state / "planted"))
    src = template(tmp_path / "t", extensions="_jinja_extensions:\n  - ext.py:Plant\n")
    (src / "ext.py").write_text(PLANTING)
    (src / "README.md.jinja").write_text("{{ planted }} {{ pid }}\n")
    src_ext = "_jinja_extensions:\n  - copier_template_extensions.TemplateExtensionLoader\n"
    (src / "copier.yml").write_text(
        (src / "copier.yml").read_text().replace("_jinja_extensions:\n", src_ext, 1)
    )
    run = bootstrap(src, tmp_path / "proj", Person("Jinja extension"))
    assert run.status == "SUCCEEDED", run.error
    outcome, pid = (tmp_path / "proj" / "README.md").read_text().split()
    assert outcome == "PermissionError"
    assert int(pid) != os.getpid()  # another process rendered it
    assert list(state.iterdir()) == []
    # The template's code failing while rendering fails the task, saying so.
    (src / "README.md.jinja").write_text("{{ 'x' | boom }}\n")
    run = bootstrap(src, tmp_path / "proj2", Person("Jinja extension"))
    assert run.status == "FAILED"
    assert "ZeroDivisionError" in run.error, run.error


def test_the_renderers_answers_are_read_as_data_never_as_code() -> None:
    forged = pickle.dumps((True, os.system), protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(pickle.UnpicklingError, match=r"posix\.system, which no answer holds"):
        confined._Results(io.BytesIO(forged)).load()
    fine = rendering.Rendered(files=[rendering.RenderedFile("a", b"x", 0o644)])
    data = pickle.dumps((True, fine), protocol=pickle.HIGHEST_PROTOCOL)
    assert confined._Results(io.BytesIO(data)).load() == (True, fine)
    err = TemplateError("copier.yml:3", "bad")
    ok, back = confined._Results(io.BytesIO(pickle.dumps((False, err)))).load()
    assert (ok, back.where, back.message) == (False, "copier.yml:3", "bad")
