"""Python virtual environments as agents find them in a project: which Python a ``.venv`` was
made with, and whether that is the one asked for; and which of a project's dependencies can be
installed without running anything of the project's. Shared by the agents that use a project's
own environment (the test runner, the bootstrapper's post-check)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

_VERSION = re.compile(r"^(?:version_info|version)\s*=\s*(\d+\.\d+(?:\.\d+)?)", re.MULTILINE)


def venv_version(venv: Path) -> str:
    """The Python version a venv was made with (``pyvenv.cfg``'s ``version`` as venv writes it,
    or ``version_info`` as uv does), or ''."""
    try:
        cfg = (venv / "pyvenv.cfg").read_text(errors="replace")
    except OSError:
        return ""
    m = _VERSION.search(cfg)
    return m.group(1) if m else ""


def matches(version: str, wanted: str | None) -> bool:
    """Whether ``version`` ("3.11.7") is the Python ``wanted`` ("3.11"; None: any)."""
    return bool(version) and (wanted is None or f"{version}.".startswith(f"{wanted}."))


def usable(venv: Path) -> bool:
    """Whether ``venv`` is an environment that can run: its ``pyvenv.cfg`` and its interpreter."""
    return (venv / "pyvenv.cfg").is_file() and (venv / "bin" / "python").exists()


#: A requirement on a package index: a name, extras, version specifiers, markers. No URL or path
#: (``name @ ...``, ``x.whl``: an installer takes a file's name for a path), no option
#: (``--index-url``), nothing on a second line.
_INDEX_REQUIREMENT = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[A-Za-z0-9._,\s-]*\])?"
    r"[^@/:\\;\n\r]*(?:;[^\n\r]*)?"
)

_ARCHIVE = re.compile(r"\.(whl|zip|tar|tgz|tar\.\w+|egg)\s*$", re.IGNORECASE)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def static_requirements(project: Path, extras: Iterable[str] = ()) -> list[str] | None:
    """The project's dependencies and those of ``extras``, as its ``pyproject.toml`` states them,
    when they can be installed without building or running anything of the project's: PEP 621
    metadata whose dependencies are not ``dynamic``, each one a requirement on a package index
    (no URL or path, no option, not the project itself). None when that is not so (no such
    metadata, dynamic dependencies, an unknown extra, a direct reference): then only the project's
    own build can say what it needs.

    An agent installs these first, from its shared package cache (``--no-build``: wheels only),
    and then the project itself, narrowed, with a cache of the task's own."""
    try:
        meta = tomllib.loads((project / "pyproject.toml").read_text()).get("project")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return None
    dynamic = meta.get("dynamic", [])
    if not isinstance(dynamic, list) or {"dependencies", "optional-dependencies"} & set(dynamic):
        return None
    optional = meta.get("optional-dependencies", {})
    wanted: list[object] = list(meta.get("dependencies", []))
    for extra in extras:
        if not isinstance(optional, dict) or extra not in optional:
            return None
        wanted += list(optional[extra])
    own = _normal(meta["name"])
    found: list[str] = []
    for req in wanted:
        m = _INDEX_REQUIREMENT.fullmatch(req) if isinstance(req, str) else None
        if m is None or _normal(m["name"]) == own or _ARCHIVE.search(m.string.partition(";")[0]):
            return None
        if m.string not in found:
            found.append(m.string)
    return found
