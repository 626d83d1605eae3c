"""Findings as SARIF 2.1.0 (OASIS), the format code-scanning tools read: one run per tool
(pip-audit, detect-secrets, bandit), each with its rules and its results located relative to the
project (``%SRCROOT%``). A dependency is located where it is pinned; a secret found only in the
git history where its commit added it (the commit in the result's properties). A secret's value
is never in the report: only its type and detect-secrets' hash of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import banditpass, depspass, secretspass
from .findings import Finding

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
VERSION = "2.1.0"

#: Severity -> SARIF level.
LEVELS = {"high": "error", "medium": "warning", "low": "note"}

#: The tools, in the order of their runs, with where they are documented.
TOOLS = {
    depspass.TOOL: "https://github.com/pypa/pip-audit",
    secretspass.TOOL: "https://github.com/Yelp/detect-secrets",
    banditpass.TOOL: "https://bandit.readthedocs.io/",
}


def _location(f: Finding) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(f.line, 1)},
        }
    }


def _properties(f: Finding) -> dict[str, Any]:
    props: dict[str, Any] = {"severity": f.severity, "location": f.location}
    if f.kind == "dependency":
        package, _, version = f.location.partition("@")
        props.update(package=package, version=version, fixedVersion=f.fixed_version)
        if f.aliases:
            props["aliases"] = list(f.aliases)
    if f.commit:
        props["commit"] = f.commit
    if f.hashed_secret:
        props["hashedSecret"] = f.hashed_secret
    return props


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": LEVELS.get(f.severity, "warning"),
        "message": {"text": f"{f.message} Fix: {f.fix}" if f.fix else f.message},
        "properties": _properties(f),
    }
    if f.file:
        result["locations"] = [_location(f)]
    return result


def _rule(f: Finding) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": f.rule, "shortDescription": {"text": f.rule}}
    if f.fix:
        rule["help"] = {"text": f.fix}
    if f.url:
        rule["helpUri"] = f.url
    return rule


def _run(tool: str, version: str, findings: Sequence[Finding], root: Path) -> dict[str, Any]:
    rules: dict[str, int] = {}
    descriptors: list[dict[str, Any]] = []
    results = []
    for f in findings:
        if f.rule not in rules:
            rules[f.rule] = len(descriptors)
            descriptors.append(_rule(f))
        results.append(_result(f, rules[f.rule]))
    driver: dict[str, Any] = {
        "name": tool,
        "version": version,
        "informationUri": TOOLS[tool],
        "rules": descriptors,
    }
    return {
        "tool": {"driver": driver},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }


def document(
    findings: Sequence[Finding], root: Path, versions: Mapping[str, str]
) -> dict[str, Any]:
    """The SARIF log of an audit: a run for each tool that ran (``versions``: tool -> its
    version), in the order of :data:`TOOLS`."""
    return {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [
            _run(tool, versions[tool], [f for f in findings if f.tool == tool], root)
            for tool in TOOLS
            if tool in versions
        ],
    }
