"""The security-audit agent end to end: the real manager runs the real bootstrapper to make a
project, the test commits to it as a developer would, and the real security-audit agent, confined
by the kernel, audits it with the real pip-audit, detect-secrets and bandit.

What is planted: an AWS-style key committed, then removed in a later commit (so it is in the
history, not the tree), `yaml.load` (bandit's B506), and `jinja2==3.1.2` pinned in
requirements.txt. Each audit must find exactly that, and a fresh project nothing.

One stand-in, at the protocol boundary: the test machine cannot reach api.osv.dev, so an OSV
stand-in (`OsvStandIn`: HTTPS on the host's loopback, a certificate made for the test, OSV's
`POST /v1/query`) knows one advisory. The agent reaches it exactly as it would reach OSV: from its
network namespace through the SDK's relay and the manager's egress proxy, after the person's
consent for its host (the agent's `HYPERAGENT_SECURITYAUDIT_OSV_URL` and `_CA_BUNDLE` settings
point at it; a read rule lets the agent read the stand-in's folder, for its certificate).
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import pytest
from harness import DEADLINE, REPO, Manager, bootstrapper_agents, wait_until, wheelhouse
from test_bootstrap import processes_in

from hyperagent.v1 import client_pb2, common_pb2

#: Made up for this test; the shape of an AWS access key id.
KEY = "AKIA" + "R7WQ2ZK4TX9MBN3C"
#: The one advisory the stand-in knows (as OSV serves it, trimmed to what pip-audit reads).
ADVISORY = {
    "id": "GHSA-h5c8-rqwp-cp95",
    "aliases": ["CVE-2024-22195"],
    "summary": "Jinja vulnerable to HTML attribute injection when passing user input as keys",
    "modified": "2024-01-11T15:20:48Z",
    "published": "2024-01-11T15:20:48Z",
    "affected": [
        {
            "package": {"name": "jinja2", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.3"}]}],
        }
    ],
}


@dataclass
class OsvStandIn:
    """A stand-in for OSV's query API (``POST /v1/query``) over HTTPS on the host's loopback."""

    folder: Path
    queries: list[dict[str, Any]] = field(default_factory=list)
    #: When set, a query waits for ``release`` after setting ``arrived`` (to cancel mid-query).
    hold: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def start(self) -> OsvStandIn:
        self.cert, key = self.folder / "cert.pem", self.folder / "key.pem"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=osv-stand-in"),
                *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
                *("-addext", "subjectAltName=IP:127.0.0.1"),
                *("-keyout", str(key), "-out", str(self.cert)),
            ],
            check=True,
            capture_output=True,
        )
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.queries.append(query)
                if stand_in.hold.is_set():
                    stand_in.arrived.set()
                    stand_in.release.wait(DEADLINE)
                known = (query["package"]["name"], query["version"]) == ("jinja2", "3.1.2")
                body = json.dumps({"vulns": [ADVISORY]} if known else {}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(self.cert, key)
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/v1/query"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()


@dataclass
class World:
    m: Manager
    osv: OsvStandIn


def with_securityaudit(folder: Path, osv: OsvStandIn) -> Path:
    """The folder of agents with the security-audit agent's manifest, pointed at the stand-in."""
    (folder / "securityaudit").mkdir()
    manifest = (REPO / "agents" / "securityaudit" / "agent.toml").read_text()
    for key, value in [("OSV_URL", osv.url), ("CA_BUNDLE", str(osv.cert))]:
        setting = f"HYPERAGENT_SECURITYAUDIT_{key}"
        manifest, n = re.subn(
            rf'^{setting} = ".*"$', f'{setting} = "{value}"', manifest, flags=re.M
        )
        assert n == 1, setting
    (folder / "securityaudit" / "agent.toml").write_text(manifest)
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("securityaudit")
    (base / "osv").mkdir()
    osv = OsvStandIn(base / "osv").start()
    agents = with_securityaudit(bootstrapper_agents(base / "agents", wheelhouse()), osv)
    m = Manager(
        root=base,
        agents_dir=agents,
        extra={
            "sandbox": {"allow_unsupervised_agents": False},
            "templates": {"dirs": [str(REPO / "templates")]},
            "consent": {"timeout": "20s"},
        },
    ).start()
    rule = m.cli("policy", "allow", "--read", str(osv.folder), "--agent", "securityaudit")
    assert rule.returncode == 0, rule.stderr
    m.wait_agent("bootstrapper", online=True)
    m.wait_agent("securityaudit", online=True)
    yield World(m, osv)
    m.stop()
    osv.stop()


def finished(w: World, task: Any) -> tuple[Any, dict[str, Any]]:
    done = w.m.wait_state(task.id)
    output = json.loads(done.result.output_json) if done.result.output_json else {}
    return done, output


def make_project(w: World, folder: str) -> Path:
    """A FastAPI project made by the real bootstrapper (no post-check: the audit needs no venv)."""
    task = w.m.submit(
        "bootstrap.project",
        {"template": "fastapi", "answers": {"project_name": folder}, "checks": False},
        workspace=folder,
    )
    done, out = finished(w, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    return Path(out["path"])


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@localhost", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def plant(project: Path, package: str) -> str:
    """The key committed in config (then removed), yaml.load in a module, jinja2 pinned to a
    version with an advisory; returns the commit that added the key."""
    (project / package / "cloud.py").write_text(f'"""Cloud access."""\n\nKEY_ID = "{KEY}"\n')
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Cloud access")
    added = git(project, "rev-parse", "HEAD").strip()
    (project / package / "cloud.py").write_text(
        '"""Cloud access."""\n\nimport os\n\nKEY_ID = os.environ.get("KEY_ID", "")\n'
    )
    (project / package / "loader.py").write_text(
        '"""Loads settings."""\n\nimport yaml\n\n\ndef load(path: str) -> object:\n'
        "    with open(path) as f:\n        return yaml.load(f)\n"
    )
    (project / "requirements.txt").write_text("jinja2==3.1.2\nidna==3.10\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Key from the environment; a loader; pins")
    return added


def check_sarif(doc: dict[str, Any]) -> None:
    """The report's shape against the parts of the SARIF 2.1.0 schema the reports use (the
    structural check kept with the code reviewer's tests)."""
    schema_path = REPO / "agents" / "codereview" / "tests" / "data" / "sarif-2.1.0-shape.json"
    jsonschema.validate(doc, json.loads(schema_path.read_text()), cls=jsonschema.Draft7Validator)


def test_a_fresh_project_has_no_findings(world: World) -> None:
    project = make_project(world, "fresh")
    done, out = finished(world, world.m.submit("security.audit", {}, workspace="fresh"))
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["findings"] == [], out["findings"]
    assert done.result.summary == "no findings; no pinned dependency to audit"
    # Nothing pinned, nothing to ask OSV: no consent was asked, no connection made.
    assert out["dependencies"]["audited"] == 0
    assert out["dependencies"]["not_pinned"], "the template's ranges are listed as not audited"
    assert out["secrets"]["history"] is True
    assert out["secrets"]["commits"] >= 1
    [artifact] = done.result.artifacts
    report = Path(artifact.location)
    assert not report.is_relative_to(project)
    doc = json.loads(report.read_text())
    check_sarif(doc)
    assert [r["tool"]["driver"]["name"] for r in doc["runs"]] == ["detect-secrets", "bandit"]
    assert git(project, "status", "--porcelain", "--ignored") == ""
    audit = world.m.cli("audit", "list", "--task", done.id, "--json").stdout
    assert '"task.confined"' in audit
    assert '"net.connected"' not in audit
    messages = [line.message for line in world.m.logs(done.id)]
    assert any(m.startswith("secrets: git history") for m in messages), messages
    assert any(m.startswith("code: bandit") for m in messages), messages


def test_exactly_what_was_planted_is_found_and_the_key_is_never_shown(world: World) -> None:
    project = make_project(world, "planted")
    added = plant(project, "planted")
    asked_before = len(world.osv.queries)
    task = world.m.submit("security.audit", {}, workspace="planted")
    ask = world.m.wait_event(
        lambda e: e.HasField("consent") and e.consent.kind == "connect", task_id=task.id
    )
    assert ask.consent.target == f"127.0.0.1:{world.osv.port}"
    # For the task: each of pip-audit's connections is checked by the proxy as the task's.
    granted = world.m.cli("consent", "grant", ask.consent.id, "--scope", "task")
    assert granted.returncode == 0, granted.stderr
    done, out = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    found = [(f["kind"], f["location"], f["rule"]) for f in out["findings"]]
    assert found == [
        ("dependency", "jinja2@3.1.2", "CVE-2024-22195"),
        ("secret", f"{added[:12]}:planted/cloud.py:3", "AWS Access Key"),
        ("code", "planted/loader.py:8", "B506:yaml_load"),
    ], found
    dep = out["findings"][0]
    assert dep["fixed_version"] == "3.1.3"
    assert dep["aliases"] == ["GHSA-h5c8-rqwp-cp95"]
    assert "pin jinja2==3.1.3 in requirements.txt:1" in dep["fix"]
    assert out["findings"][1]["commit"] == added
    assert done.result.summary.startswith("3 findings (2 high, 1 medium): 1 dependency, 1 secret")
    source = out["dependencies"]["source"]
    assert source["service"] == "OSV"
    assert source["url"] == world.osv.url
    assert source["queried_at"] in done.result.summary
    # Both pins were asked about, through the egress proxy (audited as the agent's connection).
    assert sorted(q["package"]["name"] for q in world.osv.queries[asked_before:]) == [
        "idna",
        "jinja2",
    ]
    entries = [
        json.loads(x)
        for x in world.m.cli("--json", "audit", "list", "--task", done.id).stdout.splitlines()
    ]
    assert any(
        e["action"] == "net.connected" and e["detail"]["port"] == world.osv.port for e in entries
    )
    # The SARIF report: a run per tool; the key nowhere in logs, result or report.
    report = Path(done.result.artifacts[0].location)
    doc = json.loads(report.read_text())
    check_sarif(doc)
    assert [r["tool"]["driver"]["name"] for r in doc["runs"]] == [
        "pip-audit",
        "detect-secrets",
        "bandit",
    ]
    logs = "\n".join(f"{line.message} {dict(line.fields)}" for line in world.m.logs(done.id))
    for text, where in [
        (logs, "task log"),
        (done.result.output_json, "result"),
        (done.result.summary, "summary"),
        (report.read_text(), "SARIF report"),
    ]:
        assert KEY not in text, f"the planted key is in the {where}"
        assert KEY[4:] not in text, f"part of the planted key is in the {where}"
    assert git(project, "status", "--porcelain") == ""


def test_offline_skips_the_dependency_pass_without_asking(world: World) -> None:
    project = make_project(world, "offline")
    (project / "requirements.txt").write_text("jinja2==3.1.2\n")
    asked_before = len(world.osv.queries)
    task = world.m.submit("security.audit", {"offline": True}, workspace="offline")
    done, out = finished(world, task)
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["findings"] == []
    assert out["dependencies"] == {"ran": False, "why": "offline: not asked for"}
    assert done.result.summary == "no findings; dependencies not audited (offline)"
    assert len(world.osv.queries) == asked_before


def test_cancelling_mid_query_stops_pip_audit(world: World) -> None:
    project = make_project(world, "cancel")
    (project / "requirements.txt").write_text("jinja2==3.1.2\n")
    rule = world.m.cli(
        "--json",
        "policy",
        "allow",
        "--connect",
        f"127.0.0.1:{world.osv.port}",
        "--agent",
        "securityaudit",
    )
    assert rule.returncode == 0, rule.stderr
    world.osv.arrived.clear()
    world.osv.release.clear()
    world.osv.hold.set()
    try:
        task = world.m.submit("security.audit", {}, workspace="cancel")
        assert world.osv.arrived.wait(DEADLINE), "pip-audit's query reached the stand-in"
        running = [p for p in processes_in(project) if "pip_audit" in p]
        assert running, "pip-audit runs in the project while its query waits"
        world.m.client.CancelTask(
            client_pb2.CancelTaskRequest(task_id=task.id, reason="stop"), timeout=30
        )
        done = world.m.wait_state(task.id)
        assert done.state == common_pb2.TASK_STATE_CANCELED, done.status_reason
        wait_until(lambda: not processes_in(project), f"no processes left in {project}")
    finally:
        world.osv.hold.clear()
        world.osv.release.set()
        world.m.cli("policy", "revoke", json.loads(rule.stdout)["id"])


def test_payloads_outside_the_schema_are_refused_at_submit(world: World) -> None:
    for payload, where in [
        ({"passes": ["network"]}, "/passes/0"),
        ({"passes": []}, "/passes"),
        ({"include_history": "yes"}, "/include_history"),
        ({"colour": "red"}, "colour"),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            world.m.submit("security.audit", payload, workspace="refused")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert where in (err.value.details() or ""), err.value.details()
