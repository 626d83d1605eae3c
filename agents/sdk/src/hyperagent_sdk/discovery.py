"""Finding the manager: its Unix socket, from the environment or its discovery file.

Resolution order (re-done on every reconnect, since a restarted manager may listen elsewhere):

1. ``HYPERAGENT_SOCKET``: the socket path itself.
2. ``HYPERAGENT_DISCOVERY``: the path of the manager's JSON discovery file.
3. ``$XDG_RUNTIME_DIR/hyperagent/manager.json``, or ``/tmp/hyperagent-<uid>/manager.json`` when
   ``XDG_RUNTIME_DIR`` is unset.

The discovery file is a JSON object whose ``"socket"`` key is the socket path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from .errors import DiscoveryError

SOCKET_ENV = "HYPERAGENT_SOCKET"
DISCOVERY_ENV = "HYPERAGENT_DISCOVERY"
AGENT_NAME_ENV = "HYPERAGENT_AGENT_NAME"


def discovery_file_path(env: Mapping[str, str] | None = None) -> Path:
    """The discovery file the manager writes, as this environment says where to look."""
    env = os.environ if env is None else env
    explicit = env.get(DISCOVERY_ENV)
    if explicit:
        return Path(explicit)
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        return Path(runtime_dir) / "hyperagent" / "manager.json"
    return Path(f"/tmp/hyperagent-{os.getuid()}") / "manager.json"  # noqa: S108 - the manager's fallback


def resolve_socket_path(env: Mapping[str, str] | None = None) -> str:
    """The path of the manager's Unix socket.

    Raises :class:`DiscoveryError` when the discovery file is missing, unreadable, not JSON, or has
    no ``"socket"`` string.
    """
    env = os.environ if env is None else env
    socket = env.get(SOCKET_ENV)
    if socket:
        return socket
    path = discovery_file_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DiscoveryError(f"no discovery file at {path} (is the manager running?)") from None
    except OSError as err:
        raise DiscoveryError(f"cannot read discovery file {path}: {err}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise DiscoveryError(f"discovery file {path} is not JSON: {err}") from None
    socket = document.get("socket") if isinstance(document, dict) else None
    if not isinstance(socket, str) or not socket:
        raise DiscoveryError(f'discovery file {path} has no "socket" path')
    return socket


def agent_name(default: str, env: Mapping[str, str] | None = None) -> str:
    """The agent's name: ``HYPERAGENT_AGENT_NAME`` when set, else ``default``."""
    env = os.environ if env is None else env
    return env.get(AGENT_NAME_ENV) or default
