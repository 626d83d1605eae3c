"""What a plan costs over the task it runs: a one-step request in plain words (`Ask`, then
`AcceptPlan`, until the feed shows the plan ended: routing, the plan stored at each change, the
agent chosen and the task submitted, the summary) beside the same task submitted directly
(`SubmitTask` until the feed shows it completed), interleaved in one run, on the real manager with
the real, confined echo agent. Also the router's own time per request (the `micros` `Ask` returns).

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python bench/plans.py          # a Markdown table
    BENCH_RUNS=50 HYPERAGENT_BIN=/path/to/release/hyperagent ...
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import BIN, Manager, with_agent  # noqa: E402

from hyperagent.v1 import client_pb2, common_pb2  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "20"))
REQUEST = "echo hello world"
PAYLOAD = {"message": "hello world"}
ENDED = {
    client_pb2.PLAN_STATE_SUCCEEDED,
    client_pb2.PLAN_STATE_FAILED,
    client_pb2.PLAN_STATE_CANCELED,
}


def direct(m: Manager) -> float:
    start = time.perf_counter()
    done = m.wait_state(m.submit("echo.echo", PAYLOAD).id)
    took = time.perf_counter() - start
    if done.state != common_pb2.TASK_STATE_COMPLETED:
        raise RuntimeError(done.status_reason)
    return took


def planned(m: Manager, routing: list[float]) -> float:
    feed = m.events(after=None, exclude_logs=True)
    start = time.perf_counter()
    asked = m.client.Ask(client_pb2.AskRequest(text=REQUEST), timeout=30)
    routing.append(asked.micros / 1000)
    plan_id = asked.plan.id
    # The router leaves the message to the person here: the edit gives it, as the preview would.
    edit = client_pb2.StepEdit(number=1, payload_json=json.dumps(PAYLOAD))
    m.client.AcceptPlan(client_pb2.AcceptPlanRequest(plan_id=plan_id, edits=[edit]), timeout=30)
    state = None
    try:
        for ev in feed:
            if ev.HasField("plan") and ev.plan.plan.id == plan_id and ev.plan.plan.state in ENDED:
                state = ev.plan.plan.state
                break
    finally:
        feed.cancel()
    took = time.perf_counter() - start
    if state != client_pb2.PLAN_STATE_SUCCEEDED:
        raise RuntimeError(f"plan {plan_id} did not succeed")
    return took


def p90(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.9) - 1)]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="hyperagent-bench-plans-"))
    try:
        m = Manager(root=work, agents_dir=with_agent(work / "agents", "echo")).start()
        routing: list[float] = []
        ours, theirs = [], []
        try:
            m.wait_agent("echo", online=True)
            direct(m), planned(m, routing)  # warm-up
            routing.clear()
            for _ in range(RUNS):  # interleaved, so both see the same machine
                ours.append(planned(m, routing))
                theirs.append(direct(m))
        finally:
            m.stop()
        binary = "release" if "release" in str(BIN) else "debug"
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"`{REQUEST}` (echo.echo), median of {RUNS} interleaved runs ({binary} binary)\n")
        print("| path | median | p90 |")
        print("|---|---|---|")
        rows = [
            ("`Ask` + `AcceptPlan` until the plan ended", a * 1000, p90(ours) * 1000),
            ("`SubmitTask` until the task completed", b * 1000, p90(theirs) * 1000),
        ]
        for label, med, high in rows:
            print(f"| {label} | {med:.0f} ms | {high:.0f} ms |")
        print(f"| the plan's own cost (difference of medians) | {(a - b) * 1000:.0f} ms | |")
        mid = statistics.median(routing)
        print(f"| routing inside `Ask` | {mid:.1f} ms | {p90(routing):.1f} ms |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
