"""Findings as SARIF 2.1.0 (OASIS), the format code-scanning tools read: one run per tool (ruff,
and this agent's size pass), each with its rules, results located relative to the repository
(``%SRCROOT%``), and ruff's edits as SARIF fixes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import sizepass
from .findings import Finding

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
VERSION = "2.1.0"
INFORMATION_URI = "https://docs.astral.sh/ruff/"


def _region(f: Finding) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": f.line, "startColumn": max(f.column, 1)}
    if f.end_line > f.line:
        region["endLine"] = f.end_line
    return region


def _location(f: Finding) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
            "region": _region(f),
        }
    }


def _fixes(f: Finding) -> list[dict[str, Any]]:
    """ruff's edits as a SARIF fix (a formatting hunk is a diff, not edits: it goes in the
    result's properties instead)."""
    if not f.fix or not f.fix.get("edits"):
        return []
    replacements = []
    for edit in f.fix["edits"]:
        start, end = edit["location"], edit["end_location"]
        replacements.append(
            {
                "deletedRegion": {
                    "startLine": start["row"],
                    "startColumn": start["column"],
                    "endLine": end["row"],
                    "endColumn": end["column"],
                },
                "insertedContent": {"text": edit.get("content", "")},
            }
        )
    return [
        {
            "description": {"text": f.fix.get("message") or "ruff's suggested fix"},
            "artifactChanges": [
                {
                    "artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
                    "replacements": replacements,
                }
            ],
        }
    ]


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": f.severity,
        "message": {"text": f.message},
        "locations": [_location(f)],
    }
    fixes = _fixes(f)
    if fixes:
        result["fixes"] = fixes
    if f.fix and "diff" in f.fix:
        result["properties"] = {"formatDiff": f.fix["diff"]}
    return result


def _rule(f: Finding) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": f.rule, "shortDescription": {"text": f.rule}}
    if f.tool == sizepass.TOOL and f.rule in sizepass.RULES:
        short, help_text = sizepass.RULES[f.rule]
        rule["shortDescription"] = {"text": short}
        rule["help"] = {"text": help_text}
    if f.url:
        rule["helpUri"] = f.url
    return rule


def _run(
    tool: str, version: str, uri: str, findings: Sequence[Finding], root: Path
) -> dict[str, Any]:
    rules: dict[str, int] = {}
    descriptors: list[dict[str, Any]] = []
    results = []
    for f in findings:
        if f.rule not in rules:
            rules[f.rule] = len(descriptors)
            descriptors.append(_rule(f))
        results.append(_result(f, rules[f.rule]))
    driver: dict[str, Any] = {"name": tool, "version": version, "rules": descriptors}
    if uri:
        driver["informationUri"] = uri
    return {
        "tool": {"driver": driver},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }


def document(
    findings: Sequence[Finding], root: Path, *, ruff_version: str, agent_version: str
) -> dict[str, Any]:
    """The SARIF log of a review: a run for ruff's findings and one for the size pass's."""
    return {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [
            _run(
                "ruff",
                ruff_version,
                INFORMATION_URI,
                [f for f in findings if f.tool == "ruff"],
                root,
            ),
            _run(
                "hyperagent-codereview",
                agent_version,
                "",
                [f for f in findings if f.tool == sizepass.TOOL],
                root,
            ),
        ],
    }
