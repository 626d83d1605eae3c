"""A finding, and the result a person reads: counts by kind and severity, a bounded list, one
summary line. A finding never holds a secret's value: a secret is known by its type, where it is
and detect-secrets' hash of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: Kinds of findings, in the order the result lists them.
KINDS = ("dependency", "secret", "code")
#: Severities, worst first (bandit's; SARIF levels error, warning, note).
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Finding:
    """One thing to fix.

    ``location`` is what a person reads: ``file:line`` (the tree), ``commit:path:line`` (a secret
    found only in the git history) or ``package@version`` (a dependency). ``file`` and ``line``
    locate it in the tree for SARIF (a dependency: the file that declares it).
    """

    kind: str
    severity: str
    location: str
    rule: str
    message: str
    fix: str
    #: Which tool found it: "bandit", "detect-secrets" or "pip-audit".
    tool: str
    file: str = ""
    line: int = 0
    #: A secret found in history: the commit that added it.
    commit: str = ""
    fixed_version: str = ""
    #: A secret: detect-secrets' SHA-1 of the value (never the value itself).
    hashed_secret: str = ""
    #: A dependency's advisory: its other ids (CVE, GHSA, PYSEC).
    aliases: tuple[str, ...] = ()
    url: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "severity": self.severity,
            "location": self.location,
            "rule": self.rule,
            "message": self.message,
            "fixed_version": self.fixed_version,
            "fix": self.fix,
            "tool": self.tool,
        }
        if self.file and self.line and not self.commit:
            # A place in the tree today (a dependency: the line that pins it), which the task
            # page opens in the editor; a secret found only in history has none.
            out["file"] = self.file
            out["line"] = self.line
        if self.commit:
            out["commit"] = self.commit
        if self.hashed_secret:
            out["hashed_secret"] = self.hashed_secret
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.url:
            out["url"] = self.url
        return out


def _key(f: Finding) -> tuple[int, str, int, str, str]:
    return (KINDS.index(f.kind), f.file or f.location, f.line, f.commit, f.rule)


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """By kind, place, then rule; duplicates (same place and rule) once."""
    unique = {(f.kind, f.location, f.rule): f for f in findings}
    return sorted(unique.values(), key=_key)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(findings: Sequence[Finding]) -> str:
    """``"3 findings (1 high, 2 medium): 1 dependency, 1 secret, 1 code"``, or ``"no findings"``."""
    if not findings:
        return "no findings"
    by_severity = Counter(f.severity for f in findings)
    by_kind = Counter(f.kind for f in findings)
    severities = ", ".join(f"{by_severity[s]} {s}" for s in SEVERITIES if by_severity[s])
    kinds = ", ".join(f"{by_kind[k]} {k}" for k in KINDS if by_kind[k])
    return f"{_plural(len(findings), 'finding')} ({severities}): {kinds}"


def report(findings: Sequence[Finding], limit: int) -> dict[str, Any]:
    """The result's findings part: counts by kind and severity, at most ``limit`` findings (the
    worst first when cut, with a note saying how many were left out), the summary line."""
    shown = list(findings)
    note = ""
    if len(shown) > limit:
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        shown = ordered(sorted(shown, key=lambda f: rank.get(f.severity, len(SEVERITIES)))[:limit])
        note = (
            f"{len(findings) - limit} more findings are not listed here (the first {limit}, worst"
            " first, are); every finding is in the SARIF report"
        )
    counts = {
        kind: {
            s: sum(1 for f in findings if f.kind == kind and f.severity == s) for s in SEVERITIES
        }
        for kind in KINDS
    }
    return {
        "summary": summary_line(findings),
        "total": len(findings),
        "counts": counts,
        "by_kind": {k: sum(counts[k].values()) for k in KINDS},
        "by_severity": {s: sum(counts[k][s] for k in KINDS) for s in SEVERITIES},
        "findings": [f.as_json() for f in shown],
        "truncated": note,
    }
