"""Dependency advisories with pip-audit: what the project pins, looked up in OSV.

The project's declared dependencies are read from ``requirements*.txt`` (and ``requirements/*.txt``)
and ``pyproject.toml`` (``[project]`` dependencies and optional dependencies,
``[dependency-groups]``). Those pinned to one version (``name==1.2.3``) are audited; the others
are listed as not audited, since which version would be installed is not known without resolving
(which would download packages). pip-audit runs on the pins with ``--no-deps --disable-pip`` (no
resolution, no pip, no download): the only network it needs is the vulnerability service.

Running pip-audit is the agent's (``agent.py``); this module finds the pins, builds the
arguments and reads what pip-audit wrote.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .findings import Finding

TOOL = "pip-audit"
ADVISORY_URL = "https://osv.dev/vulnerability/"

_REQUIREMENTS_GLOBS = ("requirements*.txt", "requirements/*.txt")


@dataclass(frozen=True)
class Pin:
    """A dependency pinned to one version, and where it is declared."""

    name: str
    version: str
    file: str
    line: int

    @property
    def key(self) -> tuple[str, str]:
        return canonicalize_name(self.name), self.version


@dataclass
class Declared:
    pins: list[Pin] = field(default_factory=list)
    #: ``file:line name spec`` of each dependency not pinned to one version.
    unpinned: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _pinned_version(req: Requirement) -> str | None:
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


def _add(out: Declared, text: str, file: str, line: int) -> None:
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return
    if req.url:
        out.unpinned.append(f"{file}:{line} {req.name} (from a URL)")
        return
    version = _pinned_version(req)
    if version is None:
        out.unpinned.append(f"{file}:{line} {req.name}{req.specifier}")
    else:
        out.pins.append(Pin(req.name, version, file, line))


def _requirements_file(out: Declared, path: Path, rel: str) -> None:
    for number, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = re.sub(r"(^|\s)#.*$", "", raw).strip().removesuffix("\\").strip()
        if not text or text.startswith("-"):
            continue  # options (-r, -e, --index-url, --hash, ...) are not dependencies
        _add(out, text.split(" --")[0].strip(), rel, number)


def _line_of(lines: list[str], text: str) -> int:
    for number, line in enumerate(lines, start=1):
        if f'"{text}"' in line or f"'{text}'" in line:
            return number
    return 1


def _pyproject(out: Declared, path: Path, rel: str) -> None:
    source = path.read_text(errors="replace")
    try:
        doc: dict[str, Any] = tomllib.loads(source)
    except tomllib.TOMLDecodeError:
        return
    lines = source.splitlines()
    project = doc.get("project", {})
    declared: list[Any] = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        declared.extend(extra)
    for group in doc.get("dependency-groups", {}).values():
        declared.extend(group)
    for item in declared:
        if isinstance(item, str):  # a group may include another group ({include-group = ...})
            _add(out, item, rel, _line_of(lines, item))


def declared(root: Path) -> Declared:
    """The project's declared dependencies, pinned or not."""
    out = Declared()
    for pattern in _REQUIREMENTS_GLOBS:
        for path in sorted(root.glob(pattern)):
            if path.is_file() and not path.is_symlink():
                rel = path.relative_to(root).as_posix()
                out.files.append(rel)
                _requirements_file(out, path, rel)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and not pyproject.is_symlink():
        out.files.append("pyproject.toml")
        _pyproject(out, pyproject, "pyproject.toml")
    return out


def requirements(pins: list[Pin]) -> str:
    """What pip-audit audits: each pinned ``name==version`` once."""
    unique = sorted({p.key for p in pins})
    return "".join(f"{name}=={version}\n" for name, version in unique)


def pip_audit() -> list[str]:
    """pip-audit from the agent's own environment (a pinned dependency of this package)."""
    return [sys.executable, "-m", "pip_audit"]


def args(
    requirements_file: Path, output: Path, cache: Path, osv_url: str, timeout: int
) -> list[str]:
    return [
        *pip_audit(),
        "--requirement",
        str(requirements_file),
        "--no-deps",
        "--disable-pip",
        "--vulnerability-service",
        "osv",
        "--osv-url",
        osv_url,
        "--timeout",
        str(timeout),
        "--cache-dir",
        str(cache),
        "--progress-spinner",
        "off",
        "--aliases",
        "on",
        "--desc",
        "on",
        "--format",
        "json",
        "--output",
        str(output),
    ]


def _fixed(version: str, fixes: list[str]) -> str:
    """The lowest fixed version above ``version`` (pip-audit lists them all)."""
    try:
        current = Version(version)
        later = sorted(Version(f) for f in fixes if Version(f) > current)
    except InvalidVersion:
        return fixes[0] if fixes else ""
    return str(later[0]) if later else ""


def parse(text: str, pins: list[Pin]) -> list[Finding]:
    """Findings from pip-audit's JSON: one per advisory of each pinned package, located where
    the package is pinned (every place, when pinned in several files)."""
    doc: dict[str, Any] = json.loads(text or "{}")
    where: dict[tuple[str, str], list[Pin]] = {}
    for p in pins:
        where.setdefault(p.key, []).append(p)
    findings = []
    for dep in doc.get("dependencies", []):
        name, version = str(dep.get("name", "")), str(dep.get("version", ""))
        for vuln in dep.get("vulns", []):
            advisory = str(vuln["id"])
            aliases = tuple(str(a) for a in vuln.get("aliases", []))
            fixed = _fixed(version, [str(v) for v in vuln.get("fix_versions", [])])
            description = str(vuln.get("description") or "").strip()
            for pin in where.get((canonicalize_name(name), version), []):
                if fixed:
                    fix = (
                        f"Upgrade {name} to {fixed} or later: pin {name}=={fixed} in"
                        f" {pin.file}:{pin.line}."
                    )
                else:
                    fix = (
                        f"No fixed release of {name} is known yet: read the advisory for a"
                        " workaround, or replace the package."
                    )
                also = f" (also {', '.join(aliases)})" if aliases else ""
                findings.append(
                    Finding(
                        kind="dependency",
                        severity="high",
                        location=f"{name}@{version}",
                        rule=advisory,
                        message=f"{name} {version} is affected by {advisory}{also}: {description}",
                        fix=fix,
                        tool=TOOL,
                        file=pin.file,
                        line=pin.line,
                        fixed_version=fixed,
                        aliases=aliases,
                        url=ADVISORY_URL + advisory,
                    )
                )
    return findings
