"""The fallback when the venv has no pytest (a unittest project's own ``.venv``):
``python -m unittest discover``, its text report read into the same result.

Progress is per test too (``-v`` prints one line per test as it ends); there is no per-test
file:line beyond what the traceback says.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from hyperagent_sdk import Outcome, TaskContext
from hyperagent_sdk.narrow import TEMP_VARS, narrowed

from . import junit
from .environment import Settings, Venv

#: "test_x (tests.test_mod.TestCase.test_x) ... ok" (3.11+) or "test_x (tests.test_mod.TestCase)"
_RESULT = re.compile(r"^(?P<name>\S+) \((?P<where>[^)]+)\)(?: \.\.\. |$)(?P<outcome>.*)$")
_BLOCK = re.compile(r"^(?P<kind>FAIL|ERROR): (?P<name>\S+) \((?P<where>[^)]+)\)")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_SEP = "=" * 70


def parse(
    lines: list[str], project: str, limit: int
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Counts and failures from ``unittest -v`` output."""
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0, "flaky": 0, "total": 0}
    for line in lines:
        m = _RESULT.match(line)
        if not m:
            continue
        outcome = m["outcome"].strip()
        if outcome == "ok":
            counts["passed"] += 1
        elif outcome == "FAIL":
            counts["failed"] += 1
        elif outcome == "ERROR":
            counts["errors"] += 1
        elif outcome.startswith(("skipped", "expected failure")):
            counts["skipped"] += 1
    counts["total"] = sum(v for k, v in counts.items() if k != "total")
    failures: list[dict[str, Any]] = []
    text = "\n".join(lines)
    for block in text.split(_SEP)[1:]:
        body = block.strip("\n").splitlines()
        m = _BLOCK.match(body[0]) if body else None
        if not m:
            continue
        where = m["where"]
        test_id = where if where.endswith("." + m["name"]) else f"{where}.{m['name']}"
        rest = body[2:]
        # The last block ends with unittest's own "----" line and "Ran N tests": not the trace.
        end = next((i for i, line in enumerate(rest) if line.startswith("-" * 70)), len(rest))
        trace = "\n".join(rest[:end]).strip()
        file, line_no = "", 0
        for tl in trace.splitlines():
            fm = _FRAME.match(tl)
            if fm and "/lib/python" not in fm["file"]:
                file, line_no = fm["file"], int(fm["line"])
        if file.startswith(project.rstrip("/") + "/"):
            file = file[len(project.rstrip("/")) + 1 :]
        message = trace.splitlines()[-1] if trace else ""
        failures.append(
            {
                "id": test_id,
                "kind": "failed" if m["kind"] == "FAIL" else "error",
                "file": file,
                "line": line_no,
                "message": message,
                "traceback": junit.trim(trace, limit, project),
            }
        )
    return counts, failures


_OUTCOMES = {"ok": "passed", "FAIL": "failed", "ERROR": "error"}


def outcomes(lines: list[str]) -> list[dict[str, Any]]:
    """Every test ``unittest -v`` reported, in order: ``{"id", "outcome"}`` (passed, failed,
    error, skipped); unittest names no file or line for a test that did not fail."""
    out: list[dict[str, Any]] = []
    for line in lines:
        m = _RESULT.match(line)
        if not m:
            continue
        said = m["outcome"].strip()
        where = m["where"]
        test_id = where if where.endswith("." + m["name"]) else f"{where}.{m['name']}"
        outcome = _OUTCOMES.get(said)
        if outcome is None and said.startswith(("skipped", "expected failure")):
            outcome = "skipped"
        if outcome is not None:
            out.append({"id": test_id, "outcome": outcome, "file": "", "line": 0, "seconds": 0.0})
    return out


def run_unittest(
    ctx: TaskContext,
    venv: Venv,
    project: Path,
    payload: dict[str, Any],
    settings: Settings,
    *,
    scratch: Path,
) -> Outcome:
    """The tests, narrowed as pytest's are (see :mod:`.agent`): they write only the project and
    ``scratch``."""
    from .agent import summarize  # noqa: PLC0415 - one summary format, defined with the agent

    ctx.progress(0.15, "running the tests (unittest: pytest is not installed in the venv)")
    argv = [str(venv.interpreter), "-m", "unittest", "discover", "-v"]
    if payload.get("fail_fast", False):
        argv.append("--failfast")
    if "k" in payload:
        argv += ["-k", payload["k"]]
    lines: list[str] = []
    done = 0

    def seen(line: str) -> None:
        nonlocal done
        lines.append(line)
        if _RESULT.match(line):
            done += 1
            ctx.progress(-1.0, f"{done} tests run")

    started = time.monotonic()
    code = ctx.run(
        narrowed(argv, write=[project, scratch], allow_unconfined=True),
        cwd=project,
        env={
            "PYTHONDONTWRITEBYTECODE": "1",
            "VIRTUAL_ENV": str(venv.path),
            **dict.fromkeys(TEMP_VARS, str(scratch)),
        },
        check=False,
        on_line=seen,
    )
    seconds = time.monotonic() - started
    counts, failures = parse(lines, str(project), settings.traceback_chars)
    summary = summarize(counts, seconds)
    return Outcome(
        summary=summary,
        output={
            "summary": summary,
            "framework": "unittest",
            "python": venv.python,
            "venv": venv.as_json(),
            "counts": counts,
            "duration": round(seconds, 3),
            "failures": failures[: settings.max_failures],
            "failures_omitted": max(len(failures) - settings.max_failures, 0),
            "flaky": [],
            "tests": (every := outcomes(lines))[: settings.max_tests],
            "tests_omitted": max(len(every) - settings.max_tests, 0),
            "unittest_exit_code": code,
            "ignored": [
                k for k in ("markers", "node_ids", "rerun_failures", "timeout") if payload.get(k)
            ],
        },
        exit_code=1 if failures else 0,
    )
