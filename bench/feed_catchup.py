"""The feed's catch-up query for one task (what `Feed::pump` asks `Store::events_after` with a task
filter, page by page, when a subscriber is behind the live buffer or reconnects), timed on a copy
of a real database, with and without the `events_task_seq` index.

Usage: python3 bench/feed_catchup.py DATA_DIR/hyperagent.db [COPIES]
The database is one a real manager wrote with a task's log lines in it (e.g. after an `echo.spam`
task of 200,000 lines); its largest task's lines are copied COPIES times over (8: 1.6 million).
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

PAGE = 5000
QUERY = (
    "SELECT seq, time_us, kind, task_id, log_seq, level, body, fields, attempt, attempt_seq "
    "FROM events WHERE seq > ? AND task_id = ? ORDER BY seq LIMIT ?"
)


def catch_up(c: sqlite3.Connection, task: str, label: str, n: int) -> None:
    plan = " / ".join(r[3] for r in c.execute("EXPLAIN QUERY PLAN " + QUERY, (0, task, PAGE)))
    start, cursor, pages, first = time.monotonic(), 0, 0, None
    while True:
        t = time.monotonic()
        rows = c.execute(QUERY, (cursor, task, PAGE)).fetchall()
        first = time.monotonic() - t if first is None else first
        if not rows:
            break
        cursor, pages = rows[-1][0], pages + 1
        if len(rows) < PAGE:
            break
    took = time.monotonic() - start
    print(f"{label}: {n} events of one task in {took:.2f} s", end=" ")
    print(f"({pages} pages, first {first * 1e3:.0f} ms) [{plan}]")


def main() -> None:
    src, copies = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 8
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "copy.db"
        shutil.copy(src, db)
        c = sqlite3.connect(db)
        c.execute("DROP INDEX IF EXISTS events_task_seq")
        task = c.execute(
            "SELECT task_id FROM events WHERE task_id IS NOT NULL "
            "GROUP BY task_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        top = c.execute("SELECT max(seq) FROM events").fetchone()[0]
        span = c.execute("SELECT max(log_seq) FROM events WHERE task_id = ?", (task,)).fetchone()[0]
        for k in range(1, copies):  # more lines of the same task, as a longer flood would store
            c.execute(
                "INSERT INTO events (time_us, kind, task_id, log_seq, level, body, fields, "
                "attempt, "
                "attempt_seq) SELECT time_us, kind, task_id, log_seq + ?, level, body, fields, "
                "attempt, attempt_seq FROM events WHERE task_id = ? AND kind = 'task_log' "
                "AND seq <= ? ORDER BY seq",
                (k * span, task, top),
            )
        c.commit()
        n = c.execute("SELECT count(*) FROM events WHERE task_id = ?", (task,)).fetchone()[0]
        catch_up(c, task, "without events_task_seq", n)
        c.execute("CREATE INDEX events_task_seq ON events(task_id, seq) WHERE task_id IS NOT NULL")
        catch_up(c, task, "with events_task_seq", n)
        c.close()


if __name__ == "__main__":
    main()
