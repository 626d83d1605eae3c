"""`docker compose config` where Docker answers. Docker cannot run here, so a **stand-in `docker`
executable** on PATH plays it at the process boundary (a shell script written by each test: it
records its arguments and the file it was given, and answers as the test says); nothing of the
agent is replaced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hyperagent_devenv.agent import agent
from hyperagent_sdk import CancellationToken
from hyperagent_sdk.testing import LoggedLine, run_handler


def standin_docker(
    folder: Path, config: str, version: str = 'echo "Docker Compose version v2"'
) -> Path:
    """A stand-in `docker` in ``folder`` (put first on PATH): ``compose version`` runs
    ``version``; ``compose ... config`` records its arguments (``calls``) and the file after
    ``-f`` (``checked.yaml``) beside itself, then runs ``config``."""
    folder.mkdir(exist_ok=True)
    script = folder / "docker"
    script.write_text(
        "#!/bin/sh\n"
        "# Stand-in for docker, for the dev-env agent's tests.\n"
        'here=$(dirname "$0")\n'
        'if [ "$1 $2" = "compose version" ]; then\n'
        f"  {version}\n"
        "  exit 0\n"
        "fi\n"
        'printf "%s\\n" "$*" >> "$here/calls"\n'
        'prev=""\n'
        'for a in "$@"; do [ "$prev" = "-f" ] && cp "$a" "$here/checked.yaml"; prev=$a; done\n'
        f"{config}\n"
    )
    script.chmod(0o755)
    return folder


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return folder


def test_docker_present_checks_the_new_file_as_the_projects_and_passes(
    fastapi_postgres: Path, bin_dir: Path
) -> None:
    standin_docker(bin_dir, "exit 0")
    run = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert run.status == "SUCCEEDED", run.error
    docker = run.output["docker"]
    assert (docker["outcome"], docker["summary"]) == ("passed", "docker compose config passed")
    [call] = (bin_dir / "calls").read_text().splitlines()
    assert call.startswith(f"compose --project-directory {fastapi_postgres} -f ")
    assert call.endswith("/compose.yaml config --quiet")
    # It checked exactly what was then written, from outside the project.
    assert not call.split(" -f ")[1].startswith(str(fastapi_postgres))
    written = (fastapi_postgres / "compose.yaml").read_text()
    assert (bin_dir / "checked.yaml").read_text() == written
    assert run.summary.endswith("; docker compose config passed")


def test_compose_refusing_the_file_fails_the_task_and_writes_nothing(
    fastapi_postgres: Path, bin_dir: Path
) -> None:
    standin_docker(bin_dir, 'echo "services.app.ports: invalid port" >&2\nexit 15')
    run = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert run.status == "FAILED"
    assert run.error == (
        "nothing was written: Compose refuses the generated file: services.app.ports: invalid port"
    )
    assert not (fastapi_postgres / "compose.yaml").exists()
    assert not (fastapi_postgres / ".devcontainer").exists()


def test_a_docker_without_compose_is_skipped_in_its_own_words(
    fastapi_postgres: Path, bin_dir: Path
) -> None:
    standin_docker(
        bin_dir, "exit 0", version="echo \"docker: 'compose' is not a docker command.\" >&2; exit 1"
    )
    run = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert run.status == "SUCCEEDED", run.error
    assert run.output["docker"]["outcome"] == "skipped"
    assert run.output["docker"]["detail"] == (
        "docker has no compose command (docker: 'compose' is not a docker command.)"
    )
    assert not (bin_dir / "calls").exists()  # config was never run


def test_without_docker_the_check_is_skipped_saying_so(
    fastapi_postgres: Path, bin_dir: Path
) -> None:
    bin_dir.mkdir()
    run = run_handler(agent, "devenv.create", {}, workspace=fastapi_postgres)
    assert run.status == "SUCCEEDED", run.error
    assert run.output["docker"]["summary"] == "docker compose config skipped: docker not found"
    assert (fastapi_postgres / "compose.yaml").exists()


def test_cancel_while_docker_runs_ends_it_and_writes_nothing(
    fastapi_postgres: Path, bin_dir: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "docker.pid"
    # Compose that never answers: it says so, then waits until it is ended.
    standin_docker(bin_dir, f'echo $$ > {pid_file}\necho "checking"\nexec sleep 600')
    token = CancellationToken()

    def on_log(line: LoggedLine) -> None:
        if line.message == "checking":
            token.cancel("stop")

    run = run_handler(
        agent, "devenv.create", {}, workspace=fastapi_postgres, cancel=token, on_log=on_log
    )
    assert run.status == "CANCELED"
    pid = int(pid_file.read_text())
    assert not alive(pid), f"the stand-in docker ({pid}) still runs"
    assert not (fastapi_postgres / "compose.yaml").exists()


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
