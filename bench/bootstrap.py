"""Bootstrap to healthy: a FastAPI project made through the real manager by the confined
bootstrapper agent, beside the same steps run by hand, in the same run.

HyperAgent: `SubmitTask(bootstrap.project)` until the feed shows the task completed: a fresh
confined task process checks the answers, renders, moves the files into place, `git init` + commit,
`uv venv`, `uv pip install -e .[dev]`, starts uvicorn and gets 200 from `/health`, then `pytest -q`
while the server stops (its "serve" includes the server's imports, which the tests then reuse).
By hand (the baseline): `copier copy`, `git init` + `add` + `commit`, `uv venv`, `uv pip install`,
`pytest -q`, uvicorn until `/health` answers 200 — each a new process, as a person would run them.

Both install from the offline wheelhouse that scripts/setup.sh fills, each with its own uv cache,
warmed by one run first (the "warm package cache" case). Usage, after scripts/setup.sh and a build:

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python bench/bootstrap.py   # prints a Markdown table
    BENCH_RUNS=5 HYPERAGENT_BIN=target/release/hyperagent ...
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import BIN, Manager, bootstrapper_agents, free_port, wheelhouse  # noqa: E402

from hyperagent.v1 import common_pb2  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
VENV_BIN = Path(sys.executable).parent


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)


def by_hand(template: Path, wh: Path, cache: Path) -> Callable[[Path], dict[str, float]]:
    """The same steps as a person's shell commands; returns seconds per step."""
    env = dict(os.environ, UV_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]

    def steps(dest: Path) -> dict[str, float]:
        project = dest / "shop"
        times: dict[str, float] = {}
        mark = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            times[name] = now - mark
            mark = now

        copier = [str(VENV_BIN / "copier"), "copy", "--defaults", "--quiet"]
        run([*copier, "--data", "project_name=shop", str(template), str(project)], dest, env)
        lap("render")
        run(["git", "init", "--quiet"], project, env)
        run(["git", "add", "--all"], project, env)
        run([*git, "commit", "--quiet", "-m", "New project"], project, env)
        lap("git")
        run(["uv", "venv", "--quiet", "--no-config", ".venv"], project, env)
        lap("environment")
        python = str(project / ".venv" / "bin" / "python")
        install = ["uv", "pip", "install", "--quiet", "--no-config", "--python", python]
        run([*install, "--no-index", "--find-links", str(wh), "-e", ".[dev]"], project, env)
        lap("install")
        run([str(project / ".venv" / "bin" / "pytest"), "-q"], project, env)
        lap("tests")
        port = free_port()
        uvicorn = [str(project / ".venv" / "bin" / "uvicorn"), "shop.main:app", "--port"]
        server = subprocess.Popen(
            [*uvicorn, str(port)],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:  # what a person's `curl --retry` does
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/health")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    if server.poll() is not None:
                        raise RuntimeError("uvicorn exited") from None
                    time.sleep(0.05)
        finally:
            server.terminate()
            server.wait()
        lap("serve")
        return times

    return steps


def spread(runs: list[dict[str, float]], step: str) -> str:
    """A step's median with its range over the runs: "1.23 s (1.10-1.40)"."""
    times = [r[step] for r in runs]
    return f"{statistics.median(times):.2f} s ({min(times):.2f}-{max(times):.2f})"


def start_manager(work: Path, wh: Path) -> Manager:
    """The real manager with the bootstrapper agent in offline mode, allowed to read ``wh``."""
    m = Manager(
        root=work,
        agents_dir=bootstrapper_agents(work / "agents", wh),
        extra={
            "sandbox": {"allow_unsupervised_agents": False},
            "templates": {"dirs": [str(ROOT / "templates")]},
        },
    ).start()
    m.wait_agent("bootstrapper", online=True)
    allowed = m.cli("policy", "allow", "--read", str(wh), "--agent", "bootstrapper")
    if allowed.returncode != 0:
        m.stop()
        raise RuntimeError(allowed.stderr)
    return m


def main() -> int:
    wh = wheelhouse()
    work = Path(tempfile.mkdtemp(prefix="hyperagent-bench-bootstrap-"))
    try:
        template = work / "fastapi"
        shutil.copytree(ROOT / "templates" / "fastapi", template)  # outside git, for copier
        m = start_manager(work, wh)
        try:
            counter = iter(range(1_000_000))

            def through_manager(_dest: Path) -> dict[str, float]:
                start = time.perf_counter()
                t = m.submit(
                    "bootstrap.project",
                    {"template": "fastapi", "answers": {"project_name": "shop"}},
                    workspace=f"shop-{next(counter)}",
                )
                done = m.wait_state(t.id)
                total = time.perf_counter() - start
                if done.state != common_pb2.TASK_STATE_COMPLETED:
                    raise RuntimeError(f"bootstrap failed: {done.status_reason}")
                out = json.loads(done.result.output_json)
                times = {c["name"]: c["seconds"] for c in out["checks"]}
                times["total"] = total
                return times

            hand = by_hand(template, wh, work / "uv-cache")

            def timed(fn: Callable[[Path], dict[str, float]]) -> dict[str, float]:
                dest = Path(tempfile.mkdtemp(dir=work))
                start = time.perf_counter()
                times = fn(dest)
                times.setdefault("total", time.perf_counter() - start)
                return times

            timed(through_manager)  # warm-up: the agent's uv cache
            timed(hand)  # warm-up: the baseline's uv cache
            ours: list[dict[str, float]] = []
            theirs: list[dict[str, float]] = []
            for _ in range(RUNS):  # interleaved, so both see the same machine
                ours.append(timed(through_manager))
                theirs.append(timed(hand))
        finally:
            m.stop()
        binary = "release" if "release" in str(BIN) else "debug"
        print(
            f"FastAPI template, default answers (no database), warm uv cache, offline wheelhouse;"
            f" median (range) of {RUNS} interleaved runs ({binary} manager binary)\n"
        )
        print("| step | HyperAgent (manager + confined agent) | by hand (same run) | ratio |")
        print("|---|---|---|---|")
        for step in ("environment", "install", "tests", "serve", "total"):
            a = statistics.median(r[step] for r in ours)
            b = statistics.median(r[step] for r in theirs)
            label = "**submit to healthy, total**" if step == "total" else step
            print(f"| {label} | {spread(ours, step)} | {spread(theirs, step)} | {a / b:.2f}x |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
