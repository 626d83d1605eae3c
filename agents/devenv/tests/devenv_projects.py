"""Projects for the dev-env agent's tests, written as a developer would have them (a module of its
own name: pytest puts every agent's tests folder on the import path)."""

from __future__ import annotations

from pathlib import Path


def pyproject(name: str, deps: list[str], dev: list[str] | None = None) -> str:
    lines = [
        "[project]",
        f'name = "{name}"',
        'requires-python = ">=3.11"',
        "dependencies = [",
        *(f'    "{d}",' for d in deps),
        "]",
    ]
    if dev is not None:
        lines += ["", "[project.optional-dependencies]", "dev = [", *(f'    "{d}",' for d in dev)]
        lines += ["]"]
    return "\n".join(lines) + "\n"


#: A FastAPI app made by a factory, as the bootstrapper's template does (``app`` at line 9).
FASTAPI_MAIN = (
    "from fastapi import FastAPI\n"
    "\n"
    "\n"
    "def create_app() -> FastAPI:\n"
    "    app = FastAPI()\n"
    "    return app\n"
    "\n"
    "\n"
    "app = create_app()\n"
)


def write_project(root: Path, files: dict[str, str]) -> Path:
    """``root`` with ``files`` (relative path -> text) in it."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def fastapi_postgres_files(name: str = "shop") -> dict[str, str]:
    """What the bootstrapper's FastAPI template makes with PostgreSQL, in small."""
    return {
        "pyproject.toml": pyproject(
            name, ["fastapi>=0.115,<1", "psycopg[binary]>=3.2,<4"], dev=["pytest>=8"]
        ),
        f"{name}/__init__.py": "",
        f"{name}/main.py": FASTAPI_MAIN,
        ".env.example": (
            f"APP_NAME={name}\n"
            f"DATABASE_URL=postgresql+psycopg://postgres:postgres@localhost:5432/{name}\n"
        ),
    }
