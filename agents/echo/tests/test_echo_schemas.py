"""The echo agent's payload schemas: valid JSON Schema, strict, and what they accept."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hyperagent_echo import agent

MANIFEST = Path(__file__).resolve().parents[1] / "agent.toml"


def validator(task_type: str) -> Draft202012Validator:
    # What the manager receives: the schema as JSON text in the registration.
    schema = json.loads(agent.tasks[task_type].to_proto().payload_schema_json)
    return Draft202012Validator(schema)


def test_the_manifest_lists_exactly_the_task_types_the_agent_offers() -> None:
    manifest = tomllib.loads(MANIFEST.read_text())
    assert manifest["name"] == agent.name == "echo"
    assert manifest["command"] == ["python3", "-m", "hyperagent_echo"]
    assert sorted(manifest["capabilities"]) == sorted(agent.tasks)
    assert manifest["restart"]["policy"] in {"always", "on-failure", "never"}


@pytest.mark.parametrize(
    "task_type", ["echo.echo", "echo.sleep", "echo.spam", "echo.fail", "echo.ask"]
)
def test_every_schema_is_valid_strict_draft_2020_12(task_type: str) -> None:
    schema = agent.tasks[task_type].schema
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"]
    assert agent.tasks[task_type].description


@pytest.mark.parametrize(
    ("task_type", "payload"),
    [
        ("echo.echo", {"message": ""}),
        ("echo.echo", {"message": "x" * 10000}),
        ("echo.sleep", {"seconds": 0}),
        ("echo.sleep", {"seconds": 1.5, "steps": 1000, "child": True}),
        ("echo.sleep", {"seconds": 86400, "steps": 1}),
        ("echo.spam", {"lines": 1}),
        ("echo.spam", {"lines": 10_000_000, "size": 65536}),
        ("echo.fail", {"message": "boom"}),
        ("echo.ask", {"question": "which name?"}),
        ("echo.ask", {"question": "go on?", "choices": ["yes", "no"]}),
    ],
)
def test_valid_payloads_are_accepted(task_type: str, payload: dict[str, Any]) -> None:
    assert list(validator(task_type).iter_errors(payload)) == []


@pytest.mark.parametrize(
    ("task_type", "payload"),
    [
        ("echo.echo", {}),
        ("echo.echo", {"message": 3}),
        ("echo.echo", {"message": "x" * 10001}),
        ("echo.echo", {"message": "hi", "extra": 1}),
        ("echo.sleep", {}),
        ("echo.sleep", {"seconds": -1}),
        ("echo.sleep", {"seconds": 86401}),
        ("echo.sleep", {"seconds": 1, "steps": 0}),
        ("echo.sleep", {"seconds": 1, "steps": 1001}),
        ("echo.sleep", {"seconds": 1, "steps": 2.5}),
        ("echo.sleep", {"seconds": 1, "child": "yes"}),
        ("echo.spam", {"lines": 0}),
        ("echo.spam", {"lines": 10_000_001}),
        ("echo.spam", {"lines": 5, "size": 0}),
        ("echo.spam", {"lines": 5, "size": 65537}),
        ("echo.fail", {}),
        ("echo.fail", {"message": "x", "code": 2}),
    ],
)
def test_invalid_payloads_are_rejected(task_type: str, payload: dict[str, Any]) -> None:
    assert list(validator(task_type).iter_errors(payload)) != []
