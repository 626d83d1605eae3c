"""Real third-party copier templates, rendered by copier and by HyperAgent from the same git
repository with the same answers: the same files, bytes, modes, links and answers file.

Each template is vendored under ``data/templates/<name>/`` at a release (its ``SOURCE`` names the
repository, tag, commit and licence). The test makes it a git repository again with that tag, as
a person's template would be, so both renderers take the latest release tag and record it as
``_commit``. Answers are given as text, as ``copier --data`` and our CLI take them. The table in
the bootstrapper's README lists the outcome of each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import copier
import jinja2_ansible_filters.core_filters  # type: ignore[import-untyped]
import pytest
import yaml

from hyperagent_bootstrapper import cli
from hyperagent_bootstrapper import render as rendering
from hyperagent_bootstrapper.agent import agent
from hyperagent_bootstrapper.template import TemplateError, load
from hyperagent_sdk.testing import run_handler

TEMPLATES = Path(__file__).resolve().parent / "data" / "templates"
PERSON = {"author_name": "Ada Lovelace", "author_email": "ada@example.org"}
PDM_PERSON = {
    "project_description": "Sells things.",
    "author_fullname": "Ada Lovelace",
    "author_email": "ada@example.org",
    "author_username": "ada",
}
#: The clock both renderers read through the `strftime` filter (one template stamps the second).
NOW = time.mktime((2025, 6, 1, 12, 0, 0, 0, 0, -1))


@dataclass(frozen=True)
class Case:
    name: str
    data: dict[str, str] = field(default_factory=dict)
    #: Why ours differs from copier, when it does (the test is then a strict xfail).
    differs: str = ""
    #: Tells apart a second set of answers for the same template (other branches of its Jinja).
    variant: str = ""
    #: It loads its own Python code into the renderer (`_jinja_extensions`): both renderers are
    #: told to trust it (copier's `--trust`, ours).
    trust: bool = False


RENDERED = [
    Case("autopretty"),
    Case("calcipy", {"project_name": "shop-api", "project_description": "Sells things."}),
    Case(
        "dls-python",
        {
            "package_name": "shop_api",
            "description": "Sells things.",
            "git_platform": "github.com",
            "component_owner": "group:default/sscc",
            "docker": "true",
            "docs_type": "sphinx",
            "type_checker": "pyright",
            "pypi": "true",
            **PERSON,
        },
    ),
    Case("doodba", {"odoo_version": "17.0", "project_name": "shop"}),
    Case("lincc-python", {"project_name": "shop", "package_name": "shop"}),
    Case(
        "nlesc-python",
        {
            "package_name": "shop",
            "full_name": "Ada Lovelace",
            "package_short_description": "Sells things.",
            "keywords": "shop,api",
            "github_organization": "ada",
            "email": "ada@example.org",
        },
    ),
    Case(
        "oca-addons-repo",
        {"repo_slug": "shop-tools", "repo_name": "Shop tools", "repo_description": "Tools."},
    ),
    Case(
        "pyos-package",
        {
            "project_name": "shop",
            "package_description": "Sells things.",
            "author_email": "ada@example.org",
            "username": "ada",
        },
    ),
    Case("pyrepo-copier", {"mode": "tooling", "github_username": "ada"}),
    Case(
        "quantco-python",
        {
            "project_slug": "shop-api",
            "project_short_description": "Sells things.",
            "github_user": "ada",
            **PERSON,
        },
    ),
    Case("simple-modern-uv"),
    # python_version-like answers stay text: min_py=3.10 is "3.10", not the number 3.1.
    Case("ss-python", {"min_py": "3.10", "max_py": "3.13", "default_py": "3.12"}),
    Case(
        "substrate",
        {
            "project_name": "shop",
            "project_description": "Sells things.",
            "project_url": "https://example.org/shop",
            **PERSON,
        },
    ),
    # Second answers, taking the other branches of the templates with the most of them.
    Case(
        "dls-python",
        {
            "package_name": "shop_api",
            "description": "Sells things.",
            "git_platform": "github.com",
            "component_owner": "group:default/sscc",
            "component_type": "service",
            "docker": "false",
            "docs_type": "README",
            "type_checker": "mypy",
            "pypi": "no",
            **PERSON,
        },
        variant="readme-mypy",
    ),
    Case(
        "doodba",
        {
            "odoo_version": "12.0",
            "project_name": "shop",
            "odoo_proxy": "",
            "project_license": "no_license",
            "postgres_version": "12",
            "odoo_listdb": "true",
            "backup_deletion": "true",
        },
        variant="odoo12",
    ),
    Case(
        "lincc-python",
        {
            "project_name": "shop",
            "package_name": "shop",
            "custom_install": "library",
            "project_license": "BSD",
            "include_docs": "false",
            "mypy_type_checking": "strict",
            "failure_notification": "[email, slack]",
        },
        variant="library",
    ),
    Case(
        "nlesc-python",
        {
            "package_name": "shop",
            "full_name": "Ada Lovelace",
            "package_short_description": "Sells things.",
            "keywords": "shop",
            "github_organization": "ada",
            "email": "ada@example.org",
            "template_profile": "minimum",
            "license": "MIT",
        },
        variant="minimum",
    ),
    Case(
        "pyos-package",
        {
            "project_name": "shop",
            "package_description": "Sells things.",
            "author_email": "ada@example.org",
            "username": "ada",
            "template_mode": "full",
            "documentation": "mkdocs",
            "license": "Apache-2.0",
            "dev_platform": "GitLab",
        },
        variant="full",
    ),
    Case(
        "substrate",
        {
            "project_name": "shop",
            "project_description": "Sells things.",
            "project_url": "https://gitlab.com/ada/shop",
            "project_type": "app",
            "ci": "gitlab",
            "typing": "strict",
            "with_fastapi_api": "true",
            "with_typer_cli": "true",
            **PERSON,
        },
        variant="app",
    ),
    # Each of these loads its own Jinja extensions: copier-template-extensions' loader with the
    # template's extensions.py, or jinja2-time.
    Case("copier-pdm", {**PDM_PERSON, "project_name": "Shop API"}, trust=True),
    Case("copier-uv", {**PDM_PERSON, "project_name": "Shop API"}, trust=True),
    Case(
        "jupyterlab-extension",
        {**PERSON, "repository": "https://github.com/ada/shop"},
        trust=True,
    ),
    Case(
        "napari-plugin",
        {
            "short_description": "Sells things.",
            "email": "ada@example.org",
            "full_name": "Ada Lovelace",
            "github_username_or_organization": "ada",
        },
        trust=True,
    ),
    Case(
        "scientific-python-cookie",
        {
            "project_name": "shop-api",
            "org": "ada",
            "full_name": "Ada Lovelace",
            "email": "ada@example.org",
            "license": "BSD",
            "backend": "hatch",
            "docs": "sphinx",
            "vcs": "true",
        },
        trust=True,
    ),
]


def source(name: str) -> dict[str, str]:
    lines = (TEMPLATES / name / "SOURCE").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines)


def git(cwd: Path, *argv: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", *argv], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def repositories(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Each template's repository, made once for the tests that render it (they only read it)."""
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = repository(name, tmp_path_factory.mktemp(name) / "template")
        return made[name]

    return get


def repository(name: str, dest: Path) -> Path:
    """The vendored template as a git repository tagged with its release, one later commit on
    top (so the release tag, not the branch head, is what must be rendered)."""
    shutil.copytree(TEMPLATES / name, dest, symlinks=True)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A", "-f")
    git(dest, "commit", "-q", "-m", "release")
    git(dest, "tag", source(name)["release"])
    (dest / "UNRELEASED.md").write_text("after the release\n")
    git(dest, "add", "UNRELEASED.md")
    git(dest, "commit", "-q", "-m", "work after the release")
    return dest


def tree(root: Path) -> dict[str, tuple[str, bytes | str | None, int]]:
    """Every path under ``root``: (kind, content or link target, permission bits)."""
    out: dict[str, tuple[str, bytes | str | None, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p), 0)
            elif p.is_dir():
                out[rel] = ("dir", None, 0)
            else:
                out[rel] = ("file", p.read_bytes(), p.stat().st_mode & 0o777)
    return out


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id="-".join(filter(None, (c.name, c.variant))),
            marks=[pytest.mark.xfail(strict=True, reason=c.differs)] if c.differs else [],
        )
        for c in RENDERED
    ],
)
def test_a_real_template_renders_as_copier_renders_it(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    repositories: Callable[[str], Path],
) -> None:
    clock = types.SimpleNamespace(
        strftime=time.strftime, localtime=lambda s=None: time.localtime(NOW if s is None else s)
    )
    monkeypatch.setattr(jinja2_ansible_filters.core_filters, "time", clock)
    src = repositories(case.name)
    (tmp_path / "copier").mkdir()
    (tmp_path / "ours").mkdir()
    # The same relative destination, so `_copier_conf.dst_path` and `_folder_name` agree.
    monkeypatch.chdir(tmp_path / "copier")
    # `_tasks` are not run by either (copier asks to trust a template that has them).
    copier.run_copy(
        str(src), "proj", data=case.data, defaults=True, quiet=True, unsafe=True, skip_tasks=True
    )
    monkeypatch.chdir(tmp_path / "ours")
    trust = ["--trust", "--skip-tasks"] if case.trust else []
    argv = [str(src), "proj", *trust, *(f"{k}={v}" for k, v in case.data.items())]
    assert cli.main(argv) == 0
    theirs, ours = tree(tmp_path / "copier" / "proj"), tree(tmp_path / "ours" / "proj")
    assert sorted(ours) == sorted(theirs)
    for path, entry in theirs.items():
        assert ours[path] == entry, path
    # The answers file (every template here but pyos-package writes one) records the release.
    for path in (p for p in ours if Path(p).name.startswith(".copier-answers")):
        answers = yaml.safe_load(ours[path][1] or b"")
        assert answers["_commit"] == source(case.name)["release"]
        assert answers["_src_path"] == str(src)


def test_the_agent_renders_a_real_template_as_copier_renders_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    repositories: Callable[[str], Path],
) -> None:
    """The bootstrap.project handler, not only the CLI: a local git template checked out at its
    release, rendered, staged and moved into the workspace, byte for byte copier's."""
    case = next(c for c in RENDERED if c.name == "ss-python")
    src = repositories(case.name)
    (tmp_path / "copier").mkdir()
    monkeypatch.chdir(tmp_path / "copier")
    copier.run_copy(str(src), "proj", data=case.data, defaults=True, quiet=True)
    workspace = tmp_path / "agent" / "proj"
    workspace.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the agent's template cache
    payload = {"template": str(src), "answers": case.data, "git": False, "checks": False}
    run = run_handler(agent, "bootstrap.project", payload, workspace=workspace)
    assert run.status == "SUCCEEDED", run.error
    assert tree(workspace) == tree(tmp_path / "copier" / "proj")
    assert run.output["answers"]["min_py"] == "3.10"


@pytest.mark.parametrize("case", [c for c in RENDERED if c.trust], ids=lambda c: c.name)
def test_a_template_with_extensions_renders_only_when_trusted(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = load(TEMPLATES / case.name)
    assert template.extensions
    with pytest.raises(TemplateError) as err:
        rendering.environment(template)
    assert "it renders only once you allow that code to run" in str(err.value)
    assert cli.main([str(TEMPLATES / case.name), str(tmp_path / "proj")]) == 2
    said = capsys.readouterr().err
    assert "pass --trust to run it" in said
    assert not (tmp_path / "proj").exists()


def test_every_vendored_template_is_in_the_suite_with_its_source_and_licence() -> None:
    vendored = {p.name for p in TEMPLATES.iterdir()}
    assert vendored == {c.name for c in RENDERED}
    assert len(vendored) >= 12
    for name in vendored:
        fields = source(name)
        assert fields["repository"].startswith("https://github.com/"), name
        assert len(fields["commit"]) == 40, name
        licence = fields["licence"].split("(see ")[-1].rstrip(")")
        assert (TEMPLATES / name / licence).is_file(), name
