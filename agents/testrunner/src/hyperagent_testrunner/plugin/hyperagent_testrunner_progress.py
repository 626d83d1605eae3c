"""A pytest plugin the test runner loads (``-p hyperagent_testrunner_progress``) in the project's
own Python: one JSON line per event, appended to the file ``HYPERAGENT_TESTRUNNER_EVENTS`` names,
so the agent can show progress while the tests run. JUnit XML stays the result's source.

Events: ``{"event": "collected", "total": N}``, ``{"event": "start", "id": NODEID}``,
``{"event": "done", "id": NODEID, "outcome": "passed|failed|skipped|error"}``.

With ``HYPERAGENT_TESTRUNNER_TEST_TIMEOUT`` (seconds), a test whose call runs longer fails with
"timed out" (SIGALRM, so only in the main thread, as pytest runs tests).

It runs in whatever Python the project uses: standard library and pytest only, no newer syntax.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Generator
from typing import IO, Any

import pytest

_out: IO[str] | None = None
_outcomes: dict[str, str] = {}
#: A worse outcome replaces a better one across a test's setup, call and teardown.
_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def _emit(event: dict[str, Any]) -> None:
    if _out is not None:
        _out.write(json.dumps(event) + "\n")
        _out.flush()


def pytest_configure(config: pytest.Config) -> None:
    global _out  # noqa: PLW0603 - one output per pytest process
    path = os.environ.get("HYPERAGENT_TESTRUNNER_EVENTS")
    if path and _out is None:
        _out = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole session


def pytest_unconfigure(config: pytest.Config) -> None:
    global _out  # noqa: PLW0603
    if _out is not None:
        _out.close()
        _out = None


def pytest_collection_finish(session: pytest.Session) -> None:
    _emit({"event": "collected", "total": len(session.items)})


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _emit({"event": "done", "id": report.nodeid, "outcome": "error"})


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    _emit({"event": "start", "id": nodeid})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        outcome = "failed" if report.when == "call" else "error"
    elif report.skipped:
        outcome = "skipped"
    else:
        outcome = "passed"
    before = _outcomes.get(report.nodeid, "passed")
    if _RANK[outcome] > _RANK[before]:
        _outcomes[report.nodeid] = outcome
    else:
        _outcomes[report.nodeid] = before
    if report.when == "teardown":
        _emit({"event": "done", "id": report.nodeid, "outcome": _outcomes.pop(report.nodeid)})


class TestTimeoutError(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    seconds = float(os.environ.get("HYPERAGENT_TESTRUNNER_TEST_TIMEOUT") or 0)
    if seconds <= 0:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TestTimeoutError(f"{item.nodeid} timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
