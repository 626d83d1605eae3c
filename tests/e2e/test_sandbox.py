"""Escape attempts by a real confined agent.

The manager starts the hostile ``probe`` agent (tests/e2e/agents/probe) from its manifest, exactly
like a shipped agent, and runs each of its tasks in a confined task process. Every attempt below
must fail, and be on record: the probe's refused attempt is stored as a warning log line of its
task, and attempts the manager itself sees (foreign or forged tokens) are in the audit log. The
same kinds of attempt, granted by a permission rule or aimed inside the workspace, must succeed,
so the suite cannot pass by breaking everything.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from harness import BIN, REPO, Manager, free_port, pid_alive, session_bus, wait_until

from hyperagent.v1 import agent_pb2, agent_pb2_grpc, client_pb2, common_pb2

PROBE_DIR = REPO / "tests" / "e2e" / "agents"
MAX_FILE = 2 * 1024 * 1024
QUOTA = 8 * 1024 * 1024
TASK_PROCESSES = 96
# Connections agents and tasks may hold to the manager's socket at once (the bundled agents and
# their warm task processes hold a few dozen).
CONFINED_CONNECTIONS = 96
TASK_MEMORY = 256 * 1024 * 1024
TASK_LOG_BYTES = 256 * 1024


@dataclass
class World:
    m: Manager
    home: Path
    ssh_key: Path
    data: Path
    tcp_port: int
    udp: socket.socket
    tcp: socket.socket


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("sandbox")
    home = root / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY----- not a real key\n")
    (home / ".bashrc").write_text("# the person's shell settings\n")
    # Real listeners on the host's loopback that the sandbox must not reach.
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    # Names an attacker controls, resolving into the machine and its networks (DNS rebinding):
    # the manager runs with these in its /etc/hosts (a mount namespace of its own).
    hosts = root / "hosts"
    hosts.write_text(
        Path("/etc/hosts").read_text()
        + "\n::ffff:127.0.0.1 rebind-mapped.test\n169.254.169.254 rebind-metadata.test\n"
        + "10.0.0.1 rebind-private.test\n"
    )
    # An agent whose manifest grants itself read access to the person's keys.
    greedy = root / "more-agents" / "greedy"
    greedy.mkdir(parents=True)
    (greedy / "agent.toml").write_text(
        'name = "greedy"\ncommand = ["python3", "-m", "hyperagent_echo"]\n'
        f'capabilities = ["greedy.read"]\n[sandbox]\nread = ["{home / ".ssh"}"]\n'
    )
    # A file the launching shell left open without close-on-exec, inherited by the manager.
    bashrc = os.open(home / ".bashrc", os.O_WRONLY | os.O_APPEND)
    m = Manager(
        pass_fds=(bashrc,),
        wrap=[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"',
            str(hosts),
        ],
        root=root,
        home=home,
        agents_dir=REPO / "agents",
        extra={
            "supervisor": {"agent_dirs": [str(PROBE_DIR), str(greedy.parent)]},
            "sandbox": {
                "allow_unsupervised_agents": False,
                "max_file_bytes": MAX_FILE,
                "workspace_quota_bytes": QUOTA,
                "quota_check_interval": "50ms",
                "task_max_processes": TASK_PROCESSES,
                "task_memory_bytes": TASK_MEMORY,
            },
            # Connections nobody grants are asked about, then denied when unanswered.
            "consent": {"timeout": "2s", "max_pending_per_task": 4},
            "agents": {"max_log_bytes_per_task": TASK_LOG_BYTES, "max_text_bytes": 4096},
            "server": {
                "tcp": f"127.0.0.1:{free_port()}",
                "max_confined_connections": CONFINED_CONNECTIONS,
            },
        },
    ).start()
    m.wait_agent("probe", online=True)
    m.wait_agent("echo", online=True)
    os.close(bashrc)
    yield World(m, home, key, root / "data", tcp.getsockname()[1], udp, tcp)
    m.stop()
    tcp.close()
    udp.close()


def attempt(w: World, action: str, **args: Any) -> tuple[dict[str, Any], client_pb2.Task]:
    t = w.m.submit("probe.try", {"action": action, **args})
    done = w.m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    return json.loads(done.result.output_json), done


def refused(w: World, action: str, **args: Any) -> dict[str, Any]:
    """The attempt failed, and its refusal is on record with the task."""
    out, task = attempt(w, action, **args)
    assert out["ok"] is False, f"{action} {args} was allowed: {out}"
    logs = w.m.client.GetLogs(client_pb2.GetLogsRequest(task_id=task.id), timeout=30).lines
    assert any(
        line.level == common_pb2.LOG_LEVEL_WARN
        and line.fields.get("action") == action
        and line.fields.get("errno") == out["errno"]
        for line in logs
    ), f"no record of the refused {action}"
    return out


def allowed(w: World, action: str, **args: Any) -> dict[str, Any]:
    out, _ = attempt(w, action, **args)
    assert out["ok"] is True, f"{action} {args} was refused: {out}"
    return out


def pid_of(w: World, agent: str) -> int:
    return int(w.m.agents()[agent].pid)


# ----- files -------------------------------------------------------------------------------------


def test_agents_run_confined(world: World) -> None:
    agents = world.m.agents()
    assert agents["probe"].confined
    assert agents["echo"].confined


def test_read_a_system_secret(world: World) -> None:
    refused(world, "read", path="/etc/shadow")


def test_read_the_users_ssh_key(world: World) -> None:
    # Not even there: the home folder is outside the task's view of the filesystem.
    assert refused(world, "read", path=str(world.ssh_key))["errno"] == "ENOENT"


def test_write_a_system_file_in_view(world: World) -> None:
    # In view, read-only twice over: Landlock, and the read-only bind of the system's folders.
    assert refused(world, "write", path="/usr/lib/hyperagent-planted")["errno"] in (
        "EACCES",
        "EROFS",
    )
    assert not Path("/usr/lib/hyperagent-planted").exists()


def test_list_the_users_home(world: World) -> None:
    refused(world, "list", path=str(world.home))


def test_write_the_users_shell_settings(world: World) -> None:
    refused(world, "write", path=str(world.home / ".bashrc"))
    assert (world.home / ".bashrc").read_text() == "# the person's shell settings\n"


def test_write_through_a_descriptor_the_manager_inherited(world: World) -> None:
    refused(world, "inherited_fds")
    assert (world.home / ".bashrc").read_text() == "# the person's shell settings\n"


def test_read_the_managers_database(world: World) -> None:
    refused(world, "read", path=str(world.data / "hyperagent.db"))


def test_read_the_discovery_file_with_the_tcp_token(world: World) -> None:
    refused(world, "read", path=str(world.m.root / "run" / "manager.json"))


def test_climb_out_of_the_workspace_with_dotdot(world: World) -> None:
    # Relative to the task's workspace (its working directory): <data>/workspaces/<id>/../../
    refused(world, "read", path="../../hyperagent.db")


def test_read_through_proc_self_root(world: World) -> None:
    refused(world, "read", path=f"/proc/self/root{world.ssh_key}")


def test_read_through_a_symlink(world: World) -> None:
    refused(world, "symlink_read", path=str(world.ssh_key))


def test_write_through_a_symlink(world: World) -> None:
    refused(world, "symlink_write", path=str(world.home / ".bashrc"))
    assert (world.home / ".bashrc").read_text() == "# the person's shell settings\n"


def test_hard_link_a_secret_into_the_workspace(world: World) -> None:
    refused(world, "hardlink", path=str(world.ssh_key))


def test_move_a_secret_into_the_workspace(world: World) -> None:
    refused(world, "rename_in", path=str(world.ssh_key))
    assert world.ssh_key.exists()


def test_write_into_another_tasks_workspace(world: World) -> None:
    other = world.m.submit("echo.echo", {"message": "neighbour"})
    world.m.wait_state(other.id)
    target = Path(other.workspace) / "planted"
    refused(world, "write", path=str(target))
    assert not target.exists()


# A task may start children narrower than itself (hyperagent_sdk.narrow): a Landlock layer stacked
# on the manager's confinement, inside its namespaces.


def test_a_narrowed_child_writes_less_than_its_task(world: World) -> None:
    out = allowed(world, "narrowed_child")
    assert out["abi"] >= 1, out
    assert out["out"] == ["wrote-inside", "denied-beside", "denied-mem"], out
    assert out["inside"] is True
    assert out["beside"] is False


def test_the_coders_run_cannot_write_the_git_folder_its_task_may(world: World) -> None:
    """The coder's run tool in a real task process: the task may write the repository's git
    folder (as granted), the model's command may not."""
    out = allowed(world, "coder_run")
    assert out["task_writes_hooks"]["ok"] is True, out
    assert out["hook"] is False, out["observation"]
    assert out["outside"] is False
    assert out["admin_evil"] is False
    assert out["config_same"] is True
    assert out["inside"] is True
    assert "Permission denied" in out["observation"]
    assert "?? inside" in out["observation"]  # git status still reads


# Warm task processes: started and confined before their task is known (sandbox.warm_pool_size,
# 1 here as by default), each standing in an empty folder of its own that becomes its task's
# workspace. A task on a warm process must be exactly as confined as one started afresh.


def warm_task(w: World) -> dict[str, Any]:
    """Runs a `window` task on a warm process that is ready (its imports done, waiting on stdin:
    the probe leaves its mark in its stand-in then), and returns what it reported."""
    warm_dir = w.data / "warm" / "probe"
    if not warm_dir.is_dir() or not any(warm_dir.iterdir()):
        attempt(w, "window")  # the agent's first task starts its pool
    wait_until(
        lambda: any(warm_dir.glob("*/planted-before-the-task")), "a warm probe process ready"
    )
    out, task = attempt(w, "window")
    assert Path(out["before"]["cwd"]).parent == warm_dir, out
    out["workspace"] = task.workspace
    return out


def test_a_warm_process_runs_one_task_only(world: World) -> None:
    first = warm_task(world)
    second = warm_task(world)
    # Each task ran in a process (and pid namespace) of its own, which had run nothing before.
    assert len(first["seen"]) == 1
    assert len(second["seen"]) == 1
    assert first["pidns"] != second["pidns"]


def test_a_warm_process_waiting_for_its_task_reaches_nothing_beside_it(world: World) -> None:
    out = warm_task(world)
    before = out["before"]
    # The folder its siblings' stand-ins are in shows none of them, and what it writes there
    # (a private tmpfs when it is beneath /tmp, as here; else refused) never reaches the host.
    beside = before["beside"]["value"] if before["beside"]["ok"] else []
    assert set(beside) <= {Path(before["cwd"]).name, "planted-beside"}, before
    assert not (world.data / "warm" / "probe" / "planted-beside").exists()
    assert before["network"]["ok"] is False, before
    assert len(before["processes"]) <= 2, before
    # What it left in its stand-in is in its own task's workspace, made by that same process.
    assert out["mark_in_workspace"] == before["mark"]
    assert out["pidns"] in before["mark"]
    assert (Path(out["workspace"]) / "planted-before-the-task").read_text() == before["mark"]


def test_a_task_cannot_reach_a_warm_sibling(world: World) -> None:
    warm_task(world)
    # The task just run fills the pool again: a sibling waits in its stand-in.
    warm_dir = world.data / "warm" / "probe"
    wait_until(lambda: any(warm_dir.glob("*/planted-before-the-task")), "a warm sibling ready")
    siblings = [p for p in warm_dir.iterdir() if p.is_dir()]
    assert len(siblings) == 1, siblings
    stand_in = siblings[0]
    # A task on a folder that is not empty cannot take it: it runs in a process of its own while
    # the sibling waits, and tries to reach it.
    busy = world.data / "workspaces" / "busy-sibling"
    busy.mkdir(parents=True, exist_ok=True)
    (busy / "README").write_text("not empty\n")
    for action, args in [
        ("write", {"path": str(stand_in / "planted")}),
        ("list", {"path": str(stand_in)}),
        ("list", {"path": str(stand_in.parent)}),
    ]:
        t = world.m.submit("probe.try", {"action": action, **args}, workspace=busy.name)
        done = world.m.wait_state(t.id)
        out = json.loads(done.result.output_json)
        assert out["ok"] is False, f"{action} {args} was allowed: {out}"
    assert not (stand_in / "planted").exists()
    assert stand_in.exists(), "the sibling was taken by a task it could not serve"


def test_a_warm_process_reads_what_the_agents_rules_grant_every_task_and_no_more(
    world: World,
) -> None:
    """A task whose read grants are the agent's standing rules may run on a warm process
    confined to read them; once a rule goes, no warm process confined under it serves a task."""
    shared = world.home.parent / "shared-wheels"
    shared.mkdir(exist_ok=True)
    (shared / "wheel.txt").write_text("a wheel\n")
    warm_dir = world.data / "warm" / "probe"

    def window(path: Path) -> dict[str, Any]:
        out, _ = attempt(world, "window", read=str(path))
        out["warm"] = Path(out["before"]["cwd"]).parent == warm_dir
        return out

    def ready() -> None:
        wait_until(lambda: any(warm_dir.glob("*/planted-before-the-task")), "a warm process")

    rule = world.m.client.AddPolicyRule(
        client_pb2.AddPolicyRuleRequest(
            agent="probe",
            kind="read",
            target=str(shared),
            decision=client_pb2.POLICY_DECISION_ALLOW,
        ),
        timeout=30,
    )
    try:
        # The process that waited since before the rule may not serve a task with it: this task
        # starts afresh (and reads), and the pool fills with a process confined to the rule.
        first = window(shared / "wheel.txt")
        assert first["read"] == "a wheel\n"
        ready()
        on_warm = window(shared / "wheel.txt")
        assert on_warm["warm"] is True, on_warm
        assert on_warm["read"] == "a wheel\n"
    finally:
        world.m.client.RevokePolicyRule(client_pb2.RevokePolicyRuleRequest(id=rule.id), timeout=30)
    # The rule is gone: the process confined under it is dropped, not used, and every task,
    # warm or not, is refused the folder.
    ready()
    after = window(shared / "wheel.txt")
    assert after["warm"] is False, after
    assert "read" not in after, after
    assert after["read_error"] in {"EACCES", "ENOENT"}, after
    ready()
    warm_again = window(shared / "wheel.txt")
    assert warm_again["warm"] is True, warm_again
    assert "read" not in warm_again, warm_again
    assert warm_again["read_error"] in {"EACCES", "ENOENT"}, warm_again


def test_write_into_the_agents_own_code(world: World) -> None:
    target = PROBE_DIR / "probe" / "planted.py"
    refused(world, "write", path=str(target))
    assert not target.exists()


def test_escape_through_a_detached_grandchild(world: World) -> None:
    target = world.home / "from-grandchild"
    refused(world, "grandchild_write", path=str(target))
    assert not target.exists()


def test_fill_the_disk_past_the_quota(world: World) -> None:
    out = refused(world, "fill", bytes=4 * MAX_FILE)
    assert out["errno"] == "EFBIG"


def test_fill_the_disk_with_many_small_files(world: World) -> None:
    t = world.m.submit("probe.try", {"action": "fill_many", "bytes": 256 * 1024 * 1024})
    done = world.m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "outgrew the quota" in done.status_reason
    assert len(done.attempts) == 1, "a task over its quota is not retried"
    entries = audit_actions(world, t.id)
    assert any(e["action"] == "sandbox.quota_exceeded" for e in entries)


def test_gain_privileges_to_mount(world: World) -> None:
    refused(world, "setuid_root")


def peak_rss_mib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM:")).split()[1]) // 1024


def test_an_endless_output_line_does_not_fill_the_managers_memory(world: World) -> None:
    assert world.m.proc is not None
    before = peak_rss_mib(world.m.proc.pid)
    t = world.m.submit("probe.try", {"action": "long_line", "mib": 256})
    assert world.m.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED
    grew = peak_rss_mib(world.m.proc.pid) - before
    assert grew < 64, f"the manager's peak memory grew by {grew} MiB for one 256 MiB line"
    assert world.m.proc.poll() is None


def test_agent_text_cannot_drive_the_persons_terminal(world: World) -> None:
    out, task = attempt(world, "terminal")
    assert out["ok"] is True
    for args in (["logs", task.id], ["task", task.id], ["audit", "list", "--task", task.id]):
        printed = world.m.cli(*args).stdout
        assert "\x1b" not in printed, f"{args} printed an escape: {printed!r}"
        assert "\u202e" not in printed, args
        assert "\x9b" not in printed, args
        assert "\r" not in printed, args
    shown = world.m.cli("logs", task.id).stdout
    assert "\\x1b]52;c;" in shown, "the sequence is shown, escaped"
    assert "\\u{202e}txt.exe" in shown


def test_a_fork_bomb_stops_at_the_tasks_process_limit(world: World) -> None:
    out = refused(world, "fork_many", count=4 * TASK_PROCESSES)
    started = int(out["error"].split("stopped after ")[1].split()[0])
    assert started < TASK_PROCESSES


def test_a_task_over_its_memory_limit_is_killed_and_says_so(world: World) -> None:
    t = world.m.submit("probe.try", {"action": "eat_memory", "mib": 2 * TASK_MEMORY >> 20})
    done = world.m.wait_state(t.id)
    assert done.state != common_pb2.TASK_STATE_COMPLETED
    assert "memory limit" in done.attempts[0].error, done.attempts[0].error
    # The manager is untouched.
    assert world.m.proc is not None
    assert world.m.proc.poll() is None


def test_a_log_flood_stops_at_the_tasks_log_cap(world: World) -> None:
    out, task = attempt(world, "log_flood", lines=2000)
    assert out["ok"] is True
    lines = world.m.client.GetLogs(client_pb2.GetLogsRequest(task_id=task.id), timeout=30).lines
    stored = sum(len(x.message) + sum(len(k) + len(v) for k, v in x.fields.items()) for x in lines)
    assert stored < TASK_LOG_BYTES + 64 * 1024
    assert any("log limit reached" in x.message for x in lines)
    # Lines past the cap are dropped (the probe's closing line among them), but the task went on
    # and its result was stored.
    assert not any(x.message.startswith("probe log_flood succeeded") for x in lines)
    assert json.loads(world.m.task(task.id).result.output_json)["ok"] is True


def test_a_task_cannot_bury_the_person_in_permission_requests(world: World) -> None:
    out, _ = attempt(world, "ask_many", count=20)
    too_many = [r for r in out["refusals"] if "too many permission requests waiting" in r]
    assert len(too_many) >= 16, out["refusals"]


def test_agent_text_is_stored_cut_to_size(world: World) -> None:
    t = world.m.submit("probe.try", {"action": "long_progress", "bytes": 1 << 20})
    done = world.m.wait_state(t.id)
    assert len(done.progress.step) <= 4096
    assert "truncated" in done.progress.step
    assert len(done.result.error) <= 4096


# ----- network -----------------------------------------------------------------------------------


def test_tcp_to_a_server_on_the_hosts_loopback(world: World) -> None:
    refused(world, "tcp", host="127.0.0.1", port=world.tcp_port)


def test_tcp_to_the_internet(world: World) -> None:
    refused(world, "tcp", host="1.1.1.1", port=443)


def test_tcp_to_the_managers_port(world: World) -> None:
    port = int(world.m.cli("config", "show").stdout.split('tcp = "127.0.0.1:')[1].split('"')[0])
    refused(world, "tcp", host="127.0.0.1", port=port)


def test_udp_to_the_internet(world: World) -> None:
    refused(world, "udp", host="1.1.1.1", port=53)


def test_udp_to_the_host_never_arrives(world: World) -> None:
    # Inside its own namespace 127.0.0.1 is its own loopback: the send "works", nothing arrives.
    attempt(world, "udp", host="127.0.0.1", port=world.udp.getsockname()[1])
    with pytest.raises(BlockingIOError):
        world.udp.recv(64)


def test_dns(world: World) -> None:
    refused(world, "dns", name="pypi.org")


# ----- the person's path Unix sockets: outside the task's view of the filesystem -----------------


@dataclass
class Sockets:
    """Real services of the person's session listening on path sockets, where a desktop has them:
    a D-Bus session bus beside the manager's runtime folder, an ssh-agent holding a key, and a
    listener in /tmp."""

    bus: Path
    ssh_agent: Path
    tmp_listener: Path


@pytest.fixture(scope="module")
def sockets(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sockets]:
    # Where the attacker looked: $XDG_RUNTIME_DIR, the parent of the manager's runtime folder.
    xdg = world.m.socket.parent.parent
    bus = xdg / "bus"
    ssh = xdg / "ssh-agent.socket"
    keys = tmp_path_factory.mktemp("keys")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "id")],
        check=True,
        timeout=30,
    )
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(ssh)], stdout=subprocess.DEVNULL)
    wait_until(ssh.exists, "the ssh-agent listens")
    subprocess.run(
        ["ssh-add", "-q", str(keys / "id")],
        env={**os.environ, "SSH_AUTH_SOCK": str(ssh)},
        check=True,
        timeout=30,
        capture_output=True,
    )
    tmp_dir = Path(tempfile.mkdtemp(prefix="hyperagent-sock-", dir="/tmp"))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_dir / "a.sock"))
    listener.listen()

    def greet() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(64)
                conn.sendall(b"greetings from the host\n")

    threading.Thread(target=greet, daemon=True).start()
    with session_bus(keys, listen=f"unix:path={bus}"):
        yield Sockets(bus, ssh, tmp_dir / "a.sock")
    agent.terminate()
    agent.wait(timeout=30)
    listener.close()
    shutil.rmtree(tmp_dir, ignore_errors=True)


def test_the_persons_session_bus(world: World, sockets: Sockets) -> None:
    assert refused(world, "dbus", path=str(sockets.bus))["errno"] == "ENOENT"


def test_the_persons_ssh_agent(world: World, sockets: Sockets) -> None:
    assert refused(world, "ssh_agent", path=str(sockets.ssh_agent))["errno"] == "ENOENT"


def test_a_listener_in_the_shared_tmp(world: World, sockets: Sockets) -> None:
    assert refused(world, "unix", path=str(sockets.tmp_listener))["errno"] == "ENOENT"


def test_look_for_sockets_around_the_managers_and_in_procs_tables(
    world: World, sockets: Sockets
) -> None:
    refused(world, "find_sockets", also=[str(world.home)])


def test_the_managers_own_socket_stays_reachable(world: World) -> None:
    # The negative control: the one socket a task is given still answers (a gRPC server speaks
    # HTTP/2, so its first bytes are a SETTINGS frame).
    allowed(world, "unix", path=str(world.m.socket), data="PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")


def test_see_the_hosts_processes(world: World) -> None:
    refused(world, "processes")


def test_read_the_hosts_tcp_table_through_proc(world: World) -> None:
    port = f":{world.tcp_port:04X}"
    for pid in ("1", "self"):
        refused(world, "host_proc", path=f"/proc/{pid}/net/tcp", needle=port)


def test_read_the_hosts_mounts_through_proc(world: World) -> None:
    # The host has /dev/shm mounted; a task's view has no such mount.
    refused(world, "host_proc", path="/proc/1/mountinfo", needle=" /dev/shm ")


def test_tmp_is_the_tasks_own(world: World) -> None:
    # Writing /tmp works (programs expect it), but lands in the task's private folder.
    allowed(world, "write", path="/tmp/hyperagent-escape-test")
    assert not Path("/tmp/hyperagent-escape-test").exists()


# ----- processes that outlive their task ---------------------------------------------------------


def lingering(marker: Path) -> list[int]:
    """Processes still running with ``marker`` on their command line."""
    return [
        pid
        for pid in (int(d) for d in os.listdir("/proc") if d.isdigit())
        if pid_alive(pid) and str(marker).encode() in _cmdline(pid)
    ]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_a_process_left_behind_dies_with_its_task(world: World) -> None:
    assert world.m.proc is not None
    out = allowed(world, "linger", pgid=os.getpgid(world.m.proc.pid))
    marker = Path(out["marker"])
    wait_until(lambda: not lingering(marker), "no process of the ended task is left")


@pytest.fixture(scope="module")
def echo_server() -> Iterator[int]:
    """A TCP echo server on the host's loopback: a stand-in for a package index."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(4096)
                conn.sendall(b"echo: " + data)

    threading.Thread(target=serve, daemon=True).start()
    yield int(srv.getsockname()[1])
    srv.close()


def audit_of(w: World, task_id: str) -> list[dict[str, Any]]:
    out = w.m.cli("--json", "audit", "list", "--task", task_id).stdout.splitlines()
    return [json.loads(x) for x in out]


def test_through_the_proxy_without_a_grant(world: World, echo_server: int) -> None:
    out, task = attempt(world, "proxy", host="127.0.0.1", port=echo_server)
    assert out["ok"] is False
    assert "403" in out["error"]
    assert "no answer within 2s" in out["error"]
    entries = audit_of(world, task.id)
    asked = [e for e in entries if e["action"] == "consent.requested"]
    assert asked, "the manager asked the person on the task's behalf"
    assert asked[0]["actor"] == "manager"
    assert any(e["action"] == "net.refused" and e["detail"]["port"] == echo_server for e in entries)


def test_through_the_proxy_with_a_grant_to_another_host(
    world: World, echo_server: int, rule: Any
) -> None:
    rule("allow", "--connect", f"127.0.0.1:{free_port()}", "--agent", "probe")
    out, task = attempt(world, "proxy", host="127.0.0.1", port=echo_server)
    assert out["ok"] is False
    assert any(e["action"] == "net.refused" for e in audit_of(world, task.id))


def test_a_granted_host_is_reached_through_the_proxy_and_recorded(
    world: World, echo_server: int, rule: Any
) -> None:
    rule("allow", "--connect", f"127.0.0.1:{echo_server}", "--agent", "probe")
    out = allowed(world, "proxy", host="127.0.0.1", port=echo_server)
    assert out["reply"] == "echo: hello through the proxy\n"
    # The grant is for the proxy only: the direct route stays closed.
    refused(world, "tcp", host="127.0.0.1", port=echo_server)
    _, task = attempt(world, "proxy", host="127.0.0.1", port=echo_server)
    # The proxy records the connection when it opens, and its byte counts when it closes.
    wait_until(
        lambda: any(e["action"] == "net.closed" for e in audit_of(world, task.id)),
        "the closed connection is audited",
    )
    entries = {e["action"]: e["detail"] for e in audit_of(world, task.id)}
    assert entries["net.connected"]["agent"] == "probe"
    assert entries["net.closed"]["bytes_sent"] == len("hello through the proxy\n")
    assert entries["net.closed"]["bytes_received"] == len("echo: hello through the proxy\n")


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("rebind-mapped.test", "loopback"),
        ("rebind-metadata.test", "link-local"),
        ("rebind-private.test", "private-network"),
    ],
)
def test_a_granted_name_that_resolves_into_the_machine(
    world: World, echo_server: int, rule: Any, name: str, what: str
) -> None:
    rule("allow", "--connect", f"{name}:{echo_server}", "--agent", "probe")
    out, task = attempt(world, "proxy", host=name, port=echo_server)
    assert out["ok"] is False, f"{name} reached {out}"
    assert "403" in out["error"]
    assert what in out["error"]
    refusals = [e for e in audit_of(world, task.id) if e["action"] == "net.refused"]
    assert refusals
    assert what in refusals[0]["detail"]["reason"]


def test_bind_a_port_outside_the_local_range(world: World) -> None:
    refused(world, "tcp_bind", port=7)


# ----- other processes ---------------------------------------------------------------------------


def test_signal_the_manager(world: World) -> None:
    refused(world, "signal", pid=world.m.proc.pid if world.m.proc else 0)
    assert world.m.proc is not None
    assert world.m.proc.poll() is None


def test_signal_another_agent(world: World) -> None:
    echo = pid_of(world, "echo")
    refused(world, "signal", pid=echo)
    assert world.m.agents()["echo"].pid == echo


def test_signal_its_own_agent_process(world: World) -> None:
    refused(world, "signal", pid=pid_of(world, "probe"))


def test_ptrace_the_manager(world: World) -> None:
    refused(world, "ptrace", pid=world.m.proc.pid if world.m.proc else 0)


def test_ptrace_another_agent(world: World) -> None:
    refused(world, "ptrace", pid=pid_of(world, "echo"))


def test_read_the_managers_environment(world: World) -> None:
    refused(world, "proc_environ", pid=world.m.proc.pid if world.m.proc else 0)


# ----- tokens: refused by the manager, and audited by it -----------------------------------------


def audit_actions(w: World, task_id: str) -> list[dict[str, Any]]:
    out = w.m.cli("--json", "audit", "list", "--task", task_id).stdout.splitlines()
    return [json.loads(x) for x in out]


def test_act_on_another_task_with_its_own_token(world: World) -> None:
    victim = world.m.submit("echo.sleep", {"seconds": 60})
    world.m.wait_state(victim.id, common_pb2.TASK_STATE_RUNNING)
    out = refused(world, "token", task_id=victim.id, capability_token="own")
    assert "PERMISSION_DENIED" in out["error"]
    assert any(e["action"] == "token.refused" for e in audit_actions(world, victim.id))
    world.m.client.CancelTask(client_pb2.CancelTaskRequest(task_id=victim.id), timeout=30)


def test_a_forged_token(world: World) -> None:
    victim = world.m.submit("echo.sleep", {"seconds": 60})
    world.m.wait_state(victim.id, common_pb2.TASK_STATE_RUNNING)
    out = refused(world, "token", task_id=victim.id, capability_token="forged.token")
    assert "UNAUTHENTICATED" in out["error"]
    assert any(e["action"] == "token.refused" for e in audit_actions(world, victim.id))
    world.m.client.CancelTask(client_pb2.CancelTaskRequest(task_id=victim.id), timeout=30)


def test_an_expired_token(world: World) -> None:
    # A token lives until its attempt's deadline plus the cancel grace: here about 7 s.
    first = world.m.submit("probe.try", {"action": "reveal_token"}, timeout_secs=1)
    done = world.m.wait_state(first.id)
    token = json.loads(done.result.output_json)["token"]

    def expired() -> bool:
        request = agent_pb2.PushLogsRequest(task_id=first.id, capability_token=token)
        try:
            agent_pb2_grpc.AgentServiceStub(world.m._channel).PushLogs(request, timeout=10)
        except grpc.RpcError as err:
            return "expired" in (err.details() or "")
        return False

    wait_until(expired, "the token expired")
    out = refused(world, "token", task_id=first.id, capability_token=token)
    assert "expired" in out["error"]
    assert any(e["action"] == "token.refused" for e in audit_actions(world, first.id))


def test_a_flood_of_idle_connections_from_a_sandbox_is_capped_and_the_person_still_gets_in(
    world: World,
) -> None:
    """A task holding many idle connections to the manager's socket took its file descriptors:
    the manager spun retrying accepts and the person's CLI got no answer. Confined peers now hold
    at most `server.max_confined_connections`; the rest are closed at once."""
    flood = CONFINED_CONNECTIONS + 40
    t = world.m.submit("probe.try", {"action": "hold_connections", "count": flood})
    task = world.m.client.GetTask(client_pb2.GetTaskRequest(task_id=t.id), timeout=30)
    held = Path(task.workspace) / "held"
    wait_until(held.exists, "the task to open its connections")
    assert int(held.read_text()) <= CONFINED_CONNECTIONS
    # The person's own client is not counted: it gets in while the flood is held.
    r = world.m.cli("agents")
    assert r.returncode == 0, r.stderr
    assert "probe" in r.stdout
    (Path(task.workspace) / "release").write_text("")
    done = world.m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    out = json.loads(done.result.output_json)
    assert out["ok"] is True, out
    assert out["closed"] >= flood - CONFINED_CONNECTIONS


def test_use_the_persons_client_api(world: World) -> None:
    for call in ("add_rule", "list_tasks"):
        out = refused(world, "client_call", call=call)
        assert "PERMISSION_DENIED" in out["error"]
        assert "inside an agent's sandbox" in out["error"]
    assert json.loads(world.m.cli("--json", "policy", "list").stdout) == []
    refusals = [
        json.loads(x)
        for x in world.m.cli("audit", "export", "--jsonl").stdout.splitlines()
        if '"client.refused"' in x
    ]
    assert len(refusals) >= 2


def process_named(name: str) -> int | None:
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and Path(f"/proc/{d}/comm").read_text().strip() == name:
                return int(d)
        except OSError:
            pass
    return None


def take_pid(pid: int) -> subprocess.Popen[bytes]:
    """Start an unconfined process that holds ``pid``: the attacker's pid walk, done directly
    (the kernel's ns_last_pid) instead of by forking through the counter."""
    for _ in range(50):
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        holder = subprocess.Popen(["sleep", "600"])
        if holder.pid == pid:
            return holder
        holder.kill()
        holder.wait()
    raise AssertionError(f"could not start a process with pid {pid}")


def test_a_kept_connection_whose_pid_was_reused(world: World) -> None:
    t = world.m.submit("probe.try", {"action": "stale_identity", "target": str(world.home)})
    ws = Path(world.m.wait_state(t.id, common_pb2.TASK_STATE_RUNNING).workspace)
    wait_until((ws / "connected").exists, "the child connected")
    connector = process_named("ha-connector")
    assert connector is not None
    (ws / "go").write_text("")
    wait_until(lambda: not pid_alive(connector), "the connecting child is gone")
    holder = take_pid(connector)
    try:
        (ws / "pid-taken").write_text("")
        done = world.m.wait_state(t.id)
    finally:
        holder.kill()
        holder.wait()
    out = json.loads(done.result.output_json)
    assert out["ok"] is False, f"the client API took the kept connection for pid {connector}'s"
    assert "inside an agent's sandbox" in out["error"]
    assert json.loads(world.m.cli("--json", "policy", "list").stdout) == []


def test_its_own_token_altered(world: World) -> None:
    out = refused(world, "token", task_id="self", capability_token="own-tampered")
    assert "UNAUTHENTICATED" in out["error"]


# ----- the same kinds of attempt, inside the workspace or granted, succeed -----------------------


def test_inside_the_workspace_everything_works(world: World) -> None:
    allowed(world, "write", path="inside.txt")
    allowed(world, "read", path="/etc/os-release")
    # Its own loopback, on a port of the configured local range (8000..8100 by default).
    assert allowed(world, "loopback_server", port=8042)["echo"] == "ping"
    refused(world, "loopback_server", port=7999)
    assert allowed(world, "fill", bytes=MAX_FILE // 2)["written"] >= MAX_FILE // 2
    allowed(world, "token", task_id="self", capability_token="own")


@pytest.fixture
def rule(world: World) -> Iterator[Any]:
    made: list[str] = []

    def add(decision: str, *args: str) -> dict[str, Any]:
        r = world.m.cli("--json", "policy", decision, *args)
        assert r.returncode == 0, r.stderr
        rule = json.loads(r.stdout)
        made.append(rule["id"])
        return rule

    yield add
    for rid in made:
        world.m.cli("policy", "revoke", rid)


def test_a_granted_read_works_and_revoking_it_closes_it_again(world: World, rule: Any) -> None:
    r = rule("allow", "--read", str(world.ssh_key.parent), "--agent", "probe")
    assert allowed(world, "read", path=str(world.ssh_key))["bytes"] > 0
    allowed(world, "symlink_read", path=str(world.ssh_key))
    assert world.m.cli("policy", "revoke", r["id"]).returncode == 0
    refused(world, "read", path=str(world.ssh_key))


def test_a_granted_write_works_but_deny_wins(world: World, rule: Any) -> None:
    target = world.home / "notes"
    target.mkdir(exist_ok=True)
    rule("allow", "--write", str(target))
    allowed(world, "write", path=str(target / "a.txt"))
    allowed(world, "grandchild_write", path=str(target / "b.txt"))
    assert (target / "a.txt").read_text() == "pwned"
    rule("deny", "--read", str(target / "private"))
    refused(world, "write", path=str(target / "c.txt"))


def test_a_grant_for_another_agent_grants_nothing(world: World, rule: Any) -> None:
    rule("allow", "--read", str(world.ssh_key.parent), "--agent", "echo")
    refused(world, "read", path=str(world.ssh_key))


def test_grants_are_audited_with_each_task(world: World, rule: Any) -> None:
    rule("allow", "--read", str(world.ssh_key.parent), "--agent", "probe")
    _, task = attempt(world, "read", path=str(world.ssh_key))
    confined = [e for e in audit_actions(world, task.id) if e["action"] == "task.confined"]
    assert confined
    assert confined[0]["detail"]["read"] == [str(world.ssh_key.parent)]
    added = [
        json.loads(x)
        for x in world.m.cli("audit", "export", "--jsonl").stdout.splitlines()
        if '"policy.rule_added"' in x
    ]
    assert added, "rule changes are audited"


def test_policy_input_errors_are_specific(world: World) -> None:
    r = world.m.cli("policy", "allow", "--read", "relative/path")
    assert r.returncode != 0
    assert "must be absolute" in r.stderr
    r = world.m.cli("policy", "allow", "--connect", "pypi.org")
    assert r.returncode != 0
    assert "HOST:PORT" in r.stderr


def registration_refusal(w: World, name: str) -> str:
    """Starts the echo agent by hand under `name` and returns the line in which it says the
    manager refused its registration."""
    env = dict(os.environ, HYPERAGENT_SOCKET=str(w.m.socket), HYPERAGENT_AGENT_NAME=name)
    env.pop("HYPERAGENT_TASK_STDIN", None)
    proc = subprocess.Popen(
        [shutil.which("python3") or "python3", "-m", "hyperagent_echo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "cannot register" in line:
                return line
    finally:
        proc.kill()
        proc.wait()
    raise AssertionError(f"agent {name} never reported a refused registration")


def test_an_agent_the_manager_did_not_start_is_refused(world: World) -> None:
    assert "was not started by this manager" in registration_refusal(world, "rogue")
    assert "rogue" not in world.m.agents()


def test_an_impostor_cannot_take_a_supervised_agents_name(world: World) -> None:
    assert "is not that process" in registration_refusal(world, "echo")
    refusals = [
        json.loads(x)
        for x in world.m.cli("audit", "export", "--jsonl").stdout.splitlines()
        if '"agent.refused"' in x
    ]
    assert any(r["detail"]["agent"] == "echo" for r in refusals)


def test_an_agent_cannot_take_task_types_its_manifest_does_not_declare(world: World) -> None:
    def refused_thief() -> bool:
        return any(
            '"agent.refused"' in x and '"thief"' in x
            for x in world.m.cli("audit", "export", "--jsonl").stdout.splitlines()
        )

    wait_until(refused_thief, "the thief's registration is refused")
    refusal = next(
        json.loads(x)
        for x in world.m.cli("audit", "export", "--jsonl").stdout.splitlines()
        if '"agent.refused"' in x and '"thief"' in x
    )
    assert "`echo.echo`, which its manifest does not declare" in refusal["detail"]["reason"]
    assert "thief" not in world.m.agents() or not world.m.agents()["thief"].online
    for i in range(6):
        t = world.m.submit("echo.echo", {"message": f"private {i}"})
        done = world.m.wait_state(t.id)
        assert done.state == common_pb2.TASK_STATE_COMPLETED
        assert [a.agent_id for a in done.attempts] == ["echo"]


def test_a_manifest_cannot_grant_itself_reads_outside_its_folder(world: World) -> None:
    log = world.m.log.read_text()
    assert "[sandbox] read: `" in log
    assert "is absolute; a manifest may only name paths inside its agent's folder" in log
    assert "hyperagent policy allow --read" in log
    assert "greedy" not in world.m.agents()


# ----- destructive actions: consent, snapshot, rollback ------------------------------------------


def grant_pending(w: World, task_id: str) -> dict[str, Any]:
    w.m.wait_state(task_id, common_pb2.TASK_STATE_AWAITING_CONSENT)
    pending = json.loads(w.m.cli("--json", "consent", "list").stdout)
    mine = [c for c in pending if c["task_id"] == task_id]
    assert mine, pending
    assert mine[0]["kind"] == "destructive"
    r = w.m.cli("consent", "grant", mine[0]["id"])
    assert r.returncode == 0, r.stderr
    return mine[0]


def test_a_destructive_action_is_snapshotted_and_rolled_back(world: World, rule: Any) -> None:
    proj = world.home / "project"
    proj.mkdir()
    (proj / "keep.txt").write_text("original")
    (proj / "gone.txt").write_text("deleted by the task")
    rule("allow", "--write", str(proj), "--agent", "probe")
    t = world.m.submit(
        "probe.try",
        {
            "action": "overwrite",
            "path": str(proj / "keep.txt"),
            "delete": str(proj / "gone.txt"),
            "create": str(proj / "new.txt"),
            "description": "replace the project's files",
        },
    )
    grant_pending(world, t.id)
    done = world.m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    action = json.loads(done.result.output_json)["action"]
    assert (proj / "keep.txt").read_text() == "overwritten by the probe"
    assert not (proj / "gone.txt").exists()

    listed = json.loads(world.m.cli("--json", "rollback", "--list").stdout)
    assert [a["id"] for a in listed][:1] == [action]
    assert [p["existed"] for p in listed[0]["paths"]] == [True, True, False]
    r = world.m.cli("rollback", action)
    assert r.returncode == 0, r.stderr
    assert (proj / "keep.txt").read_text() == "original"
    assert (proj / "gone.txt").read_text() == "deleted by the task"
    assert not (proj / "new.txt").exists()
    again = world.m.cli("rollback", action)
    assert again.returncode != 0
    assert "already rolled back" in again.stderr
    actions = [e["action"] for e in audit_actions(world, t.id)]
    assert "action.snapshotted" in actions
    assert "action.rolled_back" in actions


def test_a_destructive_action_outside_what_the_task_may_write_is_refused(world: World) -> None:
    t = world.m.submit(
        "probe.try",
        {
            "action": "overwrite",
            "path": str(world.home / ".bashrc"),
            "delete": str(world.home / ".bashrc"),
            "create": str(world.home / "x"),
        },
    )
    done = world.m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "outside what task" in done.result.error
    assert (world.home / ".bashrc").read_text() == "# the person's shell settings\n"


def test_a_rollback_never_follows_a_link_swapped_in_while_it_runs(world: World) -> None:
    ssh = world.home / ".ssh"
    keys = ssh / "authorized_keys"
    keys.write_text("ssh-ed25519 AAAA the person's own key\n")
    attacker = "ssh-ed25519 AAAA the attacker's key\n"
    t = world.m.submit("probe.try", {"action": "plant_rollback", "files": 1500, "key": attacker})
    consent = grant_pending(world, t.id)
    # The person was told which paths.
    assert "big" in consent["reason"]
    assert "sub/authorized_keys" in consent["reason"]
    done = world.m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    action = json.loads(done.result.output_json)["action"]
    ws = Path(done.workspace)
    rollback = subprocess.Popen(
        [str(BIN), "--config", str(world.m.config), "rollback", action],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The leftover process: once the rollback is busy putting the big folder back, it swaps
    # the folder of the next path for a link to the person's ~/.ssh.
    wait_until(lambda: (ws / "big").exists() or rollback.poll() is not None, "rollback began")
    (ws / "sub").rmdir()
    (ws / "sub").symlink_to(ssh)
    _, err = rollback.communicate(timeout=60)
    assert keys.read_text() == "ssh-ed25519 AAAA the person's own key\n"
    assert sorted(p.name for p in ssh.iterdir()) == ["authorized_keys", "id_ed25519"]
    if rollback.returncode != 0:
        assert "symbolic link" in err


def test_a_destructive_action_through_a_link_leading_out_is_refused_before_asking(
    world: World,
) -> None:
    (world.home / "victim").write_text("keep me")
    t = world.m.submit("probe.try", {"action": "destroy_through_link", "target": str(world.home)})
    done = world.m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_FAILED
    assert "leads outside" in done.result.error
    assert "consent.requested" not in [e["action"] for e in audit_actions(world, t.id)]
    assert (world.home / "victim").read_text() == "keep me"


# ----- secrets ---------------------------------------------------------------------------------


def test_a_secret_reaches_only_a_granted_task_and_leaves_no_trace(world: World) -> None:
    value = f"hyperagent-test-secret-{os.getpid()}-Zq9"
    r = world.m.cli("secret", "set", "PROBE_TOKEN", stdin=value + "\n")
    assert r.returncode == 0, r.stderr
    assert value not in r.stdout + r.stderr
    listed = json.loads(world.m.cli("--json", "secret", "list").stdout)
    assert [s["name"] for s in listed] == ["PROBE_TOKEN"]

    # Undeclared by the manifest: refused without asking anyone.
    other = world.m.submit("probe.try", {"action": "secret", "name": "OTHER_TOKEN"})
    refused_task = world.m.wait_state(other.id)
    assert refused_task.state == common_pb2.TASK_STATE_FAILED
    assert "does not declare secret `OTHER_TOKEN`" in refused_task.result.error

    # Declared; the person says yes once.
    t = world.m.submit("probe.try", {"action": "secret", "name": "PROBE_TOKEN"})
    world.m.wait_state(t.id, common_pb2.TASK_STATE_AWAITING_CONSENT)
    pending = json.loads(world.m.cli("--json", "consent", "list").stdout)
    ask = next(c for c in pending if c["task_id"] == t.id)
    assert ask["kind"] == "secret"
    assert world.m.cli("consent", "grant", ask["id"]).returncode == 0
    done = world.m.wait_state(t.id)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    result = json.loads(done.result.output_json)
    assert result["length"] == len(value), "the task really had the value"
    assert result["leaked"] == "[redacted PROBE_TOKEN]"
    logs = world.m.cli("logs", t.id).stdout
    assert "[redacted PROBE_TOKEN]" in logs

    # Nowhere on disk, in any log or in the audit export.
    # Its stderr (captured by the supervisor) arrives redacted; wait for it, then for the
    # stdout line too, so everything the task wrote is on the feed.
    for stream in ("stderr", "stdout"):
        world.m.wait_event(
            lambda e, s=stream: (
                e.HasField("agent_output")
                and e.agent_output.line.endswith(f"{s}: [redacted PROBE_TOKEN]")
            )
        )
    export = world.m.cli("audit", "export", "--jsonl").stdout
    assert "secret.read" in export
    everything = [export, logs]
    for path in world.m.root.rglob("*"):
        if path.is_file():
            everything.append(path.read_bytes().decode("latin-1"))
    assert not [x for x in everything if value in x], "the secret's value was found"
    assert world.m.cli("secret", "delete", "PROBE_TOKEN").returncode == 0
    assert json.loads(world.m.cli("--json", "secret", "list").stdout) == []
