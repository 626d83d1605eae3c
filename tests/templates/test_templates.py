"""Every variant of every shipped template renders, installs, passes its own tests and starts.

Each variant goes through the bootstrapper's real handler (in this process, not confined: the
confined path is tests/e2e/test_bootstrap.py) with real uv, real git, a real dev server probed
over HTTP, and for the PostgreSQL variants a real PostgreSQL server (tests/templates/conftest.py).
Packages come from the offline wheelhouse, so no test depends on the network.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from hyperagent_bootstrapper import render as rendering
from hyperagent_bootstrapper.agent import agent
from hyperagent_bootstrapper.template import load
from hyperagent_sdk.testing import run_handler

ROOT = Path(__file__).resolve().parents[2]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def variants(name: str) -> list[tuple[str, dict[str, Any]]]:
    template = load(ROOT / "templates" / name)
    fixed = {"project_name": "shop", "python_version": PYTHON}
    out = []
    for given in rendering.variants(template, fixed):
        label = "-".join(f"{k}={v}" for k, v in given.items() if k not in fixed)
        out.append((f"{name}[{label}]", given))
    return out


ALL = variants("fastapi") + variants("django")


def test_every_combination_is_covered() -> None:
    # database x docker for both, plus the PostgreSQL image version compose.yaml pins
    fastapi = [g for n, g in ALL if n.startswith("fastapi")]
    django = [g for n, g in ALL if n.startswith("django")]
    assert {(g["database"], g["docker"]) for g in fastapi} == {
        (db, docker) for db in ("none", "sqlite", "postgres") for docker in (False, True)
    }
    assert {(g["database"], g["docker"]) for g in django} == {
        (db, docker) for db in ("sqlite", "postgres") for docker in (False, True)
    }


@pytest.mark.parametrize(("label", "answers"), ALL, ids=[n for n, _ in ALL])
def test_the_variant_installs_passes_its_tests_and_answers_health(  # noqa: PLR0917 - fixtures
    label: str,
    answers: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres: Any,
    wheelhouse: Path,
    uv: str,
) -> None:
    template = label.split("[", maxsplit=1)[0]
    monkeypatch.setenv("HYPERAGENT_TEMPLATE_DIRS", str(ROOT / "templates"))
    monkeypatch.setenv("HYPERAGENT_BOOTSTRAP_WHEELHOUSE", str(wheelhouse))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    if answers["database"] == "postgres":
        db = f"shop_{abs(hash(label)) % 10**8}"
        monkeypatch.setenv("DATABASE_URL", postgres.create_database(db))
        monkeypatch.setenv("TEST_DATABASE_REQUIRED", "1")  # skipping is failing here
    project = tmp_path / "shop"
    project.mkdir()
    run = run_handler(
        agent, "bootstrap.project", {"template": template, "answers": answers}, workspace=project
    )
    assert run.status == "SUCCEEDED", f"{run.error}\n" + "\n".join(
        line.message for line in run.logs[-40:]
    )
    checks = {c["name"]: c for c in run.output["checks"]}
    assert [checks[n]["status"] for n in ("environment", "install", "tests", "serve")] == [
        "passed"
    ] * 4
    assert "passed" in checks["tests"]["detail"]
    assert "skipped" not in checks["tests"]["detail"]  # the database tests ran
    assert checks["serve"]["detail"].endswith("answered 200")
    if answers["docker"]:
        assert (project / "Dockerfile").is_file()
        assert checks["docker"]["status"] in {"passed", "skipped"}
    else:
        assert not (project / "Dockerfile").exists()
