"""The LLM agent: ``llm.route`` asks a language model behind an OpenAI-compatible endpoint to turn
a request in plain words into a plan, a question or a refusal, against the catalogue the manager
hands over.

The manager submits it when the person has configured a model endpoint, waits for it with a time
limit, and checks the answer against the live catalogue itself (falling back to its offline
router when this agent is absent, fails, is slow, or answers wrongly). This agent therefore only
makes the exchange and checks its shape: a JSON object whose ``answer`` is an object of a known
``kind``. The model is reached through the egress proxy (:mod:`.transport`), so every connection
is the person's to allow and is audited.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from hyperagent_sdk import Agent, Outcome, SettingError, TaskContext, TaskFailed

from . import prompt
from .prompt import ROUTE
from .settings import Settings
from .transport import (
    AbortedError,
    Exchange,
    Proxy,
    Reply,
    Target,
    TimeoutExceededError,
    TransportError,
    excerpt,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
VERSION = "0.1.0"

#: The secrets this agent's manifest declares (``secrets = [...]`` in agent.toml): the only names
#: ``api_key_secret`` may give.
DECLARED_SECRETS = ("LLM_API_KEY",)

agent = Agent(name="llm", version=VERSION, max_concurrency=4, cost=1.0)

_TASK_TYPE = {"type": "string", "pattern": "^[a-z][a-z0-9._-]{0,127}$"}

ROUTE_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "llm.route payload",
    "description": (
        "A request in plain words, the model endpoint to ask, and the catalogue to route against."
        " Sent by the manager when [router] model_endpoint is configured."
    ),
    "type": "object",
    "properties": {
        "request": {
            "type": "string",
            "minLength": 1,
            "maxLength": 4096,
            "description": "What the person asked, as they wrote it.",
        },
        "endpoint": {
            "type": "string",
            "maxLength": 2048,
            "pattern": "^https?://[^\\s/?#@]+(/[^\\s?#]*)?$",
            "not": {"pattern": "/chat/completions/?$"},
            "description": (
                "The OpenAI-compatible API's base URL, http:// or https://, without"
                " /chat/completions (e.g. http://127.0.0.1:8080/v1)."
            ),
        },
        "model": {
            "type": "string",
            "maxLength": 256,
            "description": 'The model to ask for; "": the server\'s own (no `model` sent).',
        },
        "api_key_secret": {
            "type": "string",
            "maxLength": 128,
            "pattern": "^[A-Za-z0-9_.-]*$",
            "description": (
                'The secret holding the API key, sent as a Bearer token; "": none. One of the'
                f" secrets the agent declares: {', '.join(DECLARED_SECRETS)}."
            ),
        },
        "timeout_secs": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 600,
            "description": "How long the whole exchange may take, connecting included.",
        },
        "max_steps": {
            "type": "integer",
            "minimum": 1,
            "maximum": 16,
            "description": "The most steps a plan may have.",
        },
        "catalog": {
            "type": "object",
            "properties": {
                "intents": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 256,
                    "items": {
                        "type": "object",
                        "properties": {
                            "task_type": _TASK_TYPE,
                            "description": {"type": "string", "maxLength": 16384},
                            "schema": {"type": "object"},
                            "examples": {
                                "type": "array",
                                "maxItems": 64,
                                "items": {"type": "string", "minLength": 1, "maxLength": 16384},
                            },
                        },
                        "required": ["task_type", "description", "schema", "examples"],
                        "additionalProperties": False,
                    },
                },
                "templates": {
                    "type": "array",
                    "maxItems": 256,
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "minLength": 1, "maxLength": 128},
                            "answers_schema": {"type": "object"},
                        },
                        "required": ["name", "answers_schema"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["intents", "templates"],
            "additionalProperties": False,
            "description": "The task types to route to and the project templates, as they are now.",
        },
    },
    "required": [
        "request",
        "endpoint",
        "model",
        "api_key_secret",
        "timeout_secs",
        "max_steps",
        "catalog",
    ],
    "additionalProperties": False,
}


def _settings() -> Settings:
    try:
        return Settings.load(os.environ)
    except SettingError as err:
        raise TaskFailed(f"the llm agent's settings (agent.toml [env]): {err}") from err


def _api_key(ctx: TaskContext, name: str) -> str:
    if name not in DECLARED_SECRETS:
        raise TaskFailed(
            f"api_key_secret `{name}` is not a secret this agent declares; it declares"
            f" {', '.join(f'`{s}`' for s in DECLARED_SECRETS)} (secrets = [...] in its agent.toml)"
        )
    return ctx.secret(name)


def _target(endpoint: str) -> Target:
    try:
        return Target.parse(endpoint.rstrip("/") + "/chat/completions")
    except ValueError as err:
        raise TaskFailed(f"endpoint: {err}") from err


def _exchange(ctx: TaskContext, exchange: Exchange) -> Reply:
    """Runs the exchange; the task's cancellation stops it at once."""
    remove = ctx.cancelled.add_callback(lambda _reason: exchange.abort())
    try:
        return exchange.run()
    except AbortedError:
        ctx.cancelled.raise_if_cancelled()
        raise
    except TimeoutExceededError as err:
        why = f"; {err.waiting}" if err.waiting else ""
        raise TaskFailed(f"{err} (the payload's timeout_secs){why}") from err
    except TransportError as err:
        raise TaskFailed(str(err)) from err
    finally:
        remove()


def parse_reply(reply: Reply, url: str, max_tokens: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The server's reply -> (its JSON, the model's ``answer``); :class:`TaskFailed` naming what
    is wrong, with an excerpt, otherwise."""
    if reply.status != 200:
        raise TaskFailed(
            f"the model endpoint {url} answered HTTP {reply.status} {reply.reason}:"
            f" {excerpt(reply.body) or '(no body)'}"
        )
    try:
        data = json.loads(reply.body)
    except ValueError:
        raise TaskFailed(
            f"the model endpoint's reply is not JSON: {excerpt(reply.body) or '(empty)'}"
        ) from None
    try:
        choice = data["choices"][0]
        content = choice["message"]["content"]
        if not isinstance(content, str):
            raise TypeError(type(content).__name__)
    except (KeyError, IndexError, TypeError):
        raise TaskFailed(
            f"the model endpoint's reply has no choices[0].message.content: {excerpt(reply.body)}"
        ) from None
    cut = choice.get("finish_reason") == "length"
    try:
        answer = json.loads(content)["answer"]
        if not isinstance(answer, dict):
            raise TypeError(type(answer).__name__)
    except ValueError:
        if cut:
            raise TaskFailed(
                f"the model's answer was cut at max_tokens ({max_tokens},"
                f" HYPERAGENT_LLM_MAX_TOKENS) before its JSON ended: {excerpt(content)}"
            ) from None
        raise TaskFailed(
            f"the model's answer is not JSON: {excerpt(content) or '(empty)'}"
        ) from None
    except (KeyError, TypeError):
        raise TaskFailed(
            f"the model's answer has no `answer` object: {excerpt(content) or '(empty)'}"
        ) from None
    if answer.get("kind") not in prompt.KINDS:
        raise TaskFailed(
            f"the model's answer is of kind {answer.get('kind')!r}, not one of"
            f" {', '.join(prompt.KINDS)}: {excerpt(content)}"
        )
    return data, answer


def _usage(data: dict[str, Any]) -> dict[str, int]:
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return {}
    counts = {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens")}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
        return {k: int(v or 0) for k, v in counts.items()}
    return {}


def _summary(answer: dict[str, Any], model: str, ms: int) -> str:
    kind = answer["kind"]
    if kind == "plan" and isinstance(answer.get("steps"), list):
        steps = answer["steps"]
        types = ", ".join(str(s.get("task_type")) for s in steps if isinstance(s, dict))
        what = f"a plan of {len(steps)} step{'s' if len(steps) != 1 else ''} ({types})"
    else:
        what = f"a {kind}"
    return f"{what} from {model or 'the model'} in {ms} ms"


@agent.task(
    ROUTE,
    schema=ROUTE_SCHEMA,
    description=(
        "Ask a language model (an OpenAI-compatible endpoint, through the egress proxy) to turn a"
        " request into a plan, a question or a refusal, against the catalogue given. The manager"
        " submits it; people do not."
    ),
    folder="any",
)
def route(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    s = _settings()
    catalog = prompt.routable(payload["catalog"])
    if not catalog["intents"]:
        raise TaskFailed(f"catalog: no task type to route to (only {ROUTE})")
    target = _target(payload["endpoint"])
    url = f"{target.scheme}://{target.address}{target.path}"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if payload["api_key_secret"]:
        headers["Authorization"] = f"Bearer {_api_key(ctx, payload['api_key_secret'])}"
    body = json.dumps(prompt.chat_request(payload, s.max_tokens)).encode()
    try:
        proxy = Proxy.from_env(os.environ)
    except TransportError as err:
        raise TaskFailed(str(err)) from err
    limit = float(payload["timeout_secs"])
    via = f"through the egress proxy {proxy.host}:{proxy.port}" if proxy else "directly"
    ctx.log.info(f"connecting to {target.address} {via}", endpoint=payload["endpoint"])
    ctx.progress(0.1, f"connecting to {target.address}")

    def sent() -> None:
        ctx.log.info(
            f"sent {len(body)} bytes to {url}; waiting for the answer",
            task_types=len(prompt.task_types(catalog)),
            max_tokens=s.max_tokens,
        )
        ctx.progress(0.3, "waiting for the model")

    started = time.monotonic()
    exchange = Exchange(
        target,
        body,
        headers,
        proxy=proxy,
        timeout=limit,
        max_reply_bytes=s.max_reply_bytes,
        on_sent=sent,
    )
    reply = _exchange(ctx, exchange)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    data, answer = parse_reply(reply, url, s.max_tokens)
    reported = data.get("model")
    model: str = reported if isinstance(reported, str) else payload["model"]
    usage = _usage(data)
    ctx.log.info(
        f"answer in {elapsed_ms} ms: {answer['kind']}",
        model=model,
        bytes=len(reply.body),
        **usage,
    )
    return Outcome(
        summary=_summary(answer, model, elapsed_ms),
        output={"answer": answer, "model": model, "usage": usage, "elapsed_ms": elapsed_ms},
    )
