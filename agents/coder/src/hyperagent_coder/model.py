"""One turn's exchange with the model: a chat-completions POST whose answer is held to a JSON
Schema in strict mode, through the egress proxy when there is one.

The HTTP exchange and the reading of the reply are the llm agent's (:mod:`hyperagent_llm.transport`,
:func:`hyperagent_llm.agent.parse_reply`), so both agents reach a model the same way and fail with
the same messages. What this adds is the accounting: each call's usage as the server reports it
(prompt, completion and total tokens), the time the exchange took, and llama.cpp's own timings
when the server gives them (``prompt_ms``: evaluating the prompt, roughly the time to the first
token; ``predicted_ms``: generating).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hyperagent_llm.agent import Limit, parse_reply, report_call, server_timings
from hyperagent_llm.transport import (
    AbortedError,
    Exchange,
    Proxy,
    Target,
    TimeoutExceededError,
    TransportError,
)
from hyperagent_sdk import TaskContext, TaskFailed

#: The secrets this agent's manifest declares: the only names ``api_key_secret`` may give.
DECLARED_SECRETS = ("LLM_API_KEY",)


@dataclass(frozen=True)
class Usage:
    """Tokens as the server counted them (zeros when it reported none)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Usage | None:
        """The reply's ``usage``, or None when it has none (or one that is not whole numbers)."""
        usage = data.get("usage")
        if not isinstance(usage, dict):
            return None
        counts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens")]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
            return None
        prompt, completion = int(counts[0] or 0), int(counts[1] or 0)
        total = usage.get("total_tokens")
        if not isinstance(total, int) or isinstance(total, bool):
            total = prompt + completion
        return cls(prompt, completion, total)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )


@dataclass(frozen=True)
class Call:
    """One answered call: the model's content (text and parsed), its usage and times."""

    content: str
    parsed: Any
    model: str
    usage: Usage
    usage_reported: bool
    model_ms: int
    #: llama.cpp's ``timings`` (``prompt_ms``, ``predicted_ms``), when the server sends them.
    timings: dict[str, float] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """What a log line and the result say of the call."""
        out: dict[str, Any] = {
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "total_tokens": self.usage.total_tokens,
            "model_ms": self.model_ms,
        }
        out.update(self.timings)
        return out


class Model:
    """The payload's endpoint, asked one turn at a time."""

    def __init__(
        self, ctx: TaskContext, payload: Mapping[str, Any], max_tokens: int, max_reply_bytes: int
    ) -> None:
        self.ctx = ctx
        self.name = str(payload.get("model", ""))
        self.timeout = float(payload.get("timeout_secs", 120))
        self.max_tokens = max_tokens
        self.max_reply_bytes = max_reply_bytes
        try:
            self.target = Target.parse(str(payload["endpoint"]).rstrip("/") + "/chat/completions")
        except ValueError as err:
            raise TaskFailed(f"endpoint: {err}") from err
        self.url = f"{self.target.scheme}://{self.target.address}{self.target.path}"
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        secret = str(payload.get("api_key_secret", ""))
        if secret:
            if secret not in DECLARED_SECRETS:
                raise TaskFailed(
                    f"api_key_secret `{secret}` is not a secret this agent declares; it declares"
                    f" {', '.join(f'`{s}`' for s in DECLARED_SECRETS)} (secrets = [...] in its"
                    " agent.toml)"
                )
            self.headers["Authorization"] = f"Bearer {ctx.secret(secret)}"
        try:
            self.proxy = Proxy.from_env(os.environ)
        except TransportError as err:
            raise TaskFailed(str(err)) from err

    @property
    def via(self) -> str:
        p = self.proxy
        return f"through the egress proxy {p.host}:{p.port}" if p else "directly"

    def body(self, messages: Sequence[Mapping[str, str]], schema: Mapping[str, Any]) -> bytes:
        request: dict[str, Any] = {
            "messages": list(messages),
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "hyperagent_tool_call", "strict": True, "schema": schema},
            },
        }
        if self.name:
            request = {"model": self.name, **request}
        return json.dumps(request).encode()

    def ask(self, messages: Sequence[Mapping[str, str]], schema: Mapping[str, Any]) -> Call:
        """One call; every failure is a :class:`TaskFailed` naming it, cancellation ends it."""
        exchange = Exchange(
            self.target,
            self.body(messages, schema),
            self.headers,
            proxy=self.proxy,
            timeout=self.timeout,
            max_reply_bytes=self.max_reply_bytes,
        )
        remove = self.ctx.cancelled.add_callback(lambda _reason: exchange.abort())
        started = time.monotonic()
        try:
            reply = exchange.run()
        except AbortedError:
            self.ctx.cancelled.raise_if_cancelled()
            raise
        except TimeoutExceededError as err:
            why = f"; {err.waiting}" if err.waiting else ""
            raise TaskFailed(f"{err} (the payload's timeout_secs){why}") from err
        except TransportError as err:
            raise TaskFailed(str(err)) from err
        finally:
            remove()
        model_ms = round((time.monotonic() - started) * 1000)
        data, content, parsed = parse_reply(
            reply, self.url, Limit(self.max_tokens, "HYPERAGENT_CODER_MAX_TOKENS")
        )
        usage = Usage.of(data)
        reported = data.get("model")
        model = reported if isinstance(reported, str) else self.name
        report_call(self.ctx, data, model, model_ms)
        return Call(
            content=content,
            parsed=parsed,
            model=model,
            usage=usage or Usage(),
            usage_reported=usage is not None,
            model_ms=model_ms,
            timings=server_timings(data),
        )
