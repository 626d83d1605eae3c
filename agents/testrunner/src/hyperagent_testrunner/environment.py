"""Which Python, which venv: the project's own ``.venv`` when it fits, else one the agent keeps
in its state folder, made with uv and installed offline from a wheelhouse or, with consent,
from the package index.

uv never downloads an interpreter here (``UV_PYTHON_DOWNLOADS=never``, system Pythons only): a
version the machine lacks is an error that names the versions it has.

The install is two uv commands, so that nothing of the project's runs where it could change the
agent's shared uv cache (and so what the next project installs): first, with that cache, pytest
and the dependencies the project's ``pyproject.toml`` states
(:func:`hyperagent_sdk.venv.static_requirements`), wheels only (``--no-build``); then the whole
install (the project editable, its requirements files), narrowed
(:func:`hyperagent_sdk.narrow.narrowed`) to writing the venv, the project and the run's private
folder, with a uv cache of its own there. The project's build backend and hooks run only in the
second. What the first leaves out (dynamic metadata, a dependency with no wheel, what
requirements files name) the second fetches into its own cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hyperagent_sdk import PermissionRefused, SettingsReader, TaskContext, TaskFailed
from hyperagent_sdk.narrow import TEMP_VARS, narrowed
from hyperagent_sdk.venv import matches, static_requirements, usable, venv_version

PYPI_HOSTS = ("pypi.org:443", "files.pythonhosted.org:443")
#: What a package index's URL may start with (pip's --index-url; a file: URL is a local index).
INDEX_SCHEMES = ("https", "http", "file")
#: Files whose content decides what a venv holds: a change makes a new one.
DEPENDENCY_FILES = (
    "pyproject.toml",
    "uv.lock",
    "setup.cfg",
    "setup.py",
    "requirements.txt",
    "requirements-dev.txt",
    "requirements-test.txt",
)
#: Extras that usually hold a project's test tools, the first one present is installed.
TEST_EXTRAS = ("dev", "test", "tests", "testing")
#: Written into a venv the agent made once its install succeeded.
READY = ".hyperagent-ready"


@dataclass
class Settings:
    """The test runner's settings, from its manifest's ``[env]`` (see agent.toml)."""

    #: A folder of wheels: install from it alone (offline), no network.
    wheelhouse: str = ""
    #: A package index to use instead of PyPI (a local mirror, say).
    index_url: str = ""
    #: Largest traceback kept per failure, in characters.
    traceback_chars: int = 4000
    #: Most failures listed in a result.
    max_failures: int = 100
    #: Most tests listed (id, outcome, file:line, time) in a result.
    max_tests: int = 5000
    #: Seconds between reads of the per-test events while the tests run.
    poll_interval: float = 0.1

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Raises SettingError (naming the variable and what it may be) for a value not allowed."""
        read = SettingsReader(env, "HYPERAGENT_TESTRUNNER_")
        return cls(
            wheelhouse=read.text("WHEELHOUSE"),
            index_url=read.url("INDEX_URL", schemes=INDEX_SCHEMES),
            traceback_chars=read.integer("TRACEBACK_CHARS", cls.traceback_chars, low=0),
            max_failures=read.integer("MAX_FAILURES", cls.max_failures, low=0),
            max_tests=read.integer("MAX_TESTS", cls.max_tests, low=0),
            poll_interval=read.number("POLL_INTERVAL", cls.poll_interval, low=0.001),
        )


@dataclass(frozen=True)
class Venv:
    """The environment the tests run in."""

    path: Path
    python: str  # X.Y.Z
    origin: str  # project (the project's own .venv) | reused (the agent's, from before) | created
    has_pytest: bool

    @property
    def interpreter(self) -> Path:
        return self.path / "bin" / "python"

    def as_json(self) -> dict[str, str]:
        return {"path": str(self.path), "python": self.python, "origin": self.origin}


def uv_env() -> dict[str, str]:
    """What every uv command runs with: system Pythons only, never a download."""
    return {
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON_PREFERENCE": "only-system",
        "UV_LINK_MODE": "copy",  # the cache and the venv are different sandbox trees
        "UV_NO_CONFIG": "1",
    }


def installed_pythons(uv: str) -> dict[str, Path]:
    """The Python versions uv finds on this machine (``X.Y`` -> an interpreter), newest first."""
    out = subprocess.run(
        [uv, "python", "list", "--only-installed", "--output-format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, **uv_env()},
        timeout=60,
        check=False,
    )
    try:
        found = json.loads(out.stdout or "[]")
    except json.JSONDecodeError:
        found = []
    return pythons_from_listing(found)


def pythons_from_listing(found: list[dict[str, object]]) -> dict[str, Path]:
    """``uv python list --output-format json`` as ``X.Y`` -> the first interpreter of it."""
    versions: dict[str, Path] = {}
    for entry in found:
        parts = entry.get("version_parts")
        path = entry.get("path")
        if not isinstance(parts, dict) or not isinstance(path, str):
            continue
        key = f"{parts.get('major')}.{parts.get('minor')}"
        versions.setdefault(key, Path(path))
    return dict(sorted(versions.items(), key=lambda kv: _version_key(kv[0]), reverse=True))


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", v))


def missing_python(wanted: str, have: Mapping[str, Path]) -> str:
    """The error for a version the machine lacks, naming the ones it has."""
    listed = ", ".join(have) or "none found"
    return (
        f"Python {wanted} is not installed on this machine, and the test runner never downloads"
        f" one; installed: {listed}. Ask for one of those, or install Python {wanted} and run"
        " the tests again"
    )


def has_pytest(venv: Path) -> bool:
    return any(venv.glob("lib/python*/site-packages/pytest/__init__.py"))


def project_venv(project: Path, wanted: str | None) -> Venv | None:
    """The project's own ``.venv``, when its Python is the one asked for and it has pytest."""
    venv = project / ".venv"
    version = venv_version(venv)
    if not matches(version, wanted) or not usable(venv):
        return None
    return Venv(venv, version, "project", has_pytest(venv))


def venv_key(project: Path, python: str) -> str:
    """A venv of the agent's own is for one project, one Python and one set of dependencies."""
    h = hashlib.sha256(f"{project.resolve()}\0{python}\0".encode())
    for name in DEPENDENCY_FILES:
        f = project / name
        if f.is_file():
            h.update(name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def test_extras(project: Path) -> list[str]:
    """The project's extra that holds its test tools (the first of :data:`TEST_EXTRAS` it has)."""
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        return []
    try:
        meta = tomllib.loads(pyproject.read_text()).get("project", {})
    except tomllib.TOMLDecodeError as err:
        raise TaskFailed(f"{pyproject} is not valid TOML: {err}") from err
    optional = meta.get("optional-dependencies", {}) if isinstance(meta, dict) else {}
    return [e for e in TEST_EXTRAS if e in optional][:1]


def install_args(project: Path) -> list[str]:
    """What ``uv pip install`` gets: the project (editable, with its test extra) and pytest."""
    args: list[str] = []
    if (project / "pyproject.toml").is_file() or (project / "setup.py").is_file():
        extras = test_extras(project)
        args += ["-e", f"{project}[{extras[0]}]" if extras else str(project)]
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-test.txt"):
        if (project / name).is_file():
            args += ["-r", str(project / name)]
    return [*args, "pytest"]


class Environment:
    """Finds or makes the venv for one run; every command goes through the task context."""

    def __init__(self, ctx: TaskContext, settings: Settings, project: Path, private: Path) -> None:
        self.ctx = ctx
        self.settings = settings
        self.project = project
        #: The run's own folder: the narrowed install's temporary files and uv cache.
        self.private = private
        self.uv = shutil.which("uv")
        self.state = Path(os.environ.get("HOME", str(Path.home()))) / "venvs"

    def prepare(self, wanted: str | None, *, need_pytest: bool) -> Venv:
        own = project_venv(self.project, wanted)
        if own is not None and (own.has_pytest or not need_pytest):
            self.ctx.log.info("using the project's own venv", path=str(own.path), python=own.python)
            return own
        if own is not None:
            self.ctx.log.info("the project's venv has no pytest: making one beside it")
        if self.uv is None:
            raise TaskFailed("uv is not installed where the test runner runs (pip install uv)")
        have = installed_pythons(self.uv)
        if wanted is not None and wanted not in have:
            raise TaskFailed(missing_python(wanted, have))
        python = wanted or (own.python.rsplit(".", 1)[0] if own else next(iter(have), ""))
        if not python:
            raise TaskFailed(missing_python("3", have))
        venv = self.state / venv_key(self.project, python)
        version = venv_version(venv)
        if (venv / READY).is_file() and matches(version, python):
            self.ctx.log.info("reusing the test runner's venv", path=str(venv), python=version)
            return Venv(venv, version, "reused", has_pytest(venv))
        self._create(venv, have[python])
        self._install(venv)
        (venv / READY).write_text("")
        return Venv(venv, venv_version(venv), "created", has_pytest(venv))

    def _create(self, venv: Path, interpreter: Path) -> None:
        assert self.uv is not None  # noqa: S101 - checked by prepare
        self.ctx.progress(0.05, "creating the environment")
        if venv.exists():
            shutil.rmtree(venv)
        venv.parent.mkdir(parents=True, exist_ok=True)
        argv = [self.uv, "venv", "--quiet", "--python", str(interpreter), str(venv)]
        self.ctx.run(argv, cwd=self.project, env=uv_env())

    def _network(self) -> None:
        """Ask for the package index before downloading (nothing to ask offline)."""
        if self.settings.wheelhouse:
            return
        hosts: tuple[str, ...] = PYPI_HOSTS
        if self.settings.index_url:
            url = urlsplit(self.settings.index_url)
            if url.hostname in {"127.0.0.1", "localhost", "::1"} or url.scheme == "file":
                return
            hosts = (f"{url.hostname}:{url.port or (443 if url.scheme == 'https' else 80)}",)
        for host in hosts:
            try:
                self.ctx.request_permission(
                    "connect", host, f"install {self.project.name}'s packages to run its tests"
                )
            except PermissionRefused as err:
                raise TaskFailed(
                    f"the project's packages were not installed: network access to {host} was"
                    f" refused ({err}); set HYPERAGENT_TESTRUNNER_WHEELHOUSE to install offline"
                ) from err

    def _install(self, venv: Path) -> None:
        assert self.uv is not None  # noqa: S101
        self.ctx.progress(0.1, "installing packages")
        self._network()
        source: list[str] = []
        if self.settings.wheelhouse:
            source = ["--no-index", "--find-links", self.settings.wheelhouse]
        elif self.settings.index_url:
            source = ["--index-url", self.settings.index_url]
        argv = [self.uv, "pip", "install", "--python", str(venv / "bin" / "python"), *source]
        self._dependencies(argv)
        cache = self.private / "uv-cache"
        env = {**uv_env(), **dict.fromkeys(TEMP_VARS, str(self.private))}
        env["UV_CACHE_DIR"] = str(cache)
        wrapped = narrowed(
            [*argv, *install_args(self.project)],
            write=[venv, self.project, self.private],
            allow_unconfined=True,
        )
        lines: list[str] = []
        try:
            code = self.ctx.run(
                wrapped, cwd=self.project, env=env, check=False, on_line=lines.append
            )
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        if code != 0:
            why = lines[-1] if lines else f"exit code {code}"
            raise TaskFailed(f"installing the project into {venv} failed: {why}")

    def _dependencies(self, install: list[str]) -> None:
        """pytest and what the project's metadata says it needs, wheels only, with the agent's
        shared uv cache: nothing of the project's is built or run. What this leaves out (or a
        failure) the narrowed install does with a cache of its own."""
        wanted = static_requirements(self.project, test_extras(self.project)) or []
        lines: list[str] = []
        code = self.ctx.run(
            [*install, "--no-build", *wanted, "pytest"],
            cwd=self.project,
            env=uv_env(),
            check=False,
            on_line=lines.append,
        )
        if code != 0:
            why = lines[-1] if lines else f"exit code {code}"
            self.ctx.log.info(f"the dependencies are installed with the project instead: {why}")
