"""Hybrid search: BM25 over words (SQLite FTS5) and cosine over meaning (numpy, brute force),
fused by reciprocal rank.

Each ranking is cut at ``candidates``; a chunk's fused score is ``sum(1 / (k + rank))`` over the
rankings it is in (rank 1 is the best), divided by ``n / (k + 1)`` (n rankings) so that 1.0 means
first in all of them.

A question about configuration ("where is the database URL configured?", "which settings can I
change?") gets a third ranking: the configuration chunks alone (config files, and settings
modules such as ``config.py`` or ``settings.py``), by meaning. The answer to "where is X
configured" is where X is set, more than the prose that mentions it.

Rank fusion needs no calibration between BM25 scores (unbounded, per corpus) and cosines
(USE's sit between about 0.1 and 0.8): only the orders count. A chunk that only one ranking found
can still win when it is near the top of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .index import Index

#: Words a question or a request is made of that say nothing about what is sought (FTS5 would
#: match them everywhere): "search the docs for how to run migrations" looks for "run
#: migrations".
_STOPWORDS = """a an and are as at be by can do does for from how i in is it my of on or our the
this to we what when where which who why with you your me show find tell please there their
should would could will get set search look up docs documentation project"""
STOPWORDS = frozenset(_STOPWORDS.split())

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def terms(query: str) -> list[str]:
    """The query's words that count (lowercase, stopwords out, each once, in order); all its
    words when every one is a stopword."""
    words = [w.lower() for w in _WORD.findall(query)]
    kept = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(kept))


def fts_query(words: list[str]) -> str:
    """An FTS5 query matching any of the words (each quoted: no FTS5 syntax gets through)."""
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


#: Words that make a question one about configuration (and any word starting with "config").
CONFIG_WORDS = frozenset({"set", "setting", "settings", "env", "environment", "dotenv"})


def about_configuration(query: str) -> bool:
    words = [w.lower() for w in _WORD.findall(query)]
    return any(w.startswith("config") or w in CONFIG_WORDS for w in words)


def _stem(word: str) -> str:
    return word[: max(4, len(word) - 3)] if len(word) > 4 else word


def matched(words: list[str], *texts: str) -> list[str]:
    """The query words found in the texts (by a prefix of the word, as stemming would)."""
    tokens = {t.lower() for text in texts for t in _WORD.findall(text)}
    return [w for w in words if any(t.startswith(_stem(w)) for t in tokens)]


@dataclass(frozen=True)
class Ranked:
    chunk_id: int
    score: float
    bm25_rank: int | None
    semantic_rank: int | None
    cosine: float
    config_rank: int | None = None


def fuse(
    bm25: list[int],
    semantic: list[int],
    cosines: dict[int, float],
    k: int,
    config: list[int] | None = None,
) -> list[Ranked]:
    """Reciprocal-rank fusion of two rankings of chunk ids (best first), three with the
    configuration ranking of a question about configuration."""
    rankings = [bm25, semantic] + ([config] if config is not None else [])
    ranks = [{cid: rank for rank, cid in enumerate(r, 1)} for r in rankings]
    best = len(rankings) / (k + 1)
    out = []
    for cid in dict.fromkeys(cid for r in rankings for cid in r):
        found = [by.get(cid) for by in ranks]
        score = sum(1.0 / (k + rank) for rank in found if rank is not None)
        config_rank = found[2] if config is not None else None
        out.append(
            Ranked(cid, score / best, found[0], found[1], cosines.get(cid, 0.0), config_rank)
        )
    out.sort(key=lambda r: (-r.score, -r.cosine, r.chunk_id))
    return out


def search(
    index: Index, query: str, query_vector: np.ndarray, *, limit: int, candidates: int, k: int
) -> list[dict[str, Any]]:
    """The best ``limit`` hits for ``query`` (whose vector is given) in ``index``."""
    words = terms(query)
    bm25 = [cid for cid, _ in index.bm25(fts_query(words), candidates)]
    ids, matrix = index.vectors()
    cosines: dict[int, float] = {}
    semantic: list[int] = []
    config: list[int] | None = None
    if len(ids):
        sims = matrix @ query_vector.astype(np.float32)
        order = np.argsort(-sims, kind="stable")
        semantic = [int(ids[i]) for i in order[:candidates]]
        if about_configuration(query):
            configs = index.configuration_ids()
            config = [int(ids[i]) for i in order if int(ids[i]) in configs][:candidates]
        # Every candidate's cosine, for "why" (ids are sorted: a binary search finds each).
        wanted = list(dict.fromkeys([*bm25, *semantic, *(config or [])]))
        where = np.searchsorted(ids, wanted)
        cosines = {cid: float(sims[j]) for cid, j in zip(wanted, where, strict=True)}
    hits = []
    for r in fuse(bm25, semantic, cosines, k, config)[:limit]:
        hit = index.chunk(r.chunk_id)
        found = matched(words, *(str(hit[key]) for key in ("file", "title", "text", "about")))
        hit.update(
            score=round(r.score, 6),
            why=_why(found, r),
            matched_words=found,
            bm25_rank=r.bm25_rank,
            semantic_rank=r.semantic_rank,
            config_rank=r.config_rank,
            cosine=round(r.cosine, 6),
        )
        hits.append(hit)
    return hits


def _why(found: list[str], r: Ranked) -> str:
    parts = []
    if r.bm25_rank is not None:
        words = ", ".join(found) if found else "query words"
        parts.append(f"words: {words} (rank {r.bm25_rank})")
    if r.semantic_rank is not None:
        parts.append(f"meaning: cosine {r.cosine:.2f} (rank {r.semantic_rank})")
    if r.config_rank is not None:
        parts.append(f"configuration (rank {r.config_rank})")
    return "; ".join(parts)
