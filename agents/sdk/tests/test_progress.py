"""Progress reporting: only the latest value of a task is sent, and it is retried."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc
import pytest
from fake_manager import FakeManager
from support import connect

from hyperagent_sdk.connection import Link
from hyperagent_sdk.progress import ProgressReporter


@pytest.fixture
def reporter(manager: FakeManager) -> Iterator[ProgressReporter]:
    link = Link(backoff_initial=0.001, backoff_max=0.01)
    connect(manager, link)
    reporter = ProgressReporter(link)
    reporter.start()
    yield reporter
    reporter.stop()
    link.shut()


def sent(manager: FakeManager, task_id: str) -> list[tuple[float, str]]:
    with manager.cond:
        return [
            (r.progress.fraction, r.progress.step) for r in manager.progress if r.task_id == task_id
        ]


def test_values_reported_while_one_is_in_flight_collapse_into_the_latest(
    manager: FakeManager, reporter: ProgressReporter
) -> None:
    release = manager.hold("ReportProgress")
    reporter.open("t", "cap-t")
    reporter.report("t", 0.1, "one")
    assert manager.wait_for(lambda: manager.calls["ReportProgress"] == 1)
    for i in range(2, 10):
        reporter.report("t", i / 10, f"step {i}")
    release.set()
    assert reporter.flush("t")
    assert sent(manager, "t") == [(0.1, "one"), (0.9, "step 9")]


def test_a_refused_value_is_retried(manager: FakeManager, reporter: ProgressReporter) -> None:
    manager.fail_next("ReportProgress", grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL)
    reporter.open("t", "cap-t")
    reporter.report("t", 0.5, "half")
    assert reporter.flush("t")
    assert manager.calls["ReportProgress"] == 3
    assert sent(manager, "t") == [(0.5, "half")]


def test_tasks_are_reported_independently(manager: FakeManager, reporter: ProgressReporter) -> None:
    reporter.open("a", "cap-a")
    reporter.open("b", "cap-b")
    reporter.report("a", 0.25, "")
    reporter.report("b", -1.0, "unknown amount")
    assert reporter.flush("a")
    assert reporter.flush("b")
    assert sent(manager, "a") == [(0.25, "")]
    assert sent(manager, "b") == [(-1.0, "unknown amount")]


def test_a_task_the_manager_disowns_is_not_reported_any_more(
    manager: FakeManager, reporter: ProgressReporter, caplog: pytest.LogCaptureFixture
) -> None:
    manager.fail_next("ReportProgress", grpc.StatusCode.NOT_FOUND)
    reporter.open("t", "cap-t")
    with caplog.at_level(logging.WARNING, logger="hyperagent_sdk"):
        reporter.report("t", 0.1, "")
        assert reporter.flush("t")
    assert "not reporting progress of task t any more" in caplog.text
    reporter.report("t", 0.2, "")  # ignored
    assert reporter.flush("t")
    assert manager.calls["ReportProgress"] == 1


def test_unknown_and_forgotten_tasks_are_ignored(
    manager: FakeManager, reporter: ProgressReporter
) -> None:
    reporter.report("never-opened", 0.5, "")
    reporter.open("t", "cap-t")
    reporter.forget("t")
    reporter.report("t", 0.5, "")
    assert reporter.flush("never-opened")
    assert reporter.flush("t")
    reporter.open("u", "cap-u")
    reporter.report("u", 1.0, "")  # sent after the ignored ones, so they had their chance
    assert reporter.flush("u")
    assert manager.calls["ReportProgress"] == 1
