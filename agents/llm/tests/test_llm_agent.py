"""``llm.route`` run in memory through the SDK's own code, against a real llama.cpp server (the
xllamacpp wheel) serving the tiny random-weights model: the exchange, the answer's shape, and
each way it can fail, with the message it fails with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llama_server import llama_server
from routing import CATALOG, route_payload

from hyperagent_llm import agent
from hyperagent_llm.prompt import KINDS
from hyperagent_sdk import CancellationToken, TaskContext
from hyperagent_sdk.testing import LoggedLine, run_handler

TYPES = {i["task_type"] for i in CATALOG["intents"]}
#: A catalogue of three task types and no template: a short prompt, for the tests of failures.
SMALL = {
    "intents": [
        i
        for i in CATALOG["intents"]
        if i["task_type"] in {"bootstrap.project", "tests.run", "open"}
    ],
    "templates": [],
}

#: An `llm.route` payload on the whole catalogue; keywords replace its fields.
payload = route_payload


def test_a_good_answer_is_parsed_with_model_usage_and_time(endpoint: str) -> None:
    run = run_handler(agent, "llm.route", payload(endpoint))
    assert run.status == "SUCCEEDED", run.error
    out = run.output
    assert set(out) == {"answer", "model", "usage", "elapsed_ms"}
    answer = out["answer"]
    assert answer["kind"] in KINDS
    # The tiny model's weights are random: only the shape is the test's to check. (What it
    # deterministically answers is in the README's Numbers.)
    if answer["kind"] == "plan":
        assert 1 <= len(answer["steps"]) <= 8
        for step in answer["steps"]:
            assert set(step) == {"task_type", "payload_json", "folder", "after"}
            assert step["task_type"] in TYPES - {"llm.route"}
    assert out["model"].endswith("tiny.gguf")
    assert out["usage"]["prompt_tokens"] > 10_000  # the whole catalogue went in the prompt
    assert out["usage"]["completion_tokens"] > 0
    assert out["elapsed_ms"] > 0
    assert run.summary.startswith(f"a {answer['kind']}" if answer["kind"] != "plan" else "a plan")
    port = endpoint.split(":")[2].split("/", maxsplit=1)[0]
    messages = run.messages("INFO")
    assert messages[0] == f"connecting to 127.0.0.1:{port} directly"
    assert messages[1].startswith("sent ")
    assert messages[1].endswith(f"bytes to {endpoint}/chat/completions; waiting for the answer")
    assert messages[2].startswith("answer in ")


def test_the_same_request_gets_the_same_answer(endpoint: str) -> None:
    first = run_handler(agent, "llm.route", payload(endpoint, catalog=SMALL))
    second = run_handler(agent, "llm.route", payload(endpoint, catalog=SMALL))
    assert first.status == second.status == "SUCCEEDED", (first.error, second.error)
    assert first.output["answer"] == second.output["answer"]


def test_a_trailing_slash_on_the_endpoint_is_the_same_endpoint(endpoint: str) -> None:
    run = run_handler(agent, "llm.route", payload(endpoint + "/", catalog=SMALL))
    assert run.status == "SUCCEEDED", run.error


def test_a_server_that_is_down_is_named(closed_port: int) -> None:
    run = run_handler(agent, "llm.route", payload(f"http://127.0.0.1:{closed_port}/v1"))
    assert run.status == "FAILED"
    assert run.error == f"cannot reach 127.0.0.1:{closed_port}: connection refused"


def test_a_server_that_never_answers_fails_at_the_time_limit(silent_port: int) -> None:
    run = run_handler(
        agent,
        "llm.route",
        payload(f"http://127.0.0.1:{silent_port}/v1", timeout_secs=0.5, catalog=SMALL),
    )
    assert run.status == "FAILED"
    assert run.error == (
        f"no answer from 127.0.0.1:{silent_port} within 0.5s (the payload's timeout_secs)"
    )


def test_an_egress_proxy_that_is_not_there_is_named(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{closed_port}")
    run = run_handler(agent, "llm.route", payload("http://127.0.0.1:8080/v1", catalog=SMALL))
    assert run.status == "FAILED"
    assert run.error == (
        f"cannot reach the egress proxy at 127.0.0.1:{closed_port} (for 127.0.0.1:8080):"
        " connection refused"
    )
    assert run.messages("INFO")[0] == (
        f"connecting to 127.0.0.1:8080 through the egress proxy 127.0.0.1:{closed_port}"
    )


def test_a_proxy_that_does_not_decide_in_time_says_consent_may_be_waiting(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{silent_port}")
    run = run_handler(
        agent, "llm.route", payload("https://llm.example:443/v1", timeout_secs=0.5, catalog=SMALL)
    )
    assert run.status == "FAILED"
    assert run.error == (
        "no answer from llm.example:443 within 0.5s (the payload's timeout_secs); the egress"
        " proxy had not opened the connection yet (a consent request may be waiting for an"
        " answer)"
    )


def test_cancelling_stops_the_exchange_at_once(silent_port: int) -> None:
    token = CancellationToken()

    def on_log(line: LoggedLine) -> None:
        if line.message.startswith("sent "):
            token.cancel("the person changed their mind")

    run = run_handler(
        agent,
        "llm.route",
        payload(f"http://127.0.0.1:{silent_port}/v1", timeout_secs=60, catalog=SMALL),
        cancel=token,
        on_log=on_log,
    )
    assert run.status == "CANCELED"
    assert run.error == "the person changed their mind"


def test_the_pure_random_model_answers_nonsense_of_the_right_shape(wrong_endpoint: str) -> None:
    # Random weights inside the grammar: a refusal whose reason is noise. Its shape is right,
    # so the agent hands it over; judging it is the manager's part.
    run = run_handler(agent, "llm.route", payload(wrong_endpoint, catalog=SMALL))
    assert run.status == "SUCCEEDED", run.error
    assert run.output["answer"]["kind"] in KINDS
    assert run.output["model"].endswith("tiny-pure-random.gguf")


def test_an_answer_cut_at_max_tokens_fails_naming_the_setting(
    wrong_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYPERAGENT_LLM_MAX_TOKENS", "20")
    run = run_handler(agent, "llm.route", payload(wrong_endpoint, catalog=SMALL))
    assert run.status == "FAILED"
    assert run.error.startswith(
        "the model's answer was cut at max_tokens (20, HYPERAGENT_LLM_MAX_TOKENS) before its"
        ' JSON ended: {"answer"'
    ), run.error


def test_a_prompt_beyond_the_models_context_is_the_servers_http_error(endpoint: str) -> None:
    huge = {
        "intents": [
            {**i, "description": "x " * 8000}
            for i in CATALOG["intents"]
            if i["task_type"] != "open"
        ],
        "templates": [],
    }
    run = run_handler(agent, "llm.route", payload(endpoint, catalog=huge))
    assert run.status == "FAILED"
    assert run.error.startswith(
        f"the model endpoint {endpoint}/chat/completions answered HTTP 400 Bad Request: {{"
    ), run.error
    assert "context" in run.error


def test_a_reply_longer_than_the_limit_is_not_read(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYPERAGENT_LLM_MAX_REPLY_BYTES", "100")
    run = run_handler(agent, "llm.route", payload(endpoint, catalog=SMALL))
    assert run.status == "FAILED"
    port = endpoint.split(":")[2].split("/", maxsplit=1)[0]
    assert run.error == (
        f"the reply of 127.0.0.1:{port} is longer than 100 bytes (HYPERAGENT_LLM_MAX_REPLY_BYTES)"
    )


def test_a_bad_setting_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERAGENT_LLM_MAX_TOKENS", "lots")
    run = run_handler(agent, "llm.route", payload("http://127.0.0.1:9/v1"))
    assert run.status == "FAILED"
    assert run.error == (
        "the llm agent's settings (agent.toml [env]): HYPERAGENT_LLM_MAX_TOKENS='lots' must be a"
        " whole number of at least 1"
    )


def test_a_secret_the_manifest_does_not_declare_is_refused_before_asking() -> None:
    run = run_handler(agent, "llm.route", payload("http://127.0.0.1:9/v1", api_key_secret="AWS"))
    assert run.status == "FAILED"
    assert run.error == (
        "api_key_secret `AWS` is not a secret this agent declares; it declares `LLM_API_KEY`"
        " (secrets = [...] in its agent.toml)"
    )


def test_the_api_key_is_sent_as_a_bearer_token_and_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-test-" + "5f0c2a9e7d41"
    asked: list[str] = []

    def secret(_ctx: TaskContext, name: str) -> str:
        asked.append(name)
        return key

    monkeypatch.setattr(TaskContext, "secret", secret)
    with llama_server(tmp_path, api_key=key) as url:
        run = run_handler(agent, "llm.route", payload(url, catalog=SMALL))
        without = run_handler(agent, "llm.route", payload(url, catalog=SMALL, api_key_secret=""))
        keyed = run_handler(
            agent, "llm.route", payload(url, catalog=SMALL, api_key_secret="LLM_API_KEY")
        )
    assert run.status == "FAILED", "the server wants its key"
    assert run.error.startswith(f"the model endpoint {url}/chat/completions answered HTTP 401")
    assert without.status == "FAILED"
    assert keyed.status == "SUCCEEDED", keyed.error
    assert asked == ["LLM_API_KEY"]
    shown = json.dumps(
        [keyed.output, keyed.summary, [(x.message, dict(x.fields)) for x in keyed.logs]]
    )
    assert key not in shown
