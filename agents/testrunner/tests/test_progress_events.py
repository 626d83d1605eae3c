"""The plugin's events read as another process appends them, and the progress line they make."""

from __future__ import annotations

import json
from pathlib import Path

from hyperagent_testrunner.progress import EventFile, Tally


def test_only_complete_lines_are_read_and_each_only_once(tmp_path: Path) -> None:
    path = tmp_path / "events"
    reader = EventFile(path)
    assert reader.read() == []  # not written yet
    with path.open("a") as f:
        f.write(json.dumps({"event": "collected", "total": 3}) + "\n" + '{"event": "st')
    assert reader.read() == [{"event": "collected", "total": 3}]
    with path.open("a") as f:
        f.write('art", "id": "t::a"}\nnot json\n')
    assert reader.read() == [{"event": "start", "id": "t::a"}]
    assert reader.read() == []


def test_the_tally_counts_outcomes_against_the_total() -> None:
    tally = Tally()
    assert tally.line() == "collecting tests"
    for event in [
        {"event": "collected", "total": 4},
        {"event": "start", "id": "t::a"},
        {"event": "done", "id": "t::a", "outcome": "passed"},
        {"event": "done", "id": "t::b", "outcome": "failed"},
        {"event": "start", "id": "t::c"},
    ]:
        tally.feed(event)
    assert tally.line() == "2/4: 1 passed, 1 failed; running t::c"
    assert tally.fraction == 0.5
