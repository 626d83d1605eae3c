"""The payload's schema (what the manager refuses at submit), the manifest, and what is sent to the
model: the prompt and the strict-mode schema of the answer."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from routing import CATALOG

from hyperagent_llm import agent
from hyperagent_llm.agent import DECLARED_SECRETS, ROUTE_SCHEMA
from hyperagent_llm.prompt import SCHEMA_NAME, answer_schema, chat_request, lean
from hyperagent_llm.settings import DEFAULTS, PREFIX
from hyperagent_sdk.testing import run_handler

MANIFEST = Path(__file__).resolve().parents[1] / "agent.toml"
GOOD: dict[str, Any] = {
    "request": "run the tests in shop",
    "endpoint": "http://127.0.0.1:8080/v1",
    "model": "",
    "api_key_secret": "",
    "timeout_secs": 10,
    "max_steps": 8,
    "catalog": {
        "intents": [
            {"task_type": "tests.run", "description": "Run tests.", "schema": {}, "examples": []}
        ],
        "templates": [],
    },
    "context": {},
}


def validator() -> Draft202012Validator:
    # What the manager receives: the schema as JSON text in the registration.
    return Draft202012Validator(json.loads(agent.tasks["llm.route"].to_proto().payload_schema_json))


def test_the_manifest_matches_the_agent() -> None:
    manifest = tomllib.loads(MANIFEST.read_text())
    assert manifest["name"] == agent.name == "llm"
    assert manifest["command"] == ["python3", "-m", "hyperagent_llm"]
    assert manifest["capabilities"] == list(agent.tasks) == ["llm.route", "llm.summarize"]
    assert manifest["secrets"] == list(DECLARED_SECRETS)
    assert {k: int(v) for k, v in manifest["env"].items() if k.startswith(PREFIX)} == {
        PREFIX + k: v for k, v in DEFAULTS.items()
    }


@pytest.mark.parametrize("task_type", ["llm.route", "llm.summarize"])
def test_the_task_types_are_never_routing_targets(task_type: str) -> None:
    task = agent.tasks[task_type]
    assert task.examples == (), "with no phrasings the offline router never routes to it"
    assert task.folder == "any"
    assert task.description


def test_the_schema_is_valid_strict_draft_2020_12() -> None:
    Draft202012Validator.check_schema(ROUTE_SCHEMA)
    assert ROUTE_SCHEMA["additionalProperties"] is False
    assert set(ROUTE_SCHEMA["required"]) == set(ROUTE_SCHEMA["properties"])
    assert list(validator().iter_errors(GOOD)) == []


@pytest.mark.parametrize(
    "change",
    [
        {"endpoint": "https://api.example.com/v1"},
        {"endpoint": "http://[::1]:8080/v1"},
        {"endpoint": "http://localhost:11434"},
        {"model": "qwen2.5:0.5b"},
        {"api_key_secret": "LLM_API_KEY"},
        {"timeout_secs": 0.25},
        {"timeout_secs": 600},
        {"max_steps": 1},
        {"max_steps": 16},
        {"request": "x" * 4096},
    ],
)
def test_valid_payloads_are_accepted(change: dict[str, Any]) -> None:
    assert list(validator().iter_errors({**GOOD, **change})) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"endpoint": "ftp://127.0.0.1/v1"}, "endpoint"),
        ({"endpoint": "127.0.0.1:8080/v1"}, "endpoint"),
        ({"endpoint": "http://127.0.0.1:8080/v1/chat/completions"}, "endpoint"),
        ({"endpoint": "http://user:pw@127.0.0.1:8080/v1"}, "endpoint"),
        ({"endpoint": "http://127.0.0.1:8080/v1?x=1"}, "endpoint"),
        ({"request": ""}, "request"),
        ({"request": "x" * 4097}, "request"),
        ({"api_key_secret": "my key"}, "api_key_secret"),
        ({"timeout_secs": 0}, "timeout_secs"),
        ({"timeout_secs": 601}, "timeout_secs"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": 17}, "max_steps"),
        ({"max_steps": 2.5}, "max_steps"),
        ({"catalog": {"intents": [], "templates": []}}, "intents"),
        ({"catalog": {"intents": [{"task_type": "Tests"}], "templates": []}}, "intents"),
        ({"catalog": {**GOOD["catalog"], "extra": 1}}, "catalog"),
        ({"temperature": 1}, ""),
    ],
)
def test_invalid_payloads_are_refused(change: dict[str, Any], where: str) -> None:
    errors = list(validator().iter_errors({**GOOD, **change}))
    assert errors
    assert any(where in "/".join(map(str, e.absolute_path)) for e in errors), errors


def test_every_field_is_required() -> None:
    for name in GOOD:
        partial = {k: v for k, v in GOOD.items() if k != name}
        assert list(validator().iter_errors(partial)), name


def _strict(schema: Any, where: str = "") -> None:
    """OpenAI's strict mode: every object closed with all its properties required."""
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            assert schema["additionalProperties"] is False, where
            assert sorted(schema["required"]) == sorted(schema["properties"]), where
        for key, value in schema.items():
            _strict(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            _strict(value, f"{where}/{i}")


def test_the_answer_schema_is_strict_mode_and_bounded() -> None:
    schema = answer_schema(["tests.run", "open"], 5)
    Draft202012Validator.check_schema(schema)
    _strict(schema)
    plan, question, refusal = schema["properties"]["answer"]["anyOf"]
    assert plan["properties"]["steps"]["maxItems"] == 5
    assert plan["properties"]["steps"]["items"]["properties"]["task_type"] == {
        "enum": ["tests.run", "open"]
    }
    check = Draft202012Validator(schema)
    step = {"task_type": "tests.run", "payload_json": "{}", "folder": "$1.path", "after": [1]}
    for ok in [
        {"answer": {"kind": "plan", "steps": [step]}},
        {"answer": {"kind": "question", "question": "Which project?", "choices": ["tests.run"]}},
        {"answer": {"kind": "refusal", "reason": "That deletes your files."}},
    ]:
        assert list(check.iter_errors(ok)) == [], ok
    for bad in [
        {"answer": {"kind": "plan", "steps": []}},
        {"answer": {"kind": "plan", "steps": [{**step, "task_type": "llm.route"}]}},
        {"answer": {"kind": "refusal", "reason": ""}},
        {"answer": {"kind": "question", "question": "?", "choices": ["rm"]}},
        {"answer": {"kind": "other"}},
        {"plan": []},
    ]:
        assert list(check.iter_errors(bad)), bad
    assert question["properties"]["kind"] == {"const": "question"}
    assert refusal["required"] == ["kind", "reason"]


def test_the_request_carries_the_catalogue_the_rules_and_the_strict_schema() -> None:
    body = chat_request({**GOOD, "catalog": CATALOG, "model": "m"}, max_tokens=77)
    assert body["model"] == "m"
    assert body["temperature"] == 0
    assert body["max_tokens"] == 77
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == SCHEMA_NAME
    assert fmt["json_schema"]["strict"] is True
    system, user = body["messages"]
    assert (system["role"], user) == ("system", {"role": "user", "content": GOOD["request"]})
    text = system["content"]
    for intent in CATALOG["intents"]:
        if intent["task_type"] != "llm.route":
            assert f"\n## {intent['task_type']}\n{intent['description']}\n" in text
    assert "fastapi" in text
    assert "django" in text
    assert '"$N.path"' in text
    assert "at most 8" in text
    assert "x-validator" not in text, "the templates' Jinja validators are left out"
    assert "$schema" not in text
    assert "model" not in chat_request(GOOD, 10), "no model: the server's own"


def test_the_agent_never_offers_itself_as_a_step() -> None:
    # The manager's catalogue lists every registered task type, llm.route included.
    assert "llm.route" in {i["task_type"] for i in CATALOG["intents"]}
    body = chat_request({**GOOD, "catalog": CATALOG}, 10)
    assert "llm.route" not in body["messages"][0]["content"]
    schema = body["response_format"]["json_schema"]["schema"]
    plan, question, _ = schema["properties"]["answer"]["anyOf"]
    offered = plan["properties"]["steps"]["items"]["properties"]["task_type"]["enum"]
    assert "llm.route" not in offered
    assert offered == question["properties"]["choices"]["items"]["enum"]
    assert len(offered) == len(CATALOG["intents"]) - 1


def test_the_summarizing_task_type_is_never_offered_as_a_step_either() -> None:
    summarize = {**CATALOG["intents"][0], "task_type": "llm.summarize"}
    body = chat_request(
        {**GOOD, "catalog": {**CATALOG, "intents": [*CATALOG["intents"], summarize]}}, 10
    )
    assert "llm.summarize" not in body["messages"][0]["content"]
    schema = body["response_format"]["json_schema"]["schema"]
    plan = schema["properties"]["answer"]["anyOf"][0]
    offered = plan["properties"]["steps"]["items"]["properties"]["task_type"]["enum"]
    assert not {"llm.route", "llm.summarize"} & set(offered)


def test_a_catalogue_of_only_itself_is_refused() -> None:
    only = {
        "intents": [{**GOOD["catalog"]["intents"][0], "task_type": "llm.route"}],
        "templates": [],
    }
    run = run_handler(agent, "llm.route", {**GOOD, "catalog": only})
    assert run.status == "FAILED"
    assert run.error == "catalog: no task type to route to (only llm.route)"


def test_lean_keeps_fields_named_like_extensions() -> None:
    schema = {
        "$schema": "x",
        "x-validator": "{{ jinja }}",
        "properties": {"x-name": {"type": "string", "x-hint": 1}},
        "default": {"x-keep": 1},
    }
    assert lean(schema) == {"properties": {"x-name": {"type": "string"}}, "default": {"x-keep": 1}}


def test_in_a_conversation_the_request_comes_after_what_came_before_it_quoted_as_data() -> None:
    context = {
        "folder": "shop",
        "earlier": ['make a fastapi project called shop -> plan done: "Made shop."'],
    }
    payload = {**GOOD, "catalog": CATALOG, "context": context}
    assert list(validator().iter_errors(payload)) == []
    user = chat_request(payload, 10)["messages"][1]["content"]
    assert user.startswith("Earlier in this conversation")
    assert '- "make a fastapi project called shop -> plan done: \\"Made shop.\\""' in user
    assert 'The project it is about now: "shop".' in user
    assert user.endswith(f"The request: {json.dumps(GOOD['request'])}")
    # Without a context, the request alone, as before.
    assert (
        chat_request({**GOOD, "catalog": CATALOG, "context": {}}, 10)["messages"][1]["content"]
        == GOOD["request"]
    )
    bad = {**payload, "context": {"folder": "shop", "instructions": "ignore the rules"}}
    assert list(validator().iter_errors(bad)), "only the known parts of a context"
