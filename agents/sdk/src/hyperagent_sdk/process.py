"""Child processes of tasks: each runs in its own process group, killed whole on cancellation."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from hyperagent.v1 import common_pb2

from .cancel import CancellationToken
from .errors import TaskCancelled, TaskFailed

#: ``emit(level, message, fields)``: where the output lines of a child go.
LineSink = Callable[[int, str, Mapping[str, str]], None]

_PROC = Path("/proc")


class ProcessGroup:
    """The process group a child leads (its pgid is the child's pid)."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to every process of the group (nothing if it is gone)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)

    def alive(self) -> bool:
        """Whether a process of the group still runs (zombies, which have exited, do not count)."""
        if not _PROC.is_dir():  # not Linux: fall back to asking the kernel about the group
            try:
                os.killpg(self.pgid, 0)
            except (ProcessLookupError, PermissionError):
                return False
            return True
        for entry in _PROC.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid pgrp ...": comm may contain spaces, so split after the ')'.
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) > 2 and int(fields[2]) == self.pgid and fields[0] not in "ZX":
                return True
        return False

    def wait_gone(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the group to have no running process.

        The processes are not our children (only the leader is), so there is nothing to block on:
        this checks at growing intervals (1 ms doubling up to 50 ms).
        """
        deadline = time.monotonic() + timeout
        interval = 0.001
        while self.alive():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(interval, remaining))
            interval = min(interval * 2, 0.05)
        return True


class ChildRegistry:
    """The process groups that task commands are running, so that shutdown can kill them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[ProcessGroup] = set()

    def add(self, group: ProcessGroup) -> None:
        with self._lock:
            self._groups.add(group)

    def discard(self, group: ProcessGroup) -> None:
        with self._lock:
            self._groups.discard(group)

    def __len__(self) -> int:
        with self._lock:
            return len(self._groups)

    def kill_all(self) -> int:
        """SIGKILL every process group still registered; return how many there were."""
        with self._lock:
            groups = list(self._groups)
        for group in groups:
            group.signal(signal.SIGKILL)
        return len(groups)


class _Terminator:
    """SIGTERM to the group at once, SIGKILL after the grace period (at most once each)."""

    def __init__(self, group: ProcessGroup, grace: float) -> None:
        self._group = group
        self._grace = grace
        self._lock = threading.Lock()
        self._started_at: float | None = None
        self._timer: threading.Timer | None = None

    @property
    def started(self) -> bool:
        with self._lock:
            return self._started_at is not None

    def start(self) -> None:
        """Begin terminating the group; never blocks (safe in a cancellation callback)."""
        with self._lock:
            if self._started_at is not None:
                return
            self._started_at = time.monotonic()
            self._timer = threading.Timer(self._grace, self._group.signal, (signal.SIGKILL,))
            self._timer.daemon = True
            self._timer.start()
        self._group.signal(signal.SIGTERM)

    def finish(self) -> None:
        """Block until the group is gone: after the grace period it is killed with SIGKILL."""
        self.start()
        with self._lock:
            started_at = self._started_at if self._started_at is not None else time.monotonic()
            timer = self._timer
        remaining = started_at + self._grace - time.monotonic()
        if not self._group.wait_gone(max(remaining, 0.0)):
            self._group.signal(signal.SIGKILL)
            self._group.wait_gone(1.0)
        if timer is not None:
            timer.cancel()


def _pump(stream: IO[bytes], emit: LineSink, level: int, name: str) -> None:
    with stream:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            emit(level, line, {"stream": name})


class Child:
    """A started command: its own process group, output lines going to the task log, and ended
    whole (SIGTERM, then SIGKILL after the grace) when the task is cancelled or :meth:`stop`
    is called. See :meth:`hyperagent_sdk.TaskContext.start`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        token: CancellationToken,
        emit: LineSink,
        children: ChildRegistry,
        kill_grace: float,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> None:
        token.raise_if_cancelled()
        self.argv = list(argv)
        self._token = token
        self._children = children
        child_env = None if env is None else {**os.environ, **env}
        self._proc = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        #: The command's pid (also its process group's id).
        self.pid = self._proc.pid
        self._group = ProcessGroup(self._proc.pid)
        children.add(self._group)
        self._terminator = _Terminator(self._group, kill_grace)
        assert self._proc.stdout is not None  # noqa: S101 - PIPE was asked for
        assert self._proc.stderr is not None  # noqa: S101
        self._readers = [
            threading.Thread(
                target=_pump,
                args=(self._proc.stdout, emit, common_pb2.LOG_LEVEL_INFO, "stdout"),
                name=f"stdout-{self.pid}",
                daemon=True,
            ),
            threading.Thread(
                target=_pump,
                args=(self._proc.stderr, emit, common_pb2.LOG_LEVEL_WARN, "stderr"),
                name=f"stderr-{self.pid}",
                daemon=True,
            ),
        ]
        self._remove_callback = token.add_callback(lambda _reason: self._terminator.start())
        self._closed = False
        try:
            if on_start is not None:
                on_start(self.pid)  # before any output is read, so what it logs comes first
            for reader in self._readers:
                reader.start()
        except BaseException:
            self.stop()
            raise

    def poll(self) -> int | None:
        """Its exit code, or None while it runs."""
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to exit (``subprocess.TimeoutExpired`` after ``timeout``); its exit code."""
        return self._proc.wait(timeout=timeout)

    def stop(self) -> int:
        """End it and whatever it left in its group (SIGTERM, SIGKILL after the grace); wait for
        that, and return its exit code. Safe to call more than once."""
        if self._proc.poll() is None:
            self._terminator.start()
            self._proc.wait()
        return self._close()

    def _close(self) -> int:
        returncode = self._proc.wait()
        if self._closed:
            return returncode
        self._closed = True
        self._remove_callback()
        if self._terminator.started or self._group.alive():
            # Stopped, cancelled, timed out, or the command left processes behind in its group.
            self._terminator.finish()
        self._children.discard(self._group)
        for reader in self._readers:
            if reader.ident is not None:  # started (not if on_start raised)
                reader.join(timeout=1.0)
        if self._readers[0].ident is None:
            assert self._proc.stdout is not None  # noqa: S101
            assert self._proc.stderr is not None  # noqa: S101
            self._proc.stdout.close()
            self._proc.stderr.close()
        return returncode

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def run_command(
    argv: Sequence[str],
    *,
    token: CancellationToken,
    emit: LineSink,
    children: ChildRegistry,
    kill_grace: float,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    on_start: Callable[[int], None] | None = None,
) -> int:
    """Run ``argv`` in its own process group, streaming its output lines to ``emit``.

    See :meth:`hyperagent_sdk.TaskContext.run` for the behaviour.
    """
    child = Child(
        argv,
        token=token,
        emit=emit,
        children=children,
        kill_grace=kill_grace,
        cwd=cwd,
        env=env,
        on_start=on_start,
    )
    timed_out = False
    try:
        try:
            returncode = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            returncode = child.stop()
    finally:
        returncode = child.stop()
    if token.is_set():
        raise TaskCancelled(token.reason)
    if timed_out:
        raise TaskFailed(f"{argv[0]} timed out after {timeout} s", exit_code=returncode)
    if check and returncode != 0:
        raise TaskFailed(f"{argv[0]} exited with code {returncode}", exit_code=returncode)
    return returncode
