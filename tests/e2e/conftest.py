"""Fixtures: a fresh manager per test, and agent processes that are always cleaned up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import AgentProc, Manager


@pytest.fixture
def make_manager(tmp_path: Path) -> Iterator[Callable[..., Manager]]:
    started: list[Manager] = []

    def make(
        extra: dict[str, dict[str, Any]] | None = None, agents_dir: Path | None = None
    ) -> Manager:
        m = Manager(root=tmp_path, extra=extra or {}, agents_dir=agents_dir)
        started.append(m)
        return m

    yield make
    for m in started:
        if m.proc is not None and m.proc.poll() is None:
            m.stop()


@pytest.fixture
def manager(make_manager: Callable[..., Manager]) -> Manager:
    return make_manager().start()


@pytest.fixture
def start_agent() -> Iterator[Callable[..., AgentProc]]:
    agents: list[AgentProc] = []

    def start(
        socket: Path, name: str = "echo", module: str = "hyperagent_echo", **env: str
    ) -> AgentProc:
        a = AgentProc(name=name, socket=socket, module=module, extra_env=env).start()
        agents.append(a)
        return a

    yield start
    for a in agents:
        a.stop()
