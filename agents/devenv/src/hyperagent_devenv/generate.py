"""The two files, built as data and written with PyYAML and json (never text templates):

- ``compose.yaml``: the ``app`` service (the official Python image with the project mounted at
  ``/workspace``; it installs the project and starts its development server), ``db``
  (PostgreSQL) and ``redis`` when the project uses them, each with its health check
  (``pg_isready``, ``redis-cli ping``) and a named volume for its data; the app waits for them
  (``condition: service_healthy``) and gets their URLs (``DATABASE_URL``, ``REDIS_URL``).
- ``.devcontainer/devcontainer.json``: that Compose file and its ``app`` service (kept idle, so
  the person starts the server when they want), the forwarded ports and a ``postCreateCommand``
  that installs the project.

A project's own Dockerfile is left alone: it builds the production image (an unprivileged user,
the package copied in), while a development container mounts the sources and installs them
editable.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from .detect import DJANGO, FASTAPI, POSTGRES, REDIS, Stack, database_name
from .settings import Settings

COMPOSE_FILE = "compose.yaml"
DEVCONTAINER_FILE = ".devcontainer/devcontainer.json"
#: Where the project is mounted in the app container.
WORKSPACE = "/workspace"
#: The services' own ports inside the Compose network (the protocols', not tunables).
POSTGRES_PORT = 5432
REDIS_PORT = 6379
#: User and password of the development database: a throwaway local container, not a secret.
DB_USER = "postgres"
#: Every interface of the app's container, so the published port reaches the server.
ANY_HOST = "0.0.0.0"  # noqa: S104 - inside its container
COMPOSE_HEAD = (
    "# The development stack: `docker compose up`, or open the folder in a dev container.\n"
    "# Written by HyperAgent's dev-env agent from what the project's files say.\n"
)


@dataclass(frozen=True)
class Files:
    compose: dict[str, Any]
    devcontainer: dict[str, Any]

    def compose_text(self) -> str:
        return COMPOSE_HEAD + yaml.safe_dump(
            self.compose,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=sys.maxsize,  # a command stays on one line
        )

    def devcontainer_text(self) -> str:
        return json.dumps(self.devcontainer, indent=2, ensure_ascii=False) + "\n"

    def texts(self) -> dict[str, str]:
        """Path relative to the project -> its full new content."""
        return {DEVCONTAINER_FILE: self.devcontainer_text(), COMPOSE_FILE: self.compose_text()}


def serve_command(stack: Stack, port: int) -> list[str]:
    """How the app starts, listening on every interface of its container at ``port``:
    ``hyperagent.yml``'s ``serve`` when the project has one, else the framework's development
    server, else nothing to start (the container idles)."""
    if stack.serve:
        argv = [a.replace("{port}", str(port)) for a in stack.serve]
        return [
            ANY_HOST if a == "127.0.0.1" else a.replace("127.0.0.1:", f"{ANY_HOST}:") for a in argv
        ]
    if stack.framework == DJANGO:
        return ["python", "manage.py", "runserver", f"{ANY_HOST}:{port}"]
    if stack.framework == FASTAPI and stack.asgi_app:
        return ["uvicorn", stack.asgi_app, "--host", ANY_HOST, "--port", str(port), "--reload"]
    return ["sleep", "infinity"]


def install_command(stack: Stack) -> list[str]:
    return ["pip", "install", *(stack.install or ["-e", "."])]


def compose_name(stack: Stack) -> str:
    """A Compose project name: lower case letters, digits, ``-`` and ``_``, starting with a
    letter or digit."""
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in stack.name.lower())
    name = name.strip("-_")
    return name or "app"


def _database(stack: Stack) -> str:
    return database_name(stack.database_url) or stack.name.replace("-", "_") or "app"


def _database_url(stack: Stack, database: str) -> str:
    """The project's own URL (its scheme, so its driver, kept) pointed at the ``db`` service."""
    scheme = urlsplit(stack.database_url).scheme if stack.database_url else "postgresql"
    netloc = f"{DB_USER}:{DB_USER}@db:{POSTGRES_PORT}"
    return urlunsplit((scheme, netloc, f"/{database}", "", ""))


def _healthcheck(test: list[str], settings: Settings) -> dict[str, Any]:
    return {
        "test": test,
        "interval": f"{settings.health_interval}s",
        "timeout": f"{settings.health_timeout}s",
        "retries": settings.health_retries,
    }


def build(stack: Stack, settings: Settings, port: int | None = None) -> Files:
    port = port or settings.app_port
    version = stack.python or settings.default_python
    command = (
        f"{shlex.join(install_command(stack))} && exec {shlex.join(serve_command(stack, port))}"
    )
    app: dict[str, Any] = {
        "image": settings.python_image.replace("{version}", version),
        "working_dir": WORKSPACE,
        "command": ["sh", "-c", command],
        "volumes": [{"type": "bind", "source": ".", "target": WORKSPACE}],
        "ports": [f"{port}:{port}"],
    }
    environment: dict[str, str] = {}
    depends: dict[str, Any] = {}
    services: dict[str, Any] = {"app": app}
    volumes: dict[str, Any] = {}
    if POSTGRES in stack.services:
        database = _database(stack)
        environment["DATABASE_URL"] = _database_url(stack, database)
        services["db"] = {
            "image": settings.postgres_image,
            "environment": {
                "POSTGRES_USER": DB_USER,
                "POSTGRES_PASSWORD": DB_USER,
                "POSTGRES_DB": database,
            },
            "volumes": [
                {"type": "volume", "source": "db-data", "target": "/var/lib/postgresql/data"}
            ],
            "healthcheck": _healthcheck(
                ["CMD", "pg_isready", "-U", DB_USER, "-d", database], settings
            ),
        }
        volumes["db-data"] = {}
        depends["db"] = {"condition": "service_healthy"}
    if REDIS in stack.services:
        environment["REDIS_URL"] = f"redis://redis:{REDIS_PORT}/0"
        services["redis"] = {
            "image": settings.redis_image,
            "volumes": [{"type": "volume", "source": "redis-data", "target": "/data"}],
            "healthcheck": _healthcheck(["CMD", "redis-cli", "ping"], settings),
        }
        volumes["redis-data"] = {}
        depends["redis"] = {"condition": "service_healthy"}
    if environment:
        app["environment"] = environment
    if depends:
        app["depends_on"] = depends
    compose: dict[str, Any] = {"name": compose_name(stack), "services": services}
    if volumes:
        compose["volumes"] = volumes
    return Files(compose=compose, devcontainer=devcontainer(stack, port, list(services)))


def devcontainer(stack: Stack, port: int, services: list[str]) -> dict[str, Any]:
    forward: list[int | str] = [port]
    if "db" in services:
        forward.append(f"db:{POSTGRES_PORT}")
    if "redis" in services:
        forward.append(f"redis:{REDIS_PORT}")
    return {
        "name": stack.name,
        "dockerComposeFile": [f"../{COMPOSE_FILE}"],
        "service": "app",
        "runServices": services,
        "workspaceFolder": WORKSPACE,
        # The container idles; the person starts the app (compose.yaml's command) at will.
        "overrideCommand": True,
        "shutdownAction": "stopCompose",
        "forwardPorts": forward,
        "portsAttributes": {str(port): {"label": stack.framework or "app"}},
        "postCreateCommand": install_command(stack),
        "customizations": {"vscode": {"extensions": ["ms-python.python"]}},
    }
