"""The headline flow end to end: the real manager runs the real bootstrapper agent, confined by
the kernel, to make a project in a folder of the workspace root; then opens it in the editor.

Packages come from the offline wheelhouse (the agent's offline mode), which the person allows the
agent to read with a policy rule, so no test depends on the network. VS Code cannot exist here:
a stand-in `code` executable on the manager's PATH records its arguments (named as such below).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from harness import REPO, Manager, bootstrapper_agents, editor_standin, wait_until, wheelhouse

from hyperagent.v1 import client_pb2, common_pb2


@dataclass
class World:
    m: Manager
    root: Path  # the workspace root
    editor_log: Path  # what the stand-in `code` was called with
    mine: Path  # a template folder of the person's own, after the bundled ones


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("bootstrap")
    # The bootstrapper's own manifest, with its offline mode pointed at the wheelhouse.
    wh = wheelhouse()
    agents = bootstrapper_agents(base / "agents", wh)
    # Stand-in for VS Code (it cannot run here): records its arguments, one call per line.
    editor_env, editor_log = editor_standin(base)
    mine = base / "my-templates"
    mine.mkdir()
    m = Manager(
        root=base,
        agents_dir=agents,
        extra={
            "sandbox": {"allow_unsupervised_agents": False},
            "templates": {"dirs": [str(REPO / "templates"), str(mine)]},
            "consent": {"timeout": "20s"},
        },
        env_extra=editor_env,
    ).start()
    m.wait_agent("bootstrapper", online=True)
    allowed = m.cli("policy", "allow", "--read", str(wh), "--agent", "bootstrapper")
    assert allowed.returncode == 0, allowed.stderr
    yield World(m, base / "data" / "workspaces", editor_log, mine)
    m.stop()


def bootstrap(w: World, folder: str, template: str, **payload: object) -> client_pb2.Task:
    return w.m.submit("bootstrap.project", {"template": template, **payload}, workspace=folder)


def finished(w: World, task: client_pb2.Task) -> tuple[client_pb2.Task, dict]:
    done = w.m.wait_state(task.id)
    output = json.loads(done.result.output_json) if done.result.output_json else {}
    return done, output


def logs(w: World, task_id: str) -> list[str]:
    resp = w.m.client.GetLogs(client_pb2.GetLogsRequest(task_id=task_id), timeout=30)
    return [line.message for line in resp.lines]


@pytest.mark.parametrize("template", ["fastapi", "django"])
def test_a_project_is_made_installed_tested_and_started_by_the_confined_agent(
    world: World, template: str
) -> None:
    folder = f"shop-{template}"
    task = bootstrap(world, folder, template, answers={"project_name": "shop"})
    done, out = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    project = world.root / folder
    assert out["path"] == str(project)
    assert (project / ".copier-answers.yml").is_file()
    checks = {c["name"]: c for c in out["checks"]}
    assert [checks[n]["status"] for n in ("environment", "install", "tests", "serve")] == [
        "passed"
    ] * 4, out["checks"]
    assert "passed" in checks["tests"]["detail"]
    assert checks["serve"]["detail"].endswith("answered 200")
    head = subprocess.run(
        ["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    assert head.stdout.strip() == out["commit"]
    lines = logs(world, task.id)
    for step in (
        "validating",
        "rendering",
        "moving into place",
        "committing",
        "installing packages",
    ):
        assert step in lines
    # the dev server's own output reached the task's log (printed before it serves)
    started = {"fastapi": "Uvicorn running on", "django": "Starting development server at"}
    assert any(started[template] in line for line in lines), "\n".join(lines[-30:])
    # It ran confined: what it could touch is on record.
    audit = world.m.cli("audit", "list", "--task", task.id, "--json")
    assert '"task.confined"' in audit.stdout


def test_a_dry_run_shows_the_files_and_writes_nothing(world: World) -> None:
    task = bootstrap(world, "dry", "fastapi", answers={"project_name": "dry"}, dry_run=True)
    done, out = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["dry_run"] is True
    states = {f["path"]: f["state"] for f in out["files"]}
    assert states["dry/main.py"] == "new"
    assert "+++ b/pyproject.toml" in out["diff"]
    gone(world.root / "dry")  # a dry run leaves no folder behind


def test_cancelling_during_the_post_check_leaves_no_files_and_no_processes(world: World) -> None:
    task = bootstrap(world, "cancelled", "fastapi", answers={"project_name": "cancelled"})
    world.m.wait_event(
        lambda e: (
            e.HasField("task_progress")
            and e.task_progress.progress.step == "running the project's tests"
        ),
        task_id=task.id,
    )
    world.m.client.CancelTask(
        client_pb2.CancelTaskRequest(task_id=task.id, reason="stop"), timeout=30
    )
    done = world.m.wait_state(task.id)
    assert done.state == common_pb2.TASK_STATE_CANCELED
    folder = world.root / "cancelled"
    assert not folder.exists() or list(folder.iterdir()) == []
    gone(folder)  # the empty folder the manager made for the task goes too
    # The task process itself exits just after reporting; the tree it started (uv, pytest) was
    # killed before that. A leaked process would hold on past the deadline.
    wait_until(lambda: not processes_in(folder), f"no processes left in {folder}")


def gone(folder: Path) -> None:
    """The empty folder the manager made for a task is removed once the task's end is stored,
    just after the end is published on the feed: wait for it."""
    wait_until(lambda: not folder.exists(), f"{folder} is removed")


def processes_in(folder: Path) -> list[str]:
    """Processes whose working folder or program lies in ``folder``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        for link in ("cwd", "exe"):
            try:
                target = os.readlink(proc / link)
            except OSError:
                continue
            if target.startswith(str(folder)):
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name} {link} -> {target}: {cmd}")
    return found


def test_a_folder_outside_the_workspace_root_is_refused_at_submit(world: World) -> None:
    for folder, why in [
        ("../outside", "must stay inside the workspace root"),
        ("/etc", "must stay inside the workspace root"),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            bootstrap(world, folder, "fastapi", answers={"project_name": "x"})
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert why in (err.value.details() or ""), err.value.details()


def test_a_symlink_out_of_the_workspace_root_is_refused(world: World, tmp_path: Path) -> None:
    world.root.mkdir(parents=True, exist_ok=True)
    link = world.root / "escape"
    link.symlink_to(tmp_path)
    try:
        with pytest.raises(grpc.RpcError) as err:
            bootstrap(world, "escape/project", "fastapi", answers={"project_name": "x"})
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "leads outside the workspace root" in (err.value.details() or "")
        assert list(tmp_path.iterdir()) == []
    finally:
        link.unlink()


def test_bad_answers_and_a_busy_folder_fail_with_the_reason_and_an_unasked_answer_is_named(
    world: World,
) -> None:
    task = bootstrap(world, "bad", "fastapi", answers={"project_name": "Bad Name", "colour": "red"})
    done, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "project_name" in done.status_reason
    # An answer to no question is no error by itself (as in copier), but named beside one.
    assert "colour: the template asks no such question" in done.status_reason
    gone(world.root / "bad")

    taken = world.root / "taken"
    taken.mkdir(parents=True)
    (taken / "mine.txt").write_text("mine\n")
    task = bootstrap(world, "taken", "fastapi", answers={"project_name": "taken"}, checks=False)
    done, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "is not empty (1 entries: mine.txt)" in done.status_reason
    assert sorted(p.name for p in taken.iterdir()) == ["mine.txt"]


def test_overwriting_asks_first_and_can_be_rolled_back(world: World) -> None:
    folder = world.root / "existing"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("# my notes\n")
    (folder / "keep.txt").write_text("untouched\n")
    task = bootstrap(
        world,
        "existing",
        "fastapi",
        answers={"project_name": "existing"},
        overwrite=True,
        checks=False,
    )
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "destructive", task_id=task.id
    )
    granted = world.m.cli("consent", "grant", ask.consent.id, "--scope", "once")
    assert granted.returncode == 0, granted.stderr
    done, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert (folder / "README.md").read_text().startswith("# existing")
    assert (folder / "keep.txt").read_text() == "untouched\n"
    actions = json.loads(world.m.cli("rollback", "--list", "--json").stdout)
    action = next(a for a in actions if a["task_id"] == task.id)
    back = world.m.cli("rollback", action["id"])
    assert back.returncode == 0, back.stderr
    assert (folder / "README.md").read_text() == "# my notes\n"
    assert not (folder / "pyproject.toml").exists()


def git_in(cwd: Path, *argv: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    subprocess.run(["git", *argv], cwd=cwd, env=env, check=True, capture_output=True)


def test_updating_a_project_asks_first_keeps_my_change_and_can_be_rolled_back(
    world: World,
) -> None:
    # A template of the person's own, as a git repository with two releases.
    src = world.mine / "updatable"
    src.mkdir()
    (src / "copier.yml").write_text("name:\n  type: str\n  default: demo\n")
    (src / "{{_copier_conf.answers_file}}.jinja").write_text("{{ _copier_answers|to_nice_yaml }}")
    (src / "README.md.jinja").write_text("# {{ name }}\n\na\nb\nc\nd\ne\nend v1\n")
    git_in(src, "init", "-q", "-b", "main")
    git_in(src, "add", "-A")
    git_in(src, "commit", "-q", "-m", "v1")
    git_in(src, "tag", "v1.0.0")
    task = bootstrap(world, "to-update", str(src), vcs_ref="v1.0.0", checks=False)
    done, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    (src / "README.md.jinja").write_text("# {{ name }}\n\na\nb\nc\nd\ne\nend v2\n")
    (src / "new.txt").write_text("new\n")
    # v2's migration: the template's own command, run confined on a scratch copy once allowed.
    (src / "copier.yml").write_text(
        "name:\n  type: str\n  default: demo\n"
        '_migrations:\n  - version: v2.0.0\n    command: echo "$VERSION_FROM" > migrated.txt\n'
    )
    git_in(src, "add", "-A")
    git_in(src, "commit", "-q", "-m", "v2")
    git_in(src, "tag", "v2.0.0")
    project = world.root / "to-update"
    readme = project / "README.md"
    mine = readme.read_text().replace("\n\na\n", "\n\nmy notes\n\na\n")
    readme.write_text(mine)
    git_in(project, "commit", "-q", "-am", "my notes")

    # The CLI's preview (by the project's path): what would change, and nothing written.
    preview = world.m.cli("update", str(project), "--preview")
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.startswith(
        f"preview: would update {project} from v1.0.0 to v2.0.0; nothing was written\n"
    ), preview.stdout
    assert "  added     new.txt\n" in preview.stdout
    assert "+end v2" in preview.stdout
    assert readme.read_text() == mine
    assert not (project / "new.txt").exists()

    task = world.m.submit("project.update", {}, workspace="to-update")
    run = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "run", task_id=task.id
    )
    assert 'after the update: `echo "$VERSION_FROM" > migrated.txt`' in run.consent.target
    assert not (project / "migrated.txt").exists()
    granted = world.m.cli("consent", "grant", run.consent.id, "--scope", "once")
    assert granted.returncode == 0, granted.stderr
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "destructive", task_id=task.id
    )
    # What the migration made is named before anything is written.
    assert not (project / "migrated.txt").exists()
    granted = world.m.cli("consent", "grant", ask.consent.id, "--scope", "once")
    assert granted.returncode == 0, granted.stderr
    done, out = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert (out["old_commit"], out["new_commit"]) == ("v1.0.0", "v2.0.0")
    assert out["added"] == ["migrated.txt", "new.txt"]
    assert (project / "migrated.txt").read_text() == "v1.0.0\n"
    assert "my notes" in readme.read_text()
    assert readme.read_text().endswith("end v2\n")
    actions = json.loads(world.m.cli("rollback", "--list", "--json").stdout)
    action = next(a for a in actions if a["task_id"] == task.id)
    back = world.m.cli("rollback", action["id"])
    assert back.returncode == 0, back.stderr
    assert readme.read_text() == mine
    assert not (project / "new.txt").exists()
    assert not (project / "migrated.txt").exists()


def test_open_in_the_editor_goes_through_the_manager_and_is_audited(world: World) -> None:
    task = bootstrap(world, "editor", "fastapi", answers={"project_name": "editor"}, checks=False)
    done, out = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    # The status names the editor it found (the stand-in `code` on the manager's PATH), so a
    # client can offer it by name.
    editor = world.m.client.GetStatus(client_pb2.GetStatusRequest(), timeout=30).editor
    assert editor.startswith("code ("), editor
    assert editor.endswith("/code)"), editor

    # A check (what the UI asks before it offers the button) answers as an opening would, but
    # opens nothing and audits nothing.
    def editor_entries() -> int:
        return world.m.cli("audit", "list", "--json").stdout.count('"editor.')

    def editor_calls() -> int:
        return len(world.editor_log.read_text().splitlines()) if world.editor_log.exists() else 0

    audited, called = editor_entries(), editor_calls()
    check = client_pb2.OpenPathRequest(task_id=task.id)
    checked = world.m.client.CheckOpenPath(check, timeout=30)
    assert (checked.path, checked.opener) == (out["path"], editor)
    assert editor_calls() == called
    assert editor_entries() == audited
    # Only a task's folder is checked (a path would make it a probe of the disk).
    with pytest.raises(grpc.RpcError) as by_path:
        world.m.client.CheckOpenPath(client_pb2.OpenPathRequest(path="/etc"), timeout=30)
    assert by_path.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    opened = world.m.cli("open", task.id)
    assert opened.returncode == 0, opened.stderr
    # the stand-in `code` recorded what VS Code would have been asked to open
    assert world.editor_log.read_text().splitlines()[-1] == out["path"]
    audit = world.m.cli("audit", "list", "--json")
    assert '"editor.opened"' in audit.stdout

    # A file at a line (a finding's file:line): the folder, then VS Code's --goto.
    at = world.m.cli("open", task.id, "--file", "README.md", "--line", "3", "--column", "2")
    assert at.returncode == 0, at.stderr
    path = out["path"]
    assert world.editor_log.read_text().splitlines()[-1] == f"{path} --goto {path}/README.md:3:2"
    calls = len(world.editor_log.read_text().splitlines())
    project = Path(path)
    (project / "escape").symlink_to("/etc/passwd")
    for file, why in [
        ("../../../../etc/passwd", "no `..`"),
        ("/etc/passwd", "no `/` at the start"),
        ("escape", "is a link to /etc/passwd, outside the folder"),
        ("missing.py", "No such file"),
        ("tests", "is not a file"),
    ]:
        refused = world.m.cli("open", task.id, "--file", file, "--line", "1")
        assert refused.returncode != 0, file
        assert why in refused.stderr, (file, refused.stderr)
    (project / "escape").unlink()
    assert len(world.editor_log.read_text().splitlines()) == calls  # never called for those

    refused = world.m.cli("open", "/etc")
    assert refused.returncode != 0
    assert "outside every workspace" in refused.stderr
    assert "policy allow --open /etc" in refused.stderr
    assert len(world.editor_log.read_text().splitlines()) == calls  # not called again

    # A link is refused naming where it leads, and the rule suggested is for that place.
    link = world.mine / "looks-harmless"
    link.symlink_to("/etc")
    through = world.m.cli("open", str(link))
    assert through.returncode != 0
    assert f"{link} is a link to /etc" in through.stderr
    assert "policy allow --open /etc" in through.stderr

    # What a task left in the folder that would run when it is opened is named.
    (project / ".vscode").mkdir(exist_ok=True)
    (project / ".vscode" / "tasks.json").write_text(
        '{"tasks": [{"label": "setup", "command": "sh steal.sh",'
        ' "runOptions": {"runOn": "folderOpen"}}]}'
    )
    hook = project / ".git" / "hooks" / "post-checkout"
    hook.write_text("#!/bin/sh\n")
    hook.chmod(0o755)
    warned = world.m.cli("open", task.id)
    assert warned.returncode == 0, warned.stderr
    assert "runs when the folder is opened" in warned.stderr
    assert "post-checkout" in warned.stderr
    warnings = world.m.client.CheckOpenPath(check, timeout=30).warnings
    assert any("post-checkout" in w for w in warnings)

    # A folder deleted since its task ran: the check says it is gone, and so does an opening.
    calls = len(world.editor_log.read_text().splitlines())
    shutil.rmtree(project)
    # (an answer, not a failed call: a gone folder is a fact to show, not an error)
    gone_check = world.m.client.CheckOpenPath(check, timeout=30)
    assert f"the task's folder {project} does not exist" in gone_check.cannot_open
    assert not gone_check.refused
    assert gone_check.path == ""
    missing = world.m.cli("open", task.id)
    assert missing.returncode != 0
    assert "does not exist" in missing.stderr
    assert len(world.editor_log.read_text().splitlines()) == calls


def test_a_broken_template_fails_with_file_and_line_and_writes_nothing(world: World) -> None:
    broken = world.mine / "broken"
    (broken / "template").mkdir(parents=True)
    (broken / "copier.yml").write_text(
        "_subdirectory: template\nproject_name:\n  type: str\n  default: [unclosed\n"
    )
    task = bootstrap(world, "from-broken", "broken")
    done, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "copier.yml:5: invalid YAML" in done.status_reason, done.status_reason
    gone(world.root / "from-broken")
    # The folder the manager made for it, left empty, was removed: the check says why it may be.
    removed = world.m.client.CheckOpenPath(client_pb2.OpenPathRequest(task_id=task.id), timeout=30)
    assert "removes a folder it made when its task ends leaving it empty" in removed.cannot_open

    # The manifest fixed, a template file that does not parse: nothing is half-rendered.
    (broken / "copier.yml").write_text(
        "_subdirectory: template\nproject_name:\n  type: str\n  default: shop\n"
    )
    (broken / "template" / "fine.txt").write_text("fine\n")
    (broken / "template" / "app.py.jinja").write_text("x = 1\n{% if project_name %}\nprint()\n")
    task = bootstrap(world, "from-broken", "broken")
    done, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "template/app.py.jinja:2:" in done.status_reason, done.status_reason
    gone(world.root / "from-broken")


def test_a_template_from_a_git_url_asks_before_connecting(world: World) -> None:
    url = "https://git.example.com/acme/service-template.git"
    task = bootstrap(world, "from-git", url)
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "connect", task_id=task.id
    )
    assert ask.consent.target == "git.example.com:443"
    assert url in ask.consent.reason
    denied = world.m.cli("consent", "deny", ask.consent.id)
    assert denied.returncode == 0, denied.stderr
    done, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert f"the template {url} was not downloaded" in done.status_reason, done.status_reason
    gone(world.root / "from-git")


#: A Jinja extension that also tries to write outside its project when it loads, and into the
#: agent's state folder (its HOME), which the next project's task would read.
REACHING_EXTENSION = """\
import os

from jinja2.ext import Extension

try:
    with open({outside!r}, "w") as f:
        f.write("escaped")
    REACHED = "wrote outside"
except OSError as err:
    REACHED = type(err).__name__
try:
    with open(os.path.join(os.environ["HOME"], "planted-by-template"), "w") as f:
        f.write("planted")
    REACHED += " wrote-home"
except OSError as err:
    REACHED += " home:" + type(err).__name__


class Shout(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["shout"] = lambda s: str(s).upper() + "! " + REACHED
"""


def test_a_templates_own_code_runs_confined_and_only_once_allowed(
    world: World, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    coded = world.mine / "coded"
    coded.mkdir()
    (coded / "copier.yml").write_text(
        "project_name:\n  type: str\n  default: shop\n"
        "_jinja_extensions:\n"
        "  - copier_template_extensions.TemplateExtensionLoader\n"
        "  - ext.py:Shout\n"
        "_tasks:\n"
        f"  - touch made-by-task.txt; touch {outside}/escaped.txt || echo refused > refused.txt\n"
    )
    (coded / "ext.py").write_text(REACHING_EXTENSION.format(outside=str(outside / "loaded.txt")))
    (coded / "README.md.jinja").write_text("{{ project_name | shout }}\n")

    def run_request(task: client_pb2.Task, what: str) -> client_pb2.Consent:
        return world.m.wait_event(
            lambda e: (
                e.HasField("consent")
                and e.consent.kind == "run"
                and what in e.consent.target
                and e.consent.status == client_pb2.CONSENT_STATUS_PENDING
            ),
            task_id=task.id,
        ).consent

    # Refused: nothing is written, and the task says why.
    task = bootstrap(world, "coded-refused", "coded", checks=False)
    ask = run_request(task, "Jinja extensions")
    assert ask.target.startswith(
        "the coded template's Jinja extensions"
        " copier_template_extensions.TemplateExtensionLoader, ext.py:Shout (code sha256 "
    )
    assert world.m.cli("consent", "deny", ask.id).returncode == 0
    done, _ = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "renders only with its Jinja extensions" in done.status_reason
    gone(world.root / "coded-refused")

    # Allowed: the extension renders, the tasks ask in their turn and run; both are confined.
    task = bootstrap(world, "coded", "coded", checks=False)
    granted = world.m.cli("consent", "grant", run_request(task, "Jinja extensions").id)
    assert granted.returncode == 0, granted.stderr
    commands = run_request(task, "command in the new project")
    assert f"touch {outside}/escaped.txt" in commands.target
    assert world.m.cli("consent", "grant", commands.id).returncode == 0
    done, output = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    project = world.root / "coded"
    said = (project / "README.md").read_text()
    assert said.startswith("SHOP! "), said
    assert "wrote outside" not in said, said
    assert said.endswith(" home:PermissionError\n"), said  # its renderer may write nothing else
    assert (project / "made-by-task.txt").is_file()
    assert (project / "refused.txt").read_text() == "refused\n"
    assert list(outside.iterdir()) == []
    assert output["tasks"] == [{"command": commands.target.split("`")[1], "ran": True}]
    assert any("task 1 of the template" in line for line in logs(world, task.id))


#: A post-check that runs offline: a package from the wheelhouse, a test that passes once the
#: person made `fixed.txt`, and Python's own web server as the dev server.
OFFLINE_POSTCHECK = """\
install: ["iniconfig"]
test: ["python", "check_fixed.py"]
serve: ["python", "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
health: /
"""


def test_the_checks_of_a_made_project_run_again_until_it_is_fixed_and_commit_nothing(
    world: World,
) -> None:
    src = world.mine / "checkable"
    src.mkdir()
    (src / "copier.yml").write_text("name:\n  type: str\n  default: demo\n")
    (src / "{{_copier_conf.answers_file}}.jinja").write_text("{{ _copier_answers|to_nice_yaml }}")
    (src / "check_fixed.py").write_text(
        "import pathlib, sys\n\nimport iniconfig\n\n"
        "sys.exit(0 if pathlib.Path('fixed.txt').is_file() else 'not fixed yet')\n"
    )
    (src / "hyperagent.yml").write_text(OFFLINE_POSTCHECK)
    git_in(src, "init", "-q", "-b", "main")
    git_in(src, "add", "-A")
    git_in(src, "commit", "-q", "-m", "v1")
    git_in(src, "tag", "v1.0.0")
    done, made = finished(world, bootstrap(world, "checked-again", str(src), checks=False))
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert (made["outcome"], made["checks"]) == ("not checked", [])
    project = world.root / "checked-again"

    task = world.m.submit("project.check", {}, workspace="checked-again")
    done, out = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert f"{project} was checked, and its post-check failed: tests:" in done.status_reason
    assert "not fixed yet" in done.status_reason
    assert [(c["name"], c["status"]) for c in out["checks"]] == [
        ("environment", "passed"),
        ("install", "passed"),
        ("tests", "failed"),
        ("serve", "passed"),
    ]
    assert out["path"] == str(project)

    (project / "fixed.txt").write_text("fixed by hand\n")
    task = world.m.submit("project.check", {}, workspace="checked-again")
    done, out = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["outcome"] == "checked"
    assert [c["status"] for c in out["checks"]] == ["passed"] * 4, out["checks"]
    assert out["template_version"] == "v1.0.0"
    assert "installed from the local wheelhouse" in out["checks"][1]["detail"]
    lines = logs(world, task.id)
    for step in ("reading the project", "checking out the template", "installing packages"):
        assert step in lines
    # Nothing committed: the project's history is the bootstrap's commit alone.
    history = subprocess.run(
        ["git", "-C", str(project), "log", "--format=%H"], capture_output=True, text=True
    )
    assert history.stdout.split() == [made["commit"]]


def test_checking_a_folder_no_template_made_says_what_is_missing(world: World) -> None:
    folder = world.root / "never-made"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text("print('mine')\n")
    done, _ = finished(world, world.m.submit("project.check", {}, workspace="never-made"))
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert f"the checks of {folder} cannot be run again" in done.status_reason
    assert "it has no answers file (.copier-answers.yml" in done.status_reason
    assert sorted(p.name for p in folder.iterdir()) == ["main.py"]
