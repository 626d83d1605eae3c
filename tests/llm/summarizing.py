"""What the tests summarize: a two-step plan that made a project and whose test run failed, as the
manager would hand it to `llm.summarize` (its steps' reports and its own stitched summary)."""

from __future__ import annotations

from typing import Any

REQUEST = "make a FastAPI project called shop and run its tests"

STEPS: list[dict[str, Any]] = [
    {
        "number": 1,
        "task_type": "bootstrap.project",
        "state": "succeeded",
        "summary": "created shop from the fastapi template (14 files, git initialised)",
        "task_ids": ["0199a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b"],
    },
    {
        "number": 2,
        "task_type": "tests.run",
        "state": "failed",
        "summary": (
            "pytest: 3 passed, 1 failed (tests/test_items.py::test_create: assert 422 == 201)"
        ),
        "task_ids": ["0199a1b2-9d8e-7f6a-8b5c-4d3e2f1a0b9c"],
    },
]

OFFLINE = (
    "Not done: 1 of 2 step(s) succeeded; step 2 (tests.run): its task failed\n"
    "✓ 1. bootstrap.project: created shop from the fastapi template (14 files, git initialised)"
    " (task 0199a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b, on bootstrapper)\n"
    "✗ 2. tests.run: pytest: 3 passed, 1 failed (tests/test_items.py::test_create: assert 422 =="
    " 201) (task 0199a1b2-9d8e-7f6a-8b5c-4d3e2f1a0b9c, on testrunner)"
)


def summarize_payload(endpoint: str, /, **changes: Any) -> dict[str, Any]:
    """An `llm.summarize` payload asking ``endpoint`` to summarize :data:`STEPS`; ``changes``
    replace its fields."""
    payload: dict[str, Any] = {
        "request": REQUEST,
        "endpoint": endpoint,
        "model": "",
        "api_key_secret": "",
        "timeout_secs": 120,
        "steps": STEPS,
        "offline_summary": OFFLINE,
    }
    return {**payload, **changes}
