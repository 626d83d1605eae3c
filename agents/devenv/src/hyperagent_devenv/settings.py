"""The agent's settings: ``[env]`` in agent.toml, each with its default here and in the README."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hyperagent_sdk import SettingsReader

PREFIX = "HYPERAGENT_DEVENV_"

#: Whole-number settings -> (default, lowest, highest).
NUMBERS: dict[str, tuple[int, int, int]] = {
    # The port the app listens on in its container, published on the same host port.
    "APP_PORT": (8000, 1, 65535),
    # Health checks of the services: seconds between tries, seconds a try may take, tries.
    "HEALTH_INTERVAL": (5, 1, 3600),
    "HEALTH_TIMEOUT": (5, 1, 3600),
    "HEALTH_RETRIES": (10, 1, 1000),
    # Seconds `docker compose config` may take.
    "DOCKER_TIMEOUT": (60, 1, 3600),
    # Project files larger than this are not read (a settings file is small).
    "MAX_FILE_BYTES": (262_144, 1024, 64 * 1024 * 1024),
}

#: Text settings -> default.
TEXTS: dict[str, str] = {
    # The app's image; `{version}` is the project's lowest Python version.
    "PYTHON_IMAGE": "python:{version}",
    # The Python version when the project states none (`requires-python`).
    "DEFAULT_PYTHON": "3.12",
    "POSTGRES_IMAGE": "postgres:17-alpine",
    "REDIS_IMAGE": "redis:7-alpine",
}

#: What a text setting must be: DEFAULT_PYTHON a version, the others an image reference.
_VERSION = (re.compile(r"3\.\d{1,2}"), "a version like 3.12")
_IMAGE = (re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@{}-]*"), "an image reference")


@dataclass(frozen=True)
class Settings:
    app_port: int
    health_interval: int
    health_timeout: int
    health_retries: int
    docker_timeout: int
    max_file_bytes: int
    python_image: str
    default_python: str
    postgres_image: str
    redis_image: str

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Settings:
        read = SettingsReader(env, PREFIX)
        values: dict[str, int | str] = {
            key: read.integer(key, default, low=low, high=high)
            for key, (default, low, high) in NUMBERS.items()
        }
        for key, default in TEXTS.items():
            pattern, allowed = _VERSION if key == "DEFAULT_PYTHON" else _IMAGE
            values[key] = read.text(key, default, pattern=pattern, allowed=allowed)
        return cls(**{key.lower(): value for key, value in values.items()})  # type: ignore[arg-type]
