"""The test-runner agent: ``tests.run`` runs a project's tests and reports what failed.

Steps, each reported as progress with its log lines: find the framework -> find or make the venv
(the project's own ``.venv`` when its Python fits, else one in the agent's state folder) -> run
pytest with the progress plugin and JUnit XML -> rerun what failed when asked (a test that passes
on a rerun is flaky) -> the result (counts, duration, failures with file:line, flaky tests).
The project folder is only read: no cache, no bytecode, no report is written into it.

The tests are the project's code: they run narrowed (:func:`hyperagent_sdk.narrow.narrowed`), to
writing the project and the run's private folder (their ``TMPDIR`` and ``XDG_CACHE_HOME``, the
report), nothing of the agent's state: not uv's cache, not the venvs it keeps for other projects
(nor this one's), so they cannot change what the next run installs or imports. They read what the
task may. See :mod:`.environment` for the install.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyperagent_sdk import Agent, Outcome, SettingError, TaskCancelled, TaskContext, TaskFailed
from hyperagent_sdk.narrow import TEMP_VARS, narrowed

from . import junit
from .environment import Environment, Settings, Venv
from .progress import EventFile, Tally
from .unittest_run import run_unittest

DRAFT = "https://json-schema.org/draft/2020-12/schema"
PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"
PLUGIN = "hyperagent_testrunner_progress"
#: Output lines kept to explain a run that ended without a report.
TAIL_LINES = 20

agent = Agent(name="testrunner", version="0.1.0", max_concurrency=2, cost=1.0)

#: A node id: a relative path inside the project, then ``::`` parts; never an option.
NODE_ID = r"^(?!-)(?!/)(?!.*(^|/)\.\.(/|::|$))[^\n\r\x00]+$"

TESTS_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "tests.run payload",
    "type": "object",
    "properties": {
        "python": {
            "type": "string",
            "pattern": r"^3\.[0-9]{1,2}$",
            "description": (
                "The Python version to run on, as X.Y (\"3.11\"). Default: the project's .venv's,"
                " else the newest installed. Never downloaded."
            ),
        },
        "k": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1000,
            "pattern": r"^[^\n\r\x00]+$",
            "description": "Only tests whose names match this expression (pytest -k).",
        },
        "node_ids": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": NODE_ID},
            "maxItems": 1000,
            "uniqueItems": True,
            "description": (
                "Only these tests or files, as pytest names them"
                ' ("tests/test_api.py::test_health", "tests/test_models.py").'
            ),
        },
        "markers": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1000,
            "pattern": r"^[^\n\r\x00]+$",
            "description": "Only tests whose markers match this expression (pytest -m).",
        },
        "fail_fast": {
            "type": "boolean",
            "default": False,
            "description": "Stop at the first failure (pytest -x).",
        },
        "rerun_failures": {
            "type": "integer",
            "minimum": 0,
            "maximum": 10,
            "default": 0,
            "description": (
                "Run failed tests again up to this many times; one that then passes is reported"
                " flaky, not failed."
            ),
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 86400,
            "description": "Seconds a single test may run before it fails as timed out.",
        },
    },
    "additionalProperties": False,
}


@dataclass
class Run:
    """One pytest run: its test cases (from JUnit XML), exit code and wall time."""

    cases: list[junit.Case]
    exit_code: int
    seconds: float
    tail: list[str] = field(default_factory=list)


def framework(project: Path) -> str:
    """``pytest`` when the project configures or imports it, ``unittest`` when its tests are
    ``unittest.TestCase``s only, else ``pytest`` (which runs plain test functions too)."""
    if (project / "pytest.ini").is_file() or (project / "conftest.py").is_file():
        return "pytest"
    for name, marker in (
        ("pyproject.toml", "[tool.pytest"),
        ("setup.cfg", "[tool:pytest]"),
        ("tox.ini", "[pytest]"),
    ):
        f = project / name
        if f.is_file() and marker in f.read_text(errors="replace"):
            return "pytest"
    uses_unittest = False
    for f in _test_files(project):
        text = f.read_text(errors="replace")
        if re.search(r"^\s*(import pytest|from pytest )", text, re.MULTILINE):
            return "pytest"
        uses_unittest = uses_unittest or "unittest" in text
    return "unittest" if uses_unittest else "pytest"


def _test_files(project: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in ("test_*.py", "*_test.py"):
        for f in project.rglob(pattern):
            rel = f.relative_to(project).parts
            if not any(p.startswith(".") or p in {"node_modules", "site-packages"} for p in rel):
                found.append(f)
            if len(found) >= 200:
                return found
    return found


class Runner:
    """One ``tests.run`` task: its settings, project, venv and the pytest runs."""

    def __init__(self, ctx: TaskContext, payload: dict[str, Any], settings: Settings) -> None:
        self.ctx = ctx
        self.payload = payload
        self.settings = settings
        self.project = ctx.workspace
        self.scratch = Path(tempfile.mkdtemp(prefix="tests-run-"))

    def env(self, venv: Venv, events: Path) -> dict[str, str]:
        bin_dir = str(venv.path / "bin")
        extra = os.environ.get("PYTHONPATH", "")
        return {
            "VIRTUAL_ENV": str(venv.path),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(p for p in (str(PLUGIN_DIR), extra) if p),
            "PYTHONDONTWRITEBYTECODE": "1",  # nothing written into the project
            "HYPERAGENT_TESTRUNNER_EVENTS": str(events),
            "HYPERAGENT_TESTRUNNER_TEST_TIMEOUT": str(self.payload.get("timeout", "")),
            **dict.fromkeys(TEMP_VARS, str(self.scratch)),
        }

    def argv(self, venv: Venv, report: Path, ids: Sequence[str] | None) -> list[str]:
        argv = [
            str(venv.interpreter),
            "-m",
            "pytest",
            "-p",
            PLUGIN,
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "-o",
            "junit_family=xunit1",
            "--tb=short",
            "--color=no",
            "-q",
        ]
        if self.payload.get("fail_fast", False):
            argv.append("-x")
        if ids is not None:  # a rerun: exactly these tests
            return [*argv, "--", *ids]
        if "k" in self.payload:
            argv += ["-k", self.payload["k"]]
        if "markers" in self.payload:
            argv += ["-m", self.payload["markers"]]
        return [*argv, "--", *self.payload.get("node_ids", [])]

    def pytest(self, venv: Venv, name: str, ids: Sequence[str] | None, label: str) -> Run:
        report = self.scratch / f"{name}.xml"
        events = self.scratch / f"{name}.events"
        tally = Tally()
        reader = EventFile(events)
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        started = time.monotonic()
        shown = ""

        def show() -> None:
            nonlocal shown
            for event in reader.read():
                tally.feed(event)
            line = f"{label}{tally.line()}"
            if line != shown:
                shown = line
                self.ctx.progress(tally.fraction, line)

        argv = self.argv(venv, report, ids)
        self.ctx.log.info("running", command=" ".join(argv))
        with self.ctx.start(
            narrowed(argv, write=[self.project, self.scratch], allow_unconfined=True),
            cwd=self.project,
            env=self.env(venv, events),
            on_line=tail.append,
        ) as child:
            while child.poll() is None and not self.ctx.cancelled.is_set():
                show()
                self.ctx.cancelled.wait(self.settings.poll_interval)
            code = child.stop()
        self.ctx.cancelled.raise_if_cancelled()
        show()
        self.ctx.log.info(f"pytest exited with code {code}: {shown}")
        seconds = time.monotonic() - started
        try:
            cases = junit.read(
                report, limit=self.settings.traceback_chars, project=str(self.project)
            )
        except junit.JUnitError as err:
            said = "\n".join(tail) or "(no output)"
            raise TaskFailed(
                f"pytest exited with code {code} without a report ({err}):\n{said}"
            ) from err
        if code in (3, 4) and not cases:
            said = "\n".join(list(tail)[-5:])
            raise TaskFailed(f"pytest refused to run (exit code {code}): {said}")
        return Run(cases, code, seconds, list(tail))

    def run(self) -> Outcome:
        ctx = self.ctx
        ctx.progress(0.0, "finding the test framework")
        kind = framework(self.project)
        ctx.log.info("test framework", framework=kind)
        venv = Environment(ctx, self.settings, self.project, self.scratch).prepare(
            self.payload.get("python"), need_pytest=kind == "pytest"
        )
        if not venv.has_pytest:
            return run_unittest(
                ctx, venv, self.project, self.payload, self.settings, scratch=self.scratch
            )
        ctx.progress(0.15, "running the tests")
        first = self.pytest(venv, "run", None, "")
        final = {c.id: c for c in first.cases}
        flaky: list[dict[str, Any]] = []
        seconds = first.seconds
        for attempt in range(1, int(self.payload.get("rerun_failures", 0)) + 1):
            again = [
                c.id for c in final.values() if c.outcome in {"failed", "error"} and "::" in c.id
            ]
            if not again:
                break
            ctx.log.info("rerunning what failed", attempt=attempt, tests=len(again))
            rerun = self.pytest(venv, f"rerun-{attempt}", again, f"rerun {attempt}: ")
            seconds += rerun.seconds
            for case in rerun.cases:
                before = final.get(case.id)
                if before is None or before.outcome not in {"failed", "error"}:
                    continue
                if case.outcome == "passed":
                    flaky.append(
                        {
                            "id": case.id,
                            "passed_on_attempt": attempt + 1,
                            "first_failure": before.message,
                        }
                    )
                    before.outcome = "flaky"
        return self.result(
            kind=kind,
            venv=venv,
            first=first,
            cases=list(final.values()),
            flaky=flaky,
            seconds=seconds,
        )

    def result(
        self,
        *,
        kind: str,
        venv: Venv,
        first: Run,
        cases: list[junit.Case],
        flaky: list[dict[str, Any]],
        seconds: float,
    ) -> Outcome:
        counts = dict.fromkeys(("passed", "failed", "skipped", "errors", "flaky"), 0)
        for c in cases:
            counts["errors" if c.outcome == "error" else c.outcome] += 1
        counts["total"] = len(cases)
        failures = [
            {
                "id": c.id,
                "kind": c.outcome,
                "file": c.file,
                "line": c.line,
                "message": c.message,
                "traceback": c.traceback,
            }
            for c in cases
            if c.outcome in {"failed", "error"}
        ]
        summary = summarize(counts, seconds)
        if kind == "unittest":
            kind = "unittest (run by pytest)"
        exit_code = 1 if failures else 0
        return Outcome(
            summary=summary,
            output={
                "summary": summary,
                "framework": kind,
                "python": venv.python,
                "venv": venv.as_json(),
                "counts": counts,
                "duration": round(seconds, 3),
                "failures": failures[: self.settings.max_failures],
                "failures_omitted": max(len(failures) - self.settings.max_failures, 0),
                "flaky": flaky,
                "tests": [
                    {
                        "id": c.id,
                        "outcome": c.outcome,
                        "file": c.file,
                        "line": c.line,
                        "seconds": round(c.seconds, 3),
                    }
                    for c in cases[: self.settings.max_tests]
                ],
                "tests_omitted": max(len(cases) - self.settings.max_tests, 0),
                "pytest_exit_code": first.exit_code,
            },
            exit_code=exit_code,
        )

    def cleanup(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def summarize(counts: dict[str, int], seconds: float) -> str:
    """ "120 tests: 117 passed, 2 failed, 1 skipped (3.2 s)"."""
    total = counts.get("total", 0)
    parts = [
        f"{counts[k]} {k}"
        for k in ("passed", "failed", "errors", "flaky", "skipped")
        if counts.get(k)
    ]
    noun = "test" if total == 1 else "tests"
    return f"{total} {noun}: {', '.join(parts) or 'none ran'} ({seconds:.1f} s)"


@agent.task(
    "tests.run",
    schema=TESTS_SCHEMA,
    description=(
        "Run the tests of the project in the task's folder (pytest, unittest) in a uv venv;"
        " per-test progress, failures with file:line, flaky tests named."
    ),
    examples=(
        "run the tests in ~/src/api",
        "Run a unit test suite on python-3.11",
        "run the unit tests of shop with Python 3.12",
        "run only tests/test_orders.py in billing, stop at the first failure",
        "run the tests matching 'checkout' in shop and rerun the failures twice",
        "why do the tests in ~/src/api fail? run them and show me the failures",
        "run the tests marked 'not slow' in my project",
        "execute the pytest suite of billing",
    ),
    folder="existing",
)
def run_tests(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    project = ctx.workspace
    if project.is_symlink() or not project.is_dir():
        raise TaskFailed(f"the project folder {project} must be a real folder, not a link")
    if not any(project.iterdir()):
        raise TaskFailed(f"the project folder {project} is empty: there are no tests to run")
    try:
        settings = Settings.from_env(os.environ)
    except SettingError as err:
        raise TaskFailed(f"the test runner's settings (agent.toml [env]): {err}") from err
    run = Runner(ctx, payload, settings)
    try:
        return run.run()
    except TaskCancelled:
        ctx.log.info("cancelled: the test processes were stopped")
        raise
    finally:
        run.cleanup()
