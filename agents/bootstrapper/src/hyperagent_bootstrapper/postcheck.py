"""The post-check: does the new project install, pass its own tests, and start?

Each check ends as ``passed``, ``failed`` or ``skipped`` with the reason, so the result says
exactly what was and was not proven. The steps are the template's (``hyperagent.yml``):
create ``.venv`` with uv (or ``python -m venv`` + pip when uv is missing; a project checked
again keeps the one it has), install, start the dev server on a free local port and GET its
health URL, run the tests while it stops (reported as tests, then serve); build the Docker image
only where Docker is installed. A step
that could not run (an earlier one failed, network access was refused) is listed as skipped with
the reason, never left out.

What the project's own code may touch: the tests, the dev server and the build of the project
itself (its build backend and hooks, run by the install) run narrowed
(:func:`hyperagent_sdk.narrow.narrowed`): they may write only beneath the project (its ``.venv``
too) and a private folder of the post-check's (their ``TMPDIR``, ``XDG_CACHE_HOME`` and, for the
install, uv's cache), not the agent's state folder, so nothing they do reaches the next project
the agent makes. The install is two uv commands: the dependencies the project's
``pyproject.toml`` states (:func:`hyperagent_sdk.venv.static_requirements`), wheels only, from
the agent's shared cache, which nothing of the project's runs beside; then the template's own
install, narrowed, with a cache of its own (the build backend comes from the wheelhouse or index
again; the dependencies are already there). When the first cannot be done (dynamic metadata, a
dependency with no wheel), the second does everything.

A failed step's detail is the command's error line with its deepest cause (uv's "Failed to
fetch ... (invalid peer certificate: UnknownIssuer)"), not its last line (often a hint), and it is
logged at ERROR. uv uses the system's trust store (where a company's TLS-inspecting proxy puts its
certificate), and the person's ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when the agent's environment
has them.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hyperagent_sdk import Child, PermissionRefused, SettingsReader, TaskContext, TaskFailed
from hyperagent_sdk.narrow import TEMP_VARS, narrowed
from hyperagent_sdk.venv import matches, static_requirements, usable, venv_version

PYPI_HOSTS = ("pypi.org:443", "files.pythonhosted.org:443")
#: The trust store settings passed on to the commands when set (uv and pip read them).
TRUST_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")
#: The checks the post-check runs, in order (docker only where the project has a Dockerfile).
STEPS = ("environment", "install", "tests", "serve")
#: What a package index's URL may start with (pip's --index-url; a file: URL is a local index).
INDEX_SCHEMES = ("https", "http", "file")


@dataclass
class Settings:
    """The bootstrapper's settings, from its manifest's ``[env]`` (see agent.toml)."""

    #: A folder of wheels: install from it alone (offline), no network.
    wheelhouse: str = ""
    #: A package index to use instead of PyPI (a local mirror, say).
    index_url: str = ""
    #: How long the dev server may take to answer its health URL.
    serve_timeout: float = 30.0
    #: How often the health URL is tried while the server starts.
    probe_interval: float = 0.05
    #: Ports the dev server may listen on (inside the sandbox's own network).
    ports: tuple[int, int] = (8000, 8099)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Raises SettingError (naming the variable and what it may be) for a value not allowed."""
        read = SettingsReader(env, "HYPERAGENT_BOOTSTRAP_")
        return cls(
            wheelhouse=read.text("WHEELHOUSE"),
            index_url=read.url("INDEX_URL", schemes=INDEX_SCHEMES),
            serve_timeout=read.number("SERVE_TIMEOUT", cls.serve_timeout, low=0.001),
            probe_interval=read.number("PROBE_INTERVAL", cls.probe_interval, low=0.001),
            ports=_port_range(read, "PORTS", cls.ports),
        )


def _port_range(read: SettingsReader, key: str, default: tuple[int, int]) -> tuple[int, int]:
    """``8000-8099`` (or one port, ``8000``) as (first, last)."""
    raw = read.raw(key)
    if not raw:
        return default
    first, _, last = raw.partition("-")
    try:
        ports = (int(first), int(last or first))
    except ValueError:
        ports = (0, 0)
    if not 1 <= ports[0] <= ports[1] <= 65535:
        raise read.invalid(key, raw, "a port or a range of ports like 8000-8099 (from 1 to 65535)")
    return ports


@dataclass
class Check:
    name: str
    status: str  # passed | failed | skipped
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, status: str, detail: str, started: float) -> Check:
        check = Check(name, status, detail, round(time.monotonic() - started, 3))
        self.checks.append(check)
        return check

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "failed"]

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.checks]


@dataclass(frozen=True)
class Plan:
    """The template's post-check with the answers filled in."""

    python: str
    install: Sequence[str]
    test: Sequence[str]
    serve: Sequence[str]
    health: str


def free_port(first: int, last: int) -> int:
    """The first port in [first, last] nothing listens on (the sandbox allows only these)."""
    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise TaskFailed(f"no free port in {first}-{last} for the dev server")


def _get(port: int, path: str, timeout: float) -> int:
    # A direct connection: the task's https_proxy must not see a probe of its own loopback.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


_HINT = re.compile(r"^(hint|help|note|warning)\s*:", re.IGNORECASE)
_CAUSE = re.compile(r"^(caused by|cause)\s*:\s*", re.IGNORECASE)
_ERROR = re.compile(r"^(error|fatal)\b|\b(error|failed|fatal)\b|^×", re.IGNORECASE)


def error_line(lines: Sequence[str], code: int) -> str:
    """What a failed command said went wrong: its first error line, with the deepest cause given
    right under it (uv: ``error: Failed to fetch ...`` then ``cause: ...`` lines), else its last
    line that is not a hint, else its exit code. The last line is no good on its own: uv ends
    with ``hint: Consider enabling ...``."""
    text = [line.strip() for line in lines if line.strip()]
    for i, line in enumerate(text):
        if _HINT.match(line) or _CAUSE.match(line) or not _ERROR.search(line):
            continue
        causes: list[str] = []
        for after in text[i + 1 :]:
            if not _CAUSE.match(after):
                break
            causes.append(_CAUSE.sub("", after))
        return f"{line} ({causes[-1]})" if causes else line
    plain = [line for line in text if not _HINT.match(line)]
    return plain[-1] if plain else f"exit code {code}"


def _summary(lines: list[str]) -> str:
    """pytest's last summary line ("3 passed, 1 skipped in 0.4s"), if it printed one."""
    pattern = re.compile(r"\d+ (passed|failed|skipped|error|errors)\b")
    for line in reversed(lines):
        if pattern.search(line):
            return line.strip("= ").strip()
    return ""


_OWN = re.compile(r"\.(?:\[(?P<extras>[A-Za-z0-9._,\s-]*)\])?")


def own_extras(install: Sequence[str]) -> list[str] | None:
    """The extras of an install of the project itself (``-e .[dev]``: ``["dev"]``), or None when
    the install names anything else (then it is not known without running it)."""
    args = [a for a in install if a not in ("-e", "--editable")]
    m = _OWN.fullmatch(args[0]) if len(args) == 1 else None
    if m is None:
        return None
    return [e.strip() for e in (m["extras"] or "").split(",") if e.strip()]


class PostCheck:
    """Runs the checks for one project; every command goes through the task context."""

    def __init__(
        self,
        ctx: TaskContext,
        project: Path,
        plan: Plan,
        settings: Settings,
        progress: Callable[[str], None],
    ) -> None:
        self.ctx = ctx
        self.project = project
        self.plan = plan
        self.settings = settings
        self.progress = progress
        self.report = Report()
        self.venv = project / ".venv"
        self.uv = shutil.which("uv")
        #: The project's commands' own temporary folder and uv cache (made by :meth:`run`).
        self.private = project

    def _narrowed(self, argv: Sequence[str]) -> list[str]:
        """``argv`` held to writing the project and the private folder. Where the kernel has no
        Landlock the task process is not confined either, and the command runs as before."""
        return narrowed(argv, write=[self.project, self.private], allow_unconfined=True)

    @property
    def _project_env(self) -> dict[str, str]:
        """What the project's own commands run with: temporary files and caches (uv's too) in
        the private folder."""
        env = {**self._env, **dict.fromkeys(TEMP_VARS, str(self.private))}
        env["UV_CACHE_DIR"] = str(self.private / "uv-cache")
        return env

    @property
    def _env(self) -> dict[str, str]:
        bin_dir = str(self.venv / "bin")
        env = {
            "VIRTUAL_ENV": str(self.venv),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "UV_PYTHON_DOWNLOADS": "never",  # only Pythons installed here; no downloads
            "UV_LINK_MODE": "copy",  # the cache and the project are different sandbox trees
            # The system's trust store, not the roots built into uv: behind a TLS-inspecting
            # proxy only the system's has the proxy's certificate (pip uses it already).
            "UV_SYSTEM_CERTS": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            # Let the tests' imports write bytecode the server start then reuses (empty = unset).
            "PYTHONDONTWRITEBYTECODE": "",
        }
        # The person's own trust store settings win (uv and pip's TLS libraries read them).
        for key in TRUST_ENV:
            if os.environ.get(key):
                env[key] = os.environ[key]
        return env

    def _fail(self, name: str, detail: str, started: float) -> None:
        """A failed check, also logged at ERROR (the command's own lines are stdout/stderr)."""
        self.report.add(name, "failed", detail, started)
        self.ctx.log.error(f"{name} failed: {detail}", check=name)

    def _not_run(self) -> None:
        """Lists the steps an earlier one stopped, as skipped with the reason."""
        done = {c.name for c in self.report.checks}
        stopped = next((c for c in self.report.checks if c.status != "passed"), None)
        how = {"failed": "failed", "skipped": "was skipped"}
        why = (
            f"not run: {stopped.name} {how.get(stopped.status, stopped.status)}"
            if stopped
            else "not run"
        )
        declared = {
            "install": True,
            "tests": bool(self.plan.test),
            "serve": bool(self.plan.serve and self.plan.health),
        }
        for name in STEPS:
            if name not in done and declared.get(name, True):
                self.report.add(name, "skipped", why, time.monotonic())

    def run(self) -> Report:
        if not self.plan.install:
            start = time.monotonic()
            self.report.add("install", "skipped", "the template declares no post-check", start)
            return self.report
        self.private = Path(tempfile.mkdtemp(prefix="postcheck-"))
        try:
            return self._run()
        finally:
            shutil.rmtree(self.private, ignore_errors=True)

    def _run(self) -> Report:
        ok = self._environment() and self._install()
        if ok:
            self._tests_and_serve()
        else:
            self._not_run()
        self._docker()
        return self.report

    def _tests_and_serve(self) -> None:
        """The dev server first, then the tests while it stops.

        A task process gets one core (``sandbox.task_cpu_percent``), and in a fresh .venv nothing
        is compiled yet: the server and the tests import the same packages (FastAPI, pydantic,
        Starlette), so side by side both compiled them, on that one core. One after the other,
        the tests reuse the bytecode the server's start wrote, and the server's graceful stop (a
        wait, not work) overlaps them. The report keeps its order (tests, then serve)."""
        if not self.plan.serve or not self.plan.health:
            self._tests()
            self.report.add(
                "serve", "skipped", "the template declares no dev server", time.monotonic()
            )
            return
        port = free_port(*self.settings.ports)
        argv = [a.replace("{port}", str(port)) for a in self.plan.serve]
        self.ctx.log.info("starting the dev server, then the tests", command=" ".join(argv))
        with self.ctx.start(
            self._narrowed(argv), cwd=self.project, env=self._project_env
        ) as server:
            serve = self._probe(server, port)
            if serve.status == "failed":
                self.ctx.log.error(f"serve failed: {serve.detail}", check="serve")
            stopping = threading.Thread(target=server.stop, name="stop-dev-server", daemon=True)
            stopping.start()
            try:
                self._tests()
            finally:
                stopping.join()
        self.report.checks.append(serve)

    def _environment(self) -> bool:
        self.progress("creating the environment")
        start = time.monotonic()
        python = self.plan.python
        if usable(self.venv):
            return self._existing(start)
        if self.venv.exists():
            self._fail(
                "environment",
                f"{self.venv} is there but is no working environment (no bin/python);"
                " remove it and run the checks again",
                start,
            )
            return False
        if self.uv:
            argv = [self.uv, "venv", "--quiet", "--no-config"]
            argv += ["--python", python] if python else []
            argv.append(str(self.venv))
        else:
            exe = shutil.which(f"python{python}") if python else shutil.which("python3")
            if exe is None:
                self._fail(
                    "environment", f"Python {python} is not installed on this machine", start
                )
                return False
            argv = [exe, "-m", "venv", str(self.venv)]
        lines: list[str] = []
        code = self.ctx.run(
            argv, cwd=self.project, env=self._env, check=False, on_line=lines.append
        )
        if code != 0:
            why = error_line(lines, code)
            if python and "No interpreter found" in "".join(lines):
                why = f"Python {python} is not installed on this machine (uv found none)"
            self._fail("environment", why, start)
            return False
        tool = "uv" if self.uv else "venv"
        self.report.add("environment", "passed", f".venv created with {tool}", start)
        return True

    def _existing(self, start: float) -> bool:
        """A project checked again keeps the environment it has (the person may have fixed it by
        hand; uv would refuse to make one over it): it passes when its Python is the one the
        template asks for."""
        version = venv_version(self.venv)
        python = self.plan.python
        if python and not matches(version, python):
            self._fail(
                "environment",
                f"the project's .venv is Python {version or 'of an unknown version'}, the template"
                f" asks for {python}; remove .venv and run the checks again",
                start,
            )
            return False
        shown = f" (Python {version})" if version else ""
        self.report.add("environment", "passed", f"the project's .venv{shown}", start)
        return True

    def _network(self) -> str:
        """Ask for the package index before downloading; '' when allowed, else why not."""
        if self.settings.wheelhouse:
            return ""
        hosts: tuple[str, ...] = PYPI_HOSTS
        if self.settings.index_url:
            url = urlsplit(self.settings.index_url)
            if url.hostname in {"127.0.0.1", "localhost", "::1"} or url.scheme == "file":
                return ""
            hosts = (f"{url.hostname}:{url.port or (443 if url.scheme == 'https' else 80)}",)
        for host in hosts:
            try:
                self.ctx.request_permission(
                    "connect", host, "download the new project's Python packages"
                )
            except PermissionRefused as err:
                return f"network access to {host} was refused ({err})"
        return ""

    def _install(self) -> bool:
        self.progress("installing packages")
        start = time.monotonic()
        refused = self._network()
        if refused:
            self.report.add("install", "skipped", refused, start)
            return False
        source: list[str] = []
        if self.settings.wheelhouse:
            source = ["--no-index", "--find-links", self.settings.wheelhouse]
        elif self.settings.index_url:
            source = ["--index-url", self.settings.index_url]
        python = str(self.venv / "bin" / "python")
        if self.uv:
            argv = [self.uv, "pip", "install", "--no-config", "--python", python, *source]
            self._dependencies(argv)
            argv += self.plan.install
        else:
            argv = [python, "-m", "pip", "install", "--quiet", *source, *self.plan.install]
        lines: list[str] = []
        code = self.ctx.run(
            self._narrowed(argv),
            cwd=self.project,
            env=self._project_env,
            check=False,
            on_line=lines.append,
        )
        if code != 0:
            self._fail("install", error_line(lines, code), start)
            return False
        where = "the local wheelhouse" if self.settings.wheelhouse else "the package index"
        self.report.add("install", "passed", f"installed from {where}", start)
        return True

    def _dependencies(self, install: list[str]) -> None:
        """Installs what the project's metadata says it depends on, wheels only, with the agent's
        shared cache: nothing of the project's is built or run. What this leaves out (or a
        failure) the narrowed install then does with its own cache."""
        extras = own_extras(self.plan.install)
        wanted = None if extras is None else static_requirements(self.project, extras)
        if not wanted:
            return
        lines: list[str] = []
        code = self.ctx.run(
            [*install, "--no-build", *wanted],
            cwd=self.project,
            env=self._env,
            check=False,
            on_line=lines.append,
        )
        if code != 0:
            self.ctx.log.info(
                "the dependencies are installed with the project instead, from a cache of its"
                f" own: {error_line(lines, code)}"
            )

    def _tests(self) -> None:
        if not self.plan.test:
            self.report.add(
                "tests", "skipped", "the template declares no test command", time.monotonic()
            )
            return
        self.progress("running the project's tests")
        start = time.monotonic()
        lines: list[str] = []
        code = self.ctx.run(
            self._narrowed(self.plan.test),
            cwd=self.project,
            env=self._project_env,
            check=False,
            on_line=lines.append,
        )
        summary = _summary(lines) or (f"exit code {code}" if code == 0 else error_line(lines, code))
        if code == 0:
            self.report.add("tests", "passed", summary, start)
        else:
            self._fail("tests", summary, start)

    def _probe(self, server: Child, port: int) -> Check:
        """The serve check: GET the health URL until it answers 200, the server exits, or
        ``serve_timeout`` passes (the caller adds it to the report)."""
        self.progress("asking the dev server for its health URL")
        start = time.monotonic()
        status = 0
        deadline = start + self.settings.serve_timeout
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = _get(port, self.plan.health, self.settings.probe_interval * 20)
            except OSError:
                status = 0
            if status == 200:
                break
            if self.ctx.cancelled.wait(self.settings.probe_interval):
                break
        exited = server.poll()
        self.ctx.cancelled.raise_if_cancelled()
        url = f"http://127.0.0.1:{port}{self.plan.health}"
        seconds = round(time.monotonic() - start, 3)
        if status == 200:
            return Check("serve", "passed", f"GET {url} answered 200", seconds)
        if exited is not None:
            why = f"the dev server exited with code {exited} before answering {url}"
        else:
            answered = f"answered {status}" if status else "did not answer"
            why = f"{url} {answered} within {self.settings.serve_timeout:g} s"
        return Check("serve", "failed", why, seconds)

    def _docker(self) -> None:
        start = time.monotonic()
        if not (self.project / "Dockerfile").is_file():
            return
        docker = shutil.which("docker")
        if docker is None:
            self.report.add("docker", "skipped", "Docker is not installed on this machine", start)
            return
        lines: list[str] = []
        code = self.ctx.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            check=False,
            on_line=lines.append,
        )
        if code != 0:
            why = error_line(lines, code)
            self.report.add("docker", "skipped", f"Docker's daemon is not reachable: {why}", start)
            return
        self.progress("building the Docker image")
        lines.clear()
        code = self.ctx.run(
            [docker, "build", "-q", "."], cwd=self.project, check=False, on_line=lines.append
        )
        if code == 0:
            self.report.add("docker", "passed", "image built", start)
        else:
            self._fail("docker", error_line(lines, code), start)
