"""The per-test events of the pytest plugin (``plugin/hyperagent_testrunner_progress.py``), read
as they are written, and tallied into a progress line: "41/120: 39 passed, 2 failed"."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTCOMES = ("passed", "failed", "error", "skipped")


class EventFile:
    """A file another process appends JSON lines to; ``read`` returns the complete new ones."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        events = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not one of ours: never fatal for progress
            if isinstance(event, dict):
                events.append(event)
        return events


@dataclass
class Tally:
    """How far a run is: tests collected, finished by outcome, and the one running now."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    running: str = ""

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "collected":
            self.total = int(event.get("total", 0))
        elif kind == "start":
            self.running = str(event.get("id", ""))
        elif kind == "done":
            outcome = str(event.get("outcome", ""))
            if outcome in self.counts:
                self.counts[outcome] += 1
            self.running = ""

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else -1.0

    def line(self) -> str:
        if not self.total and not self.done:
            return "collecting tests"
        parts = [f"{n} {k}" for k, n in self.counts.items() if n]
        head = f"{self.done}/{self.total}" if self.total else f"{self.done}"
        text = f"{head}: {', '.join(parts)}" if parts else f"{head} tests"
        return f"{text}; running {self.running}" if self.running else text
