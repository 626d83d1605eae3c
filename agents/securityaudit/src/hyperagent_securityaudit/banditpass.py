"""bandit's output as findings: ``bandit --format json``. Running bandit is the agent's
(``agent.py``); this module builds its arguments and reads what it wrote."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from .findings import Finding

TOOL = "bandit"

#: bandit's configuration when the project has none of its own: ``assert`` in tests is how
#: pytest works, not a weakness (B101 is skipped in test files only); importing subprocess
#: (B404) and calling it with a list and no shell (B603) are how a program runs another, flagged
#: on every use: bandit still reports a shell (B602, B605), a partial path (B607), and so on.
DEFAULT_CONFIG = """\
skips: ['B404', 'B603']
assert_used:
  skips: ['*/tests/*', '*/test_*.py', '*_test.py', 'tests/*', 'test_*.py', '*/conftest.py']
"""

#: Tests whose message quotes the string they judge (a hard-coded password): that string is
#: masked, never reported.
_QUOTES_SECRET = {"B105", "B106", "B107"}
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")

#: How to fix what bandit finds most, where its own text says only what is wrong.
FIXES = {
    "B102": "Do not exec strings; call the code directly.",
    "B105": "Read the password from the environment or a secret store, not the source.",
    "B106": "Read the password from the environment or a secret store, not the source.",
    "B107": "Read the password from the environment or a secret store, not the source.",
    "B301": "Do not unpickle untrusted data; use JSON or another data-only format.",
    "B307": "Use ast.literal_eval for literals; never eval input.",
    "B324": "Use hashlib.sha256 (or pass usedforsecurity=False when it is not for security).",
    "B506": "Use yaml.safe_load (or yaml.load with Loader=yaml.SafeLoader).",
    "B602": "Pass the command as a list without shell=True (shlex.split a fixed string).",
    "B608": "Use the driver's parameters (placeholders) instead of building SQL from strings.",
}


def bandit() -> list[str]:
    """The bandit of the agent's own environment (a pinned dependency of this package)."""
    return [sys.executable, "-m", "bandit"]


def has_config(root: Path) -> bool:
    """Whether the project configures bandit in pyproject.toml (then that is used)."""
    try:
        text = (root / "pyproject.toml").read_text(errors="replace")
    except OSError:
        return False
    return re.search(r"^\[tool\.bandit[.\]]", text, re.MULTILINE) is not None


def args(root: Path, files: list[str], config: Path, output: Path) -> list[str]:
    """``bandit`` over ``files`` writing JSON to ``output``, with the project's configuration
    (pyproject.toml's ``[tool.bandit]``) when it has one, else ``config``."""
    chosen = root / "pyproject.toml" if has_config(root) else config
    return [
        *bandit(),
        "--quiet",
        "--exit-zero",
        "--format",
        "json",
        "--output",
        str(output),
        "--configfile",
        str(chosen),
        "--",
        *files,
    ]


def _mask(test_id: str, text: str) -> str:
    if test_id not in _QUOTES_SECRET:
        return text
    return _QUOTED.sub(lambda m: f"<{len(m.group(0)) - 2} characters, not shown>", text)


def _relative(filename: str, root: Path) -> str:
    path = Path(filename)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix().removeprefix("./")


def parse(text: str, root: Path) -> tuple[list[Finding], list[str]]:
    """Findings from bandit's JSON, and the files it could not read (with why). bandit's code
    excerpts are dropped: a line it flags may hold a secret."""
    doc: dict[str, Any] = json.loads(text or "{}")
    findings = []
    for item in doc.get("results", []):
        test_id = str(item.get("test_id", ""))
        file = _relative(str(item["filename"]), root)
        line = int(item.get("line_number") or 1)
        cwe = item.get("issue_cwe") or {}
        message = _mask(test_id, str(item.get("issue_text", "")))
        if cwe.get("id"):
            message += f" (CWE-{cwe['id']})"
        more = str(item.get("more_info", ""))
        fix = FIXES.get(test_id, "")
        fix = f"{fix} See {more}" if fix and more else fix or f"See {more}"
        findings.append(
            Finding(
                kind="code",
                severity=str(item.get("issue_severity", "medium")).lower(),
                location=f"{file}:{line}",
                rule=f"{test_id}:{item.get('test_name', '')}",
                message=message,
                fix=fix,
                tool=TOOL,
                file=file,
                line=line,
                url=more,
            )
        )
    errors = [f"{e.get('filename', '?')}: {e.get('reason', '?')}" for e in doc.get("errors", [])]
    return findings, errors
