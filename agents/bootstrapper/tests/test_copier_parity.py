"""HyperAgent renders what copier renders: the same files, bytes and modes, copier run for real."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import copier
import pytest

from hyperagent_bootstrapper import render as rendering
from hyperagent_bootstrapper.template import load


def tree(root: Path) -> dict[str, tuple[str, bytes | None, int]]:
    """Every path under ``root``: (kind, content for files, permission bits)."""
    out: dict[str, tuple[str, bytes | None, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            p = Path(dirpath, name)
            out[str(p.relative_to(root))] = ("dir", None, 0)
        for name in filenames:
            p = Path(dirpath, name)
            out[str(p.relative_to(root))] = ("file", p.read_bytes(), p.stat().st_mode & 0o777)
    return out


def both(src: Path, data: dict[str, Any], tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    theirs = tmp_path / "copier" / "proj"
    copier.run_copy(str(src), theirs, data=data, defaults=True, quiet=True, vcs_ref=None)
    ours = tmp_path / "ours" / "proj"
    ours.mkdir(parents=True)
    template = load(src)
    rendering.render(template, rendering.resolve(template, data, dst_name="proj"), "proj").write(
        ours
    )
    return tree(theirs), tree(ours)


@pytest.mark.parametrize(
    "data",
    [
        {"project_name": "my-app"},
        {"project_name": "x", "license": "none", "use_ci": False, "year": "1999"},
        {"project_name": "y", "ci_provider": "gitlab", "python_versions": ["3.13"], "ratio": 2},
        {"project_name": "z", "license": "Apache-2.0", "api_token": "s3cret", "module": "zz"},
    ],
)
def test_a_third_party_template_renders_exactly_as_copier_renders_it(
    thirdparty: Path, tmp_path: Path, data: dict[str, Any]
) -> None:
    src = tmp_path / "template"
    shutil.copytree(thirdparty, src)  # outside any git repository, as copier would see it
    (src / "project" / "empty_dir").mkdir(exist_ok=True)
    theirs, ours = both(src, data, tmp_path)
    assert sorted(ours) == sorted(theirs)
    assert ours == theirs
    # the features the comparison is meant to cover did take part
    assert b"{{" in (ours["NOTICE.txt"][1] or b"")  # copied verbatim
    assert "notes.bak" not in ours  # _exclude
    assert ours["setup.cfg"][1] == f"[metadata]\nname = {data['project_name']}\n".encode()
    assert ours["run.sh"][2] == 0o755
    assert b"api_token" not in (ours[".copier-answers.yml"][1] or b"")  # secret: not remembered


@pytest.mark.parametrize("name", ["fastapi", "django"])
def test_our_templates_render_exactly_as_copier_renders_them(
    name: str, tmp_path: Path, repo: Path
) -> None:
    src = tmp_path / name
    shutil.copytree(repo / "templates" / name, src)
    template = load(src)
    fixed = {"project_name": "shop"}
    for i, given in enumerate(rendering.variants(template, fixed)):
        theirs, ours = both(src, given, tmp_path / str(i))
        assert ours == theirs, given
