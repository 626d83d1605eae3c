"""Fixtures: real git repositories in temporary folders, and a real llama.cpp server (xllamacpp)
serving the tiny stand-in model, once per module (tests/llm/, shared with the llm agent)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "llm"))

from coder_testing import git  # noqa: E402
from llama_server import llama_server  # noqa: E402


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """Makes a repository with one commit on `main` holding ``files`` (name -> text)."""

    def make(name: str = "repo", files: dict[str, str] | None = None) -> Path:
        path = tmp_path / name
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
        for rel, text in (files or {"README.md": "# a project\n"}).items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(text)
        git(path, "add", "--all")
        git(
            path,
            "-c",
            "user.name=Someone",
            "-c",
            "user.email=s@example.org",
            "commit",
            "-qm",
            "first",
        )
        return path

    return make


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real llama.cpp server serving the tiny (biased) model."""
    with llama_server(tmp_path_factory.mktemp("llama")) as url:
        yield url


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """In memory the handler connects directly, as an agent run by hand would: no proxy."""
    for var in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)
