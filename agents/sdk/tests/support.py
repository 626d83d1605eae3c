"""Helpers shared by the SDK's tests."""

from __future__ import annotations

from pathlib import Path

from fake_manager import FakeManager

from hyperagent_sdk.connection import Link, Session, make_stub, open_channel


def exited(pid: int) -> bool:
    """The process is gone, or a zombie (it has exited; only its reaping is pending)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rfind(")") + 2] in "ZX"


def connect(manager: FakeManager, link: Link, *, max_log_line_bytes: int = 0) -> Session:
    """Publish a session on the link; when it is retired, publish a fresh one (a reconnect).

    This stands in for the agent's connection loop in tests of the parts that only call.
    """
    session = Session(
        stub=make_stub(open_channel(manager.socket_path)),
        token="t",
        max_log_line_bytes=max_log_line_bytes,
        max_message_bytes=manager.max_message_bytes or 4 * 1024 * 1024,
        log_columns=manager.log_columns,
    )
    session.on_retire = lambda: connect(manager, link, max_log_line_bytes=max_log_line_bytes)
    link.publish(session)
    return session
