"""The desktop app: cold start to interactive, and memory when idle, beside the baseline of the
same UI in a plain WebKitGTK browser (Debian's MiniBrowser) against the headless manager
(`hyperagent serve --web`), measured the same way in the same run.

"Cold": a fresh data folder (new database, first run) and a new process each time; the OS page
cache is warm (the binaries were just built). "Interactive": the UI shows "2 of 2 agents online",
i.e. the page is drawn, the manager answers, and the echo and bootstrapper agents (real, confined)
have registered. Both arms are driven by the same WebKitWebDriver (the app through `tauri-driver`)
on one Xvfb display; the clock starts before the app (or `serve`) is started.

Memory: proportional set size (PSS, /proc/PID/smaps_rollup) after IDLE_S seconds of idle, of the
app with its WebKit processes; of `serve` plus the browser with its WebKit processes; the agents'
Python processes (the same in both) apart. Usage, after scripts/setup.sh and a release build:

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python bench/desktop.py   # prints a Markdown table
    BENCH_RUNS=5 HYPERAGENT_BIN=... HYPERAGENT_APP_BIN=... (default: target/release)
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import (  # noqa: E402
    DIE_WITH_PARENT,
    desktop_env,
    free_port,
    listening,
    session_bus,
    tauri_driver,
)
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.options import ArgOptions  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IDLE_S = float(os.environ.get("BENCH_IDLE_S", "10"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
BIN = Path(os.environ.get("HYPERAGENT_BIN", TARGET / "release" / "hyperagent"))
APP = Path(os.environ.get("HYPERAGENT_APP_BIN", TARGET / "release" / "hyperagent-app"))
MINIBROWSER = Path("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
STATUS = (By.CSS_SELECTOR, '[data-testid="status-agents"]')


def wait_listening(*ports: int) -> None:
    deadline = time.monotonic() + 60
    while not all(listening(p) for p in ports):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {ports}")
        time.sleep(0.02)


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(d.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, out, todo = children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def is_agent(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(b"python" in c for c in cmd[:1])


def split_pss(pids: list[int]) -> tuple[int, int]:
    """(PSS of everything but the agents, PSS of the agents and their children), KiB."""
    agents: set[int] = set()
    for p in pids:
        if is_agent(p):
            agents.update(descendants(p))
    other = sum(pss_kib(p) for p in pids if p not in agents)
    return other, sum(pss_kib(p) for p in agents)


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def by_process(pids: list[int]) -> dict[str, int]:
    """PSS (KiB) of the processes that are not agents, summed by process name."""
    agents: set[int] = set()
    for p in pids:
        if is_agent(p):
            agents.update(descendants(p))
    out: dict[str, int] = {}
    for p in pids:
        if p not in agents:
            out[comm(p)] = out.get(comm(p), 0) + pss_kib(p)
    return out


def find(pid: int, exe: Path) -> int:
    for p in descendants(pid):
        try:
            if Path(f"/proc/{p}/exe").resolve() == exe.resolve():
                return p
        except OSError:
            continue
    raise AssertionError(f"{exe} is not running under {pid}")


@contextmanager
def display() -> Iterator[str]:
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        [*DIE_WITH_PARENT, "Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    try:
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait()


def two_agents(root: Path) -> Path:
    """A folder with the echo and bootstrapper agents only (links to the bundled ones): the
    figures of record start these two, as when they were first measured."""
    folder = root / "agents"
    folder.mkdir()
    for name in ("echo", "bootstrapper"):
        (folder / name).symlink_to(ROOT / "agents" / name)
    return folder


def interactive(driver: webdriver.Remote) -> None:
    WebDriverWait(driver, 120, poll_frequency=0.02).until(
        ec.text_to_be_present_in_element(STATUS, "2 of 2 agents online")
    )


Run = tuple[float, int, int, int, dict[str, int]]


def run_app(disp: str) -> Run:
    with tempfile.TemporaryDirectory() as tmp, session_bus(Path(tmp)) as bus:
        root = Path(tmp)
        env = desktop_env(root, disp, bus, agents=two_agents(root))
        port, native = free_port(), free_port()
        driver_proc = subprocess.Popen(
            tauri_driver(port, native),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_listening(port, native)
            options = ArgOptions()
            options.set_capability("browserName", "wry")
            options.set_capability("tauri:options", {"application": str(APP)})
            t0 = time.perf_counter()
            driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
            interactive(driver)
            elapsed = time.perf_counter() - t0
            time.sleep(IDLE_S)  # idle, by definition of the measurement
            app = find(driver_proc.pid, APP)
            ui, agents = split_pss(descendants(app))
            own = pss_kib(app)  # the shell with the embedded manager, without WebKit's processes
            parts = by_process(descendants(app))
            driver.quit()
            return elapsed, ui, agents, own, parts
        finally:
            os.killpg(driver_proc.pid, signal.SIGTERM)
            driver_proc.wait()


def run_baseline(disp: str) -> Run:
    with tempfile.TemporaryDirectory() as tmp, session_bus(Path(tmp)) as bus:
        root = Path(tmp)
        env = desktop_env(root, disp, bus, agents=two_agents(root))
        port = free_port()
        wd = subprocess.Popen(
            [*DIE_WITH_PARENT, "WebKitWebDriver", f"--port={port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        serve = None
        try:
            wait_listening(port)
            options = ArgOptions()
            options.set_capability(
                "webkitgtk:browserOptions",
                {"binary": str(MINIBROWSER), "args": ["--automation"]},
            )
            t0 = time.perf_counter()
            serve = subprocess.Popen(
                [*DIE_WITH_PARENT, str(BIN), "serve", "--web"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
            if serve.stdout is None:
                raise RuntimeError("serve has no stdout")
            url = json.loads(serve.stdout.readline())["web_url"]
            driver.get(url)
            interactive(driver)
            elapsed = time.perf_counter() - t0
            time.sleep(IDLE_S)
            manager, agents = split_pss(descendants(serve.pid))
            browser = find(wd.pid, MINIBROWSER)
            ui = sum(pss_kib(p) for p in descendants(browser))
            parts = by_process(descendants(serve.pid) + descendants(browser))
            driver.quit()
            return elapsed, manager + ui, agents, manager, parts
        finally:
            if serve is not None:
                serve.terminate()
                serve.wait()
            os.killpg(wd.pid, signal.SIGTERM)
            wd.wait()


def main() -> None:
    for b in (BIN, APP, MINIBROWSER):
        if not b.is_file():
            raise SystemExit(f"{b} is missing (a release build: cargo build --release)")
    app, base = [], []
    with display() as disp:
        run_app(disp)  # warm the page cache; not counted
        for _ in range(RUNS):  # alternate, so drift hits both arms alike
            app.append(run_app(disp))
            base.append(run_baseline(disp))

    def row(name: str, xs: list[Run]) -> str:
        start = [x[0] * 1000 for x in xs]
        ui = [x[1] / 1024 for x in xs]
        agents = [x[2] / 1024 for x in xs]
        own = [x[3] / 1024 for x in xs]
        return (
            f"| {name} | {statistics.median(start):.0f} ({min(start):.0f}–{max(start):.0f}) "
            f"| {statistics.median(ui):.0f} ({min(ui):.0f}–{max(ui):.0f}) "
            f"| {statistics.median(own):.0f} "
            f"| {statistics.median(agents):.0f} |"
        )

    print(f"{RUNS} cold starts each, idle {IDLE_S:.0f} s; median (min–max)\n")
    columns = [
        "start to interactive, ms",
        "PSS idle, MiB (app / manager + browser)",
        "of which the app's own process / the manager, MiB",
        "agents' PSS, MiB",
    ]
    print("| | " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|")
    print(row("desktop app (manager embedded)", app))
    print(row("baseline: `serve --web` + MiniBrowser", base))
    print("\nPSS by process (MiB, median; agents apart)\n")
    print("| process | desktop app | baseline |")
    print("|---|---|---|")
    names = sorted({n for x in app + base for n in x[4]})

    def median_of(xs: list[Run], name: str) -> str:
        values = [x[4].get(name, 0) / 1024 for x in xs]
        return f"{statistics.median(values):.0f}" if any(values) else "–"

    for name in names:
        print(f"| {name} | {median_of(app, name)} | {median_of(base, name)} |")


if __name__ == "__main__":
    main()
