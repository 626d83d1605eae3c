"""ctx.run: commands in their own process group, output to the task log, killed on cancel."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support import exited

from hyperagent_sdk import Agent, CancellationToken, TaskContext, TaskFailed
from hyperagent_sdk.process import ChildRegistry, ProcessGroup, run_command
from hyperagent_sdk.testing import LoggedLine, run_handler


def agent_running(argv: list[str], **run_kwargs: object) -> Agent:
    agent = Agent("proc-test", kill_grace=0.3)

    @agent.task("run")
    def run(ctx: TaskContext, payload: dict[str, object]) -> dict[str, object]:
        code = ctx.run(argv, **run_kwargs)  # type: ignore[arg-type]
        return {"code": code}

    return agent


def test_output_lines_go_to_the_log_stdout_at_info_and_stderr_at_warn() -> None:
    agent = agent_running(["sh", "-c", "echo out one; echo err one >&2; echo out two"])
    run = run_handler(agent, "run")
    assert run.status == "SUCCEEDED"
    assert run.output == {"code": 0}
    stdout = [(line.level, line.message) for line in run.logs if line.fields["stream"] == "stdout"]
    stderr = [(line.level, line.message) for line in run.logs if line.fields["stream"] == "stderr"]
    assert stdout == [("INFO", "out one"), ("INFO", "out two")]
    assert stderr == [("WARN", "err one")]


def test_a_failing_command_fails_the_task_with_its_exit_code() -> None:
    run = run_handler(agent_running(["sh", "-c", "exit 3"]), "run")
    assert run.status == "FAILED"
    assert run.exit_code == 3
    assert run.error == "sh exited with code 3"


def test_without_check_the_exit_code_is_returned() -> None:
    run = run_handler(agent_running(["sh", "-c", "exit 3"], check=False), "run")
    assert run.status == "SUCCEEDED"
    assert run.output == {"code": 3}


def test_it_runs_in_the_workspace_with_the_extra_environment(tmp_path: Path) -> None:
    agent = agent_running(["sh", "-c", 'pwd; echo "$EXTRA"; echo "$PATH"'], env={"EXTRA": "yes"})
    run = run_handler(agent, "run", workspace=tmp_path)
    cwd, extra, path = run.messages()
    assert Path(cwd).resolve() == tmp_path.resolve()
    assert extra == "yes"
    assert path == os.environ["PATH"]  # the rest of the environment is inherited


def test_the_command_has_its_own_process_group_and_on_start_gets_its_pid() -> None:
    started: list[int] = []
    agent = agent_running(["sh", "-c", "ps -o pgid= -p $$"], on_start=started.append)
    run = run_handler(agent, "run")
    assert run.status == "SUCCEEDED"
    assert len(started) == 1
    assert int(run.messages()[0]) == started[0]  # the pgid is the child's own pid
    assert started[0] != os.getpgrp()


def cancel_once_grandchild_runs(
    token: CancellationToken, pids: list[int]
) -> Callable[[LoggedLine], None]:
    """An on_log hook: the script prints its grandchild's pid; cancel as soon as it does."""

    def on_log(line: LoggedLine) -> None:
        if line.fields.get("stream") == "stdout" and line.message.isdigit():
            pids.append(int(line.message))
            token.cancel("stop it")

    return on_log


def test_cancelling_kills_the_whole_process_group() -> None:
    token = CancellationToken()
    pids: list[int] = []
    agent = agent_running(["sh", "-c", "sleep 30 & echo $!; wait"], on_start=pids.append)
    run = run_handler(agent, "run", cancel=token, on_log=cancel_once_grandchild_runs(token, pids))
    assert run.status == "CANCELED"
    assert run.error == "stop it"
    shell, grandchild = pids
    assert exited(shell)
    assert exited(grandchild)


def test_processes_ignoring_sigterm_are_killed_after_the_grace() -> None:
    token = CancellationToken()
    pids: list[int] = []
    script = "trap '' TERM; sleep 30 & echo $!; wait"  # both shell and sleep ignore SIGTERM
    agent = agent_running(["sh", "-c", script], on_start=pids.append)
    started = time.monotonic()
    run = run_handler(agent, "run", cancel=token, on_log=cancel_once_grandchild_runs(token, pids))
    assert run.status == "CANCELED"
    assert time.monotonic() - started >= 0.3  # the grace passed before SIGKILL
    assert all(exited(pid) for pid in pids)


def test_a_timeout_kills_the_command_and_fails_the_task() -> None:
    run = run_handler(agent_running(["sleep", "30"], timeout=0.2), "run")
    assert run.status == "FAILED"
    assert run.error == "sleep timed out after 0.2 s"
    assert run.exit_code == -signal.SIGTERM


def test_processes_left_behind_in_the_group_are_ended_with_the_command() -> None:
    agent = agent_running(["sh", "-c", "sleep 30 & echo $!"])  # exits at once, sleep stays
    run = run_handler(agent, "run")
    assert run.status == "SUCCEEDED"
    assert exited(int(run.messages()[0]))


def test_an_already_cancelled_task_starts_nothing() -> None:
    started: list[int] = []
    token = CancellationToken()
    token.cancel("too late")
    with pytest.raises(Exception, match="too late"):
        run_command(
            ["sleep", "30"],
            token=token,
            emit=lambda *_: None,
            children=ChildRegistry(),
            kill_grace=0.1,
            on_start=started.append,
        )
    assert started == []


def test_the_registry_kills_running_commands_at_shutdown() -> None:
    children = ChildRegistry()
    started = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            run_command(
                ["sleep", "30"],
                token=CancellationToken(),
                emit=lambda *_: None,
                children=children,
                kill_grace=0.1,
                on_start=lambda _pid: started.set(),
            )
        except TaskFailed as err:
            outcome.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(5)
    assert children.kill_all() == 1
    thread.join(5)
    assert len(outcome) == 1
    assert isinstance(outcome[0], TaskFailed)
    assert outcome[0].exit_code == -signal.SIGKILL
    assert len(children) == 0


def test_a_process_group_knows_when_it_is_gone() -> None:
    group = ProcessGroup(os.getpgrp())
    assert group.alive()  # this test's own group
    assert not ProcessGroup(2**22 + 12345).alive()


def test_if_on_start_raises_the_command_is_ended_and_the_error_propagates() -> None:
    pids: list[int] = []

    def on_start(pid: int) -> None:
        pids.append(pid)
        raise RuntimeError("hook failed")

    run = run_handler(agent_running(["sleep", "30"], on_start=on_start), "run")
    assert (run.status, run.error) == ("FAILED", "RuntimeError: hook failed")
    assert exited(pids[0])
