"""Ranking on a real project (the FastAPI + PostgreSQL project the bootstrapper makes, kept in
tests/data/shop): a question whose answer is in one place finds it first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperagent_embeddings import index, model, search
from hyperagent_embeddings.chunking import Sizes

SHOP = Path(__file__).parent / "data" / "shop"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[index.Index]:
    path = tmp_path_factory.mktemp("index") / "shop.sqlite"
    with index.Index(path, SHOP, Sizes(), 512 * 1024) as idx:
        idx.update(model.embed, max_files=1000)
        yield idx


def ask(idx: index.Index, query: str, limit: int = 5) -> list[dict[str, Any]]:
    return search.search(idx, query, model.embed([query])[0], limit=limit, candidates=50, k=60)


@pytest.mark.parametrize(
    ("query", "file", "line"),
    [
        ("where is the database URL configured?", ".env.example", 1),
        (
            "what does the readiness probe return when the database is down?",
            "shop/routers/health.py",
            1,
        ),
        ("how are the tests isolated from existing data?", "README.md", 71),
        ("which environment variables can I set?", ".env.example", 1),
    ],
)
def test_the_chunk_with_the_answer_ranks_first(
    shop: index.Index, query: str, file: str, line: int
) -> None:
    hits = ask(shop, query)
    assert (hits[0]["file"], hits[0]["line"]) == (file, line), [
        (h["file"], h["line"], h["score"]) for h in hits
    ]


def test_the_settings_module_comes_right_after_the_env_file(shop: index.Index) -> None:
    hits = ask(shop, "where is the database URL configured?")
    assert [h["file"] for h in hits[:2]] == [".env.example", "shop/config.py"]
    assert "DATABASE_URL" in hits[0]["text"]
    assert "<redacted>" in hits[0]["text"]  # the password inside the URL


def test_hits_say_where_and_why(shop: index.Index) -> None:
    [hit] = ask(shop, "where is the database URL configured?", limit=1)
    assert set(hit) >= {"file", "line", "end_line", "text", "score", "why", "title"}
    assert hit["line"] <= hit["end_line"]
    assert hit["matched_words"] == ["database", "url", "configured"]
    assert "words: database, url, configured" in hit["why"]
    assert "meaning: cosine" in hit["why"]
    assert 0 < hit["score"] <= 1


def test_words_only_in_one_ranking_still_fuse() -> None:
    fused = search.fuse([1, 2, 3], [3, 4], {3: 0.5}, k=60)
    assert fused[0].chunk_id == 3
    assert fused[0].score == pytest.approx((1 / 63 + 1 / 61) / (2 / 61))
    both_first = search.fuse([7], [7], {}, k=60)
    assert both_first[0].score == pytest.approx(1.0)


def test_query_terms_drop_question_words_and_quote_the_rest() -> None:
    assert search.terms("Where is the database URL configured?") == [
        "database",
        "url",
        "configured",
    ]
    assert search.terms("how to") == ["how", "to"]
    assert search.fts_query(['say "hi"', "x"]) == '"say ""hi""" OR "x"'
    assert search.about_configuration("where is the port set")
    assert search.about_configuration("DATABASE config")
    assert not search.about_configuration("how do I run the migrations?")
