"""The template catalogue: the manager lists copier-format templates with the JSON Schema of their
answers, names what is broken (file:line), and follows changes on disk without a restart.

Every wait is on the manager's feed (a `templates_changed` event), then on the listing itself.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness import REPO, Manager

from hyperagent.v1 import client_pb2

OK = client_pb2.TEMPLATE_STATUS_OK
BROKEN = client_pb2.TEMPLATE_STATUS_BROKEN

WEB_MANIFEST = """\
_subdirectory: template
_tasks: ["git init"]
project_name:
  type: str
  help: The project's name
  placeholder: my-app
slug:
  type: str
  default: "{{ project_name | lower | replace(' ', '-') }}"
python:
  choices: ["3.11", "3.12"]
  default: "3.12"
port: 8000
docker:
  type: bool
  default: no
  when: false
"""

# An `{% if %}` opened on line 3 and never closed.
BROKEN_MAIN = "import os\n\n{% if docker %}\nprint(os.getcwd())\n"
FIXED_MAIN = "import os\n\n{% if docker %}\nprint(os.getcwd())\n{% endif %}\n"


def make_template(root: Path, name: str, manifest: str, files: dict[str, str]) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "copier.yml").write_text(manifest)
    for rel, text in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text)
    return d


def replace_file(path: Path, text: str, staging: Path) -> None:
    """Writes `text` to `path` in one rename, so no scan can see it half-written."""
    staging.mkdir(exist_ok=True)
    tmp = staging / path.name
    tmp.write_text(text)
    os.replace(tmp, path)


def listing(m: Manager) -> dict[str, Any]:
    resp = m.client.ListTemplates(client_pb2.ListTemplatesRequest(), timeout=60)
    return {t.name: t for t in resp.templates}


def wait_templates(m: Manager, after: int, name: str, cond: Callable[[Any], bool]) -> int:
    """Follows the feed from `after` until a `templates_changed` event names `name` and the
    listing then satisfies `cond` (given the template, or None); returns that event's seq."""
    stream = m.events(after=after)
    try:
        for ev in stream:
            named = ev.HasField("templates_changed") and name in ev.templates_changed.names
            if named and cond(listing(m).get(name)):
                return int(ev.seq)
    finally:
        stream.cancel()
    raise AssertionError("event feed ended before the expected templates_changed event")


def test_templates_are_listed_checked_and_followed_live(make_manager, tmp_path):
    root = tmp_path / "templates"
    make_template(
        root,
        "web",
        WEB_MANIFEST,
        {
            "hyperagent.yml": "description: A small web service\n",
            "template/README.md.jinja": "# {{ project_name }}\n",
            "template/{{ slug }}/__init__.py": "",
        },
    )
    api = make_template(root, "api", "name: x\n", {"app/main.py.jinja": BROKEN_MAIN})
    m = make_manager(extra={"templates": {"dirs": [str(root)]}}).start()

    found = listing(m)
    assert sorted(found) == ["api", "web"]
    web = found["web"]
    assert web.status == OK, web.error
    assert web.dir == str(root / "web")
    assert web.description == "A small web service"
    assert web.warnings == ["copier.yml:2: `_tasks` ignored: commands after copying are not run"]
    schema = json.loads(web.answers_schema_json)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "web answers"
    assert schema["x-order"] == ["project_name", "slug", "python", "port"]
    assert list(schema["properties"]) == schema["x-order"]
    assert schema["required"] == ["project_name"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["project_name"] == {
        "type": "string",
        "description": "The project's name",
        "examples": ["my-app"],
    }
    assert schema["properties"]["slug"] == {
        "type": "string",
        "x-default-template": "{{ project_name | lower | replace(' ', '-') }}",
    }
    assert schema["properties"]["python"] == {
        "type": "string",
        "enum": ["3.11", "3.12"],
        "default": "3.12",
    }
    assert schema["properties"]["port"] == {"type": "integer", "default": 8000}

    broken = found["api"]
    assert broken.status == BROKEN
    assert broken.error.startswith("app/main.py.jinja:3: "), broken.error

    # The CLI shows the same, as a table and as JSON.
    table = m.cli("templates")
    assert table.returncode == 0, table.stderr
    assert "api" in table.stdout
    assert "broken" in table.stdout
    assert "app/main.py.jinja:3:" in table.stdout
    shown = m.cli("templates", "show", "web")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == schema
    assert shown.stdout.index('"project_name"') < shown.stdout.index('"port"')
    as_json = m.cli("--json", "templates")
    assert {t["name"]: t["status"] for t in json.loads(as_json.stdout)} == {
        "api": "broken",
        "web": "ok",
    }
    missing = m.cli("templates", "show", "nope")
    assert missing.returncode == 4
    assert "no template named `nope`" in missing.stderr

    # Fixed on disk: ok, without a restart.
    staging = tmp_path / "staging"
    replace_file(api / "app" / "main.py.jinja", FIXED_MAIN, staging)
    seq = wait_templates(m, 0, "api", lambda t: t is not None and t.status == OK)
    assert listing(m)["api"].error == ""

    # A new template folder appears (moved in whole), and one is deleted.
    make_template(staging, "cli", "verbose: false\n", {"main.py": "print('hi')\n"})
    os.rename(staging / "cli", root / "cli")
    seq = wait_templates(m, seq, "cli", lambda t: t is not None and t.status == OK)
    shutil.rmtree(root / "web")
    wait_templates(m, seq, "web", lambda t: t is None)
    assert sorted(listing(m)) == ["api", "cli"]


def test_a_template_folder_created_after_start_is_followed(make_manager, tmp_path):
    root = tmp_path / "not-yet" / "templates"
    m = make_manager(extra={"templates": {"dirs": [str(root)]}}).start()
    assert listing(m) == {}
    staging = tmp_path / "staging"
    make_template(staging, "late", "x: 1\n", {})
    root.mkdir(parents=True)
    os.rename(staging / "late", root / "late")
    wait_templates(m, 0, "late", lambda t: t is not None and t.status == OK)


def test_the_shipped_templates_are_all_ok(make_manager):
    shipped = REPO / "templates"
    if not shipped.is_dir():
        pytest.skip("no templates/ folder in this checkout")
    m = make_manager(extra={"templates": {"dirs": [str(shipped)]}}).start()
    found = listing(m)
    assert found, f"{shipped} holds no template (a folder with a copier.yml)"
    broken = {name: t.error for name, t in found.items() if t.status != OK}
    assert not broken, broken
