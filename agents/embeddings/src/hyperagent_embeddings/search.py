"""Hybrid search: BM25 over words (SQLite FTS5) and cosine over meaning (numpy, brute force),
fused by reciprocal rank.

Each ranking is cut at ``candidates``; a chunk's fused score is ``sum(1 / (k + rank))`` over the
rankings it is in (rank 1 is the best), divided by ``2 / (k + 1)`` so that 1.0 means first in
both. Rank fusion needs no calibration between BM25 scores (unbounded, per corpus) and cosines
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


def fuse(bm25: list[int], semantic: list[int], cosines: dict[int, float], k: int) -> list[Ranked]:
    """Reciprocal-rank fusion of two rankings of chunk ids (best first)."""
    by_words = {cid: rank for rank, cid in enumerate(bm25, 1)}
    by_meaning = {cid: rank for rank, cid in enumerate(semantic, 1)}
    best = 2.0 / (k + 1)
    out = []
    for cid in dict.fromkeys([*bm25, *semantic]):
        w, m = by_words.get(cid), by_meaning.get(cid)
        score = (1.0 / (k + w) if w else 0.0) + (1.0 / (k + m) if m else 0.0)
        out.append(Ranked(cid, score / best, w, m, cosines.get(cid, 0.0)))
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
    if len(ids):
        sims = matrix @ query_vector.astype(np.float32)
        top = np.argsort(-sims, kind="stable")[:candidates]
        semantic = [int(ids[i]) for i in top]
        cosines = {int(ids[i]): float(sims[i]) for i in top}
        missing = [cid for cid in bm25 if cid not in cosines]
        if missing:
            where = np.searchsorted(ids, missing)
            cosines.update({cid: float(sims[j]) for cid, j in zip(missing, where, strict=True)})
    hits = []
    for r in fuse(bm25, semantic, cosines, k)[:limit]:
        hit = index.chunk(r.chunk_id)
        found = matched(words, *(str(hit[k]) for k in ("file", "title", "text", "about")))
        hit.update(
            score=round(r.score, 6),
            why=_why(found, r),
            matched_words=found,
            bm25_rank=r.bm25_rank,
            semantic_rank=r.semantic_rank,
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
    return "; ".join(parts)
