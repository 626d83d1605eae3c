"""The agent's settings: ``[env]`` in agent.toml, each with its default here and in the README."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyperagent_sdk import SettingsReader

from .sizepass import Limits

PREFIX = "HYPERAGENT_CODEREVIEW_"

#: Setting (a whole number of at least 1) -> default; the first four are thresholds a task's
#: payload may override.
DEFAULTS: dict[str, int] = {
    "MAX_FUNCTION_LINES": 60,
    "MAX_NESTING": 4,
    "MAX_FILE_LINES": 500,
    "MAX_COMPLEXITY": 10,
    "MAX_FINDINGS": 200,
    "KEEP_REPORTS": 100,
}

#: Payload ``thresholds`` key -> setting.
THRESHOLDS = {
    "max_function_lines": "MAX_FUNCTION_LINES",
    "max_nesting": "MAX_NESTING",
    "max_file_lines": "MAX_FILE_LINES",
    "max_complexity": "MAX_COMPLEXITY",
}


@dataclass(frozen=True)
class Settings:
    limits: Limits
    max_findings: int
    keep_reports: int
    #: Where SARIF reports go: ``HYPERAGENT_CODEREVIEW_REPORTS_DIR``, else ``~/reports`` (the
    #: agent's state folder, its HOME, which its task processes may write).
    reports_dir: Path

    @classmethod
    def load(cls, env: Mapping[str, str], thresholds: Mapping[str, Any]) -> Settings:
        read = SettingsReader(env, PREFIX)
        values = {key: read.integer(key, default) for key, default in DEFAULTS.items()}
        for name, key in THRESHOLDS.items():
            if name in thresholds:
                values[key] = int(thresholds[name])
        return cls(
            limits=Limits(
                function_lines=values["MAX_FUNCTION_LINES"],
                nesting=values["MAX_NESTING"],
                file_lines=values["MAX_FILE_LINES"],
                complexity=values["MAX_COMPLEXITY"],
            ),
            max_findings=values["MAX_FINDINGS"],
            keep_reports=values["KEEP_REPORTS"],
            reports_dir=read.path("REPORTS_DIR", Path.home() / "reports"),
        )
