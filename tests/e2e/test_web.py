"""The web API (`serve --web`) of the real manager: the gRPC client API as HTTP + JSON and the
event feed as Server-Sent Events and over a WebSocket, on loopback, behind the token. Real HTTP
over a real socket (urllib; the WebSocket's handshake and frames by hand, as they are a few
lines), a real echo agent process."""

from __future__ import annotations

import base64
import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest
from harness import DEADLINE, Manager

from hyperagent.v1 import client_pb2, common_pb2


@dataclass
class Web:
    m: Manager
    base: str  # http://127.0.0.1:PORT
    token: str

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str | None = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body); a token of None sends none, "" sends the right one."""
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token or self.token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, headers=h, method=method)  # noqa: S310 - http to the test's own server
        try:
            with _opener().open(req, timeout=DEADLINE) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def call(self, method: str, body: object = None) -> Any:
        status, _, out = self.request("POST", f"/api/v1/{method}", body if body is not None else {})
        assert status == 200, out
        return json.loads(out)

    def events(self, query: str, last_event_id: str | None = None) -> Iterator[tuple[str, Any]]:
        """(id, event) pairs of the SSE stream, as they arrive."""
        h = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            h["Last-Event-ID"] = last_event_id
        req = urllib.request.Request(f"{self.base}/api/v1/events?{query}", headers=h)  # noqa: S310
        with urllib.request.urlopen(req, timeout=DEADLINE) as r:  # noqa: S310
            assert r.headers["Content-Type"].startswith("text/event-stream")
            ev_id, data = "", []
            for raw in r:
                line = raw.decode().rstrip("\n")
                if line.startswith("id:"):
                    ev_id = line[3:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and data:
                    yield ev_id, json.loads("\n".join(data))
                    ev_id, data = "", []


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirect)


@pytest.fixture
def web(make_manager: Any, start_agent: Any) -> Web:
    m = make_manager(extra={"web": {"enabled": True, "address": "127.0.0.1:0"}}).start()
    start_agent(m.socket, name="echo")
    m.wait_agent("echo", online=True)
    url = urlsplit(m.ready["web_url"])
    return Web(m, f"{url.scheme}://{url.netloc}", url.query.removeprefix("token="))


def test_the_api_needs_the_token_and_its_own_host_name(web: Web) -> None:
    status, _, body = web.request("POST", "/api/v1/ListAgents", {}, token=None)
    assert status == 401
    assert json.loads(body)["code"] == "unauthenticated"
    status, _, body = web.request("POST", "/api/v1/ListAgents", {}, token="wrong")
    assert (status, json.loads(body)["code"]) == (401, "unauthenticated")
    # A page of another site that resolves its own name to 127.0.0.1 (DNS rebinding).
    status, _, _ = web.request("POST", "/api/v1/ListAgents", {}, headers={"Host": "evil.test"})
    assert status == 403
    assert web.request("POST", "/api/v1/ListAgents", {})[0] == 200


def test_opening_the_printed_url_sets_the_cookie_and_drops_the_token_from_the_address(
    web: Web,
) -> None:
    status, headers, _ = web.request("GET", f"/tasks?token={web.token}", token=None)
    assert status == 303
    assert headers["location"] == "/tasks"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    jar = cookie.split(";")[0]
    status, _, body = web.request(
        "POST", "/api/v1/ListAgents", {}, token=None, headers={"Cookie": jar}
    )
    assert status == 200
    assert [a["id"] for a in json.loads(body)["agents"]] == ["echo"]
    assert web.request("GET", "/?token=wrong", token=None)[0] == 401


def test_the_http_api_is_the_grpc_api(web: Web) -> None:
    task = web.call("SubmitTask", {"task_type": "echo.echo", "payload_json": '{"message": "hi"}'})
    assert task["created"] is True
    done = web.m.wait_state(task["task"]["id"])  # the same task, seen over gRPC
    assert done.state == common_pb2.TASK_STATE_COMPLETED
    got = web.call("GetTask", {"task_id": done.id})
    assert got["state"] == "TASK_STATE_COMPLETED"
    assert json.loads(got["result"]["output_json"]) == json.loads(done.result.output_json)
    listed = web.call("ListTasks", {"limit": 5})
    assert [t["id"] for t in listed["tasks"]] == [done.id]

    # The same refusal, word for word, as over gRPC.
    bad = {"task_type": "echo.echo", "payload_json": '{"message": 5}'}
    status, _, body = web.request("POST", "/api/v1/SubmitTask", bad)
    assert status == 400
    err = json.loads(body)
    assert err["code"] == "invalid_argument"
    with pytest.raises(grpc.RpcError) as grpc_err:
        web.m.client.SubmitTask(
            client_pb2.SubmitTaskRequest(task_type="echo.echo", payload_json='{"message": 5}'),
            timeout=DEADLINE,
        )
    assert err["message"] == grpc_err.value.details()

    status, _, body = web.request("POST", "/api/v1/GetTask", {"task_id": "nope"})
    assert (status, json.loads(body)["code"]) == (404, "not_found")
    status, _, body = web.request("POST", "/api/v1/SubmitTask", b"{not json")
    assert status == 400
    assert "is not a valid SubmitTaskRequest" in json.loads(body)["message"]
    status, _, body = web.request("POST", "/api/v1/DropDatabase", {})
    assert status == 404
    assert "openapi.json" in json.loads(body)["message"]


def test_the_feed_streams_as_sse_and_resumes_after_the_last_event_id(web: Web) -> None:
    task = web.call("SubmitTask", {"task_type": "echo.spam", "payload_json": '{"lines": 50}'})
    task_id = task["task"]["id"]
    seen: list[tuple[str, Any]] = []
    for ev_id, ev in web.events(f"after_seq=0&task_id={task_id}"):
        seen.append((ev_id, ev))
        state = ev.get("task_state") or {}
        if state.get("to") == "TASK_STATE_COMPLETED":
            break
    ids = [int(i) for i, _ in seen]
    assert ids == sorted(set(ids)), "ids are the feed's seq: increasing, no repeats"
    assert [int(ev["seq"]) for _, ev in seen] == ids
    logs = [ev["task_log"]["line"]["message"] for _, ev in seen if ev.get("task_log")]
    assert len(logs) >= 50

    # Reconnecting with the id of an event in the middle gives exactly what came after it.
    middle = len(seen) // 2
    again: list[str] = []
    for ev_id, _ in web.events(f"task_id={task_id}", last_event_id=seen[middle][0]):
        again.append(ev_id)
        if ev_id == seen[-1][0]:
            break
    assert again == [i for i, _ in seen[middle + 1 :]]


def _ws_open(web: Web, query: str, origin: str | None) -> tuple[int, socket.socket]:
    """A WebSocket handshake for the feed: (HTTP status, the socket, past the answer's head)."""
    parts = urlsplit(web.base)
    s = socket.create_connection((parts.hostname, parts.port), timeout=DEADLINE)
    key = base64.b64encode(os.urandom(16)).decode()
    head = [
        f"GET /api/v1/events/ws?{query} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Authorization: Bearer {web.token}",
    ]
    if origin is not None:
        head.append(f"Origin: {origin}")
    s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    answer = b""
    while not answer.endswith(b"\r\n\r\n"):  # a byte at a time: the frames follow
        answer += s.recv(1)
    return int(answer.split(b" ")[1]), s


def _ws_messages(s: socket.socket) -> Iterator[Any]:
    """The server's text messages as JSON, until it closes (its frames are not masked)."""

    def read(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError("the feed's socket closed")
            buf += chunk
        return buf

    while True:
        b0, b1 = read(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(read(2), "big")
        elif n == 127:
            n = int.from_bytes(read(8), "big")
        payload = read(n)
        opcode = b0 & 0x0F
        if opcode == 8:
            return
        if opcode == 1:
            yield json.loads(payload)


def test_the_feed_over_a_websocket_resumes_after_a_seq_and_only_for_pages_of_this_server(
    web: Web,
) -> None:
    status, s = _ws_open(web, "after_seq=0", "http://evil.example")
    s.close()
    assert status == 403, "a page of another site read the feed"
    task = web.call("SubmitTask", {"task_type": "echo.spam", "payload_json": '{"lines": 20}'})
    task_id = task["task"]["id"]
    status, s = _ws_open(web, f"after_seq=0&task_id={task_id}", web.base)
    assert status == 101
    seen: list[Any] = []
    with s:
        for ev in _ws_messages(s):
            seen.append(ev)
            if (ev.get("task_state") or {}).get("to") == "TASK_STATE_COMPLETED":
                break
    seqs = [int(ev["seq"]) for ev in seen]
    assert seqs == sorted(set(seqs)), "in feed order, no repeats"
    assert len([ev for ev in seen if ev.get("task_log")]) >= 20
    # Opened again after an event in the middle: exactly what came after it.
    middle = len(seqs) // 2
    status, s = _ws_open(web, f"after_seq={seqs[middle]}&task_id={task_id}", None)
    assert status == 101
    rest = seqs[middle + 1 :]
    with s:
        again = [int(ev["seq"]) for ev in islice(_ws_messages(s), len(rest))]
    assert again == rest


def test_the_openapi_document_describes_every_method(web: Web) -> None:
    status, _, body = web.request("GET", "/api/v1/openapi.json")
    assert status == 200
    doc = json.loads(body)
    assert doc["openapi"].startswith("3.1")
    for method in ("SubmitTask", "CancelTask", "AnswerConsent", "ListTemplates", "OpenPath"):
        assert doc["paths"][f"/api/v1/{method}"]["post"]["operationId"] == method
    assert "after_seq" in json.dumps(doc["paths"]["/api/v1/events"])
    assert "after_seq" in json.dumps(doc["paths"]["/api/v1/events/ws"])
    props = doc["components"]["schemas"]["SubmitTaskRequest"]["properties"]
    assert {"task_type", "payload_json", "workspace"} <= set(props)
    assert web.request("GET", "/api/v1/openapi.json", token=None)[0] == 401


def test_a_restart_keeps_open_tabs_signed_in_and_the_cli_names_the_ui(web: Web) -> None:
    jar = web.request("GET", f"/?token={web.token}", token=None)[1]["set-cookie"].split(";")[0]
    status = web.m.cli("status")
    assert status.returncode == 0, status.stderr
    assert f"web UI:  {web.base}/ (`hyperagent ui` opens it signed in)" in status.stdout
    assert web.token not in status.stdout  # the address only; `ui` gives it signed in
    printed = web.m.cli("ui", "--print")
    assert (printed.returncode, printed.stdout.strip()) == (0, f"{web.base}/?token={web.token}")
    assert web.m.stop() == 0
    web.m.start()
    # The same port is not promised (port 0 here); the token is, so a tab's cookie still works.
    url = urlsplit(web.m.ready["web_url"])
    assert url.query == f"token={web.token}"
    again = Web(web.m, f"{url.scheme}://{url.netloc}", web.token)
    status_code, _, body = again.request(
        "POST", "/api/v1/ListAgents", {}, token=None, headers={"Cookie": jar}
    )
    assert status_code == 200, body


def test_the_cli_says_when_no_web_ui_is_served(make_manager: Any) -> None:
    m = make_manager().start()
    assert "web UI:  not served (`hyperagent serve --web` serves it)" in m.cli("status").stdout
    out = m.cli("ui")
    assert out.returncode == 3
    assert "serves no web UI; start it with `hyperagent serve --web`" in out.stderr
    assert m.stop() == 0
    out = m.cli("ui", "--print")
    assert (out.returncode, out.stdout) == (3, "")
    assert "no manager is running" in out.stderr
