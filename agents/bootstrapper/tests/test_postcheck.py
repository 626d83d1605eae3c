"""The post-check's reading of what went wrong, and what it says about checks that did not run."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from hyperagent.v1 import common_pb2
from hyperagent_bootstrapper.agent import checks_outcome
from hyperagent_bootstrapper.postcheck import (
    Plan,
    PostCheck,
    Report,
    Settings,
    error_line,
    free_port,
)
from hyperagent_sdk import CancellationToken, PermissionRefused, TaskContext
from hyperagent_sdk.process import ChildRegistry

# What uv 0.13 prints when the TLS certificate of the index is not trusted (a company's
# TLS-inspecting proxy, uv's own root store).
UV_TLS_ERROR = [
    "error: Failed to fetch: `https://pypi.org/simple/fastapi/`",
    "  Caused by: Request failed after 3 retries",
    "  Caused by: error sending request for url (https://pypi.org/simple/fastapi/)",
    "  Caused by: client error (Connect)",
    "  Caused by: invalid peer certificate: UnknownIssuer",
    "",
    "hint: Consider enabling use of system TLS certificates with the `--system-certs` flag",
]


def test_the_error_line_is_the_error_with_its_deepest_cause_not_the_hint() -> None:
    assert error_line(UV_TLS_ERROR, 2) == (
        "error: Failed to fetch: `https://pypi.org/simple/fastapi/` "
        "(invalid peer certificate: UnknownIssuer)"
    )
    # uv 0.13's own spelling of it.
    assert error_line(
        [
            "Error: Failed to fetch: https://pypi.org/simple/six/",
            "  cause: invalid peer certificate",
        ],
        2,
    ) == ("Error: Failed to fetch: https://pypi.org/simple/six/ (invalid peer certificate)")
    pip = [
        "WARNING: Retrying (Retry(total=4)) after connection broken by 'SSLError(...)'",
        "ERROR: Could not find a version that satisfies the requirement fastapi (versions: none)",
        "ERROR: No matching distribution found for fastapi",
    ]
    assert error_line(pip, 1).startswith("ERROR: Could not find a version")
    # No line says error: the last one that is not a hint; nothing at all: the exit code.
    assert error_line(["resolving", "no wheel for this platform", "hint: try --x"], 1) == (
        "no wheel for this platform"
    )
    assert error_line([], 3) == "exit code 3"


def _fake_uv(tmp_path: Path, install_output: list[str], install_code: int) -> Path:
    """A stand-in for uv: ``venv`` makes the folder; ``pip install`` prints ``install_output``
    to stderr and exits with ``install_code``; each call records its environment."""
    script = tmp_path / "uv"
    # In the project: the install runs narrowed, it may write only there and its private folder.
    env_log = tmp_path / "shop" / "uv-env.jsonl"
    lines = "\n".join(install_output)
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        f"open({str(env_log)!r}, 'a').write(json.dumps(dict(os.environ)) + '\\n')\n"
        "if sys.argv[1] == 'venv':\n"
        "    os.makedirs(sys.argv[-1] + '/bin', exist_ok=True)\n"
        "    sys.exit(0)\n"
        f"sys.stderr.write({lines!r} + '\\n')\n"
        f"sys.exit({install_code})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


class _Run:
    def __init__(self, tmp_path: Path, *, refuse: bool = False) -> None:
        self.logs: list[tuple[int, str, Mapping[str, str]]] = []

        def ask(kind: str, target: str, reason: str) -> str:
            if refuse:
                raise PermissionRefused(kind, target, "client", "no network here")
            return "granted"

        project = tmp_path / "shop"
        project.mkdir()
        self.ctx = TaskContext(
            task_id="t1",
            task_type="bootstrap.project",
            payload={},
            workspace=project,
            cancelled=CancellationToken(),
            emit=lambda level, message, fields: self.logs.append((level, message, fields)),
            report_progress=lambda fraction, step: None,
            children=ChildRegistry(),
            ask=ask,
        )
        plan = Plan(python="", install=["fastapi"], test=["pytest"], serve=["uvicorn"], health="/")
        self.check = PostCheck(self.ctx, project, plan, Settings(), lambda step: None)

    def errors(self) -> list[str]:
        return [message for level, message, _ in self.logs if level == common_pb2.LOG_LEVEL_ERROR]


def test_a_failed_install_quotes_the_real_error_logs_it_and_lists_what_did_not_run(
    tmp_path: Path,
) -> None:
    run = _Run(tmp_path)
    run.check.uv = str(_fake_uv(tmp_path, UV_TLS_ERROR, 2))
    report = run.check.run()
    by_name = {c.name: c for c in report.checks}
    assert list(by_name) == ["environment", "install", "tests", "serve"]
    assert by_name["install"].status == "failed"
    assert "invalid peer certificate: UnknownIssuer" in by_name["install"].detail
    assert "hint" not in by_name["install"].detail
    assert (by_name["tests"].status, by_name["tests"].detail) == (
        "skipped",
        "not run: install failed",
    )
    assert (by_name["serve"].status, by_name["serve"].detail) == (
        "skipped",
        "not run: install failed",
    )
    # "error and above" finds it (the command's own stderr lines are only tagged stream=stderr).
    assert run.errors() == [f"install failed: {by_name['install'].detail}"]


def test_uv_uses_the_system_trust_store_and_the_persons_certificate_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/company/ca.pem")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    run = _Run(tmp_path)
    run.check.uv = str(_fake_uv(tmp_path, ["Installed 1 package"], 0))
    run.check.plan = Plan(python="", install=["fastapi"], test=[], serve=[], health="")
    run.check.run()
    seen = [
        json.loads(line) for line in (tmp_path / "shop" / "uv-env.jsonl").read_text().splitlines()
    ]
    assert [e["UV_SYSTEM_CERTS"] for e in seen] == ["1", "1"]  # venv, then pip install
    assert {e["SSL_CERT_FILE"] for e in seen} == {"/etc/company/ca.pem"}
    assert not any("SSL_CERT_DIR" in e for e in seen)


def test_refused_network_is_a_skipped_install_with_why_and_the_project_is_not_called_checked(
    tmp_path: Path,
) -> None:
    run = _Run(tmp_path, refuse=True)
    run.check.uv = str(_fake_uv(tmp_path, ["never reached"], 0))
    report = run.check.run()
    statuses = {c.name: (c.status, c.detail) for c in report.checks}
    assert statuses["environment"][0] == "passed"
    assert statuses["install"][0] == "skipped"
    assert "network access to pypi.org:443 was refused" in statuses["install"][1]
    assert statuses["tests"] == ("skipped", "not run: install was skipped")
    assert statuses["serve"] == ("skipped", "not run: install was skipped")
    outcome, words = checks_outcome(report)
    assert outcome == "checks skipped"
    assert words.startswith("1/4 checks passed, skipped: install (network access to pypi.org:443")
    assert "tests (not run: install was skipped)" in words


def test_the_outcome_says_checked_only_when_every_check_passed() -> None:
    assert checks_outcome(Report()) == ("not checked", "not checked")
    report = Report()
    for name in ("environment", "install", "tests", "serve"):
        report.add(name, "passed", "", 0.0)
    assert checks_outcome(report) == ("checked", "4/4 checks passed")


def _venv(venv: Path, version: str) -> None:
    """A project's working .venv, its Python recorded as ``version`` says (venv's or uv's key)."""
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\n{version}\n")


def test_a_project_checked_again_keeps_its_environment_when_its_python_is_the_asked_one(
    tmp_path: Path,
) -> None:
    run = _Run(tmp_path)
    run.check.uv = str(_fake_uv(tmp_path, ["Installed 1 package"], 0))
    _venv(run.check.venv, "version_info = 3.11.7")
    run.check.plan = Plan(python="3.11", install=["fastapi"], test=[], serve=[], health="")
    report = run.check.run()
    assert (report.checks[0].name, report.checks[0].status, report.checks[0].detail) == (
        "environment",
        "passed",
        "the project's .venv (Python 3.11.7)",
    )
    calls = [
        json.loads(line) for line in (tmp_path / "shop" / "uv-env.jsonl").read_text().splitlines()
    ]
    assert len(calls) == 1  # pip install only: no `uv venv` over it

    (tmp_path / "again").mkdir()
    run = _Run(tmp_path / "again")
    _venv(run.check.venv, "version = 3.11.2")
    run.check.plan = Plan(python="3.12", install=["fastapi"], test=[], serve=[], health="")
    report = run.check.run()
    assert (report.checks[0].status, report.checks[0].detail) == (
        "failed",
        "the project's .venv is Python 3.11.2, the template asks for 3.12; remove .venv and run"
        " the checks again",
    )
    assert [c.name for c in report.checks] == ["environment", "install"]
    assert report.checks[1].detail == "not run: environment failed"


_SERVER = """\
import http.server, pathlib, signal, sys, time
marks = pathlib.Path(sys.argv[2])

def stop(*_):
    time.sleep(0.3)  # a graceful stop takes a while (uvicorn: up to its 0.1 s tick, then shutdown)
    (marks / "stopped").write_text("")
    sys.exit(0)

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        (marks / "answered").write_text("")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_):
        pass

signal.signal(signal.SIGTERM, stop)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""

_TESTS = """\
import json, pathlib, sys
marks = pathlib.Path(sys.argv[1])
seen = {m: (marks / m).exists() for m in ("answered", "stopped")}
(marks / "tests").write_text(json.dumps(seen))
print("1 passed in 0.01s")
"""


def _serving(tmp_path: Path, server: str) -> tuple[_Run, Path]:
    """A post-check whose dev server is ``server`` (a script: port, marks folder) and whose tests
    record which of the server's marks were there when they began."""
    run = _Run(tmp_path)
    marks = run.check.project / "marks"  # the project's commands may write only the project
    marks.mkdir()
    (tmp_path / "server.py").write_text(server)
    (tmp_path / "tests.py").write_text(_TESTS)
    run.check.uv = str(_fake_uv(tmp_path, ["Installed 1 package"], 0))
    port = free_port(20000, 60000)
    run.check.settings = Settings(serve_timeout=10, ports=(port, port))
    run.check.plan = Plan(
        python="",
        install=["fastapi"],
        test=[sys.executable, str(tmp_path / "tests.py"), str(marks)],
        serve=[sys.executable, str(tmp_path / "server.py"), "{port}", str(marks)],
        health="/health",
    )
    return run, marks


def test_the_dev_server_answers_first_and_the_tests_run_while_it_stops(tmp_path: Path) -> None:
    run, marks = _serving(tmp_path, _SERVER)
    report = run.check.run()
    assert [(c.name, c.status) for c in report.checks] == [
        ("environment", "passed"),
        ("install", "passed"),
        ("tests", "passed"),
        ("serve", "passed"),
    ]
    # The tests began once the server had answered (its bytecode is theirs to reuse) and
    # before its stop was over (the stop overlaps them); it did stop.
    assert json.loads((marks / "tests").read_text()) == {"answered": True, "stopped": False}
    assert (marks / "stopped").exists()


def test_a_dev_server_that_exits_fails_serve_and_the_tests_still_run(tmp_path: Path) -> None:
    run, marks = _serving(tmp_path, "import sys; sys.exit(3)\n")
    report = run.check.run()
    by_name = {c.name: c for c in report.checks}
    assert [c.name for c in report.checks] == ["environment", "install", "tests", "serve"]
    assert by_name["tests"].status == "passed"
    assert json.loads((marks / "tests").read_text()) == {"answered": False, "stopped": False}
    assert by_name["serve"].status == "failed"
    assert "exited with code 3" in by_name["serve"].detail
    assert run.errors() == [f"serve failed: {by_name['serve'].detail}"]
