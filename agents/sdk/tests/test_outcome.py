"""How a handler's return value or exception becomes the task's result."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hyperagent.v1 import common_pb2
from hyperagent_sdk import (
    Agent,
    Artifact,
    CancellationToken,
    Outcome,
    TaskCancelled,
    TaskContext,
    TaskFailed,
)
from hyperagent_sdk.outcome import result_from_exception, result_from_return
from hyperagent_sdk.testing import LoggedLine, run_handler


def agent_returning(value: object) -> Agent:
    agent = Agent("outcome-test")

    @agent.task("t")
    def handler(ctx: TaskContext, payload: dict[str, Any]) -> Any:
        return value

    return agent


def agent_raising(exc: BaseException) -> Agent:
    agent = Agent("outcome-test")

    @agent.task("t")
    def handler(ctx: TaskContext, payload: dict[str, Any]) -> None:
        raise exc

    return agent


def test_a_dict_succeeds_with_it_as_output_and_its_summary() -> None:
    run = run_handler(agent_returning({"n": 3, "summary": "three"}), "t")
    assert run.status == "SUCCEEDED"
    assert run.result.output_json == json.dumps({"n": 3, "summary": "three"})
    assert run.summary == "three"
    assert run.error == ""


def test_a_dict_without_summary_has_an_empty_one() -> None:
    run = run_handler(agent_returning({"n": 3}), "t")
    assert (run.status, run.summary, run.output) == ("SUCCEEDED", "", {"n": 3})


def test_a_string_is_the_summary() -> None:
    run = run_handler(agent_returning("all done"), "t")
    assert (run.status, run.summary, run.result.output_json) == ("SUCCEEDED", "all done", "")


def test_none_is_a_plain_success() -> None:
    run = run_handler(agent_returning(None), "t")
    assert run.result == common_pb2.TaskResult(status=common_pb2.RESULT_STATUS_SUCCEEDED)


def test_an_outcome_is_taken_as_given() -> None:
    outcome = Outcome(
        summary="built",
        output=["a", 1],
        artifacts=[Artifact("report", "file", "/srv/report.pdf", "the report")],
        exit_code=2,
    )
    run = run_handler(agent_returning(outcome), "t")
    assert run.status == "SUCCEEDED"
    assert (run.summary, run.output, run.exit_code) == ("built", ["a", 1], 2)
    assert run.artifacts == [Artifact("report", "file", "/srv/report.pdf", "the report")]


def test_an_outcome_without_output_has_no_output_json() -> None:
    run = run_handler(agent_returning(Outcome(summary="s")), "t")
    assert run.result.output_json == ""


def test_task_failed_gives_its_message_and_exit_code() -> None:
    run = run_handler(agent_raising(TaskFailed("disk full", exit_code=28)), "t")
    assert (run.status, run.error, run.exit_code) == ("FAILED", "disk full", 28)
    assert run.messages("ERROR") == []  # an expected failure: no traceback
    assert run.result.output_json == ""


def test_task_failed_may_carry_output_that_the_failed_result_keeps() -> None:
    checks = {"checks": [{"name": "tests", "status": "failed"}]}
    run = run_handler(agent_raising(TaskFailed("tests failed", output=checks)), "t")
    assert run.status == "FAILED"
    assert json.loads(run.result.output_json) == checks


def test_any_other_exception_fails_with_its_type_and_message_and_logs_the_traceback() -> None:
    run = run_handler(agent_raising(ValueError("bad input")), "t")
    assert (run.status, run.error, run.exit_code) == ("FAILED", "ValueError: bad input", 1)
    (traceback,) = run.messages("ERROR")
    assert traceback.startswith("Traceback (most recent call last):")
    assert traceback.endswith("ValueError: bad input")


def test_an_exception_without_message_is_named_by_its_type() -> None:
    run = run_handler(agent_raising(KeyError()), "t")
    assert run.error == "KeyError"


def test_task_cancelled_raised_by_the_handler_cancels_with_its_reason() -> None:
    run = run_handler(agent_raising(TaskCancelled("gave up")), "t")
    assert (run.status, run.error) == ("CANCELED", "gave up")


def test_returning_after_cancellation_is_canceled_with_the_cancel_reason() -> None:
    agent = Agent("outcome-test")
    token = CancellationToken()

    @agent.task("t")
    def handler(ctx: TaskContext, payload: dict[str, Any]) -> str:
        ctx.log.info("working")
        return "finished anyway"

    run = run_handler(agent, "t", cancel=token, on_log=lambda _line: token.cancel("user asked"))
    assert (run.status, run.error, run.summary) == ("CANCELED", "user asked", "")


def test_an_exception_after_cancellation_is_canceled_and_the_traceback_a_warning() -> None:
    agent = Agent("outcome-test")
    token = CancellationToken()

    @agent.task("t")
    def handler(ctx: TaskContext, payload: dict[str, Any]) -> None:
        ctx.log.info("working")
        raise BrokenPipeError("child went away")

    def cancel(line: LoggedLine) -> None:
        token.cancel("user asked")

    run = run_handler(agent, "t", cancel=token, on_log=cancel)
    assert (run.status, run.error) == ("CANCELED", "user asked")
    assert run.messages("ERROR") == []
    assert "BrokenPipeError: child went away" in run.messages("WARN")[0]


def test_a_task_cancelled_before_it_starts_does_not_run() -> None:
    calls: list[str] = []
    agent = Agent("outcome-test")

    @agent.task("t")
    def handler(ctx: TaskContext, payload: dict[str, Any]) -> None:
        calls.append("ran")

    token = CancellationToken()
    token.cancel("stopped early")
    run = run_handler(agent, "t", cancel=token)
    assert (run.status, run.error, calls) == ("CANCELED", "stopped early", [])


@pytest.mark.parametrize("value", [42, ["a"], object()])
def test_an_unexpected_return_type_fails(value: object) -> None:
    run = run_handler(agent_returning(value), "t")
    assert run.status == "FAILED"
    assert run.error.startswith(f"TypeError: handler returned {type(value).__name__}")


def test_output_that_is_not_json_fails() -> None:
    run = run_handler(agent_returning({"when": object()}), "t")
    assert run.status == "FAILED"
    assert run.error.startswith("handler output is not JSON: TypeError")


def test_the_mapping_functions_directly() -> None:
    token = CancellationToken()
    assert result_from_return("x", token).summary == "x"
    assert result_from_exception(RuntimeError("r"), token).error == "RuntimeError: r"
    token.cancel("why")
    assert result_from_return("x", token).status == common_pb2.RESULT_STATUS_CANCELED
    failed = result_from_exception(TaskFailed("explicit", 4), token)
    assert (failed.status, failed.error, failed.exit_code) == (
        common_pb2.RESULT_STATUS_FAILED,
        "explicit",
        4,
    )
