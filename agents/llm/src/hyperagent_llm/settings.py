"""The agent's settings: ``[env]`` in agent.toml, each with its default here and in the README."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hyperagent_sdk import SettingsReader

PREFIX = "HYPERAGENT_LLM_"

#: Setting -> default (whole numbers of at least 1).
DEFAULTS: dict[str, int] = {
    # The most tokens the model may write in one routing answer (llm.route's max_tokens).
    "MAX_TOKENS": 512,
    # The most tokens the model may write in one summary (llm.summarize's max_tokens).
    "SUMMARY_MAX_TOKENS": 400,
    # The most bytes of the server's reply that are read; a longer reply fails the task.
    "MAX_REPLY_BYTES": 1024 * 1024,
}


@dataclass(frozen=True)
class Settings:
    max_tokens: int
    summary_max_tokens: int
    max_reply_bytes: int

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Settings:
        read = SettingsReader(env, PREFIX)
        return cls(**{key.lower(): read.integer(key, default) for key, default in DEFAULTS.items()})

    @classmethod
    def defaults(cls) -> Settings:
        return cls.load({})
