"""ruff's output as findings: ``ruff check --output-format json`` and ``ruff format --check
--diff``. Running ruff is the agent's (``agent.py``); this module only builds arguments and reads
what ruff wrote."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from .findings import Finding

TOOL = "ruff"

#: The rules checked in a project that has no ruff configuration of its own: pycodestyle errors
#: and warnings, Pyflakes, isort, bugbear, pyupgrade, simplify and ruff's own.
DEFAULT_SELECT = ("E", "W", "F", "I", "B", "UP", "SIM", "RUF")

#: Where ruff reads a project's configuration (ruff.toml, .ruff.toml, pyproject's [tool.ruff]).
_CONFIG_FILES = ("ruff.toml", ".ruff.toml")

#: The rule a format finding carries.
FORMAT_RULE = "format"

_FORMAT_FILE = re.compile(r"^--- (.+)$")
_FORMAT_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def ruff() -> list[str]:
    """The ruff of the agent's own environment (a pinned dependency of this package)."""
    return [sys.executable, "-m", "ruff"]


def has_config(root: Path) -> bool:
    """Whether the project configures ruff itself (then its configuration is used as it is)."""
    if any((root / name).is_file() for name in _CONFIG_FILES):
        return True
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(errors="replace")
    except OSError:
        return False
    return re.search(r"^\[tool\.ruff[.\]]", text, re.MULTILINE) is not None


def check_args(root: Path, output: Path) -> list[str]:
    """``ruff check`` writing JSON to ``output``: the project's configuration when it has one,
    else :data:`DEFAULT_SELECT`; never a cache in the repository."""
    args = [*ruff(), "check", "--no-cache", "--exit-zero", "--output-format", "json"]
    args += ["--output-file", str(output), "--no-fix"]
    if not has_config(root):
        args += ["--select", ",".join(DEFAULT_SELECT)]
    return [*args, "."]


def complexity_args(output: Path, max_complexity: int) -> list[str]:
    """``ruff check`` for cyclomatic complexity alone (C901, mccabe) at the agent's threshold."""
    return [
        *ruff(),
        "check",
        "--no-cache",
        "--exit-zero",
        "--no-fix",
        "--output-format",
        "json",
        "--output-file",
        str(output),
        "--select",
        "C901",
        "--config",
        f"lint.mccabe.max-complexity = {max_complexity}",
        ".",
    ]


def severity(code: str) -> str:
    """Pyflakes (F: unused, undefined and redefined names, ...) and syntax errors are errors;
    every other rule is a warning."""
    if not code or code.startswith(("F", "E9")):
        return "error"
    return "warning"


def _relative(filename: str, root: Path) -> str:
    path = Path(filename)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def parse_check(text: str, root: Path) -> list[Finding]:
    """Findings from ``ruff check --output-format json``."""
    items: list[dict[str, Any]] = json.loads(text or "[]")
    findings = []
    for item in items:
        code = item.get("code") or "syntax-error"
        location = item.get("location") or {"row": 1, "column": 1}
        end = item.get("end_location") or location
        fix = item.get("fix")
        findings.append(
            Finding(
                file=_relative(item["filename"], root),
                line=int(location["row"]),
                column=int(location["column"]),
                end_line=int(end["row"]),
                rule=code,
                severity=severity(item.get("code") or ""),
                message=item.get("message", ""),
                tool=TOOL,
                fix=None
                if not fix
                else {
                    "message": fix.get("message") or "",
                    "applicability": fix.get("applicability", ""),
                    "edits": fix.get("edits", []),
                },
                url=item.get("url") or "",
            )
        )
    return findings


def parse_format_diff(text: str) -> list[Finding]:
    """Findings from ``ruff format --check --diff``: one per hunk, at the first line the formatter
    would change, its fix the hunk itself."""
    findings: list[Finding] = []
    path = ""
    hunk: list[str] = []
    old_line = 0
    first = last = 0

    def flush() -> None:
        if path and hunk and first:
            findings.append(
                Finding(
                    file=path,
                    line=first,
                    column=1,
                    end_line=last,
                    rule=FORMAT_RULE,
                    severity="warning",
                    message="not formatted as `ruff format` would",
                    tool=TOOL,
                    fix={"message": "Reformat with `ruff format`", "diff": "\n".join(hunk) + "\n"},
                )
            )

    for line in text.splitlines():
        file_match = _FORMAT_FILE.match(line)
        if file_match:
            flush()
            path, hunk, first, last = file_match.group(1).strip(), [], 0, 0
            continue
        if line.startswith("+++ "):
            continue
        hunk_match = _FORMAT_HUNK.match(line)
        if hunk_match:
            flush()
            hunk, first, last = [line], 0, 0
            old_line = int(hunk_match.group(1))
            continue
        if not hunk:
            continue
        hunk.append(line)
        if line.startswith("-"):
            first = first or old_line
            last = old_line
            old_line += 1
        elif line.startswith("+"):
            # A pure insertion sits before the next old line.
            first = first or old_line
            last = max(last, old_line)
        else:  # context (git and ruff may print an empty context line without its space)
            old_line += 1
    flush()
    return findings
