"""The embeddings agent: ``embed.texts`` turns texts into vectors; ``docs.index`` indexes the
project that is the task's folder; ``docs.search`` answers a question from it.

The model (:mod:`.model`) ships inside a Python package: nothing is downloaded, the agent needs no
network. An index is kept per project in the agent's state folder (:mod:`.index`) and brought up
to date, file by file, before each search; the project's folder is only read.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from hyperagent_sdk import Agent, Outcome, SettingError, TaskContext, TaskFailed

from . import index, model, search
from .chunking import Sizes
from .settings import Settings

DRAFT = "https://json-schema.org/draft/2020-12/schema"
VERSION = "0.1.0"

agent = Agent(name="embeddings", version=VERSION, max_concurrency=2, cost=1.0)

try:
    _LIMITS = Settings.load(os.environ)
except SettingError:
    # The task then fails naming the setting; the schema keeps the defaults' bounds.
    _LIMITS = Settings.defaults()

EMBED_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "embed.texts payload",
    "type": "object",
    "properties": {
        "texts": {
            "type": "array",
            "minItems": 1,
            "maxItems": _LIMITS.max_texts,
            "items": {"type": "string", "minLength": 1, "maxLength": _LIMITS.max_text_chars},
            "description": (
                f"The texts to embed: 1 to {_LIMITS.max_texts}, each at most"
                f" {_LIMITS.max_text_chars} characters."
            ),
        },
    },
    "required": ["texts"],
    "additionalProperties": False,
}

INDEX_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "docs.index payload",
    "description": "The project is the task's folder (`workspace` when submitting).",
    "type": "object",
    "properties": {
        "rebuild": {
            "type": "boolean",
            "default": False,
            "description": "Forget the project's index and embed every file again.",
        },
    },
    "additionalProperties": False,
}

SEARCH_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "docs.search payload",
    "description": (
        "The project is the task's folder (`workspace` when submitting); it is indexed first"
        " if needed (only what changed)."
    ),
    "type": "object",
    "properties": {
        "query": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1000,
            "pattern": "\\S",
            "description": "What to look for, in plain words (a question, a few keywords).",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": _LIMITS.max_hits,
            "default": 5,
            "description": f"How many hits to return (at most {_LIMITS.max_hits}).",
        },
    },
    "required": ["query"],
    "additionalProperties": False,
}


def _settings() -> Settings:
    try:
        return Settings.load(os.environ)
    except SettingError as err:
        raise TaskFailed(f"the embeddings agent's settings (agent.toml [env]): {err}") from err


def _sizes(s: Settings) -> Sizes:
    return Sizes(s.chunk_min_words, s.chunk_max_words, s.chunk_overlap_words)


@agent.task(
    "embed.texts",
    schema=EMBED_SCHEMA,
    description=(
        "Embed texts with a multilingual sentence encoder that runs offline: one vector of"
        " length 1 per text (cosine = dot product)."
    ),
    examples=(
        "embed these sentences: 'reset my password', 'change the password'",
        "give me the embedding vectors of these texts",
        "turn 'where is the database configured?' into a vector",
        "compute sentence embeddings for this list of titles",
    ),
)
def embed_texts(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    s = _settings()
    texts: list[str] = payload["texts"]
    # The schema was built from the settings the agent started with; these are the task's own.
    if len(texts) > s.max_texts:
        raise TaskFailed(f"texts: {len(texts)} texts, at most {s.max_texts} per task")
    for i, text in enumerate(texts):
        if len(text) > s.max_text_chars:
            raise TaskFailed(
                f"texts/{i}: {len(text)} characters, at most {s.max_text_chars} per text"
            )
    ctx.progress(0.0, f"embedding {len(texts)} texts")
    started = time.monotonic()
    vectors = model.embed(texts)
    took = time.monotonic() - started
    ctx.cancelled.raise_if_cancelled()
    summary = f"embedded {len(texts)} texts ({model.DIM} dimensions)"
    ctx.log.info(summary, seconds=f"{took:.3f}")
    return Outcome(
        summary=summary,
        output={
            "summary": summary,
            "model": model.name(),
            "dim": model.DIM,
            "vectors": np.round(vectors.astype(np.float64), 6).tolist(),
            "seconds": round(took, 3),
        },
    )


def _project(ctx: TaskContext) -> Path:
    root = ctx.workspace.resolve()
    if not root.is_dir():
        raise TaskFailed(f"{root} is not a folder: name the project's folder as the workspace")
    return root


def _update(ctx: TaskContext, s: Settings, idx: index.Index) -> index.Stats:
    def on_file(i: int, n: int, rel: str) -> None:
        ctx.progress(0.9 * i / max(n, 1), f"indexing {rel} ({i + 1}/{n})")
        ctx.log.info("indexing", file=rel)

    started = time.monotonic()
    stats = idx.update(
        model.embed,
        max_files=s.max_files,
        check=ctx.cancelled.raise_if_cancelled,
        on_file=on_file,
    )
    ctx.log.info(
        f"index up to date in {time.monotonic() - started:.2f}s",
        files=stats.files,
        embedded=stats.embedded,
        touched=stats.touched,
        removed=stats.removed,
        chunks=stats.chunks,
    )
    if stats.skipped_beyond_limit:
        ctx.log.warn(
            f"only the first {s.max_files} files were indexed",
            left_out=stats.skipped_beyond_limit,
        )
    if stats.files == 0:
        raise TaskFailed(
            f"nothing to index in {idx.project}: no Markdown, reStructuredText, Python, config"
            " or text files (outside .git, .venv, node_modules and build folders)"
        )
    return stats


def _open(ctx: TaskContext, s: Settings, rebuild: bool = False) -> index.Index:
    root = _project(ctx)
    path = index.db_path(s.index_dir, root)
    if rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return index.Index(path, root, _sizes(s), s.max_file_bytes)


@agent.task(
    "docs.index",
    schema=INDEX_SCHEMA,
    description=(
        "Index the project in the task's folder for search: Markdown and reStructuredText by"
        " heading, Python docstrings and comments, config keys (secret values redacted)."
        " Only changed files are embedded again."
    ),
    examples=(
        "index the docs of ~/src/api",
        "index the project shop for search",
        "update the search index of billing",
        "rebuild the documentation index of ~/src/api from scratch",
        "make billing's docs searchable",
        "build a search index of the documentation in shop",
        "reindex ~/src/api, everything from the start",
    ),
    folder="existing",
)
def docs_index(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    s = _settings()
    started = time.monotonic()
    with _open(ctx, s, rebuild=bool(payload.get("rebuild", False))) as idx:
        stats = _update(ctx, s, idx)
        where = str(idx.path)
    took = time.monotonic() - started
    summary = (
        f"{stats.files} files indexed, {stats.chunks} chunks"
        f" ({stats.embedded} embedded now, {stats.removed} removed)"
    )
    return Outcome(
        summary=summary,
        output={
            "summary": summary,
            "path": str(_project(ctx)),
            "index": where,
            **stats.as_dict(),
            "seconds": round(took, 3),
        },
    )


@agent.task(
    "docs.search",
    schema=SEARCH_SCHEMA,
    description=(
        "Search the project in the task's folder (docs, docstrings, comments, config keys) by"
        " words and meaning; hits with file, lines, text, score and why."
    ),
    examples=(
        "where is the database URL configured in ~/src/api?",
        "search the docs of shop for how to run migrations",
        "find where the API port is set in billing",
        "how do I run the tests of ~/src/api? look it up in its docs",
        "what does the health endpoint of shop return?",
        "search shop for the retry policy",
        "look up in the docs of billing how refunds are handled",
        "in ~/src/api, where do they explain the configuration?",
        "find the three best passages about caching in shop",
    ),
    folder="existing",
)
def docs_search(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    s = _settings()
    query: str = payload["query"]
    limit = min(int(payload.get("limit", 5)), s.max_hits)
    started = time.monotonic()
    with _open(ctx, s) as idx:
        stats = _update(ctx, s, idx)
        indexed = time.monotonic()
        ctx.progress(0.95, "searching")
        vector = model.embed([query])[0]
        hits = search.search(
            idx, query, vector, limit=limit, candidates=max(s.candidates, limit), k=s.rrf_k
        )
    done = time.monotonic()
    best = f"; best: {hits[0]['file']}:{hits[0]['line']}" if hits else ""
    summary = f"{len(hits)} hits for {query!r}{best}"
    ctx.log.info(summary)
    return Outcome(
        summary=summary,
        output={
            "summary": summary,
            "query": query,
            "hits": hits,
            "index": stats.as_dict(),
            "seconds": {
                "index": round(indexed - started, 3),
                "search": round(done - indexed, 3),
            },
        },
    )
