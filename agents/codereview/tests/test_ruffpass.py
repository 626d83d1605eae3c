"""ruff's own output (the pinned ruff, run on files the test writes) read as findings."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hyperagent_codereview import ruffpass


def ruff(root: Path, *args: str) -> str:
    return subprocess.run(
        [*ruffpass.ruff(), *args], cwd=root, capture_output=True, text=True, check=False
    ).stdout


def test_lint_findings_carry_file_line_rule_severity_and_fix(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("import os\n\nx = 1\nif x == None:\n    pass\n")
    out = tmp_path / "out.json"
    subprocess.run(ruffpass.check_args(tmp_path, out), cwd=tmp_path, check=True)
    found = ruffpass.parse_check(out.read_text(), tmp_path)
    assert [(f.file, f.line, f.rule, f.severity) for f in found] == [
        ("pkg/a.py", 1, "F401", "error"),
        ("pkg/a.py", 4, "E711", "warning"),
    ]
    assert found[0].fix is not None
    assert found[0].fix["applicability"] == "safe"
    assert not (tmp_path / ".ruff_cache").exists()  # read-only: no cache in the project


def test_the_project_config_is_used_when_it_has_one(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import os\n")
    assert "--select" in ruffpass.check_args(tmp_path, tmp_path / "o.json")
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["E"]\n')
    assert ruffpass.has_config(tmp_path)
    assert "--select" not in ruffpass.check_args(tmp_path, tmp_path / "o.json")


def test_format_hunks_point_at_the_first_line_ruff_would_change(tmp_path: Path) -> None:
    middle = "".join(f"z{i} = {i}\n" for i in range(8))  # far enough apart for two hunks
    (tmp_path / "a.py").write_text(
        f"import sys\n\n\ndef f( x ):\n    return x\n\n\n{middle}y = [1,2]\n"
    )
    diff = ruff(tmp_path, "format", "--no-cache", "--check", "--diff", ".")
    found = ruffpass.parse_format_diff(diff)
    assert [(f.file, f.line, f.rule) for f in found] == [
        ("a.py", 4, "format"),
        ("a.py", 16, "format"),
    ]
    assert found[0].fix is not None
    assert "+def f(x):" in found[0].fix["diff"]
