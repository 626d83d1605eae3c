"""The agent's settings: ``[env]`` in agent.toml, each with its default here and in the README."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hyperagent_sdk import SettingError, SettingsReader

PREFIX = "HYPERAGENT_EMBEDDINGS_"

#: Setting -> default (whole numbers of at least 1, except CHUNK_OVERLAP_WORDS which may be 0).
DEFAULTS: dict[str, int] = {
    # embed.texts: how many texts one task may embed, and how long each may be (characters).
    "MAX_TEXTS": 128,
    "MAX_TEXT_CHARS": 8000,
    # docs.index: files larger than this are skipped; at most this many files are indexed.
    "MAX_FILE_BYTES": 512 * 1024,
    "MAX_FILES": 20_000,
    # Chunks: a section shorter than MIN is merged with the next one while the two stay under
    # MAX; a longer one is cut into windows of at most MAX words that overlap by OVERLAP.
    "CHUNK_MIN_WORDS": 50,
    "CHUNK_MAX_WORDS": 100,
    "CHUNK_OVERLAP_WORDS": 20,
    # docs.search: the most hits one search returns; each ranking looks this deep before fusion.
    "MAX_HITS": 50,
    "CANDIDATES": 50,
    # Reciprocal-rank fusion constant: a hit's score is the sum of 1 / (RRF_K + rank).
    "RRF_K": 60,
}

#: Settings that may be 0.
MAY_BE_ZERO = {"CHUNK_OVERLAP_WORDS"}


@dataclass(frozen=True)
class Settings:
    max_texts: int
    max_text_chars: int
    max_file_bytes: int
    max_files: int
    chunk_min_words: int
    chunk_max_words: int
    chunk_overlap_words: int
    max_hits: int
    candidates: int
    rrf_k: int
    #: Where the indexes go: ``HYPERAGENT_EMBEDDINGS_INDEX_DIR``, else ``~/indexes`` (the agent's
    #: state folder, its HOME, which its task processes may write).
    index_dir: Path

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Settings:
        read = SettingsReader(env, PREFIX)
        v = {
            key.lower(): read.integer(key, default, low=0 if key in MAY_BE_ZERO else 1)
            for key, default in DEFAULTS.items()
        }
        if v["chunk_min_words"] > v["chunk_max_words"]:
            raise SettingError(
                f"{PREFIX}CHUNK_MIN_WORDS ({v['chunk_min_words']}) must not exceed"
                f" {PREFIX}CHUNK_MAX_WORDS ({v['chunk_max_words']})"
            )
        if v["chunk_overlap_words"] >= v["chunk_max_words"]:
            raise SettingError(
                f"{PREFIX}CHUNK_OVERLAP_WORDS ({v['chunk_overlap_words']}) must be less than"
                f" {PREFIX}CHUNK_MAX_WORDS ({v['chunk_max_words']})"
            )
        return cls(**v, index_dir=read.path("INDEX_DIR", Path.home() / "indexes"))

    @classmethod
    def defaults(cls) -> Settings:
        return cls.load({})
