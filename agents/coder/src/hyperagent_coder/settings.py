"""The agent's settings: ``[env]`` in agent.toml, each with its default here and in the README."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hyperagent_sdk import SettingsReader

PREFIX = "HYPERAGENT_CODER_"

#: Setting -> default (whole numbers of at least 1).
DEFAULTS: dict[str, int] = {
    # The most tokens the model may write in one turn (each call's max_tokens).
    "MAX_TOKENS": 2048,
    # The most bytes of the server's reply that are read; a longer reply fails the task.
    "MAX_REPLY_BYTES": 4 * 1024 * 1024,
    # The most characters of one tool's observation sent back to the model (the rest is cut,
    # and the observation says so).
    "MAX_OBSERVATION_CHARS": 8000,
    # The most characters of the diff in the result (the commit holds all of it).
    "MAX_DIFF_CHARS": 200_000,
    # How long one `run` command may take, in seconds, before its process group is killed.
    "RUN_TIMEOUT_SECS": 120,
    # The most bytes of a `run` command's output kept (its head and its tail).
    "MAX_RUN_OUTPUT_BYTES": 64 * 1024,
    # The most bytes of a file `read_file` and `search` read, and `write_file` writes.
    "MAX_FILE_BYTES": 1024 * 1024,
    # The most entries `list_files` lists and matches `search` reports.
    "MAX_ENTRIES": 500,
    # How many times a git command that met another's lock (index.lock, a ref's lock) is tried.
    "GIT_LOCK_TRIES": 20,
}


@dataclass(frozen=True)
class Settings:
    max_tokens: int
    max_reply_bytes: int
    max_observation_chars: int
    max_diff_chars: int
    run_timeout_secs: int
    max_run_output_bytes: int
    max_file_bytes: int
    max_entries: int
    git_lock_tries: int
    #: The model a payload that names none uses: its endpoint (the base URL, without
    #: `/chat/completions`; "" for none, then every payload must name one) and its name ("":
    #: the server's own). Configured once here, a change asked for in plain words needs no URL.
    endpoint: str = ""
    model: str = ""

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Settings:
        read = SettingsReader(env, PREFIX)
        numbers = {key.lower(): read.integer(key, default) for key, default in DEFAULTS.items()}
        return cls(
            **numbers,
            endpoint=read.url("ENDPOINT", "", schemes=("http", "https")).rstrip("/"),
            model=read.text("MODEL", ""),
        )

    @classmethod
    def defaults(cls) -> Settings:
        return cls.load({})
