#!/usr/bin/env python3
"""A hostile agent for the escape tests. ``probe.try`` performs one ``action`` and returns
``{"ok": bool, "error": str, ...}``; a refused attempt is also logged at warning level with the
errno, which the manager stores with the task (the record the tests look for).

It runs as a real confined agent: the manager starts it from its manifest and runs each task in a
confined task process, exactly like a shipped agent.
"""

from __future__ import annotations

import ctypes
import errno
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from hyperagent_coder.gitwork import Repository
from hyperagent_coder.tools import Limits, Worktree
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection

from hyperagent.v1 import agent_pb2, client_pb2, client_pb2_grpc, common_pb2
from hyperagent_sdk import Agent, TaskCancelled, TaskContext
from hyperagent_sdk.connection import make_stub, open_channel
from hyperagent_sdk.narrow import abi, narrowed

agent = Agent(name="probe", version="0.1.0", max_concurrency=8)

Action = Callable[[TaskContext, dict[str, Any]], dict[str, Any]]
ACTIONS: dict[str, Action] = {}


def action(name: str) -> Callable[[Action], Action]:
    def register(fn: Action) -> Action:
        ACTIONS[name] = fn
        return fn

    return register


@action("read")
def read(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    data = Path(p["path"]).read_bytes()
    return {"bytes": len(data), "head": data[:64].decode(errors="replace")}


@action("list")
def list_dir(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"entries": sorted(os.listdir(p["path"]))[:50]}


@action("write")
def write(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    Path(p["path"]).write_text(p.get("data", "pwned"))
    return {}


@action("symlink_read")
def symlink_read(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    link = ctx.workspace / "link"
    link.symlink_to(p["path"])
    return {"bytes": len(link.read_bytes())}


@action("symlink_write")
def symlink_write(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    link = ctx.workspace / "link-w"
    link.symlink_to(p["path"])
    link.write_text("pwned")
    return {}


@action("hardlink")
def hardlink(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    target = ctx.workspace / "hard"
    os.link(p["path"], target)
    return {"bytes": len(target.read_bytes())}


@action("rename_in")
def rename_in(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    os.rename(p["path"], ctx.workspace / "moved")
    return {}


@action("tcp")
def tcp(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    with socket.create_connection((p["host"], int(p["port"])), timeout=5) as s:
        s.sendall(b"hello\n")
    return {}


@action("proxy")
def via_proxy(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Reach host:port the sanctioned way: HTTP CONNECT through the sandbox's egress relay."""
    proxy = os.environ["https_proxy"].removeprefix("http://")
    host, port = proxy.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(f"CONNECT {p['host']}:{p['port']} HTTP/1.1\r\nHost: {p['host']}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 200 " not in status + " ":
            body = head.split(b"\r\n\r\n", 1)[-1].decode(errors="replace").strip()
            raise PermissionError(errno.EACCES, f"{status}: {body}")
        s.sendall(b"hello through the proxy\n")
        reply = s.recv(4096).decode(errors="replace")
    return {"reply": reply}


@action("tcp_bind")
def tcp_bind(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("0.0.0.0", int(p["port"])))  # noqa: S104 - the point of the attempt
        s.listen()
    return {}


@action("udp")
def udp(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"hello", (p["host"], int(p["port"])))
    return {}


@action("dns")
def dns(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"addresses": [a[4][0] for a in socket.getaddrinfo(p["name"], 443)]}


@action("loopback_server")
def loopback_server(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """A server and client on the sandbox's own loopback, on one of its local ports."""
    port = int(p["port"])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            conn, _ = srv.accept()
            c.sendall(b"ping")
            got = conn.recv(4)
            conn.close()
    return {"echo": got.decode()}


@action("signal")
def send_signal(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    os.kill(int(p["pid"]), int(p.get("signal", signal.SIGTERM)))
    return {}


@action("ptrace")
def ptrace(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    libc = ctypes.CDLL(None, use_errno=True)
    ptrace_attach = 16
    if libc.ptrace(ptrace_attach, int(p["pid"]), None, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return {}


@action("proc_environ")
def proc_environ(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    data = Path(f"/proc/{int(p['pid'])}/environ").read_bytes()
    return {"bytes": len(data)}


@action("grandchild_write")
def grandchild_write(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    # A shell whose own child (not the shell) writes, detached into a new session.
    script = f"setsid sh -c 'echo pwned > \"{p['path']}\"'; echo rc=$?"
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
    if not Path(p["path"]).exists():
        raise PermissionError(errno.EACCES, f"grandchild could not write: {out.stderr.strip()}")
    return {}


@action("fill")
def fill(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    chunk = b"\0" * (1 << 20)
    target = ctx.workspace / "fill.bin"
    # The SDK ignores SIGXFSZ in task processes, so writes past the limit fail with EFBIG.
    written = 0
    with open(target, "wb") as f:
        while written < int(p["bytes"]):
            written += f.write(chunk)
            f.flush()
    return {"written": written}


@action("fill_many")
def fill_many(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Write small files until stopped (or up to ``bytes``): only the workspace quota stops it."""
    chunk = b"\0" * (256 * 1024)
    written = 0
    n = 0
    while written < int(p["bytes"]) and not ctx.cancelled.is_set():
        (ctx.workspace / f"part-{n}.bin").write_bytes(chunk)
        written += len(chunk)
        n += 1
    return {"written": written}


@action("setuid_root")
def setuid_root(_ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """Try to gain privileges: no_new_privs keeps setuid programs from elevating."""
    out = subprocess.run(
        ["sh", "-c", "mount -t tmpfs none /mnt 2>&1; echo rc=$?"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if "rc=0" not in out.stdout:
        raise PermissionError(errno.EPERM, out.stdout.strip())
    return {}


@action("unix")
def unix(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Talk to whatever listens on a path Unix socket (a test listener answers with a greeting)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(p["path"])
        s.sendall(p.get("data", "hello\n").encode())
        return {"reply": s.recv(4096).decode(errors="replace")}


@action("hold_connections")
def hold_connections(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Open many idle connections to the manager's socket and hold them until the test says so
    (a `release` file in the workspace); count those the manager closed at once (an end of file
    where a served connection gets the server's HTTP/2 settings)."""
    socks = []
    for _ in range(p["count"]):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.environ["HYPERAGENT_SOCKET"])
        socks.append(s)
    closed = 0
    for s in socks:
        s.settimeout(30)
        try:
            closed += s.recv(1) == b""
        except TimeoutError:
            pass  # served and waiting for us
        except OSError:
            closed += 1
    (ctx.workspace / "held").write_text(str(len(socks) - closed))
    while not (ctx.workspace / "release").exists():
        time.sleep(0.05)
    for s in socks:
        s.close()
    return {"open": len(socks) - closed, "closed": closed}


@action("ssh_agent")
def ssh_agent(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """List the identities of the person's ssh-agent (SSH_AGENTC_REQUEST_IDENTITIES)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(p["path"])
        s.sendall(b"\0\0\0\x01\x0b")
        head = s.recv(5)
        if len(head) < 5 or head[4] != 12:
            raise PermissionError(errno.EACCES, f"ssh-agent answered {head!r}")
        count = int.from_bytes(s.recv(4), "big")
    return {"identities": count}


@action("dbus")
def dbus(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Join the person's D-Bus session bus and ask it who is on it."""
    conn = open_dbus_connection(bus=f"unix:path={p['path']}")
    try:
        bus = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")
        names = conn.send_and_get_reply(new_method_call(bus, "ListNames"), timeout=10).body[0]
    finally:
        conn.close()
    return {"unique_name": conn.unique_name, "names": sorted(names)[:20]}


@action("find_sockets")
def find_sockets(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Look for listening path sockets the way an attacker would: the host's socket table in
    /proc, then the folders around the manager's socket and /tmp."""
    found: list[str] = []
    for table in ("/proc/net/unix", "/proc/1/net/unix"):
        try:
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if len(parts) >= 8 and parts[7].startswith("/"):
                    found.append(parts[7])
        except OSError:
            pass
    manager = Path(os.environ["HYPERAGENT_SOCKET"])
    for folder in {
        manager.parent,
        manager.parent.parent,
        Path("/tmp"),
        *map(Path, p.get("also", [])),
    }:
        try:
            for entry in folder.rglob("*"):
                if entry.is_socket():
                    found.append(str(entry))
        except OSError:
            pass
    found = sorted(set(found) - {str(manager), os.environ.get("HYPERAGENT_EGRESS_SOCKET", "")})
    if not found:
        raise PermissionError(errno.ENOENT, "no socket of the host is visible")
    return {"sockets": found}


@action("host_proc")
def host_proc(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Look in /proc for something of the host's (its mounts, its TCP table): succeeds when
    ``needle`` is in the file."""
    text = Path(p["path"]).read_text()
    if p["needle"] not in text:
        raise PermissionError(errno.ENOENT, f"{p['needle']!r} is not in {p['path']}")
    return {"bytes": len(text)}


@action("processes")
def processes(_ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """The processes this task can see (a sandbox shows only its own)."""
    pids = sorted(int(d) for d in os.listdir("/proc") if d.isdigit())
    if len(pids) > 10:
        return {"pids": pids[:50]}
    raise PermissionError(errno.ESRCH, f"only its own processes are visible: {pids}")


@action("linger")
def linger(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Leave a process behind that keeps writing into the workspace after the task ends: it
    moves into the manager's process group (out of the task's) when it can, and ignores SIGTERM."""
    marker = ctx.workspace / "lingering"
    script = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "try:\n    os.setpgid(0, int(sys.argv[2]))\nexcept OSError:\n    pass\n"
        "if os.fork():\n    os._exit(0)\n"
        "os.setsid()\n"
        "while True:\n"
        "    open(sys.argv[1], 'a').write(f'{os.getpid()}\\n')\n"
        "    time.sleep(0.05)\n"
    )
    subprocess.Popen(
        [sys.executable, "-c", script, str(marker), str(p.get("pgid", 0))],
        start_new_session=False,
    ).wait()
    while not marker.exists():
        time.sleep(0.01)
    return {"marker": str(marker)}


def refusal(err: grpc.RpcError) -> PermissionError:
    """The manager's refusal of a call, as the PermissionError the probe reports."""
    code = err.code()
    assert code is not None
    return PermissionError(errno.EACCES, f"{code.name}: {err.details()}")


@action("token")
def use_token(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Push a log line about ``task_id`` ("self": this task) with a token: "own" (this task's),
    "own-tampered" (this task's with its signature altered), or any other text (a forgery)."""
    own = str(OWN_TASK.get("capability_token", ""))
    token = {"own": own, "own-tampered": own[:-2] + ("AA" if own[-2:] != "AA" else "BB")}.get(
        p["capability_token"], p["capability_token"]
    )
    task_id = ctx.task_id if p["task_id"] == "self" else p["task_id"]
    channel = open_channel(os.environ["HYPERAGENT_SOCKET"])
    request = agent_pb2.PushLogsRequest(
        task_id=task_id,
        capability_token=token,
        lines=[common_pb2.LogLine(seq=1_000_000, message="injected by probe")],
    )
    try:
        make_stub(channel).PushLogs(request, timeout=10)
    except grpc.RpcError as err:
        raise refusal(err) from None
    finally:
        channel.close()
    return {}


@action("client_call")
def client_call(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Use the person's client API from inside the sandbox: grant itself a rule, or list tasks."""
    channel = open_channel(os.environ["HYPERAGENT_SOCKET"])
    stub = client_pb2_grpc.ClientServiceStub(channel)
    try:
        if p["call"] == "add_rule":
            stub.AddPolicyRule(
                client_pb2.AddPolicyRuleRequest(
                    kind="read", target="/", decision=client_pb2.POLICY_DECISION_ALLOW
                ),
                timeout=10,
            )
        else:
            stub.ListTasks(client_pb2.ListTasksRequest(), timeout=10)
    except grpc.RpcError as err:
        raise refusal(err) from None
    finally:
        channel.close()
    return {}


@action("stale_identity")
def stale_identity(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """The pid-reuse attack on the client API: a child connects to the manager's socket and
    exits; the connection is kept; once an unconfined process holds the child's pid (the test
    plays the pid walk, which takes an attacker seconds), the kept connection calls the client
    API to grant the task read access to everything. Coordinated with the test through files in
    the workspace."""
    ws = ctx.workspace
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    child = os.fork()
    if child == 0:
        try:
            ctypes.CDLL(None).prctl(15, b"ha-connector", 0, 0, 0)  # PR_SET_NAME
            conn.connect(os.environ["HYPERAGENT_SOCKET"])
            (ws / "connected").write_text("")
            while not (ws / "go").exists():
                time.sleep(0.01)
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    while not (ws / "pid-taken").exists():
        time.sleep(0.01)
    # gRPC over the kept connection: a local socket whose one connection is spliced onto it.
    relay = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    relay.bind(str(ws / "relay.sock"))
    relay.listen(1)

    def pump(src: socket.socket, dst: socket.socket) -> None:
        while data := src.recv(65536):
            dst.sendall(data)

    def splice() -> None:
        front, _ = relay.accept()
        threading.Thread(target=pump, args=(front, conn), daemon=True).start()
        pump(conn, front)

    threading.Thread(target=splice, daemon=True).start()
    channel = grpc.insecure_channel(
        f"unix://{ws / 'relay.sock'}", options=[("grpc.default_authority", "localhost")]
    )
    try:
        client_pb2_grpc.ClientServiceStub(channel).AddPolicyRule(
            client_pb2.AddPolicyRuleRequest(
                kind="read", target=p["target"], decision=client_pb2.POLICY_DECISION_ALLOW
            ),
            timeout=10,
        )
    except grpc.RpcError as err:
        raise refusal(err) from None
    finally:
        channel.close()
    return {}


@action("inherited_fds")
def inherited_fds(_ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """Write through any regular file the process inherited open (from the manager's own
    launcher): Landlock checks paths when they are opened, not descriptors already open."""
    written = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and stat.S_ISREG(os.fstat(fd).st_mode):
                os.write(fd, b"\n# appended by the probe\n")
                written.append(fd)
        except OSError:
            pass
    if not written:
        raise PermissionError(errno.EBADF, "no inherited file to write through")
    return {"written": written}


@action("long_line")
def long_line(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Write one enormous line with no newline to stdout: the manager must not hold it."""
    chunk = b"x" * (1 << 20)
    for _ in range(int(p["mib"])):
        sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
    return {}


#: What a hostile agent writes to take over the terminal of whoever reads its output: a new
#: window title, the clipboard (OSC 52), a cleared line and cursor moves, and a bidi override.
TERMINAL_TRICKS = (
    "\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4=\x07\r\x1b[2K\x1b[1Aall good \u202etxt.exe\x9b31m"
)


@action("terminal")
def terminal(ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """Put terminal control sequences everywhere the person's CLI prints agent text."""
    ctx.log.info(TERMINAL_TRICKS, trick=TERMINAL_TRICKS)
    ctx.progress(0.5, TERMINAL_TRICKS)
    print(TERMINAL_TRICKS, flush=True)
    return {"summary": TERMINAL_TRICKS}


FORK_BOMB = """
import os, signal, sys
pids = []
try:
    for _ in range(int(sys.argv[1])):
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
        pids.append(pid)
except OSError:
    pass
print(len(pids), flush=True)
for pid in pids:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
"""


@action("fork_many")
def fork_many(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Start ``count`` processes at once (a fork bomb that cleans up after itself), from a
    separate interpreter so the agent's own threads are not what fails."""
    out = subprocess.run(
        [sys.executable, "-c", FORK_BOMB, str(int(p["count"]))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    started = int(out.stdout.strip() or 0)
    if started < int(p["count"]):
        raise PermissionError(errno.EAGAIN, f"stopped after {started} processes")
    return {"started": started}


@action("stubborn")
def stubborn(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Write ``files`` files (in a folder) into the workspace, then ignore the cancel until
    killed: a task stopped mid-way at the end of its cancel grace."""
    (ctx.workspace / "half" / "done").mkdir(parents=True)
    for i in range(int(p["files"])):
        (ctx.workspace / "half" / "done" / f"{i}.txt").write_text("partial work\n")
    ctx.log.info("written, now ignoring the cancel")
    while True:
        time.sleep(0.05)


@action("command")
def command(ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """Run a long command that says who stopped it (a signal from outside the task's pid
    namespace carries no sender), and once it has ended, whether the task knew by then that it
    was cancelled (a handler must learn of its cancel before its commands die, or it takes
    their deaths for failures)."""
    script = (
        "import os, signal\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})\n"
        "print('command running', flush=True)\n"
        "info = signal.sigwaitinfo({signal.SIGTERM})\n"
        "who = 'its task' if info.si_pid == os.getppid() else f'pid {info.si_pid}'\n"
        "print(f'command stopped by {who}', flush=True)\n"
    )
    try:
        code = ctx.run([sys.executable, "-c", script], check=False)
    except TaskCancelled:
        ctx.log.info("the command ended; cancelled=True")
        raise
    ctx.log.info(f"the command ended; cancelled={ctx.cancelled.is_set()} (exit code {code})")
    return {}


@action("priority")
def priority(_ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """This task process's niceness (its manifest's `[limits] nice`)."""
    return {"nice": os.getpriority(os.PRIO_PROCESS, 0)}


@action("eat_memory")
def eat_memory(_ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Hold ``mib`` MiB of memory (pages written, so they count)."""
    held = [b"\x01" * (1 << 20) for _ in range(int(p["mib"]))]
    return {"held_mib": len(held)}


@action("log_flood")
def log_flood(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Log ``lines`` lines of 1 KiB: the manager keeps no more than its per-task cap."""
    for i in range(int(p["lines"])):
        ctx.log.info(f"{i:08d} " + "x" * 1015)
    return {}


@action("ask_many")
def ask_many(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Ask ``count`` permissions at once (none will be answered)."""
    refusals: list[str] = []

    def one(i: int) -> None:
        try:
            ctx.request_permission("read", f"/srv/data-{i}", "the probe asks many times")
        except Exception as err:
            refusals.append(str(err))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(int(p["count"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"refusals": refusals}


@action("long_progress")
def long_progress(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Report a progress step, a summary and an error of ``bytes`` bytes each."""
    ctx.progress(0.5, "s" * int(p["bytes"]))
    raise RuntimeError("e" * int(p["bytes"]))


@action("reveal_token")
def reveal_token(_ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """Hand this task's token to the test (which keeps it until it has expired)."""
    return {"token": OWN_TASK.get("capability_token", "")}


@action("ask")
def ask(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Ask for a permission; a refusal propagates (the task fails with its reason)."""
    consent = ctx.request_permission(p["kind"], p["target"], p.get("reason", "the probe asks"))
    return {"consent": consent}


@action("overwrite")
def overwrite(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Announce, then overwrite ``path``, delete ``delete`` and create ``create``."""
    paths = [p["path"], p["delete"], p["create"]]
    action_id = ctx.prepare_destructive(p.get("description", "overwrite the probe's files"), paths)
    Path(p["path"]).write_text("overwritten by the probe")
    Path(p["delete"]).unlink()
    Path(p["create"]).write_text("created by the probe")
    return {"action": action_id}


@action("plant_rollback")
def plant_rollback(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Set up a rollback that a leftover process could turn against the person: a big folder
    (slow to restore) and sub/authorized_keys holding the attacker's key, both announced as
    destroyed, then destroyed. The test plays the leftover process that swaps sub for a link to
    ~/.ssh while the rollback restores the big folder."""
    big = ctx.workspace / "big"
    big.mkdir()
    for i in range(int(p["files"])):
        (big / f"f{i}").write_text("x")
    (ctx.workspace / "sub").mkdir()
    (ctx.workspace / "sub" / "authorized_keys").write_text(p["key"])
    action_id = ctx.prepare_destructive(
        "update the project", [str(big), str(ctx.workspace / "sub" / "authorized_keys")]
    )
    for f in big.iterdir():
        f.unlink()
    big.rmdir()
    (ctx.workspace / "sub" / "authorized_keys").unlink()
    return {"action": action_id}


@action("destroy_through_link")
def destroy_through_link(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Announce a destructive action on a path through a link that leads out of the workspace."""
    (ctx.workspace / "out").symlink_to(p["target"])
    ctx.prepare_destructive("tidy up", [str(ctx.workspace / "out" / "victim")])
    return {}


@action("secret")
def use_secret(ctx: TaskContext, p: dict[str, Any]) -> dict[str, Any]:
    """Fetch a secret and leak it every way a careless agent could: log, stdout, stderr, result."""
    value = ctx.secret(p["name"])
    ctx.log.info(f"the secret is {value}", value=value)
    print(f"stdout: {value}", flush=True)
    print(f"stderr: {value}", file=sys.stderr, flush=True)
    ctx.progress(0.5, f"using {value}")
    return {"leaked": value, "length": len(value)}


#: The task this process was started for, as the manager wrote it on stdin (read before the SDK
#: reads it, so the token actions can misuse the token).
OWN_TASK: dict[str, Any] = {}


@action("narrowed_child")
def narrowed_child(ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """A child narrowed below this task (hyperagent_sdk.narrow) tries to write where the task
    may but it may not: beside its folder in the workspace, and into this process's memory."""
    inner = ctx.workspace / "inner"
    inner.mkdir()
    script = (
        "echo in > inner-file && echo wrote-inside; echo x > ../beside || echo denied-beside;"
        # In a subshell: a failed `exec` redirection ends a POSIX shell.
        " (exec 3</proc/$PPID/mem) 2>/dev/null && echo opened-mem || echo denied-mem"
    )
    done = subprocess.run(
        narrowed(["sh", "-c", script], write=[inner]),
        cwd=inner,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    (ctx.workspace / "task-wrote-beside").write_text("the task itself may")
    return {
        "abi": abi(),
        "code": done.returncode,
        "out": done.stdout.split(),
        "err": done.stderr,
        "inside": (inner / "inner-file").exists(),
        "beside": (ctx.workspace / "beside").exists(),
    }


@action("coder_run")
def coder_run(ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """The coding worker's ``run`` tool, as its task uses it, on a repository whose git folder
    this task may write (as a granted ``<repo>/.git``): a hostile command tries the hooks, the
    config, a ref, git's record of the worktree and the task's folder beside the worktree."""
    path = ctx.workspace / "repo"
    git = ["git", "-c", "user.name=S", "-c", "user.email=s@example.org", "-C", str(path)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("# a project\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    repo = Repository.at(path)
    tree = ctx.workspace / "task" / "leaf"
    repo.add_worktree(tree, "hyperagent/leaf", repo.commit_of("main"))
    hook = path / ".git" / "hooks" / "pre-commit"
    admin = path / ".git" / "worktrees" / "leaf"
    config = (path / ".git" / "config").read_text()
    script = (
        f"echo '#!/bin/sh' > {hook}; echo x > ../outside; echo y > {admin}/evil;"
        " git config core.fsmonitor evil; git add --all; echo ok > inside; git status --short"
    )
    obs = Worktree(tree, Limits(run_timeout_secs=60)).call(
        {"tool": "run", "argv": ["sh", "-c", script]}
    )
    return {
        "observation": obs.text,
        "hook": hook.exists(),
        "outside": (tree.parent / "outside").exists(),
        "admin_evil": (admin / "evil").exists(),
        "config_same": (path / ".git" / "config").read_text() == config,
        "inside": (tree / "inside").exists(),
        "task_writes_hooks": outcome(lambda: (path / ".git" / "hooks" / "t").write_text("")),
    }


@agent.task("probe.try", description="Attempt one action; report whether the sandbox allowed it.")
def probe(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    name = payload["action"]
    try:
        out = ACTIONS[name](ctx, payload)
    except OSError as err:
        code = errno.errorcode.get(err.errno or 0, str(err.errno))
        ctx.log.warning(f"probe {name} refused: {err}", action=name, errno=code)
        return {"ok": False, "errno": code, "error": str(err), "summary": f"{name}: {code}"}
    ctx.log.info(f"probe {name} succeeded", action=name)
    return {"ok": True, **out, "summary": f"{name}: succeeded"}


def outcome(fn: Callable[[], object]) -> dict[str, Any]:
    try:
        return {"ok": True, "value": fn()}
    except OSError as err:
        return {"ok": False, "errno": errno.errorcode.get(err.errno or 0, str(err.errno))}


def before_the_task() -> dict[str, Any]:
    """What a task process tries before its task is known: the window a warm process waits in.
    It leaves a mark in its working folder (the workspace it was given) and tries to reach past
    it: the folder its siblings' stand-ins would be in, the network, the processes around it."""
    here = Path.cwd()
    mark = f"{os.readlink('/proc/self/ns/pid')} {os.getpid()}"
    (here / "planted-before-the-task").write_text(mark)
    return {
        "cwd": str(here),
        "mark": mark,
        "write_beside": outcome(lambda: (here.parent / "planted-beside").write_text("x")),
        "beside": outcome(lambda: sorted(os.listdir(here.parent))),
        "network": outcome(lambda: socket.create_connection(("1.1.1.1", 443), timeout=2).close()),
        "processes": sorted(int(d) for d in os.listdir("/proc") if d.isdigit()),
    }


#: What this process saw before its task came (task processes only).
BEFORE: dict[str, Any] = {}
#: Tasks this process has run (a task process must run one).
SEEN: list[str] = []


@action("window")
def window(ctx: TaskContext, _p: dict[str, Any]) -> dict[str, Any]:
    """Report what this process saw before its task, which tasks it ran before, and the mark
    it left in its workspace."""
    SEEN.append(ctx.task_id)
    mark = ctx.workspace / "planted-before-the-task"
    out: dict[str, Any] = {
        "before": BEFORE,
        "seen": list(SEEN),
        "pidns": os.readlink("/proc/self/ns/pid"),
        "mark_in_workspace": mark.read_text() if mark.exists() else None,
    }
    if "read" in _p:  # what this process may read, as its task
        try:
            out["read"] = Path(_p["read"]).read_text()
        except OSError as e:
            out["read_error"] = errno.errorcode.get(e.errno or 0, str(e))
    return out


if __name__ == "__main__":
    if os.environ.get("HYPERAGENT_TASK_STDIN") == "1":
        BEFORE.update(before_the_task())
        raw = sys.stdin.read()
        if raw.strip():
            OWN_TASK.update(json.loads(raw))
        sys.stdin = io.StringIO(raw)
    agent.run()
