"""What the tests route against: the catalogue a manager with the bundled agents and templates
hands over (`catalog.json`, captured from `hyperagent --json types` and `--json templates`, with
the manager's "open" action), and an `llm.route` payload built on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CATALOG: dict[str, Any] = json.loads((Path(__file__).parent / "catalog.json").read_text())


def route_payload(endpoint: str, /, **changes: Any) -> dict[str, Any]:
    """An `llm.route` payload asking ``endpoint`` to route a two-step request against
    :data:`CATALOG`; ``changes`` replace its fields."""
    payload: dict[str, Any] = {
        "request": "make a FastAPI project called shop and run its tests",
        "endpoint": endpoint,
        "model": "",
        "api_key_secret": "",
        "timeout_secs": 120,
        "max_steps": 8,
        "catalog": CATALOG,
        "context": {},
    }
    return {**payload, **changes}
