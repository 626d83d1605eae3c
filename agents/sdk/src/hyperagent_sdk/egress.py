"""The only way out of a confined task's network namespace.

A task process has no route to anything but its own loopback. The manager sets ``https_proxy``
(and friends) to ``http://127.0.0.1:<HYPERAGENT_PROXY_PORT>`` for it; :class:`EgressRelay`
listens there and forwards each connection, byte for byte, to the manager's egress proxy over its
Unix socket (``HYPERAGENT_EGRESS_SOCKET``), first saying which task it is for. The manager decides
per connection (a rule, a grant, or the person asked on the task's behalf), and records it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

logger = logging.getLogger("hyperagent_sdk")

_CHUNK = 64 * 1024


class EgressRelay:
    """Listens on ``127.0.0.1:port`` and relays each connection to the egress proxy."""

    def __init__(self, port: int, proxy_socket: str, task_id: str = "", token: str = "") -> None:
        self.port = port
        self.proxy_socket = proxy_socket
        self._preamble = b""
        if task_id:
            self.admit(task_id, token)
        self._listener: socket.socket | None = None

    def admit(self, task_id: str, token: str) -> None:
        """Relay connections on behalf of this task (a relay started before its task is known
        refuses connections until then)."""
        self._preamble = f"HYPERAGENT-TASK {task_id} {token}\r\n".encode()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(
            target=self._accept, args=(listener,), name="hyperagent-egress", daemon=True
        ).start()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        if not self._preamble:  # no task yet: nobody to relay for
            client.close()
            return
        # Bytes go on as they come: a reply written in parts must not wait for the client's
        # delayed ACK (Nagle).
        with contextlib.suppress(OSError):
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self.proxy_socket)
            upstream.sendall(self._preamble)
        except OSError as err:
            logger.warning("egress proxy unreachable: %s", err)
            body = f"HyperAgent's egress proxy is unreachable: {err}\n".encode()
            with contextlib.suppress(OSError):
                client.sendall(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
            client.close()
            upstream.close()
            return
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        client.close()
        upstream.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """Copies until ``src`` ends, then ends ``dst``'s writing side."""
    try:
        while data := src.recv(_CHUNK):
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
