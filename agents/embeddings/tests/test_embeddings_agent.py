"""The task handlers, run in memory through the SDK's own code (no manager)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hyperagent_embeddings.agent import EMBED_SCHEMA, SEARCH_SCHEMA, agent
from hyperagent_sdk import CancellationToken
from hyperagent_sdk.testing import run_handler

SHOP = Path(__file__).parent / "data" / "shop"


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("HYPERAGENT_EMBEDDINGS_INDEX_DIR", str(folder))
    return folder


def test_embed_texts_gives_unit_vectors_where_paraphrases_are_closest() -> None:
    texts = [
        "How do I reset my password?",
        "What is the procedure to change my password?",
        "The weather in Lisbon is sunny today.",
    ]
    run = run_handler(agent, "embed.texts", {"texts": texts})
    assert run.status == "SUCCEEDED", run.error
    out = run.output
    assert out["dim"] == 512 == len(out["vectors"][0])
    assert out["model"].startswith("universal-sentence-encoder-multilingual-3")
    v = np.array(out["vectors"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2] + 0.3
    assert all(len(repr(x).split(".")[-1]) <= 6 for x in out["vectors"][0])


def test_the_settings_bound_each_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERAGENT_EMBEDDINGS_MAX_TEXTS", "2")
    run = run_handler(agent, "embed.texts", {"texts": ["a", "b", "c"]})
    assert run.status == "FAILED"
    assert run.error == "texts: 3 texts, at most 2 per task"
    monkeypatch.setenv("HYPERAGENT_EMBEDDINGS_MAX_TEXT_CHARS", "3")
    run = run_handler(agent, "embed.texts", {"texts": ["abcd"]})
    assert run.error == "texts/0: 4 characters, at most 3 per text"
    monkeypatch.setenv("HYPERAGENT_EMBEDDINGS_CHUNK_MAX_WORDS", "lots")
    run = run_handler(agent, "embed.texts", {"texts": ["a"]})
    assert run.error.startswith("the embeddings agent's settings (agent.toml [env]):")
    assert "HYPERAGENT_EMBEDDINGS_CHUNK_MAX_WORDS='lots'" in run.error


def test_schemas_bound_the_payloads() -> None:
    texts = EMBED_SCHEMA["properties"]["texts"]
    assert (texts["minItems"], texts["maxItems"]) == (1, 128)
    assert texts["items"]["maxLength"] == 8000
    assert SEARCH_SCHEMA["required"] == ["query"]
    assert SEARCH_SCHEMA["properties"]["limit"]["maximum"] == 50
    # A few varied phrasings each, the router's to match; well under the manager's bound
    # (agents.max_examples_per_type).
    for name, definition in agent.tasks.items():
        assert 3 <= len(definition.examples) <= 16, name


def test_search_indexes_first_then_answers(tmp_path: Path, state: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(SHOP, project)
    run = run_handler(
        agent,
        "docs.search",
        {"query": "where is the database URL configured?", "limit": 3},
        workspace=project,
    )
    assert run.status == "SUCCEEDED", run.error
    out = run.output
    assert [h["file"] for h in out["hits"][:2]] == [".env.example", "shop/config.py"]
    assert out["index"]["embedded"] == out["index"]["files"] == 7
    assert run.summary.startswith("3 hits for 'where is the database URL configured?'")
    assert any(step.startswith("indexing ") for _, step in run.progress)
    assert len(list(state.glob("*.sqlite"))) == 1
    # Again: nothing to embed but the query.
    again = run_handler(agent, "docs.search", {"query": "migrations"}, workspace=project)
    assert again.output["index"]["embedded"] == 0
    assert len(again.output["hits"]) == 5


def test_index_reports_and_cancel_stops_it(tmp_path: Path) -> None:
    project = tmp_path / "docs"
    project.mkdir()
    for i in range(20):
        (project / f"page{i:02}.md").write_text(f"# Page {i}\n\nText of page {i}.\n")
    token = CancellationToken()

    def on_progress(fraction: float, step: str) -> None:
        if step.startswith("indexing page03.md"):
            token.cancel("enough")

    run = run_handler(
        agent, "docs.index", {}, workspace=project, cancel=token, on_progress=on_progress
    )
    assert run.status == "CANCELED"
    assert run.error == "enough"
    run = run_handler(agent, "docs.index", {}, workspace=project)
    assert run.status == "SUCCEEDED", run.error
    assert run.output["files"] == 20
    assert run.output["embedded"] == 17  # the three before the cancel were kept
    rebuilt = run_handler(agent, "docs.index", {"rebuild": True}, workspace=project)
    assert rebuilt.output["embedded"] == 20


def test_an_empty_folder_fails_naming_it(tmp_path: Path) -> None:
    run = run_handler(agent, "docs.search", {"query": "anything"}, workspace=tmp_path)
    assert run.status == "FAILED"
    assert run.error.startswith(f"nothing to index in {tmp_path}")
