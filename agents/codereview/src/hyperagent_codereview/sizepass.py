"""The size pass, with Python's ``ast``: functions longer than N lines, blocks nested deeper than
M, files longer than K lines. Cyclomatic complexity is ruff's (C901, mccabe), not ours."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .findings import Finding

TOOL = "codereview"

#: The rules of this pass: id -> (short description, help).
RULES: dict[str, tuple[str, str]] = {
    "long-function": (
        "Function too long",
        "Split the function into smaller ones, each doing one thing.",
    ),
    "deep-nesting": (
        "Blocks nested too deeply",
        "Return early, or move the inner blocks into a function of their own.",
    ),
    "big-file": (
        "File too long",
        "Split the module by concern.",
    ),
}

#: Statements that open a block and so add a level of nesting.
_BLOCKS = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Limits:
    """The thresholds; a finding is reported past them (more than, deeper than)."""

    function_lines: int
    nesting: int
    file_lines: int
    complexity: int


def check_source(path: str, source: str, limits: Limits) -> list[Finding]:
    """The size findings of one file; a file that does not parse has none (ruff reports it)."""
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError):
        return []
    findings: list[Finding] = []
    lines = len(source.splitlines())
    if lines > limits.file_lines:
        findings.append(
            Finding(
                file=path,
                line=1,
                column=1,
                end_line=lines,
                rule="big-file",
                severity="warning",
                message=f"file has {lines} lines (limit {limits.file_lines})",
                tool=TOOL,
            )
        )
    for node in ast.walk(tree):
        if isinstance(node, _FUNCTIONS):
            findings.extend(_function(path, node, limits))
    findings.extend(_nesting(path, tree.body, 0, limits.nesting))
    return findings


def _function(
    path: str, node: ast.FunctionDef | ast.AsyncFunctionDef, limits: Limits
) -> list[Finding]:
    end = node.end_lineno or node.lineno
    length = end - node.lineno + 1
    if length <= limits.function_lines:
        return []
    return [
        Finding(
            file=path,
            line=node.lineno,
            column=node.col_offset + 1,
            end_line=end,
            rule="long-function",
            severity="warning",
            message=(
                f"function `{node.name}` is {length} lines long (limit {limits.function_lines})"
            ),
            tool=TOOL,
        )
    ]


def _nesting(path: str, body: list[ast.stmt], depth: int, limit: int) -> list[Finding]:
    """One finding per block that goes past ``limit`` (its inner blocks are not reported again);
    a function's body starts again at depth 0."""
    findings: list[Finding] = []
    for stmt in body:
        if isinstance(stmt, (*_FUNCTIONS, ast.ClassDef)):
            findings.extend(_nesting(path, stmt.body, 0, limit))
            continue
        if not isinstance(stmt, _BLOCKS):
            continue
        if depth + 1 > limit:
            findings.append(
                Finding(
                    file=path,
                    line=stmt.lineno,
                    column=stmt.col_offset + 1,
                    end_line=stmt.end_lineno or stmt.lineno,
                    rule="deep-nesting",
                    severity="warning",
                    message=f"block nested {depth + 1} levels deep (limit {limit})",
                    tool=TOOL,
                )
            )
            continue
        for inner in _bodies(stmt):
            findings.extend(_nesting(path, inner, depth + 1, limit))
    return findings


def _bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists a block holds (``else``, ``finally``, handlers and cases too)."""
    out: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value:
            out.append(value)
    out.extend(h.body for h in getattr(stmt, "handlers", []))
    out.extend(c.body for c in getattr(stmt, "cases", []))
    return out
