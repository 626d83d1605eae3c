"""The echo agent's handlers, run in memory with hyperagent_sdk.testing."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from hyperagent_echo import agent
from hyperagent_sdk import CancellationToken
from hyperagent_sdk.testing import LoggedLine, run_handler


def exited(pid: int) -> bool:
    """The process is gone, or a zombie (it has exited; only its reaping is pending)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rfind(")") + 2] in "ZX"


def test_echo_logs_the_message_and_returns_it() -> None:
    run = run_handler(agent, "echo.echo", {"message": "héllo"})
    assert run.status == "SUCCEEDED"
    assert run.output == {"message": "héllo", "summary": "echoed 5 characters"}
    assert run.summary == "echoed 5 characters"
    assert [(line.level, line.message, line.fields) for line in run.logs] == [
        ("INFO", "héllo", {"length": "5"})
    ]


def test_sleep_reports_progress_at_every_step() -> None:
    run = run_handler(agent, "echo.sleep", {"seconds": 0.01, "steps": 4})
    assert run.status == "SUCCEEDED"
    assert run.summary == "slept 0.01 s"
    assert run.progress == [
        (0.25, "sleep 1/4"),
        (0.5, "sleep 2/4"),
        (0.75, "sleep 3/4"),
        (1.0, "sleep 4/4"),
    ]


def test_sleep_defaults_to_ten_steps() -> None:
    run = run_handler(agent, "echo.sleep", {"seconds": 0})
    assert len(run.progress) == 10


def test_sleep_stops_as_soon_as_it_is_cancelled() -> None:
    token = CancellationToken()
    run = run_handler(
        agent,
        "echo.sleep",
        {"seconds": 3600, "steps": 2},
        cancel=token,
        on_log=lambda line: token.cancel("enough"),  # as it starts sleeping
    )
    assert (run.status, run.error) == ("CANCELED", "enough")
    assert run.messages() == ["sleeping"]
    assert run.progress == []  # not even the first half-hour step was waited out


def test_sleep_in_a_child_runs_the_shell_and_finishes() -> None:
    run = run_handler(agent, "echo.sleep", {"seconds": 0.01, "child": True})
    assert run.status == "SUCCEEDED"
    assert run.summary == "slept 0.01 s in a child shell"
    started = [line for line in run.logs if line.message == "child started"]
    assert len(started) == 1
    assert int(started[0].fields["child_pid"]) > 0


def test_cancelling_a_child_sleep_kills_the_shell_and_its_sleep() -> None:
    token = CancellationToken()
    shells: list[int] = []

    def on_log(line: LoggedLine) -> None:
        if line.message == "child started":
            shells.append(int(line.fields["child_pid"]))
            token.cancel("stop sleeping")

    run = run_handler(
        agent, "echo.sleep", {"seconds": 600, "child": True}, cancel=token, on_log=on_log
    )
    assert (run.status, run.error) == ("CANCELED", "stop sleeping")
    (shell,) = shells
    assert exited(shell)
    # Nothing of the process group survived: no "sleep 600" is left over.
    leftover = subprocess.run(
        ["pgrep", "-g", str(shell)], capture_output=True, text=True, check=False
    )
    assert all(exited(int(pid)) for pid in leftover.stdout.split())


def test_spam_logs_that_many_lines_of_about_that_size_with_progress() -> None:
    run = run_handler(agent, "echo.spam", {"lines": 1000, "size": 50})
    assert run.status == "SUCCEEDED"
    assert len(run.logs) == 1000
    assert [line.fields["n"] for line in run.logs[:3]] == ["1", "2", "3"]
    assert all(len(line.message) == 50 for line in run.logs)
    assert run.logs[0].message.startswith("line 1 ")
    assert [fraction for fraction, _ in run.progress] == [i / 10 for i in range(1, 11)]
    assert run.output == {
        "lines": 1000,
        "bytes": 50_000,
        "summary": "logged 1000 lines (50000 bytes)",
    }


def test_spam_defaults_to_80_byte_lines() -> None:
    run = run_handler(agent, "echo.spam", {"lines": 3})
    assert [len(line.message) for line in run.logs] == [80, 80, 80]


def test_spam_stops_when_cancelled() -> None:
    token = CancellationToken()
    run = run_handler(
        agent,
        "echo.spam",
        {"lines": 10_000_000, "size": 10},
        cancel=token,
        on_log=lambda line: token.cancel("too much") if line.seq == 5000 else None,
    )
    assert (run.status, run.error) == ("CANCELED", "too much")
    assert len(run.logs) < 10_000


def test_fail_fails_with_the_message() -> None:
    run = run_handler(agent, "echo.fail", {"message": "as requested"})
    assert (run.status, run.error, run.exit_code) == ("FAILED", "RuntimeError: as requested", 1)
    assert run.messages("INFO") == ["failing on request"]
    assert run.messages("ERROR")[0].endswith("RuntimeError: as requested")


def test_the_module_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    """``python3 -m hyperagent_echo`` starts, keeps looking for a manager, exits 0 on SIGTERM."""
    env = {"HYPERAGENT_SOCKET": str(tmp_path / "nobody-listens.sock"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hyperagent_echo"],
        env={**env, "PATH": "/usr/bin:/bin"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # it logs that it cannot register yet
        assert "cannot register with the manager" in first
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, rest
    assert "agent echo stopped" in rest


def test_the_child_sleep_gets_the_seconds_as_plain_decimals() -> None:
    from hyperagent_echo.agent import _decimal  # noqa: PLC0415 - a private helper

    assert [_decimal(s) for s in (987.654, 3.0, 0.5, 1e-05, 86400)] == [
        "987.654",
        "3",
        "0.5",
        "0.00001",
        "86400",
    ]
