"""Starts the real `hyperagent` binary and real agent processes; talks to them over real sockets.

Nothing here is a stand-in: the manager is the built binary, agents are Python processes on the SDK,
the database is a SQLite file in a temp dir, every call is gRPC over the manager's Unix socket.
Waits are on events (the manager's feed, a process's output) with a deadline that only turns a hang
into a failure; no test sleeps to synchronise.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from hyperagent.v1 import client_pb2, client_pb2_grpc, common_pb2

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("HYPERAGENT_BIN", REPO / "target" / "debug" / "hyperagent"))
# A hang fails the test after this long; no test relies on it to pass.
DEADLINE = float(os.environ.get("HYPERAGENT_TEST_DEADLINE", "60"))

# Short intervals so liveness, retries and restarts happen quickly; tests still wait on events.
FAST_CONFIG: dict[str, dict[str, Any]] = {
    "agents": {
        "heartbeat_interval": "100ms",
        "heartbeat_timeout": "800ms",
        "answer_timeout": "3s",
    },
    "tasks": {
        "retry_backoff_base": "50ms",
        "retry_backoff_max": "200ms",
        "cancel_grace": "3s",
        "tick_interval": "20ms",
    },
    "supervisor": {
        "restart_backoff_base": "50ms",
        "restart_backoff_max": "200ms",
        "stop_grace": "3s",
    },
    # Most tests start agents themselves (AgentProc) to control them; the manager cannot confine
    # those. Supervised agents (started from manifests) are confined regardless.
    "sandbox": {"allow_unsupervised_agents": True},
}

TERMINAL = {
    common_pb2.TASK_STATE_COMPLETED,
    common_pb2.TASK_STATE_FAILED,
    common_pb2.TASK_STATE_CANCELED,
    common_pb2.TASK_STATE_DEAD_LETTERED,
}


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> None:
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in values.items())
        lines.append("")
    path.write_text("\n".join(lines))


def merge(
    base: dict[str, dict[str, Any]], extra: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    out = {k: dict(v) for k, v in base.items()}
    for k, v in extra.items():
        out.setdefault(k, {}).update(v)
    return out


#: Runs a command so it gets SIGTERM when the test process dies, however it dies, so an
#: interrupted run leaves no manager behind (util-linux's setpriv; a Python preexec_fn is unsafe
#: in a process with gRPC's threads).
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []


def free_port() -> int:
    """A loopback TCP port free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    """Something accepts connections on this loopback port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def standin_systemctl(root: Path) -> list[str]:
    """`service.systemctl` for tests: the stand-in at the process boundary (no systemd user
    manager can run on the test machine; `standins/systemctl` runs a unit's ExecStart as systemd
    would), with its unit folder `root/units` (set `service.unit_dir` to it) and its state."""
    return [
        str(REPO / "tests" / "e2e" / "standins" / "systemctl"),
        "--unit-dir",
        str(root / "units"),
        "--state-dir",
        str(root / "systemd-state"),
    ]


def desktop_env(
    root: Path, display: str, bus: str, extra_config: str = "", agents: Path = REPO / "agents"
) -> dict[str, str]:
    """The environment the desktop app runs in for a test or a bench: a HOME of its own (WebKit
    and the app keep their files there) with the XDG folders beneath it, the given display and
    session bus, and a config (`root/config.toml`) with data and runtime under `root`, the agents
    in `agents` (default: every bundled one) and the bundled templates, the web UI on any free
    port, then `extra_config`."""
    home = root / "home"
    home.mkdir()
    config = root / "config.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{root / "data"}"\nruntime_dir = "{root / "run"}"\n'
        f'[supervisor]\nagent_dirs = ["{agents}"]\n'
        f'[templates]\ndirs = ["{REPO / "templates"}"]\n'
        f'[web]\naddress = "127.0.0.1:0"\nui_dir = "{REPO / "ui" / "dist"}"\n' + extra_config
    )
    return dict(
        os.environ,
        DISPLAY=display,
        DBUS_SESSION_BUS_ADDRESS=bus,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        HYPERAGENT_CONFIG=str(config),
        PATH=f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
    )


def tauri_driver(port: int, native: int) -> list[str]:
    """`tauri-driver` (scripts/setup.sh installs it) in front of Debian's WebKitWebDriver, both on
    loopback."""
    binary = shutil.which("tauri-driver") or str(Path.home() / ".cargo" / "bin" / "tauri-driver")
    return [
        *DIE_WITH_PARENT,
        binary,
        "--port",
        str(port),
        "--native-port",
        str(native),
        "--native-host",
        "127.0.0.1",
    ]


@contextmanager
def session_bus(folder: Path, listen: str = "unix:tmpdir=/tmp") -> Iterator[str]:
    """A D-Bus session bus of the test's own, without service activation: nothing on it starts a
    program by asking for a name (a keyring daemon with no password, or a document portal whose
    FUSE mount outlives the test), so a test gets only the services it starts itself. Yields its
    address; the bus is stopped however the test ends."""
    conf = folder / "bus.conf"
    conf.write_text(
        f"<busconfig><type>session</type><listen>{listen}</listen><auth>EXTERNAL</auth>"
        '<policy context="default"><allow send_destination="*" eavesdrop="true"/>'
        '<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>'
    )
    bus = subprocess.run(
        ["dbus-daemon", f"--config-file={conf}", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    address, pid = bus.stdout.split()[:2]
    try:
        yield address
    finally:
        os.kill(int(pid), signal.SIGTERM)


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The next line of a process's stdout, or a failure naming what it said on stderr."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"process {proc.args!r} printed nothing within {timeout}s")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"process {proc.args!r} exited ({proc.wait()}) before printing")
    return line


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def channel(socket: Path) -> grpc.Channel:
    return grpc.insecure_channel(
        f"unix://{socket}",
        options=[
            ("grpc.default_authority", "localhost"),
            ("grpc.max_receive_message_length", 64 << 20),
            # A channel of its own: one to a restarted manager must not inherit the reconnect
            # back-off of a connection to the one before it.
            ("grpc.use_local_subchannel_pool", 1),
        ],
    )


@dataclass
class Manager:
    """One `hyperagent serve` process with its own data, runtime and config in a temp dir."""

    root: Path
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents_dir: Path | None = None
    proc: subprocess.Popen[str] | None = None
    #: The HOME the manager runs with (a stand-in for the person's home folder).
    home: Path | None = None
    #: More environment for the manager (e.g. a D-Bus session bus address).
    env_extra: dict[str, str] = field(default_factory=dict)
    #: A command that runs the manager's command line (given as its arguments).
    wrap: list[str] = field(default_factory=list)
    #: Descriptors the manager inherits (as a launching shell's open files would be).
    pass_fds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.config = self.root / "config.toml"
        self.socket = self.root / "run" / "manager.sock"
        self.log = self.root / "manager.log"
        sections = merge(FAST_CONFIG, self.extra)
        sections = merge(
            sections,
            {"paths": {"data_dir": str(self.root / "data"), "runtime_dir": str(self.root / "run")}},
        )
        write_config(self.config, sections)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["HYPERAGENT_LOG"] = env.get("HYPERAGENT_LOG", "info")
        env.pop("HYPERAGENT_SOCKET", None)
        if self.home is not None:
            env["HOME"] = str(self.home)
        env.update(self.env_extra)
        return env

    def start(self) -> Manager:
        args = [*self.wrap, *DIE_WITH_PARENT, str(BIN), "--config", str(self.config), "serve"]
        if self.agents_dir is not None:
            args += ["--agents-dir", str(self.agents_dir)]
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                args,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=self.env(),
                pass_fds=self.pass_fds,
            )
        ready = json.loads(read_line(self.proc, DEADLINE))
        assert ready["ready"] is True
        #: What the manager printed when ready (socket, pid, the web UI's URL with its token).
        self.ready: dict[str, Any] = ready
        assert Path(ready["socket"]) == self.socket
        self._channel = channel(self.socket)
        self.client = client_pb2_grpc.ClientServiceStub(self._channel)
        return self

    def stop(self) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        assert self.proc is not None
        self._channel.close()
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=DEADLINE)

    def kill9(self) -> None:
        assert self.proc is not None
        self._channel.close()
        self.proc.kill()
        self.proc.wait(timeout=DEADLINE)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN), "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=DEADLINE,
            env=self.env(),
        )

    # ----- client helpers -----

    def submit(self, task_type: str, payload: dict[str, Any] | str, **kw: Any) -> client_pb2.Task:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        resp = self.client.SubmitTask(
            client_pb2.SubmitTaskRequest(task_type=task_type, payload_json=body, **kw),
            timeout=DEADLINE,
        )
        return resp.task

    def task(self, task_id: str) -> client_pb2.Task:
        return self.client.GetTask(client_pb2.GetTaskRequest(task_id=task_id), timeout=DEADLINE)

    def agents(self) -> dict[str, client_pb2.Agent]:
        resp = self.client.ListAgents(client_pb2.ListAgentsRequest(), timeout=DEADLINE)
        return {a.id: a for a in resp.agents}

    def events(
        self, after: int | None = 0, task_id: str = "", exclude_logs: bool = False
    ) -> Iterator[Any]:
        req = client_pb2.SubscribeRequest(task_id=task_id, exclude_logs=exclude_logs)
        if after is not None:
            req.after_seq = after
        return self.client.Subscribe(req, timeout=DEADLINE)  # type: ignore[no-any-return]

    def wait_event(
        self, pred: Callable[[Any], bool], after: int | None = 0, task_id: str = ""
    ) -> Any:
        """The first feed event (from `after`) that satisfies `pred`."""
        stream = self.events(after=after, task_id=task_id)
        try:
            for ev in stream:
                if pred(ev):
                    return ev
        finally:
            stream.cancel()
        raise AssertionError("event feed ended before the expected event")

    def logs(self, task_id: str) -> list[common_pb2.LogLine]:
        """All of a task's stored log lines, page by page."""
        lines: list[common_pb2.LogLine] = []
        while True:
            page = self.client.GetLogs(
                client_pb2.GetLogsRequest(task_id=task_id, after_seq=lines[-1].seq if lines else 0),
                timeout=DEADLINE,
            )
            lines.extend(page.lines)
            if page.complete or not page.lines:
                return lines

    def wait_state(self, task_id: str, *states: int) -> client_pb2.Task:
        """Waits until the task's feed shows one of `states` (terminal states by default)."""
        want = set(states) or TERMINAL
        self.wait_event(
            lambda e: e.HasField("task_state") and e.task_state.to in want,
            task_id=task_id,
        )
        return self.task(task_id)

    def wait_agent(self, agent_id: str, online: bool, after: int = 0) -> Any:
        status = common_pb2.AGENT_STATUS_ONLINE if online else common_pb2.AGENT_STATUS_OFFLINE
        return self.wait_event(
            lambda e: (
                e.HasField("agent_status")
                and e.agent_status.agent_id == agent_id
                and e.agent_status.status == status
            ),
            after=after,
        )


@dataclass
class AgentProc:
    """An agent process started by the test (not by the supervisor)."""

    name: str
    socket: Path
    module: str = "hyperagent_echo"
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] | None = None

    def start(self) -> AgentProc:
        env = dict(os.environ)
        env.update(
            {
                "HYPERAGENT_SOCKET": str(self.socket),
                "HYPERAGENT_AGENT_NAME": self.name,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wait_until(cond: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Polls a condition on real state (a process table, a listing) until it holds."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.01)


def pids_running(*argv: str) -> list[int]:
    """Live processes whose command line starts with `argv`."""
    want = [a.encode() for a in argv]
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # it exited meanwhile
        if cmd[: len(want)] == want and pid_alive(int(p.name)):
            out.append(int(p.name))
    return out


def wheelhouse() -> Path:
    """The offline wheelhouse scripts/setup.sh fills (every template variant's wheels)."""
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "wheelhouse-dir.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    path = Path(out.stdout.strip())
    if not (path / ".requirements").is_file():
        raise RuntimeError(f"no wheelhouse at {path}: run scripts/setup.sh")
    return path


def bootstrapper_agents(folder: Path, wheels: Path) -> Path:
    """A folder of agents holding the bootstrapper's own manifest, its offline mode pointed at
    ``wheels`` (the agent still needs a read rule for it); returns the folder."""
    (folder / "bootstrapper").mkdir(parents=True)
    manifest = (REPO / "agents" / "bootstrapper" / "agent.toml").read_text()
    (folder / "bootstrapper" / "agent.toml").write_text(
        manifest.replace(
            'HYPERAGENT_BOOTSTRAP_WHEELHOUSE = ""', f'HYPERAGENT_BOOTSTRAP_WHEELHOUSE = "{wheels}"'
        )
    )
    return folder


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` (e.g. "24m") mounted on `path` (root only), unmounted after."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def with_agent(folder: Path, name: str) -> Path:
    """Adds the bundled agent ``name``'s manifest, as it is, to a folder of agents; returns the
    folder."""
    (folder / name).mkdir(parents=True)
    manifest = (REPO / "agents" / name / "agent.toml").read_text()
    (folder / name / "agent.toml").write_text(manifest)
    return folder


def with_testrunner(folder: Path, wheels: Path) -> Path:
    """Adds the test runner's own manifest to a folder of agents, its offline mode pointed at
    ``wheels`` (the agent still needs a read rule for it); returns the folder."""
    (folder / "testrunner").mkdir(parents=True)
    manifest = (REPO / "agents" / "testrunner" / "agent.toml").read_text()
    setting = "HYPERAGENT_TESTRUNNER_WHEELHOUSE"
    (folder / "testrunner" / "agent.toml").write_text(
        manifest.replace(f'{setting} = ""', f'{setting} = "{wheels}"')
    )
    return folder


def project_agents_manager(base: Path) -> Manager:
    """A manager under ``base`` running the confined bootstrapper and test runner offline (the
    wheelhouse, and a read rule for it each), the repository's templates in its catalogue; both
    agents online."""
    wh = wheelhouse()
    agents = with_testrunner(bootstrapper_agents(base / "agents", wh), wh)
    m = Manager(
        root=base,
        agents_dir=agents,
        extra={
            "sandbox": {"allow_unsupervised_agents": False},
            "templates": {"dirs": [str(REPO / "templates")]},
        },
    ).start()
    for name in ("bootstrapper", "testrunner"):
        m.wait_agent(name, online=True)
        allowed = m.cli("policy", "allow", "--read", str(wh), "--agent", name)
        assert allowed.returncode == 0, allowed.stderr
    return m


def editor_standin(base: Path) -> tuple[dict[str, str], Path]:
    """A stand-in for VS Code (it cannot run here): a `code` on PATH that records its arguments,
    one call per line. Returns the environment to give the manager and the file it writes."""
    bindir = base / "bin"
    bindir.mkdir()
    log = base / "code-calls.log"
    code = bindir / "code"
    code.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n')
    code.chmod(0o755)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}, log
