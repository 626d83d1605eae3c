"""The agent team's overhead: each agent's task on the bootstrapper's FastAPI project, through the
real manager (submit until the feed shows it completed: a fresh confined task process, the tool,
the agent's glue, the result stored), beside the same tool run by hand in the same project, in the
same run, interleaved.

- `tests.run` vs `.venv/bin/pytest -q` (the project's own venv, as the agent reuses it);
- `code.review` vs `ruff check --output-format json .` then `ruff format --check .`;
- `security.audit` (offline, the tree only) vs `bandit -r .` then `detect-secrets scan .`;
- `devenv.create` (a dry run) alone: no tool does the same by hand.

The project is made once by the bootstrapper (offline wheelhouse), with its checks, so its venv
exists. Usage, after scripts/setup.sh and a build:

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python bench/agents.py           # a Markdown table
    BENCH_RUNS=7 HYPERAGENT_BIN=/path/to/release/hyperagent ...
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import (  # noqa: E402
    BIN,
    Manager,
    bootstrapper_agents,
    wheelhouse,
    with_testrunner,
)

from hyperagent.v1 import common_pb2  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
VENV_BIN = Path(sys.executable).parent


@dataclass
class Case:
    """One agent's task, and the commands a person would run for the same answer."""

    agent: str
    task_type: str
    payload: dict[str, Any]
    by_hand: Callable[[Path], list[list[str]]]
    label: str


AGENTS = [
    Case(
        "testrunner",
        "tests.run",
        {},
        lambda p: [[str(p / ".venv" / "bin" / "pytest"), "-q"]],
        "pytest -q",
    ),
    Case(
        "codereview",
        "code.review",
        {},
        lambda p: [
            [str(VENV_BIN / "ruff"), "check", "--no-cache", "--output-format", "json", "."],
            [str(VENV_BIN / "ruff"), "format", "--no-cache", "--check", "."],
        ],
        "ruff check && ruff format --check",
    ),
    Case(
        "securityaudit",
        "security.audit",
        # Offline: the dependency pass needs the network (and consent); the tree only.
        {"offline": True, "include_history": False},
        lambda p: [
            [str(VENV_BIN / "bandit"), "-r", ".", "-q", "-f", "json", "-x", "./.venv,./tests"],
            [str(VENV_BIN / "detect-secrets"), "scan", "."],
        ],
        "bandit -r . && detect-secrets scan .",
    ),
    # No tool does what devenv.create does by hand: its time is shown beside `true`, the cost of
    # starting a process, so the column reads as the agent's whole time.
    Case("devenv", "devenv.create", {"dry_run": True}, lambda p: [["true"]], "(no tool)"),
]


def agents_folder(work: Path, wh: Path, names: list[str]) -> Path:
    folder = with_testrunner(bootstrapper_agents(work / "agents", wh), wh)
    for name in names:
        if not (folder / name).exists():
            (folder / name).mkdir()
            (folder / name / "agent.toml").write_text(
                (ROOT / "agents" / name / "agent.toml").read_text()
            )
    return folder


def main() -> int:
    wh = wheelhouse()
    cases = [c for c in AGENTS if (ROOT / "agents" / c.agent / "agent.toml").exists()]
    work = Path(tempfile.mkdtemp(prefix="hyperagent-bench-agents-"))
    try:
        m = Manager(
            root=work,
            agents_dir=agents_folder(work, wh, [c.agent for c in cases]),
            extra={
                "sandbox": {"allow_unsupervised_agents": False},
                "templates": {"dirs": [str(ROOT / "templates")]},
            },
        ).start()
        try:
            for name in ["bootstrapper", *(c.agent for c in cases)]:
                m.wait_agent(name, online=True)
            for name in ("bootstrapper", "testrunner"):
                allowed = m.cli("policy", "allow", "--read", str(wh), "--agent", name)
                if allowed.returncode != 0:
                    raise RuntimeError(allowed.stderr)
            made = m.wait_state(
                m.submit(
                    "bootstrap.project",
                    {"template": "fastapi", "answers": {"project_name": "shop"}},
                    workspace="shop",
                ).id
            )
            if made.state != common_pb2.TASK_STATE_COMPLETED:
                raise RuntimeError(f"bootstrap failed: {made.status_reason}")
            project = Path(json.loads(made.result.output_json)["path"])

            def through_manager(c: Case) -> float:
                start = time.perf_counter()
                done = m.wait_state(m.submit(c.task_type, c.payload, workspace="shop").id)
                seconds = time.perf_counter() - start
                if done.state != common_pb2.TASK_STATE_COMPLETED:
                    raise RuntimeError(f"{c.task_type} failed: {done.status_reason}")
                return seconds

            def by_hand(c: Case) -> float:
                start = time.perf_counter()
                for argv in c.by_hand(project):
                    # The tools' own verdicts (a finding, a failed test) are not errors here.
                    subprocess.run(argv, cwd=project, stdout=subprocess.DEVNULL, check=False)
                return time.perf_counter() - start

            rows = []
            for c in cases:
                through_manager(c)  # warm-up: the agent's first task process, the file cache
                by_hand(c)
                ours, theirs = [], []
                for _ in range(RUNS):  # interleaved, so both see the same machine
                    ours.append(through_manager(c))
                    theirs.append(by_hand(c))
                rows.append((c, statistics.median(ours), statistics.median(theirs)))
        finally:
            m.stop()
        binary = "release" if "release" in str(BIN) else "debug"
        print(
            f"The bootstrapper's FastAPI project (default answers); median of {RUNS} interleaved"
            f" runs after one warm-up each ({binary} manager binary)\n"
        )
        print("| task | HyperAgent (submit to completed) | the tool by hand | ratio |")
        print("|---|---|---|---|")
        for c, a, b in rows:
            if c.label == "(no tool)":
                print(f"| `{c.task_type}` | {a:.2f} s | — | — |")
            else:
                print(f"| `{c.task_type}` | {a:.2f} s | {b:.2f} s (`{c.label}`) | {a / b:.2f}x |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
