"""Updating a project to a newer version of its template, beside ``copier update``: the same
project and versions updated by both give the same bytes, the same conflicts and the same git
index; a project made by either is updated by the other; bad input is refused by name."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from copier._types import VcsRef
from packaging.version import Version
from test_copier_gaps import ANSWERS, make
from test_thirdparty_parity import RENDERED, TEMPLATES, git, source, tree

from hyperagent_bootstrapper import cli, render
from hyperagent_bootstrapper.agent import agent, update_description
from hyperagent_bootstrapper.template import TemplateError, load
from hyperagent_bootstrapper.update import Plan
from hyperagent_sdk import PermissionRefused
from hyperagent_sdk.narrow import abi
from hyperagent_sdk.testing import run_handler

TASK = "project.update"

V1 = {
    "copier.yml": (
        "name:\n  type: str\n  default: demo\n"
        "docker:\n  type: bool\n  default: false\n"
        "_skip_if_exists: [settings.txt]\n"
    ),
    "{{_copier_conf.answers_file}}.jinja": ANSWERS,
    "README.md.jinja": "# {{ name }}\n\nline a\nline b\nline c\nline d\nline e\nline f\nend v1\n",
    "app.txt": "alpha\nbeta\ngamma\n",
    "old.txt": "old\n",
    "gone-by-me.txt": "the person deletes this\n",
    "settings.txt": "setting = 1\n",
    "{% if docker %}Dockerfile{% endif %}.jinja": "FROM python:3.12\n",
}
V2 = {
    "README.md.jinja": "# {{ name }}\n\nline a\nline b\nline c\nline d\nline e\nline f\nend v2\n",
    "app.txt": "alpha\nBETA from the template\ngamma\n",
    "new.txt": "new in v2\n",
    "docs/guide.md.jinja": "How to use {{ name }}.\n",
    "gone-by-me.txt": "the template changed it too\n",
    "settings.txt": "setting = 2\n",
}


def template(root: Path, *, extra_v2: dict[str, str] | None = None) -> Path:
    """A template repository: v1.0.0, then v2.0.0 (old.txt dropped, files changed and added)."""
    make(root, V1)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v1")
    git(root, "tag", "v1.0.0")
    make(root, {**V2, **(extra_v2 or {})})
    (root / "old.txt").unlink()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v2")
    git(root, "tag", "v2.0.0")
    return root


def commit_all(project: Path, message: str) -> None:
    if not (project / ".git").exists():
        git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)


def person_edits(project: Path) -> None:
    """What a person does after the first copy: one change apart from the template's, one on
    the same line as the template's next change, a file deleted, one added, a setting kept."""
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("\n\nline a", "\n\nmy intro\n\nline a"))
    (project / "app.txt").write_text("alpha\nbeta, as I like it\ngamma\n")
    (project / "gone-by-me.txt").unlink()
    (project / "mine.txt").write_text("my own file\n")
    (project / "settings.txt").write_text("setting = 42\n")
    commit_all(project, "my changes")


def files(root: Path) -> dict[str, Any]:
    """Every path but the repository's own (.git)."""
    return {k: v for k, v in tree(root).items() if k != ".git" and not k.startswith(".git/")}


def status(project: Path) -> list[str]:
    out = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    return sorted(out.stdout.splitlines())


def copier_update(project: Path, **kw: Any) -> None:
    copier.run_update(
        str(project), defaults=True, overwrite=True, quiet=True, unsafe=True, skip_tasks=True, **kw
    )


def ours(project: Path, *args: str) -> int:
    return cli.main(["update", str(project), *args])


def twins(tmp_path: Path, src: Path, *, by: str, data: dict[str, str] | None = None) -> list[Path]:
    """Two identical projects made from ``src`` at v1.0.0 (by copier or by us), committed."""
    made = tmp_path / "made"
    if by == "copier":
        copier.run_copy(str(src), str(made), data=data or {}, defaults=True, vcs_ref="v1.0.0")
    else:
        assert cli.main(["--vcs-ref", "v1.0.0", str(src), str(made)]) == 0
    commit_all(made, "from the template")
    out = []
    for name in ("by-copier", "by-us"):
        shutil.copytree(made, tmp_path / name, symlinks=True)
        out.append(tmp_path / name)
    return out


# --- the same as copier --------------------------------------------------------------------------


@pytest.mark.parametrize("made_by", ["copier", "us"])
@pytest.mark.parametrize("conflict", ["inline", "rej"])
def test_an_update_gives_the_same_files_conflicts_and_index_as_copiers(
    tmp_path: Path, made_by: str, conflict: str
) -> None:
    src = template(tmp_path / "t")
    a, b = twins(tmp_path, src, by=made_by)
    for project in (a, b):
        person_edits(project)
    copier_update(a, conflict=conflict)
    assert ours(b, "--conflict", conflict) == 0
    assert files(b) == files(a)
    assert status(b) == status(a)
    # What that means, spelled out: the template's change and the person's are both in README;
    # app.txt conflicts; the dropped file is gone; the deleted one stays deleted; the person's
    # file and setting stay; the new files are there.
    readme = (b / "README.md").read_text()
    assert "my intro" in readme
    assert readme.endswith("end v2\n")
    if conflict == "inline":
        assert (b / "app.txt").read_text() == (
            "alpha\n<<<<<<< before updating\nbeta, as I like it\n=======\n"
            "BETA from the template\n>>>>>>> after updating\ngamma\n"
        )
        assert "UU app.txt" in status(b)
    else:  # the new version's file, the person's hunk beside it
        assert (b / "app.txt").read_text() == "alpha\nBETA from the template\ngamma\n"
        assert "+beta, as I like it\n" in (b / "app.txt.rej").read_text()
    assert not (b / "old.txt").exists()
    assert not (b / "gone-by-me.txt").exists()
    assert (b / "mine.txt").read_text() == "my own file\n"
    assert (b / "settings.txt").read_text() == "setting = 42\n"
    assert (b / "docs" / "guide.md").read_text() == "How to use demo.\n"
    assert yaml.safe_load((b / ".copier-answers.yml").read_text())["_commit"] == "v2.0.0"


def test_new_answers_in_an_update_render_as_copiers(tmp_path: Path) -> None:
    src = template(tmp_path / "t")
    a, b = twins(tmp_path, src, by="copier", data={"name": "shop"})
    copier_update(a, data={"docker": True})
    assert ours(b, "--data", "docker=true") == 0
    assert files(b) == files(a)
    assert status(b) == status(a)
    assert (b / "Dockerfile").read_text() == "FROM python:3.12\n"
    answers = yaml.safe_load((b / ".copier-answers.yml").read_text())
    assert answers == {"_commit": "v2.0.0", "_src_path": str(src), "docker": True, "name": "shop"}


def test_an_update_to_a_named_ref_and_to_the_current_one(tmp_path: Path) -> None:
    src = template(tmp_path / "t")
    make(src, {"app.txt": "alpha\nbeta\ngamma\ndelta\n"})
    git(src, "commit", "-q", "-am", "v3")
    git(src, "tag", "v3.0.0")
    a, b = twins(tmp_path, src, by="copier")
    copier_update(a, vcs_ref="v2.0.0")
    assert ours(b, "--vcs-ref", "v2.0.0") == 0
    assert files(b) == files(a)
    assert yaml.safe_load((b / ".copier-answers.yml").read_text())["_commit"] == "v2.0.0"
    # :current: keeps the version and applies new answers only.
    for project in (a, b):
        commit_all(project, "updated")
    copier_update(a, vcs_ref=VcsRef.CURRENT, data={"name": "renamed"})
    assert ours(b, "--vcs-ref", ":current:", "--data", "name=renamed") == 0
    assert files(b) == files(a)
    assert (b / "README.md").read_text().startswith("# renamed\n")


def test_a_real_template_updated_by_both_gives_the_same_files(tmp_path: Path) -> None:
    """simple-modern-uv at its release, then a later version of it made here (a file changed,
    one added, one dropped), a project made by copier and edited by its person."""
    case = next(c for c in RENDERED if c.name == "simple-modern-uv")
    src = tmp_path / "t"
    shutil.copytree(TEMPLATES / case.name, src, symlinks=True)
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "-A", "-f")
    git(src, "commit", "-q", "-m", "release")
    release = source(case.name)["release"]
    git(src, "tag", release)
    content = src / "template"
    readme = next(p for p in sorted(content.glob("README*")) if p.is_file())
    readme.write_text(readme.read_text() + "\nA line the next version adds.\n")
    (content / "CHANGES.md").write_text("# Changes\n")
    dropped = next(p for p in sorted(content.rglob("*")) if p.is_file() and p != readme)
    dropped.unlink()
    git(src, "add", "-A", "-f")
    git(src, "commit", "-q", "-m", "next")
    git(src, "tag", "v99.0.0")
    made = tmp_path / "made"
    copier.run_copy(
        str(src), str(made), data=case.data, defaults=True, vcs_ref=release, unsafe=True,
        skip_tasks=True, quiet=True,
    )  # fmt: skip
    commit_all(made, "from the template")
    rendered_readme = made / readme.name.removesuffix(".jinja")
    rendered_readme.write_text("My notes first.\n\n" + rendered_readme.read_text())
    commit_all(made, "my notes")
    a, b = tmp_path / "by-copier", tmp_path / "by-us"
    shutil.copytree(made, a, symlinks=True)
    shutil.copytree(made, b, symlinks=True)
    copier_update(a)
    assert ours(b) == 0
    assert files(b) == files(a)
    assert status(b) == status(a)
    assert (b / "CHANGES.md").is_file()
    text = rendered_readme.name
    assert (b / text).read_text().startswith("My notes first.\n")
    assert (b / text).read_text().endswith("A line the next version adds.\n")


#: Migrations as copier 9 reads them: one before the update (its environment recorded), one
#: after it by default (renaming the person's file, its version from the context), one plain
#: command (every update, after), and two outside v1.0.0 < version <= v2.0.0 that never run.
MIGRATIONS = """\
_migrations:
  - version: v2.0.0
    when: "{{ _stage == 'before' }}"
    command: >-
      echo "$STAGE $VERSION_FROM $VERSION_TO $VERSION_PEP440_TO $COPIER_OPERATION" >> migrated.log
  - version: v2.0.0
    command: [mv, mine.txt, "mine-since-{{ _version_current }}.txt"]
  - echo "done for {{ name }}" >> migrated.log
  - version: v1.0.0
    command: touch too-old
  - version: v3.0.0
    command: touch too-new
"""


@pytest.fixture
def migrating(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(template whose v2.0.0 has MIGRATIONS, project updated by copier, project to update)."""
    src = template(tmp_path / "t", extra_v2={"copier.yml": V1["copier.yml"] + MIGRATIONS})
    a, b = twins(tmp_path, src, by="copier")
    for project in (a, b):
        person_edits(project)
    return src, a, b


def test_migrations_run_as_copiers_do_with_trust(migrating: tuple[Path, Path, Path]) -> None:
    _, a, b = migrating
    copier_update(a)
    assert ours(b, "--trust") == 0
    assert files(b) == files(a)
    assert status(b) == status(a)
    assert (b / "migrated.log").read_text() == "before v1.0.0 v2.0.0 2.0.0 update\ndone for demo\n"
    assert (b / "mine-since-v2.0.0.txt").read_text() == "my own file\n"
    assert not (b / "mine.txt").exists()
    assert not (b / "too-old").exists()
    assert not (b / "too-new").exists()


def test_migrations_run_only_with_trust_and_a_preview_names_them(
    migrating: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, b = migrating
    before = files(b)
    assert ours(b) == 2
    err = capsys.readouterr().err
    assert "runs the template's migrations (its own code: " in err
    assert "pass --trust to run them" in err
    assert ours(b, "--preview") == 0
    err = capsys.readouterr().err
    assert "would run in the update, not in a preview: (before) echo " in err
    assert "(after) mv mine.txt mine-since-v2.0.0.txt" in err
    assert files(b) == before


def test_the_task_asks_once_for_its_migrations_and_shows_what_they_change(
    migrating: tuple[Path, Path, Path],
) -> None:
    _, _, project = migrating
    asked: list[tuple[str, str]] = []

    def person(kind: str, target: str, reason: str) -> str:
        asked.append((kind, target))
        return "c1"

    consent = Consent()
    run = run_handler(agent, TASK, {}, workspace=project, destructive=consent, ask=person)
    assert run.status == "SUCCEEDED", run.error
    [(kind, target)] = asked
    assert kind == "run"
    assert target.startswith(
        "the project's template's 3 migrations for v1.0.0 -> v2.0.0, on a scratch copy of the"
        " project (what they change is shown before anything is written): before the update:"
        " `echo "
    )
    assert 'after the update: `mv mine.txt mine-since-v2.0.0.txt`; `echo "done for demo"' in target
    # What the migrations did is among the files the person was asked about.
    [(_, paths)] = consent.asked
    for rel in ("migrated.log", "mine-since-v2.0.0.txt", "mine.txt"):
        assert str(project / rel) in paths
    assert "mine.txt" in run.output["removed"]
    assert (project / "migrated.log").read_text().endswith("done for demo\n")


@pytest.mark.skipif(abi() == 0, reason="needs Landlock")
def test_migrations_may_write_the_project_and_nothing_of_the_agents_own(tmp_path: Path) -> None:
    # The folder stands for the agent's state (uv's cache): the next project would read it.
    state = tmp_path / "agent-state"
    state.mkdir()
    attempt = f"(echo poison > {state}/planted && echo wrote || echo refused) > outcome.txt"
    extra = V1["copier.yml"] + f"_migrations:\n  - version: v2.0.0\n    command: {attempt}\n"
    src = template(tmp_path / "t", extra_v2={"copier.yml": extra})
    _, project = twins(tmp_path, src, by="copier")
    run = run_handler(
        agent, TASK, {}, workspace=project, destructive=Consent(), ask=lambda *_: "c1"
    )
    assert run.status == "SUCCEEDED", run.error
    assert (project / "outcome.txt").read_text() == "refused\n"
    assert list(state.iterdir()) == []


def test_refused_migrations_stop_the_update_before_anything_is_written(
    migrating: tuple[Path, Path, Path],
) -> None:
    _, _, project = migrating
    before = files(project)

    def person(kind: str, target: str, reason: str) -> str:
        raise PermissionRefused(kind, target, "client", "not that code")

    consent = Consent()
    run = run_handler(agent, TASK, {}, workspace=project, destructive=consent, ask=person)
    assert run.status == "FAILED"
    assert "needs the template's migrations, which were not allowed to run" in run.error
    assert consent.asked == []
    assert files(project) == before


def test_a_failing_migration_fails_the_update_and_writes_nothing(tmp_path: Path) -> None:
    failing = "_migrations:\n  - touch half-done\n  - exit 3\n"
    src = template(tmp_path / "t", extra_v2={"copier.yml": V1["copier.yml"] + failing})
    _, project = twins(tmp_path, src, by="us")
    before = files(project)
    run = run_handler(
        agent, TASK, {}, workspace=project, destructive=Consent(), ask=lambda *_: "c1"
    )
    assert run.status == "FAILED"
    assert "exit 3" in run.error or "code 3" in run.error, run.error
    assert files(project) == before


def test_the_templates_tasks_run_in_the_updated_project_once_allowed(tmp_path: Path) -> None:
    tasks = '_tasks:\n  - echo "$STAGE $COPIER_OPERATION {{ _copier_operation }}" > task.log\n'
    src = template(tmp_path / "t", extra_v2={"copier.yml": V1["copier.yml"] + tasks})
    a, b = twins(tmp_path, src, by="us")
    copier.run_update(str(a), defaults=True, overwrite=True, quiet=True, unsafe=True)
    asked: list[str] = []

    def person(kind: str, target: str, reason: str) -> str:
        asked.append(target)
        return "c1"

    run = run_handler(agent, TASK, {}, workspace=b, destructive=Consent(), ask=person)
    assert run.status == "SUCCEEDED", run.error
    assert asked == [
        "the project's template's command in the updated project:"
        ' `echo "$STAGE $COPIER_OPERATION update" > task.log`'
    ]
    assert (b / "task.log").read_text() == (a / "task.log").read_text() == "task update update\n"
    assert run.output["tasks"] == [
        {"command": 'echo "$STAGE $COPIER_OPERATION update" > task.log', "ran": True}
    ]


# --- previews and bad input ----------------------------------------------------------------------


def test_a_preview_shows_the_diff_and_conflicts_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = template(tmp_path / "t")
    _, b = twins(tmp_path, src, by="copier")
    person_edits(b)
    before = files(b)
    assert ours(b, "--preview") == 0
    out, err = capsys.readouterr()
    assert files(b) == before
    assert status(b) == []
    assert "+<<<<<<< before updating\n" in out
    assert "--- a/old.txt\n+++ /dev/null\n" in out
    assert "+++ b/new.txt\n" in out
    assert "conflict: app.txt" in err
    assert "would change" in err


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, Path]:
    """(template, project made from it at v1.0.0 and committed)."""
    src = template(tmp_path / "t")
    project = tmp_path / "p"
    copier.run_copy(str(src), str(project), defaults=True, vcs_ref="v1.0.0", quiet=True)
    commit_all(project, "from the template")
    return src, project


def test_a_folder_not_made_from_a_template_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "plain"
    make(project, {"README.md": "# mine\n"})
    commit_all(project, "mine")
    assert ours(project) == 2
    assert "was not made from a template: it has no answers file" in capsys.readouterr().err


def test_a_template_that_is_gone_is_refused(
    made: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    src, project = made
    shutil.rmtree(src)
    before = files(project)
    assert ours(project) == 2
    assert files(project) == before
    err = capsys.readouterr().err
    assert f"the template {src} is gone" in err
    assert "set `_src_path` in the answers file" in err


def test_a_dirty_work_tree_is_refused_with_what_to_do(
    made: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, project = made
    (project / "app.txt").write_text("not committed\n")
    (project / "scratch.txt").write_text("untracked\n")
    assert ours(project) == 2
    err = capsys.readouterr().err
    assert "has changes not committed (2: app.txt, scratch.txt)" in err
    assert "git stash -u" in err
    assert (project / "app.txt").read_text() == "not committed\n"


def test_an_unknown_ref_is_refused_by_name(
    made: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, project = made
    before = files(project)
    assert ours(project, "--vcs-ref", "v9.9.9") == 2
    assert files(project) == before
    assert "has no ref 'v9.9.9'" in capsys.readouterr().err


def test_a_project_without_git_or_without_commit_is_refused(
    tmp_path: Path, made: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, project = made
    shutil.rmtree(project / ".git")
    assert ours(project) == 2
    assert "is not in a git repository" in capsys.readouterr().err
    commit_all(project, "again")
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: v1.0.0\n", ""))
    commit_all(project, "no commit recorded")
    assert ours(project) == 2
    assert "records no `_commit`" in capsys.readouterr().err


def test_a_downgrade_is_refused(
    made: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, project = made
    copier_update(project)
    commit_all(project, "v2")
    assert ours(project, "--vcs-ref", "v1.0.0") == 2
    assert "downgrading from v2.0.0 to v1.0.0 is not supported" in capsys.readouterr().err


def test_bad_update_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["update"]) == 2
    assert cli.main(["update", str(tmp_path), "--conflict", "theirs"]) == 2
    assert "--conflict 'theirs': one of inline, rej" in capsys.readouterr().err
    assert cli.main(["update", str(tmp_path), "--data", "novalue"]) == 2
    assert "must look like name=value" in capsys.readouterr().err


# --- the project.update task ---------------------------------------------------------------------


class Consent:
    """Answers prepare_destructive in the person's place, and records what it was asked."""

    def __init__(self, grant: bool = True) -> None:
        self.grant = grant
        self.asked: list[tuple[str, list[str]]] = []

    def __call__(self, description: str, paths: Any) -> str:
        self.asked.append((description, list(paths)))
        if not self.grant:
            raise PermissionRefused("destructive", description, "client", "not now")
        return "action-1"


def test_the_task_asks_first_then_updates_and_reports(made: tuple[Path, Path]) -> None:
    src, project = made
    person_edits(project)
    consent = Consent()
    run = run_handler(agent, TASK, {}, workspace=project, destructive=consent)
    assert run.status == "SUCCEEDED", run.error
    out = run.output
    assert (out["old_commit"], out["new_commit"], out["template"]) == ("v1.0.0", "v2.0.0", str(src))
    assert out["changed"] == [".copier-answers.yml", "README.md", "app.txt"]
    assert out["added"] == ["docs/guide.md", "new.txt"]
    assert out["removed"] == ["old.txt"]
    assert out["conflicts"] == ["app.txt"]
    [(description, paths)] = consent.asked
    assert description == (
        f"update {project} from its template {src} (v1.0.0 -> v2.0.0): change 3 files, add 2"
        " files, remove 1 file, 1 conflict left to resolve"
    )
    touched = [*out["changed"], *out["added"], *out["removed"]]
    # Every file touched, and git's index (where the conflict is marked), for the snapshot.
    assert sorted(paths) == sorted(
        [*(str(project / p) for p in touched), str(project / ".git" / "index")]
    )
    assert "UU app.txt" in status(project)
    assert not [p for p in os.listdir(project) if p.startswith(".hyperagent")]


def test_refusing_the_task_leaves_the_project_as_it_was(made: tuple[Path, Path]) -> None:
    _, project = made
    person_edits(project)
    before = files(project)
    run = run_handler(agent, TASK, {}, workspace=project, destructive=Consent(grant=False))
    assert run.status == "FAILED"
    assert "was left as it was:" in run.error
    assert "not now" in run.error
    assert files(project) == before
    assert status(project) == []


def test_the_tasks_preview_writes_nothing_and_asks_nothing(made: tuple[Path, Path]) -> None:
    _, project = made
    person_edits(project)
    before = files(project)
    consent = Consent()
    run = run_handler(
        agent, TASK, {"preview": True, "conflict": "rej"}, workspace=project, destructive=consent
    )
    assert run.status == "SUCCEEDED", run.error
    assert run.output["preview"] is True
    assert run.output["conflicts"] == ["app.txt"]
    assert "+++ b/app.txt.rej\n" in run.output["diff"]
    assert consent.asked == []
    assert files(project) == before


def test_the_task_refuses_bad_input_by_name(tmp_path: Path, made: tuple[Path, Path]) -> None:
    _, project = made
    run = run_handler(agent, TASK, {"vcs_ref": "nope"}, workspace=project, destructive=Consent())
    assert run.status == "FAILED"
    assert "has no ref 'nope'" in run.error
    run = run_handler(agent, TASK, {"path": "../elsewhere"}, workspace=project)
    assert run.status == "FAILED"
    assert "must be relative to the task's folder, inside it" in run.error
    plain = tmp_path / "plain"
    plain.mkdir()
    run = run_handler(agent, TASK, {}, workspace=plain)
    assert run.status == "FAILED"
    assert "was not made from a template" in run.error


def test_an_update_that_changes_nothing_asks_nothing(made: tuple[Path, Path]) -> None:
    _, project = made
    copier_update(project)
    commit_all(project, "updated by copier")
    consent = Consent()
    run = run_handler(agent, TASK, {}, workspace=project, destructive=consent)
    assert run.status == "SUCCEEDED", run.error
    assert "is up to date with v2.0.0" in run.summary
    assert consent.asked == []


def test_the_description_reads_as_what_happens(tmp_path: Path) -> None:
    plan = Plan(
        project=tmp_path, result=tmp_path, answers_file=".copier-answers.yml", src_path="gh:a/b",
        old_commit="v1", new_commit="v2", changed=["a"], added=[], removed=["b", "c"],
        conflicts=[], conflict="inline", dirs=[], dropped_dirs=[], answers={}, message="",
        warnings=[],
    )  # fmt: skip
    assert update_description(plan) == (
        f"update {tmp_path} from its template gh:a/b (v1 -> v2): change 1 file, remove 2 files"
    )


#: A Jinja extension of the template's own, for the updates below.
SHOUT = (
    "from jinja2.ext import Extension\n\n\n"
    "class Shout(Extension):\n"
    "    def __init__(self, environment):\n"
    "        super().__init__(environment)\n"
    '        environment.filters["shout"] = lambda s: str(s).upper()\n'
)


@pytest.fixture
def with_extension(tmp_path: Path) -> tuple[Path, Path]:
    """(template whose README goes through its own extension, project made from v1.0.0)."""
    extensions = (
        "_jinja_extensions:\n"
        "  - copier_template_extensions.TemplateExtensionLoader\n"
        "  - ext.py:Shout\n"
    )
    src = template(
        tmp_path / "t",
        extra_v2={"README.md.jinja": "# {{ name | shout }}\n\nend v2\n"},
    )
    # Both versions load the extension: rewrite history's two tags over a copier.yml with it.
    for tag in ("v1.0.0", "v2.0.0"):
        git(src, "checkout", "-q", tag)
        (src / "copier.yml").write_text((src / "copier.yml").read_text() + extensions)
        (src / "ext.py").write_text(SHOUT)
        git(src, "add", "-A")
        git(src, "commit", "-q", "-m", f"{tag} with its extension")
        git(src, "tag", "-f", tag)
    git(src, "checkout", "-q", "main")
    project = tmp_path / "p"
    assert cli.main(["--vcs-ref", "v1.0.0", "--trust", str(src), str(project)]) == 0
    commit_all(project, "from the template")
    return src, project


def test_an_update_asks_once_to_run_the_templates_extensions(
    with_extension: tuple[Path, Path],
) -> None:
    _, project = with_extension
    asked: list[tuple[str, str]] = []

    def person(kind: str, target: str, reason: str) -> str:
        asked.append((kind, target))
        return "c1"

    run = run_handler(agent, TASK, {}, workspace=project, destructive=Consent(), ask=person)
    assert run.status == "SUCCEEDED", run.error
    assert (project / "README.md").read_text().startswith("# DEMO\n")
    # The same code in both versions: one request, naming the extensions and their code.
    [(kind, target)] = asked
    assert kind == "run"
    assert target.startswith(
        "the project's template's Jinja extensions"
        " copier_template_extensions.TemplateExtensionLoader, ext.py:Shout (code sha256 "
    )


def test_an_update_whose_extensions_are_refused_changes_nothing(
    with_extension: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, project = with_extension
    before = files(project)

    def person(kind: str, target: str, reason: str) -> str:
        raise PermissionRefused(kind, target, "client", "not that code")

    run = run_handler(agent, TASK, {}, workspace=project, destructive=Consent(), ask=person)
    assert run.status == "FAILED"
    assert "renders only with its Jinja extensions" in run.error
    assert files(project) == before
    # The CLI: only with --trust.
    assert ours(project) == 2
    assert "pass --trust to run it" in capsys.readouterr().err
    assert ours(project, "--trust") == 0
    assert (project / "README.md").read_text().startswith("# DEMO\n")


def test_migrations_in_copiers_older_form_and_bad_ones(tmp_path: Path) -> None:
    def planned(manifest: str, stage: str, old: str = "1.0", new: str = "2.0") -> list[str]:
        root = tmp_path / f"t{len(list(tmp_path.iterdir()))}"
        make(root, {"copier.yml": manifest})
        span = ((f"v{old}", Version(old)), (f"v{new}", Version(new)))
        return [t.shown for t in render.planned_migrations(load(root), {}, stage, span)]

    older = "_migrations:\n  - version: '2.0'\n    before: [a, b]\n    after: [[c, '1']]\n"
    assert planned(older, "before") == ["a", "b"]
    assert planned(older, "after") == ["c 1"]
    assert planned(older, "after", old="2.0", new="2.1") == []
    # Not releases on both sides: copier runs none.
    root = tmp_path / "dev"
    make(root, {"copier.yml": "_migrations: [x]\n"})
    assert render.planned_migrations(load(root), {}, "after", (("main", None), ("v2", None))) == []
    with pytest.raises(TemplateError, match="must be a string or a list of strings"):
        planned("_migrations:\n  - command: {a: 1}\n", "after")
    with pytest.raises(TemplateError, match="unknown keys \\['stage'\\]"):
        planned("_migrations:\n  - command: x\n    stage: after\n", "after")
    with pytest.raises(TemplateError, match="is not a PEP 440 version"):
        planned("_migrations:\n  - version: banana\n    command: x\n", "after")
