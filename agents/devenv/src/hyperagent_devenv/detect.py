"""What a project is made of, read from its own files, each finding with the file and line that
says so (``PostgreSQL: pyproject.toml:12 psycopg[binary]>=3.2,<4``).

Sources, in this order: the dependencies (``pyproject.toml``: ``[project]`` and its optional
groups, Poetry's tables; ``requirements*.txt``), the connection URLs in settings and env files
(``DATABASE_URL=postgres://...``, ``REDIS_URL=redis://...``; commented lines do not count), the
ASGI/WSGI entry points (``manage.py``, the module that makes the FastAPI app), and the
bootstrapper's ``hyperagent.yml`` when the project has one (how to install and serve it).
Pure reading: nothing here runs the project or writes to it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

FASTAPI = "FastAPI"
DJANGO = "Django"
POSTGRES = "PostgreSQL"
REDIS = "Redis"

#: Distribution name (PEP 503 normalised) -> what it means.
PACKAGES: dict[str, str] = {
    "fastapi": FASTAPI,
    "django": DJANGO,
    "psycopg": POSTGRES,
    "psycopg-binary": POSTGRES,
    "psycopg2": POSTGRES,
    "psycopg2-binary": POSTGRES,
    "asyncpg": POSTGRES,
    "redis": REDIS,
    "django-redis": REDIS,
}

#: Folders never read: environments, caches, version control, tests (a test may name a service
#: the project does not use), dependencies of other ecosystems.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "__pycache__",
        "tests",
        "test",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "build",
        "dist",
    }
)
#: Env files whose URLs count (``.env`` itself too, when the person made one).
ENV_FILES = (".env", ".env.example", ".env.sample", ".env.template", ".env.dev")
#: A settings module: Django's settings (a file or package) or a ``config.py``/``settings.py``.
SETTINGS_NAMES = re.compile(r"^(settings|config|base|dev|environment|local)\.py$")
_URL = re.compile(r"\b(?P<scheme>postgres(?:ql)?(?:\+\w+)?|rediss?)://[^\s'\"]*")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_FASTAPI_APP = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*(?::[^=]+)?=\s*(?:FastAPI|create_app)\(")
#: A database name worth keeping from a URL (not a template placeholder such as ``{NAME}``).
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Evidence:
    """One thing found, and where: ``file`` is relative to the project, ``line`` 1-based."""

    what: str
    file: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.what}: {self.file}:{self.line} {self.text}"

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "file": self.file, "line": self.line, "text": self.text}


@dataclass
class Stack:
    """The project as detected. ``evidence`` holds every finding, in the order found."""

    root: Path
    evidence: list[Evidence] = field(default_factory=list)
    #: ``FastAPI``, ``Django`` or ``None`` (neither found).
    framework: str | None = None
    #: ``PostgreSQL``/``Redis`` found, in a stable order.
    services: list[str] = field(default_factory=list)
    #: The module path of the FastAPI app (``shop.main:app``), when found.
    asgi_app: str | None = None
    #: ``requires-python``'s lowest version (``3.11``), when the project states one.
    python: str | None = None
    #: The files that make it a Python project (``pyproject.toml``, ``requirements.txt``, ...).
    manifests: list[str] = field(default_factory=list)
    #: The pip arguments that install the project (``-e .[dev]``).
    install: list[str] = field(default_factory=list)
    #: The command that serves the app, ``{port}`` where the port goes (``hyperagent.yml``).
    serve: list[str] | None = None
    #: The database URL the project uses (its scheme and database name are kept).
    database_url: str | None = None
    name: str = ""

    def found(self, what: str) -> list[Evidence]:
        return [e for e in self.evidence if e.what == what]


def normalise(name: str) -> str:
    """PEP 503: lower case, runs of ``-``, ``_`` and ``.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str | None:
    m = _REQUIREMENT_NAME.match(spec)
    return normalise(m.group(1)) if m else None


def _read(path: Path, max_bytes: int) -> str | None:
    try:
        if path.stat().st_size > max_bytes:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _line_of(text: str, needle: str) -> int:
    """The first line holding ``needle`` as a quoted string (else anywhere), 1-based; 0 if none."""
    lines = text.splitlines()
    for quoted in (f'"{needle}"', f"'{needle}'", needle):
        for number, line in enumerate(lines, 1):
            if quoted in line:
                return number
    return 0


def _pyproject_requirements(data: dict[str, Any]) -> Iterator[str]:
    project = data.get("project", {})
    yield from project.get("dependencies", []) or []
    for group in (project.get("optional-dependencies", {}) or {}).values():
        yield from group or []
    poetry = data.get("tool", {}).get("poetry", {})
    for name in poetry.get("dependencies", {}) or {}:
        yield str(name)


def _walk(root: Path, tick: Callable[[], None]) -> Iterator[Path]:
    """The project's files, without the folders in :data:`SKIP_DIRS` and links, in a stable
    order; ``tick`` is called for each folder (it raises to stop the walk)."""
    tick()
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            continue
        if path.is_dir():
            if path.name not in SKIP_DIRS:
                yield from _walk(path, tick)
        elif path.is_file():
            yield path


def _nothing() -> None:
    return None


class Detector:
    def __init__(self, root: Path, max_bytes: int, tick: Callable[[], None] = _nothing) -> None:
        self.stack = Stack(root=root, name=root.name)
        self.root = root
        self.max_bytes = max_bytes
        self.tick = tick
        self._files: list[Path] | None = None

    def files(self) -> list[Path]:
        """The project's files (walked once)."""
        if self._files is None:
            self._files = list(_walk(self.root, self.tick))
        return self._files

    def read(self, path: Path) -> str | None:
        """A file's text; None when it is missing, too large or not UTF-8."""
        return _read(path, self.max_bytes) if path.is_file() else None

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def add(self, what: str, path: Path, line: int, text: str) -> None:
        self.stack.evidence.append(Evidence(what, self.rel(path), line, text.strip()))

    def dependencies(self) -> None:
        pyproject = self.root / "pyproject.toml"
        text = self.read(pyproject)
        if text is not None:
            self.stack.manifests.append("pyproject.toml")
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as err:
                raise DetectionError(f"pyproject.toml is not valid TOML: {err}") from err
            self._pyproject(pyproject, text, data)
        for path in sorted(self.root.glob("requirements*.txt")) + sorted(
            self.root.glob("requirements/*.txt")
        ):
            self._requirements(path)

    def _pyproject(self, path: Path, text: str, data: dict[str, Any]) -> None:
        project = data.get("project", {})
        self.stack.name = str(project.get("name") or self.stack.name)
        python = re.search(r"(\d+\.\d+)", str(project.get("requires-python", "")))
        if python:
            self.stack.python = python.group(1)
        for spec in _pyproject_requirements(data):
            what = PACKAGES.get(requirement_name(spec) or "")
            if what:
                self.add(what, path, _line_of(text, spec), spec)
        groups = project.get("optional-dependencies", {}) or {}
        self.stack.install = ["-e", ".[dev]" if "dev" in groups else "."]

    def _requirements(self, path: Path) -> None:
        text = self.read(path)
        if text is None:
            return
        self.stack.manifests.append(self.rel(path))
        for number, line in enumerate(text.splitlines(), 1):
            spec = line.split("#", 1)[0].strip()
            what = PACKAGES.get(requirement_name(spec) or "") if spec else None
            if what:
                self.add(what, path, number, spec)
        if not self.stack.install:
            self.stack.install = ["-r", self.rel(path)]

    def urls(self) -> None:
        """Connection URLs in env files and settings modules; comments do not count."""
        candidates = [self.root / name for name in ENV_FILES]
        candidates += [p for p in self.files() if SETTINGS_NAMES.match(p.name)]
        for path in candidates:
            text = self.read(path)
            if text is None:
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if line.lstrip().startswith("#"):
                    continue
                for m in _URL.finditer(line):
                    if m.group("scheme").startswith("redis"):
                        self.add(REDIS, path, number, line)
                    else:
                        self.add(POSTGRES, path, number, line)
                        self.stack.database_url = self.stack.database_url or m.group(0)

    def entry_points(self) -> None:
        manage = self.root / "manage.py"
        text = self.read(manage)
        if text is not None and "django" in text:
            self.stack.manifests.append("manage.py")
            line = _line_of(text, "DJANGO_SETTINGS_MODULE") or 1
            self.add(DJANGO, manage, line, text.splitlines()[line - 1])
        for path in self.files():
            if path.suffix != ".py" or path.name == "manage.py":
                continue
            source = self.read(path)
            if source is None or "FastAPI" not in source:
                continue
            for number, code in enumerate(source.splitlines(), 1):
                m = _FASTAPI_APP.match(code)
                if m:
                    module = ".".join(path.relative_to(self.root).with_suffix("").parts)
                    self.stack.asgi_app = f"{module}:{m.group('name')}"
                    self.add("app", path, number, code)
                    return

    def hyperagent_yml(self) -> None:
        """The bootstrapper's check file, when the project carries one: its ``install`` and
        ``serve`` are how the app is installed and started."""
        path = self.root / "hyperagent.yml"
        text = self.read(path)
        if text is None:
            return
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise DetectionError(f"hyperagent.yml is not valid YAML: {err}") from err
        if not isinstance(data, dict):
            return
        install, serve = data.get("install"), data.get("serve")
        if isinstance(install, list) and all(isinstance(a, str) for a in install):
            self.stack.install = list(install)
            self.add("install", path, _line_of(text, "install:"), f"install: {install}")
        if isinstance(serve, list) and all(isinstance(a, str) for a in serve):
            self.stack.serve = list(serve)
            self.add("serve", path, _line_of(text, "serve:"), f"serve: {serve}")

    def conclude(self) -> Stack:
        s = self.stack
        if s.found(DJANGO):
            s.framework = DJANGO
        elif s.found(FASTAPI):
            s.framework = FASTAPI
        s.services = [what for what in (POSTGRES, REDIS) if s.found(what)]
        return s


class DetectionError(ValueError):
    """A project file that cannot be read as what it claims to be (the message names it)."""


def database_name(url: str | None) -> str | None:
    """The database a ``postgres://`` URL names, when it is a plain name."""
    if not url:
        return None
    name = urlsplit(url).path.strip("/")
    return name if _DB_NAME.match(name) else None


def detect(root: Path, max_bytes: int, tick: Callable[[], None] = _nothing) -> Stack:
    """Everything :mod:`detect` finds in the project at ``root`` (files larger than
    ``max_bytes`` are not read; ``tick`` is called as the walk goes, and may raise to stop it)."""
    d = Detector(root, max_bytes, tick)
    d.dependencies()
    d.urls()
    d.entry_points()
    d.hyperagent_yml()
    return d.conclude()
