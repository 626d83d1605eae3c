"""Checks the generated files against the specifications' JSON Schemas, vendored in ``schemas/``
(where each came from, and its licence: ``schemas/SOURCES.md``).

The documents checked are the files' texts read back (``yaml.safe_load``, ``json.loads``), so
what is validated is exactly what is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import yaml

from .generate import COMPOSE_FILE, DEVCONTAINER_FILE

#: File -> (its schema in ``schemas/``, the specification's name).
SCHEMAS = {
    COMPOSE_FILE: ("compose-spec.json", "Compose Specification"),
    DEVCONTAINER_FILE: ("devContainer.base.schema.json", "Dev Container specification"),
}


@dataclass(frozen=True)
class Validation:
    file: str
    schema: str
    specification: str
    valid: bool
    errors: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "schema": self.schema,
            "specification": self.specification,
            "valid": self.valid,
            "errors": self.errors,
        }


@cache
def schema(name: str) -> dict[str, Any]:
    text = (
        resources.files(__package__).joinpath("schemas").joinpath(name).read_text(encoding="utf-8")
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _where(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path)


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def _describe(error: jsonschema.ValidationError) -> list[str]:
    """Where and what: when several schemas were tried (``oneOf``), the sub-errors deepest in
    the document, so a message names the property at fault rather than the whole document."""
    leaves = _leaves(error)
    depth = max(len(leaf.absolute_path) for leaf in leaves)
    said = [
        f"{_where(e.absolute_path)}: {e.message}" for e in leaves if len(e.absolute_path) == depth
    ]
    return list(dict.fromkeys(said))


def validate(file: str, text: str) -> Validation:
    """``text``, the content of ``file`` (one of :data:`SCHEMAS`), against its schema."""
    name, spec = SCHEMAS[file]
    try:
        doc = json.loads(text) if file.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        return Validation(file, name, spec, False, [f"not parseable: {err}"])
    doc_schema = schema(name)
    cls = jsonschema.validators.validator_for(doc_schema)
    cls.check_schema(doc_schema)
    errors = sorted(cls(doc_schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    said = list(dict.fromkeys(line for e in errors for line in _describe(e)))
    return Validation(file, name, spec, not errors, said)
