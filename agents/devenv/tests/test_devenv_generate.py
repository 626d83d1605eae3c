"""The generated files: exactly the services detected, valid against both specifications'
schemas whatever the stack, and the texts PyYAML and json wrote parse back to the data."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from hyperagent_devenv import generate, validate
from hyperagent_devenv.detect import DJANGO, FASTAPI, POSTGRES, REDIS, Stack
from hyperagent_devenv.settings import Settings

DEFAULTS = Settings.load({})
SCHEMAS = Path(generate.__file__).parent / "schemas"


def stack(framework: str | None, services: list[str], **kw: object) -> Stack:
    s = Stack(root=Path("/p/shop"), name="shop", framework=framework, services=services)
    if framework == FASTAPI:
        s.asgi_app = "shop.main:app"
    for key, value in kw.items():
        setattr(s, key, value)
    return s


@pytest.mark.parametrize("framework", [FASTAPI, DJANGO, None])
@pytest.mark.parametrize("services", [[], [POSTGRES], [REDIS], [POSTGRES, REDIS]])
def test_every_stack_gives_files_valid_against_both_schemas(
    framework: str | None, services: list[str]
) -> None:
    files = generate.build(stack(framework, services), DEFAULTS)
    texts = files.texts()
    assert list(texts) == [generate.DEVCONTAINER_FILE, generate.COMPOSE_FILE]
    for path, text in texts.items():
        result = validate.validate(path, text)
        assert result.valid, (path, result.errors)
    compose = yaml.safe_load(texts[generate.COMPOSE_FILE])
    assert compose == files.compose
    assert json.loads(texts[generate.DEVCONTAINER_FILE]) == files.devcontainer
    want = (
        ["app"]
        + (["db"] if POSTGRES in services else [])
        + (["redis"] if REDIS in services else [])
    )
    assert list(compose["services"]) == want
    assert files.devcontainer["runServices"] == want
    assert sorted(compose["services"]["app"].get("depends_on", {})) == sorted(want[1:])
    assert sorted(compose.get("volumes", {})) == sorted(
        {"db": "db-data", "redis": "redis-data"}[s] for s in want[1:]
    )


def test_postgres_gets_a_health_check_a_volume_and_the_projects_own_url_scheme() -> None:
    s = stack(
        FASTAPI,
        [POSTGRES],
        database_url="postgresql+psycopg://postgres:postgres@localhost:5432/orders",
        python="3.11",
        install=["-e", ".[dev]"],
    )
    settings = Settings.load({"HYPERAGENT_DEVENV_HEALTH_RETRIES": "3"})
    compose = generate.build(s, settings).compose
    app, db = compose["services"]["app"], compose["services"]["db"]
    assert app["image"] == "python:3.11"
    assert app["environment"]["DATABASE_URL"] == (
        "postgresql+psycopg://postgres:postgres@db:5432/orders"
    )
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["command"] == [
        "sh",
        "-c",
        "pip install -e '.[dev]' && exec uvicorn shop.main:app --host 0.0.0.0 --port 8000 --reload",
    ]
    assert db["environment"]["POSTGRES_DB"] == "orders"
    assert db["healthcheck"] == {
        "test": ["CMD", "pg_isready", "-U", "postgres", "-d", "orders"],
        "interval": "5s",
        "timeout": "5s",
        "retries": 3,
    }
    assert db["volumes"] == [
        {"type": "volume", "source": "db-data", "target": "/var/lib/postgresql/data"}
    ]


def test_the_port_of_the_task_and_the_serve_command_of_hyperagent_yml_are_used() -> None:
    s = stack(
        DJANGO,
        [],
        serve=["python", "manage.py", "runserver", "127.0.0.1:{port}", "--noreload"],
    )
    files = generate.build(s, DEFAULTS, port=8123)
    app = files.compose["services"]["app"]
    assert app["ports"] == ["8123:8123"]
    assert app["command"][2].endswith("exec python manage.py runserver 0.0.0.0:8123 --noreload")
    assert files.devcontainer["forwardPorts"] == [8123]
    assert files.devcontainer["portsAttributes"] == {"8123": {"label": "Django"}}


def test_the_compose_text_is_yaml_with_a_header_and_one_line_commands() -> None:
    text = generate.build(stack(FASTAPI, [POSTGRES]), DEFAULTS).compose_text()
    assert text.startswith("# The development stack")
    assert re.search(r"^    - pip install -e \. && exec uvicorn .* --reload$", text, re.M)


def test_a_broken_document_is_refused_naming_the_property() -> None:
    files = generate.build(stack(FASTAPI, [POSTGRES]), DEFAULTS)
    bad = dict(files.devcontainer, shutdownAction="explode")
    result = validate.validate(generate.DEVCONTAINER_FILE, json.dumps(bad))
    assert not result.valid
    assert any(e.startswith("/shutdownAction: 'explode' is not one of") for e in result.errors)
    compose = files.compose_text().replace("service_healthy", "whenever")
    result = validate.validate(generate.COMPOSE_FILE, compose)
    assert not result.valid
    assert any(
        e.startswith("/services/app/depends_on/db/condition: 'whenever'") for e in result.errors
    ), result.errors
    assert validate.validate(generate.COMPOSE_FILE, "a: [").errors[0].startswith("not parseable")


def test_the_vendored_schemas_are_the_packages_files_with_their_licences() -> None:
    sources = (SCHEMAS / "SOURCES.md").read_text()
    for name in ("compose-spec.json", "devContainer.base.schema.json"):
        digest = hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest()
        assert f"`{name}` {digest}" in sources, name
        schema = validate.schema(name)
        jsonschema.validators.validator_for(schema).check_schema(schema)
    assert "Apache License" in (SCHEMAS / "LICENSE.compose-spec").read_text()
    assert "Attribution 4.0 International" in (SCHEMAS / "LICENSE.devcontainer-spec").read_text()
    assert "check-jsonschema==0.39.0" in sources
    assert "devcc==0.1.0" in sources
