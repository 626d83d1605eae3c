"""hyperagent_sdk.testing.run_handler: the in-memory harness for agents' own tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hyperagent_sdk import Agent, TaskContext
from hyperagent_sdk.testing import LoggedLine, run_handler

agent = Agent("testing-test", version="1.2.3", max_concurrency=2)
seen: dict[str, Any] = {}


@agent.task("t.inspect", schema={"type": "object"}, description="Look at the context.")
def inspect(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    seen.update(
        task_id=ctx.task_id,
        task_type=ctx.task_type,
        workspace=ctx.workspace,
        workspace_existed=ctx.workspace.is_dir(),
        attempt=ctx.attempt,
        deadline=ctx.deadline,
    )
    ctx.log.trace("t")
    ctx.log.debug("d")
    ctx.log.info("i", count=3, ok=True)
    ctx.log.warn("w")
    ctx.log.error("e", path=Path("/x"))
    ctx.progress(0.5, "half")
    ctx.progress(2.0)  # clamped to 1.0
    ctx.progress(float("nan"), "unknown")  # NaN means unknown: negative
    return {"payload": payload}


def test_logs_are_recorded_with_seq_level_message_and_string_fields() -> None:
    run = run_handler(agent, "t.inspect", {"x": 1})
    assert [(line.seq, line.level, line.message) for line in run.logs] == [
        (1, "TRACE", "t"),
        (2, "DEBUG", "d"),
        (3, "INFO", "i"),
        (4, "WARN", "w"),
        (5, "ERROR", "e"),
    ]
    assert run.logs[2].fields == {"count": "3", "ok": "True"}
    assert run.logs[4].fields == {"path": "/x"}
    assert run.messages("WARN") == ["w"]


def test_progress_is_recorded_uncoalesced_and_sanitised() -> None:
    run = run_handler(agent, "t.inspect", {})
    assert run.progress == [(0.5, "half"), (1.0, ""), (-1.0, "unknown")]


def test_the_context_carries_the_task_description(tmp_path: Path) -> None:
    deadline = datetime(2030, 1, 1, tzinfo=UTC)
    run = run_handler(
        agent,
        "t.inspect",
        {"x": [1, 2]},
        task_id="task-9",
        workspace=tmp_path,
        attempt=3,
        deadline=deadline,
    )
    assert run.output == {"payload": {"x": [1, 2]}}
    assert seen["task_id"] == "task-9"
    assert seen["task_type"] == "t.inspect"
    assert seen["workspace"] == tmp_path
    assert (seen["attempt"], seen["deadline"]) == (3, deadline)


def test_the_default_workspace_is_a_temporary_directory_removed_afterwards() -> None:
    run_handler(agent, "t.inspect", {})
    assert seen["workspace_existed"] is True
    assert not Path(seen["workspace"]).exists()


def test_callbacks_see_lines_and_progress_as_they_happen() -> None:
    lines: list[LoggedLine] = []
    progress: list[tuple[float, str]] = []
    run_handler(
        agent,
        "t.inspect",
        {},
        on_log=lines.append,
        on_progress=lambda f, s: progress.append((f, s)),
    )
    assert [line.message for line in lines] == ["t", "d", "i", "w", "e"]
    assert progress[0] == (0.5, "half")


def test_the_payload_goes_through_json_like_on_the_wire() -> None:
    run = run_handler(agent, "t.inspect", {"t": (1, 2)})
    assert run.output == {"payload": {"t": [1, 2]}}


def test_an_unknown_task_type_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"no task type 'nope' \(it has: t.inspect\)"):
        run_handler(agent, "nope")


def test_the_agent_describes_its_task_types() -> None:
    definition = agent.tasks["t.inspect"]
    assert definition.description == "Look at the context."
    proto = definition.to_proto()
    assert (proto.name, proto.payload_schema_json) == ("t.inspect", '{"type": "object"}')


def test_a_task_type_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="already registered"):
        agent.task("t.inspect")(inspect)


def test_examples_are_declared_with_the_task_type_and_one_string_is_refused() -> None:
    other = Agent("examples-test")

    @other.task("t", examples=["count to ten", "count from 3 to 7"])
    def handler(ctx: TaskContext, payload: dict[str, Any]) -> None:
        """Count."""

    declared = other.tasks["t"].to_proto()
    assert list(declared.examples) == ["count to ten", "count from 3 to 7"]
    with pytest.raises(TypeError, match="not one string"):
        other.task("u", examples="count to ten")  # type: ignore[arg-type]


def test_the_description_defaults_to_the_docstrings_first_line() -> None:
    other = Agent("doc-test")

    @other.task("t")
    def handler(ctx: TaskContext, payload: dict[str, Any]) -> None:
        """Do the thing.

        At length.
        """

    assert other.tasks["t"].description == "Do the thing."
    assert other.tasks["t"].schema == {"type": "object"}
