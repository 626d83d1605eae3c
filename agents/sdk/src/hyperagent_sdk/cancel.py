"""Cancellation of a running task."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from .errors import TaskCancelled


class CancellationToken:
    """Tells a handler that its task should stop, and why.

    The SDK cancels the token when the manager stops the task, when the manager no longer knows the
    task after a reconnect, and when the agent shuts down. The first reason given wins.

    A handler polls :meth:`is_set`, waits with :meth:`wait` (instead of ``time.sleep``), or calls
    :meth:`raise_if_cancelled` at convenient points.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._reason = ""
        self._callbacks: list[Callable[[str], None]] = []

    @property
    def reason(self) -> str:
        """Why the task was cancelled ("" while it is not)."""
        with self._lock:
            return self._reason

    def is_set(self) -> bool:
        """Whether the task has been cancelled."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or ``timeout`` seconds passed; return whether it is cancelled."""
        return self._event.wait(timeout)

    def raise_if_cancelled(self) -> None:
        """Raise :class:`TaskCancelled` (with the reason) if the task has been cancelled."""
        if self._event.is_set():
            raise TaskCancelled(self.reason)

    def cancel(self, reason: str) -> bool:
        """Cancel the task; return False if it already was (the first reason is kept).

        Callbacks added with :meth:`add_callback` run in the calling thread.
        """
        with self._lock:
            if self._event.is_set():
                return False
            self._reason = reason
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(reason)
        return True

    def add_callback(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Run ``callback(reason)`` once when the token is cancelled (at once if it already is).

        Returns a function that removes the callback again. Callbacks must not block: they run in
        the thread that cancels.
        """
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._remove(callback)
            reason = self._reason
        callback(reason)
        return lambda: None

    def _remove(self, callback: Callable[[str], None]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._callbacks.remove(callback)
