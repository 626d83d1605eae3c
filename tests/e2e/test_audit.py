"""The audit log: a real run leaves a hash-chained record that `audit verify` checks, and an entry
altered in the database behind the manager's back is found and named."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3

import pytest

from hyperagent.v1 import common_pb2


@pytest.fixture
def echo(manager, start_agent):
    start_agent(manager.socket, name="echo")
    manager.wait_agent("echo", online=True)
    return manager


def test_a_run_is_audited_and_an_edited_entry_is_named(echo):
    t = echo.submit("echo.echo", {"message": "audited"})
    assert echo.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED
    s = echo.submit("echo.sleep", {"seconds": 600})
    echo.wait_state(s.id, common_pb2.TASK_STATE_RUNNING)
    assert echo.cli("cancel", s.id).returncode == 0
    echo.wait_state(s.id)

    listed = echo.cli("--json", "audit", "list", "--task", t.id)
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("task.submitted", "client"),
        ("task.confined", "manager"),
        ("task.started", "echo"),
        ("task.completed", "echo"),
    ]
    assert entries[0]["detail"]["task_type"] == "echo.echo"
    # This agent was started by the test, not the manager: the record says it ran unconfined.
    assert entries[1]["detail"]["confined"] is False
    canceled = echo.cli("--json", "audit", "list", "--task", s.id).stdout.splitlines()
    assert [json.loads(x)["action"] for x in canceled][-2:] == [
        "task.cancel_requested",
        "task.canceled",
    ]

    # Newest first, one actor's, one kind of action: the same entries, filtered and reversed.
    def listed_ids(*args: str) -> list[int]:
        out = echo.cli("--json", "audit", "list", *args).stdout.splitlines()
        return [json.loads(line)["id"] for line in out]

    mine = listed_ids("--task", t.id, "--actor", "echo", "--action", "task.")
    assert mine == [e["id"] for e in entries if e["actor"] == "echo"]
    assert listed_ids("--task", t.id, "--newest-first") == [e["id"] for e in reversed(entries)]

    ok = echo.cli("audit", "verify")
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout.startswith("audit log intact: ")
    export = [json.loads(x) for x in echo.cli("audit", "export", "--jsonl").stdout.splitlines()]
    ids = [e["id"] for e in export]
    assert ids == list(range(1, len(ids) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(export))

    # Someone edits the database directly: the triggers stop plain edits, so they drop them first.
    db = sqlite3.connect(echo.root / "data" / "hyperagent.db", timeout=30)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit WHERE id = 1")
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET detail = '{}' WHERE id = 2")
    db.commit()
    db.close()
    bad = echo.cli("audit", "verify")
    assert bad.returncode == 8
    assert "entry 2: its content does not match its hash (edited)" in bad.stdout


def entry_hash(prev_hash: str, e: tuple[object, ...]) -> str:
    """The manager's chain hash (store/audit.rs), as someone rewriting the log would redo it."""
    id_, time_us, actor, action, task_id, detail = e
    h = hashlib.sha256()
    for part in (prev_hash, str(id_), str(time_us), actor, action, task_id or "", detail):
        b = part.encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def rewrite_chain(db: sqlite3.Connection, edit: dict[int, str]) -> None:
    """Edit details and recompute every hash after them, so the chain verifies on its own."""
    db.execute("DROP TRIGGER IF EXISTS audit_no_update")
    rows = db.execute(
        "SELECT id, time_us, actor, action, task_id, detail FROM audit ORDER BY id"
    ).fetchall()
    prev = "0" * 64
    for stored in rows:
        row = (*stored[:5], edit.get(stored[0], stored[5]))
        h = entry_hash(prev, row)
        db.execute(
            "UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?",
            (row[5], prev, h, row[0]),
        )
        prev = h
    db.commit()


def test_a_rewritten_chain_with_recomputed_hashes_is_caught(echo):
    t = echo.submit("echo.echo", {"message": "audited"})
    assert echo.wait_state(t.id).state == common_pb2.TASK_STATE_COMPLETED
    assert echo.cli("audit", "verify").returncode == 0
    db = sqlite3.connect(echo.root / "data" / "hyperagent.db", timeout=30)
    rewrite_chain(db, {1: '{"task_type": "nothing.to.see"}'})
    bad = echo.cli("audit", "verify")
    assert bad.returncode == 8, bad.stdout
    assert "the log was rewritten and its chain recomputed" in bad.stdout
    # Cutting the last entries off is caught too.
    db.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    last = db.execute("SELECT max(id) FROM audit").fetchone()[0]
    db.execute("DELETE FROM audit WHERE id >= ?", (last - 1,))
    db.commit()
    db.close()
    cut = echo.cli("audit", "verify")
    assert cut.returncode == 8
    assert "entries were removed" in cut.stdout
