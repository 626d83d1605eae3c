"""A finding, and the result a person reads: counts, a bounded list, one summary line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: Severities, worst first (SARIF's levels: error, warning, note).
SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True)
class Finding:
    """One thing to fix, at ``file:line:column`` (1-based; ``file`` relative to the repository).

    ``end_line`` is the last line the finding covers (a function's last line, say): with a base
    ref, a finding is kept when any line from ``line`` to ``end_line`` changed.
    """

    file: str
    line: int
    column: int
    rule: str
    severity: str
    message: str
    #: Which tool found it: "ruff" or "codereview" (the size and nesting pass).
    tool: str
    end_line: int = 0
    #: The tool's suggested fix: {"message", "applicability", "edits"} for ruff's lint fixes,
    #: {"message", "diff"} for formatting; None when the tool offers none.
    fix: dict[str, Any] | None = None
    #: Where the rule is documented, when the tool says.
    url: str = ""

    @property
    def last_line(self) -> int:
        return max(self.line, self.end_line)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "tool": self.tool,
            "fix": self.fix,
        }
        if self.end_line > self.line:
            out["end_line"] = self.end_line
        return out


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """By file, line, column, then rule; duplicates (same place and rule) once."""
    unique = {(f.file, f.line, f.column, f.rule): f for f in findings}
    return [unique[k] for k in sorted(unique)]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(findings: Sequence[Finding]) -> str:
    """``"7 findings (2 errors, 5 warnings) in 3 files"``, or ``"no findings"``."""
    if not findings:
        return "no findings"
    by = Counter(f.severity for f in findings)
    parts = [_plural(by[s], s) for s in SEVERITIES if by[s]]
    files = len({f.file for f in findings})
    return f"{_plural(len(findings), 'finding')} ({', '.join(parts)}) in {_plural(files, 'file')}"


def report(findings: Sequence[Finding], limit: int) -> dict[str, Any]:
    """The result's findings part: counts by severity and rule, at most ``limit`` findings (the
    worst first when cut, with a note saying how many were left out), the summary line."""
    by_severity = Counter(f.severity for f in findings)
    by_rule = Counter(f.rule for f in findings)
    shown = list(findings)
    note = ""
    if len(shown) > limit:
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        keep = sorted(shown, key=lambda f: rank.get(f.severity, len(SEVERITIES)))[:limit]
        shown = ordered(keep)
        note = (
            f"{len(findings) - limit} more findings are not listed here (the first {limit}, worst"
            " first, are); every finding is in the SARIF report"
        )
    return {
        "summary": summary_line(findings),
        "total": len(findings),
        "by_severity": {s: by_severity[s] for s in SEVERITIES},
        "by_rule": dict(sorted(by_rule.items())),
        "files": len({f.file for f in findings}),
        "findings": [f.as_json() for f in shown],
        "truncated": note,
    }
