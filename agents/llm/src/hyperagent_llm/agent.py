"""The LLM agent: two task types that ask a language model behind an OpenAI-compatible endpoint.

``llm.route`` turns a request in plain words into a plan, a question or a refusal, against the
catalogue the manager hands over. The manager submits it when the person has configured a model
endpoint, waits for it with a time limit, and checks the answer against the live catalogue itself
(falling back to its offline router when this agent is absent, fails, is slow, or answers
wrongly). This agent therefore only makes the exchange and checks its shape: a JSON object whose
``answer`` is an object of a known ``kind``.

``llm.summarize`` writes the one answer a person reads about what a plan did, from what its steps
reported and the manager's own stitched summary; the agent checks it is a non-empty string of at
most 4000 characters.

Both share the payload's connection fields, the exchange (:func:`_ask`) and the reading of the
reply (:func:`parse_reply`). The model is reached through the egress proxy (:mod:`.transport`), so
every connection is the person's to allow and is audited.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hyperagent_sdk import Agent, Outcome, SettingError, TaskContext, TaskFailed

from . import prompt
from .prompt import ROUTE, STATES, SUMMARIZE, SUMMARY_MAX_CHARS
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

#: What both task types' payloads say about the model and how to reach it.
_CONNECTION: dict[str, Any] = {
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
}

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
        **_CONNECTION,
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
        "context": {
            "type": "object",
            "properties": {
                "folder": {
                    "type": "string",
                    "maxLength": 4096,
                    "description": "The project folder the conversation is about now.",
                },
                "earlier": {
                    "type": "array",
                    "maxItems": 16,
                    "items": {"type": "string", "maxLength": 8192},
                    "description": "The conversation's last requests and what became of each.",
                },
            },
            "additionalProperties": False,
            "description": (
                "When the request is one of a conversation's: what came before it (empty"
                " otherwise)."
            ),
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
        "context",
    ],
    "additionalProperties": False,
}


_STEP: dict[str, Any] = {
    "type": "object",
    "properties": {
        "number": {"type": "integer", "minimum": 1, "maximum": 16},
        "task_type": _TASK_TYPE,
        "state": {"enum": list(STATES)},
        "summary": {
            "type": "string",
            "maxLength": 4000,
            "description": "What the step's task reported, or why it did not run.",
        },
        "task_ids": {
            "type": "array",
            "maxItems": 16,
            "items": {"type": "string", "pattern": "^[0-9A-Fa-f][0-9A-Fa-f-]{7,63}$"},
            "description": "The step's tasks (a UUID each), the last the one that counted.",
        },
    },
    "required": ["number", "task_type", "state", "summary", "task_ids"],
    "additionalProperties": False,
}

SUMMARIZE_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "llm.summarize payload",
    "description": (
        "What a plan did, step by step, and the model endpoint to ask for the one summary a"
        " person reads. Sent by the manager when a plan ends."
    ),
    "type": "object",
    "properties": {
        "request": {
            "type": "string",
            "minLength": 1,
            "maxLength": 4096,
            "description": "The person's words that became the plan.",
        },
        **_CONNECTION,
        "steps": {"type": "array", "minItems": 1, "maxItems": 16, "items": _STEP},
        "offline_summary": {
            "type": "string",
            "maxLength": 16000,
            "description": "The manager's own summary, stitched from the steps: material only.",
        },
    },
    "required": [
        "request",
        "endpoint",
        "model",
        "api_key_secret",
        "timeout_secs",
        "steps",
        "offline_summary",
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


@dataclass(frozen=True)
class Limit:
    """The request's ``max_tokens`` and the setting it came from (named when an answer is cut)."""

    max_tokens: int
    setting: str


@dataclass(frozen=True)
class Answered:
    """What came back: the model's answer (``content``, as text and parsed) and what the result
    reports about the exchange."""

    content: str
    parsed: Any
    model: str
    usage: dict[str, int]
    elapsed_ms: int
    size: int

    def facts(self) -> dict[str, Any]:
        """What both task types' results say of the exchange: the model, its usage, the time."""
        return {"model": self.model, "usage": self.usage, "elapsed_ms": self.elapsed_ms}

    def log(self, ctx: TaskContext, message: str) -> None:
        """Logs the answer's arrival, with the model, the reply's size and the token counts."""
        ctx.log.info(message, model=self.model, bytes=self.size, **self.usage)


def parse_reply(reply: Reply, url: str, limit: Limit) -> tuple[dict[str, Any], str, Any]:
    """The server's reply -> (its JSON, the model's content, that content parsed as JSON);
    :class:`TaskFailed` naming what is wrong, with an excerpt, otherwise."""
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
    try:
        parsed = json.loads(content)
    except ValueError:
        if choice.get("finish_reason") == "length":
            raise TaskFailed(
                f"the model's answer was cut at max_tokens ({limit.max_tokens},"
                f" {limit.setting}) before its JSON ended: {excerpt(content)}"
            ) from None
        raise TaskFailed(
            f"the model's answer is not JSON: {excerpt(content) or '(empty)'}"
        ) from None
    return data, content, parsed


def route_answer(content: str, parsed: Any) -> dict[str, Any]:
    """``llm.route``'s answer: an ``answer`` object of a known ``kind``."""
    answer = parsed.get("answer") if isinstance(parsed, dict) else None
    if not isinstance(answer, dict):
        raise TaskFailed(
            f"the model's answer has no `answer` object: {excerpt(content) or '(empty)'}"
        )
    if answer.get("kind") not in prompt.KINDS:
        raise TaskFailed(
            f"the model's answer is of kind {answer.get('kind')!r}, not one of"
            f" {', '.join(prompt.KINDS)}: {excerpt(content)}"
        )
    return answer


def summary_text(content: str, parsed: Any) -> str:
    """``llm.summarize``'s answer: a ``summary`` string, stripped, of 1 to 4000 characters."""
    text = parsed.get("summary") if isinstance(parsed, dict) else None
    if not isinstance(text, str):
        raise TaskFailed(
            f"the model's answer has no `summary` string: {excerpt(content) or '(empty)'}"
        )
    text = text.strip()
    if not text:
        raise TaskFailed(f"the model's summary is empty: {excerpt(content)}")
    if len(text) > SUMMARY_MAX_CHARS:
        raise TaskFailed(
            f"the model's summary is {len(text)} characters long, more than {SUMMARY_MAX_CHARS}:"
            f" {excerpt(text)}"
        )
    return text


def server_timings(data: Mapping[str, Any]) -> dict[str, float]:
    """llama.cpp's ``timings`` of a reply (``prompt_ms``: evaluating the prompt, about the time to
    the first token; ``predicted_ms``: generating), those it sent."""
    t = data.get("timings")
    if not isinstance(t, dict):
        return {}
    return {
        k: round(float(t[k]), 3)
        for k in ("prompt_ms", "predicted_ms")
        if isinstance(t.get(k), int | float) and not isinstance(t.get(k), bool)
    }


def report_call(ctx: TaskContext, data: dict[str, Any], model: str, elapsed_ms: float) -> None:
    """Tells the manager of one model call (its tokens and times, as the server reported them),
    for the task's totals."""
    usage = _usage(data)
    timings = server_timings(data)
    ctx.report_model_call(
        model=model,
        elapsed_ms=elapsed_ms,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        first_token_ms=timings.get("prompt_ms", 0.0),
        generation_ms=timings.get("predicted_ms", 0.0),
    )


def _usage(data: dict[str, Any]) -> dict[str, int]:
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return {}
    counts = {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens")}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
        return {k: int(v or 0) for k, v in counts.items()}
    return {}


def _ask(
    ctx: TaskContext,
    payload: dict[str, Any],
    request: dict[str, Any],
    limit: Limit,
    max_reply_bytes: int,
    **sent_fields: Any,
) -> Answered:
    """Sends ``request`` (a chat-completions body) to the payload's endpoint, through the egress
    proxy when there is one, with the payload's key and time limit; logs and reports progress on
    the way. Every failure is a :class:`TaskFailed` naming it."""
    target = _target(payload["endpoint"])
    url = f"{target.scheme}://{target.address}{target.path}"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if payload["api_key_secret"]:
        headers["Authorization"] = f"Bearer {_api_key(ctx, payload['api_key_secret'])}"
    body = json.dumps(request).encode()
    try:
        proxy = Proxy.from_env(os.environ)
    except TransportError as err:
        raise TaskFailed(str(err)) from err
    via = f"through the egress proxy {proxy.host}:{proxy.port}" if proxy else "directly"
    ctx.log.info(f"connecting to {target.address} {via}", endpoint=payload["endpoint"])
    ctx.progress(0.1, f"connecting to {target.address}")

    def sent() -> None:
        ctx.log.info(
            f"sent {len(body)} bytes to {url}; waiting for the answer",
            **sent_fields,
            max_tokens=limit.max_tokens,
        )
        ctx.progress(0.3, "waiting for the model")

    started = time.monotonic()
    exchange = Exchange(
        target,
        body,
        headers,
        proxy=proxy,
        timeout=float(payload["timeout_secs"]),
        max_reply_bytes=max_reply_bytes,
        on_sent=sent,
    )
    reply = _exchange(ctx, exchange)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    data, content, parsed = parse_reply(reply, url, limit)
    reported = data.get("model")
    model = reported if isinstance(reported, str) else payload["model"]
    report_call(ctx, data, model, elapsed_ms)
    return Answered(
        content=content,
        parsed=parsed,
        model=model,
        usage=_usage(data),
        elapsed_ms=elapsed_ms,
        size=len(reply.body),
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _route_summary(answer: dict[str, Any], model: str, ms: int) -> str:
    kind = answer["kind"]
    if kind == "plan" and isinstance(answer.get("steps"), list):
        steps = answer["steps"]
        types = ", ".join(str(s.get("task_type")) for s in steps if isinstance(s, dict))
        what = f"a plan of {_plural(len(steps), 'step')} ({types})"
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
        given = ", ".join(prompt.task_types(payload["catalog"]))
        raise TaskFailed(f"catalog: no task type to route to (only {given})")
    got = _ask(
        ctx,
        payload,
        prompt.chat_request(payload, s.max_tokens),
        Limit(s.max_tokens, "HYPERAGENT_LLM_MAX_TOKENS"),
        s.max_reply_bytes,
        task_types=len(prompt.task_types(catalog)),
    )
    answer = route_answer(got.content, got.parsed)
    got.log(ctx, f"answer in {got.elapsed_ms} ms: {answer['kind']}")
    return Outcome(
        summary=_route_summary(answer, got.model, got.elapsed_ms),
        output={"answer": answer, **got.facts()},
    )


@agent.task(
    SUMMARIZE,
    schema=SUMMARIZE_SCHEMA,
    description=(
        "Ask a language model (an OpenAI-compatible endpoint, through the egress proxy) to write"
        " the one summary a person reads of what a plan did for their request, from what its"
        " steps reported. The manager submits it; people do not."
    ),
    folder="any",
)
def summarize(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    s = _settings()
    got = _ask(
        ctx,
        payload,
        prompt.summary_request(payload, s.summary_max_tokens),
        Limit(s.summary_max_tokens, "HYPERAGENT_LLM_SUMMARY_MAX_TOKENS"),
        s.max_reply_bytes,
        steps=len(payload["steps"]),
    )
    text = summary_text(got.content, got.parsed)
    chars = _plural(len(text), "character")
    got.log(ctx, f"summary in {got.elapsed_ms} ms: {chars}")
    steps = _plural(len(payload["steps"]), "step")
    return Outcome(
        summary=f"a summary of {steps} ({chars}) from {got.model or 'the model'} in"
        f" {got.elapsed_ms} ms",
        output={"summary": text, **got.facts()},
    )
