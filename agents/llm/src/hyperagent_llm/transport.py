"""One HTTP POST to the model's server, through HyperAgent's egress proxy when there is one.

A confined task process has no route out but the SDK's egress relay, which the manager gives it as
``https_proxy``. The relay (and the manager's proxy behind it) forwards ``CONNECT`` only, so both
``http://`` and ``https://`` endpoints are reached through a ``CONNECT host:port`` tunnel; TLS, for
``https://``, runs inside the tunnel, end to end with the server. The tunnel is opened here rather
than with ``http.client``'s ``set_tunnel`` so that a refusal keeps the proxy's reason (its
response body: "connection to 127.0.0.1:8080 refused (client: denied by the person)"), which
``set_tunnel`` drops. The proxy variables' ``no_proxy`` is ignored on purpose: inside the task,
even a loopback address is only reachable through the proxy. With no proxy in the environment (an
agent run by hand) the connection is direct.

Standard library only. The exchange runs in a thread of its own so that the time limit and the
task's cancellation end it at once, whatever the socket is waiting for.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Where the proxy is looked for, in this order (the manager sets them all to the relay).
PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy", "HTTP_PROXY")

#: The longest proxy response head read, and how much of a refusal's body is kept.
_MAX_PROXY_HEAD = 16 * 1024
_MAX_PROXY_BODY = 4 * 1024


class TransportError(Exception):
    """The exchange did not happen; the message says where it stopped (host:port named)."""


class TimeoutExceededError(TransportError):
    """No complete answer within the time given; ``waiting`` says for what, when it was not the
    answer itself."""

    def __init__(self, message: str, waiting: str = "") -> None:
        super().__init__(message)
        self.waiting = waiting


class AbortedError(TransportError):
    """The exchange was stopped from outside (the task was cancelled)."""


@dataclass(frozen=True)
class Target:
    """Where a request goes: ``http(s)://host:port/path``."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path or "/")

    @property
    def address(self) -> str:
        """``host:port`` as the proxy is asked for it (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Proxy | None:
        """The proxy the environment names, or None when it names none."""
        for var in PROXY_VARS:
            raw = env.get(var, "").strip()
            if not raw:
                continue
            try:
                parts = urlsplit(raw if "://" in raw else f"http://{raw}")
                host, port = parts.hostname, parts.port or 80
            except ValueError:  # a bad port
                host = None
            if not host:
                raise TransportError(f"the proxy in {var} ({raw!r}) is not http://HOST:PORT")
            return cls(host, port)
        return None


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    body: bytes


def excerpt(data: bytes | str, limit: int = 300) -> str:
    """The start of ``data`` on one line, for an error message."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + " …"


def _read_proxy_head(sock: socket.socket) -> bytes:
    """The proxy's response head, byte by byte: nothing of the tunnel's own bytes is taken."""
    head = bytearray()
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            break
        head += byte
        if len(head) > _MAX_PROXY_HEAD:
            raise TransportError("the egress proxy's answer to CONNECT is too long")
    return bytes(head)


def open_tunnel(
    proxy: Proxy,
    target: Target,
    timeout: float,
    track: Callable[[socket.socket], None] = lambda _: None,
) -> socket.socket:
    """A socket connected through the proxy's ``CONNECT`` tunnel to ``target``. ``track`` is
    given the socket as soon as it is connected to the proxy (so that it can be shut down while
    the proxy decides, which may take a person's answer)."""
    where = f"{proxy.host}:{proxy.port}"
    try:
        sock = socket.create_connection((proxy.host, proxy.port), timeout=timeout)
    except OSError as err:
        raise TransportError(
            f"cannot reach the egress proxy at {where} (for {target.address}): {_why(err)}"
        ) from err
    track(sock)
    # The request goes out as it is written (headers, then body), not held back for an ACK.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.sendall(
            f"CONNECT {target.address} HTTP/1.1\r\nHost: {target.address}\r\n\r\n".encode()
        )
        head = _read_proxy_head(sock)
        status_line, _, rest = head.decode("latin-1").partition("\r\n")
        words = status_line.split(" ", 2)
        if len(words) < 2 or not words[1].isdigit():
            raise TransportError(
                f"the egress proxy gave no answer to CONNECT {target.address}"
                f" ({excerpt(status_line) or 'it closed the connection'})"
            )
        status = int(words[1])
        if status == 200:
            return sock
        length = 0
        for line in rest.split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and value.strip().isdigit():
                length = min(int(value.strip()), _MAX_PROXY_BODY)
        body = b""
        while len(body) < length and (chunk := sock.recv(length - len(body))):
            body += chunk
        said = excerpt(body) or (words[2] if len(words) > 2 else "")
        verb = "refused" if status == 403 else "could not open"
        raise TransportError(
            f"the egress proxy {verb} the connection to {target.address} (HTTP {status}): {said}"
        )
    except TimeoutError as err:
        sock.close()
        raise TimeoutExceededError(
            f"no answer from the egress proxy to CONNECT {target.address} within {timeout:g}s",
            "a consent request may be waiting for an answer",
        ) from err
    except OSError as err:
        sock.close()
        raise TransportError(
            f"the egress proxy at {where} dropped CONNECT {target.address}: {_why(err)}"
        ) from err
    except TransportError:
        sock.close()
        raise


def _why(err: OSError) -> str:
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, socket.gaierror):
        return f"cannot resolve the name ({err.strerror or err})"
    return err.strerror or str(err) or type(err).__name__


class Exchange:
    """One ``POST`` of ``body`` to ``target``, in a thread; :meth:`abort` ends it from another."""

    def __init__(
        self,
        target: Target,
        body: bytes,
        headers: Mapping[str, str],
        *,
        proxy: Proxy | None,
        timeout: float,
        max_reply_bytes: int,
        on_sent: Callable[[], None] = lambda: None,
    ) -> None:
        self.target = target
        self.body = body
        self.headers = dict(headers)
        self.proxy = proxy
        self.timeout = timeout
        self.max_reply_bytes = max_reply_bytes
        self.on_sent = on_sent
        #: The socket to shut down to end the exchange, once there is one.
        self._sock: socket.socket | None = None
        #: What the exchange is waiting for, said when time runs out.
        self._waiting = ""
        self._done = threading.Event()
        self._aborted = threading.Event()
        self._reply: Reply | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def run(self) -> Reply:
        """Runs the exchange and waits for it. Raises :class:`TimeoutExceededError` after
        ``timeout`` seconds, :class:`AbortedError` when :meth:`abort` was called, and
        :class:`TransportError` when it failed."""
        threading.Thread(target=self._work, name="hyperagent-llm-http", daemon=True).start()
        if not self._done.wait(self.timeout):
            waiting = self._waiting
            self.abort()
            raise TimeoutExceededError(
                f"no answer from {self.target.address} within {self.timeout:g}s", waiting
            )
        if self._aborted.is_set():
            raise AbortedError(f"the exchange with {self.target.address} was stopped")
        if self._error is not None:
            raise self._error
        if self._reply is None:  # the thread ends with one or the other
            raise TransportError(f"the exchange with {self.target.address} ended without a reply")
        return self._reply

    def abort(self) -> None:
        """Ends the exchange from any thread: its socket is shut down (which wakes whatever waits
        on it) and :meth:`run` returns at once."""
        self._aborted.set()
        with self._lock:
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._done.set()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
        if self._aborted.is_set():
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _work(self) -> None:
        try:
            self._reply = self._exchange()
        except BaseException as err:  # handed to the waiting thread
            self._error = err
        finally:
            self._done.set()

    def _connect(self) -> http.client.HTTPConnection:
        t = self.target
        conn: http.client.HTTPConnection
        tls = ssl.create_default_context() if t.scheme == "https" else None
        if tls is not None:
            conn = http.client.HTTPSConnection(t.host, t.port, timeout=self.timeout, context=tls)
        else:
            conn = http.client.HTTPConnection(t.host, t.port, timeout=self.timeout)
        if self.proxy is None:
            self._waiting = "the connection was not made yet"
            try:
                conn.connect()
            except OSError as err:
                raise TransportError(f"cannot reach {t.address}: {_why(err)}") from err
            if conn.sock is not None:
                self._track(conn.sock)
            return conn
        self._waiting = (
            "the egress proxy had not opened the connection yet (a consent request may be"
            " waiting for an answer)"
        )
        sock = open_tunnel(self.proxy, t, self.timeout, self._track)
        if tls is not None:
            try:
                sock = tls.wrap_socket(sock, server_hostname=t.host)
            except (ssl.SSLError, OSError) as err:
                sock.close()
                raise TransportError(f"TLS with {t.address} failed: {err}") from err
        # http.client sends on a socket it was given as if it had connected it itself.
        conn.sock = sock
        self._track(sock)
        return conn

    def _exchange(self) -> Reply:
        conn = self._connect()
        self._waiting = ""
        try:
            conn.request("POST", self.target.path, body=self.body, headers=self.headers)
            self.on_sent()
            resp = conn.getresponse()
            body = resp.read(self.max_reply_bytes + 1)
        except TimeoutError as err:
            raise TimeoutExceededError(
                f"no answer from {self.target.address} within {self.timeout:g}s"
            ) from err
        except (OSError, http.client.HTTPException) as err:
            raise TransportError(
                f"the exchange with {self.target.address} broke off: {err or type(err).__name__}"
            ) from err
        finally:
            conn.close()
        if len(body) > self.max_reply_bytes:
            raise TransportError(
                f"the reply of {self.target.address} is longer than {self.max_reply_bytes} bytes"
                " (HYPERAGENT_LLM_MAX_REPLY_BYTES)"
            )
        return Reply(resp.status, resp.reason, body)
