"""Detection: what a project is made of, from its own files, each finding at its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from devenv_projects import FASTAPI_MAIN, fastapi_postgres_files, pyproject, write_project

from hyperagent_devenv.detect import DetectionError, database_name, detect

MAX = 262_144


def found(root: Path) -> list[tuple[str, str, int]]:
    return [(e.what, e.file, e.line) for e in detect(root, MAX).evidence]


def test_a_fastapi_project_with_postgres_names_each_finding_at_its_line(
    fastapi_postgres: Path,
) -> None:
    stack = detect(fastapi_postgres, MAX)
    assert stack.framework == "FastAPI"
    assert stack.services == ["PostgreSQL"]
    assert stack.asgi_app == "shop.main:app"
    assert stack.python == "3.11"
    assert stack.install == ["-e", ".[dev]"]
    assert stack.manifests == ["pyproject.toml"]
    assert stack.database_url == "postgresql+psycopg://postgres:postgres@localhost:5432/shop"
    assert found(fastapi_postgres) == [
        ("FastAPI", "pyproject.toml", 5),
        ("PostgreSQL", "pyproject.toml", 6),
        ("PostgreSQL", ".env.example", 2),
        ("app", "shop/main.py", 9),
    ]
    first = stack.evidence[0]
    assert str(first) == "FastAPI: pyproject.toml:5 fastapi>=0.115,<1"


def test_redis_in_the_dependencies_is_a_service_and_no_database_means_none(
    tmp_path: Path,
) -> None:
    files = fastapi_postgres_files()
    files["pyproject.toml"] = pyproject("shop", ["fastapi>=0.115,<1", "redis>=5"])
    del files[".env.example"]
    stack = detect(write_project(tmp_path / "shop", files), MAX)
    assert stack.services == ["Redis"]
    assert stack.found("Redis")[0].line == 6


def test_requirements_files_count_with_their_line_numbers_and_comments_do_not(
    tmp_path: Path,
) -> None:
    root = write_project(
        tmp_path / "api",
        {
            "requirements.txt": "# the web part\nfastapi==0.115.0\n\nuvicorn  # server\n",
            "requirements/prod.txt": "asyncpg>=0.29\n# redis>=5\n",
            ".env": "# REDIS_URL=redis://localhost:6379/0\n",
            "app.py": FASTAPI_MAIN,
        },
    )
    stack = detect(root, MAX)
    assert found(root) == [
        ("FastAPI", "requirements.txt", 2),
        ("PostgreSQL", "requirements/prod.txt", 1),
        ("app", "app.py", 9),
    ]
    assert stack.services == ["PostgreSQL"]
    assert stack.install == ["-r", "requirements.txt"]
    assert stack.asgi_app == "app:app"


def test_django_with_its_settings_package_and_a_redis_url(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "blog",
        {
            "pyproject.toml": pyproject("blog", ["Django>=5.2,<6", "psycopg[binary]>=3.2"]),
            "manage.py": (
                "import os\nimport sys\n\n"
                'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blog.settings.dev")\n'
                "from django.core.management import execute_from_command_line\n"
            ),
            "blog/settings/base.py": (
                'import os\nCACHE_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/1")\n'
            ),
        },
    )
    stack = detect(root, MAX)
    assert stack.framework == "Django"
    assert stack.services == ["PostgreSQL", "Redis"]
    assert ("Django", "manage.py", 4) in found(root)
    assert ("Redis", "blog/settings/base.py", 2) in found(root)


def test_tests_environments_and_large_files_are_not_read(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "svc",
        {
            "pyproject.toml": pyproject("svc", ["fastapi"]),
            "tests/config.py": 'URL = "postgres://localhost/test"\n',
            ".venv/lib/settings.py": 'URL = "redis://localhost"\n',
            "svc/config.py": 'URL = "redis://localhost"\n' + "#" * MAX,
        },
    )
    assert detect(root, MAX).services == []
    assert detect(root, MAX * 2).services == ["Redis"]


def test_a_plain_python_project_has_no_framework_and_no_services(tmp_path: Path) -> None:
    root = write_project(tmp_path / "tool", {"pyproject.toml": pyproject("tool", ["click"])})
    stack = detect(root, MAX)
    assert (stack.framework, stack.services, stack.evidence) == (None, [], [])
    assert stack.install == ["-e", "."]


def test_a_folder_without_python_project_files_has_no_manifest(tmp_path: Path) -> None:
    root = write_project(tmp_path / "notes", {"README.md": "postgres://nowhere\n"})
    assert detect(root, MAX).manifests == []


def test_a_broken_pyproject_names_the_file(tmp_path: Path) -> None:
    root = write_project(tmp_path / "bad", {"pyproject.toml": "[project\nname = 1\n"})
    with pytest.raises(DetectionError, match=r"pyproject\.toml is not valid TOML"):
        detect(root, MAX)


def test_the_bootstrappers_check_file_says_how_to_install_and_serve(tmp_path: Path) -> None:
    files = fastapi_postgres_files()
    files["hyperagent.yml"] = (
        'install: ["-e", ".[dev]"]\n'
        'serve: ["uvicorn", "shop.main:app", "--host", "127.0.0.1", "--port", "{port}"]\n'
    )
    stack = detect(write_project(tmp_path / "shop", files), MAX)
    assert stack.serve == ["uvicorn", "shop.main:app", "--host", "127.0.0.1", "--port", "{port}"]
    assert [(e.what, e.line) for e in stack.evidence if e.file == "hyperagent.yml"] == [
        ("install", 1),
        ("serve", 2),
    ]


def test_cancelling_stops_the_walk(tmp_path: Path) -> None:
    root = write_project(tmp_path / "big", {"pyproject.toml": pyproject("big", ["fastapi"])})

    class StopError(Exception):
        pass

    def tick() -> None:
        raise StopError

    with pytest.raises(StopError):
        detect(root, MAX, tick)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("postgresql+psycopg://u:p@localhost:5432/shop", "shop"),
        ("postgres://localhost/", None),
        ("postgresql://localhost:5432/{DATABASE_NAME}", None),
        (None, None),
    ],
)
def test_database_name_keeps_plain_names_only(url: str | None, name: str | None) -> None:
    assert database_name(url) == name
