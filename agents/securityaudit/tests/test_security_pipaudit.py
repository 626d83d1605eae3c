"""The dependency pass with the real pip-audit against a stand-in for OSV's query API (HTTPS on
loopback, a certificate made for the test): the person's consent is asked for its host first,
and a refusal fails the task saying how to audit without the network."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hyperagent_sdk import PermissionRefused, TaskContext
from hyperagent_sdk.testing import run_handler
from hyperagent_securityaudit.agent import agent

ADVISORY = {
    "id": "GHSA-h5c8-rqwp-cp95",
    "aliases": ["CVE-2024-22195"],
    "summary": "Jinja vulnerable to HTML attribute injection",
    "affected": [
        {
            "package": {"name": "jinja2", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.3"}]}],
        }
    ],
}


@pytest.fixture(scope="module")
def osv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[Any]]]:
    """A stand-in for OSV's ``POST /v1/query``: (its URL, its certificate, the queries)."""
    folder = tmp_path_factory.mktemp("osv")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=osv-stand-in"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    queries: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            queries.append(query)
            known = (query["package"]["name"], query["version"]) == ("jinja2", "3.1.2")
            body = json.dumps({"vulns": [ADVISORY]} if known else {}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/v1/query", cert, queries
    server.shutdown()


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, osv: tuple[str, Path, list[Any]]
) -> Path:
    url, cert, _ = osv
    monkeypatch.setenv("HYPERAGENT_SECURITYAUDIT_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("HYPERAGENT_SECURITYAUDIT_OSV_URL", url)
    monkeypatch.setenv("HYPERAGENT_SECURITYAUDIT_CA_BUNDLE", str(cert))
    for proxy in ("https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    root = tmp_path / "site"
    root.mkdir()
    (root / "requirements.txt").write_text("Jinja2==3.1.2\nidna==3.10\nrequests>=2\n")
    return root


def answer(monkeypatch: pytest.MonkeyPatch, asked: list[tuple[str, str]], grant: bool) -> None:
    def ask(self: TaskContext, kind: str, target: str, reason: str) -> str:
        asked.append((kind, target))
        if not grant:
            raise PermissionRefused(kind, target, "person", "not now")
        return "request-1"

    monkeypatch.setattr(TaskContext, "request_permission", ask)


def test_pinned_packages_are_asked_about_after_consent(
    project: Path, monkeypatch: pytest.MonkeyPatch, osv: tuple[str, Path, list[Any]]
) -> None:
    url, _, queries = osv
    asked: list[tuple[str, str]] = []
    answer(monkeypatch, asked, grant=True)
    run = run_handler(agent, "security.audit", {"passes": ["dependencies"]}, workspace=project)
    assert run.status == "SUCCEEDED", run.error
    assert asked == [("connect", url.split("/")[2])]
    assert sorted(q["package"]["name"] for q in queries[-2:]) == ["idna", "jinja2"]
    [finding] = run.output["findings"]
    assert (finding["location"], finding["rule"], finding["fixed_version"]) == (
        "jinja2@3.1.2",
        "CVE-2024-22195",
        "3.1.3",
    )
    deps = run.output["dependencies"]
    assert deps["audited"] == 2
    assert deps["not_pinned"] == ["requirements.txt:3 requests>=2"]
    assert deps["source"]["url"] == url
    assert run.summary.startswith("1 finding (1 high): 1 dependency; advisories from OSV, queried ")


def test_a_refused_host_fails_the_task_saying_how_to_go_without(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer(monkeypatch, [], grant=False)
    run = run_handler(agent, "security.audit", {}, workspace=project)
    assert run.status == "FAILED"
    assert "network access to 127.0.0.1:" in run.error
    assert "offline: true" in run.error
