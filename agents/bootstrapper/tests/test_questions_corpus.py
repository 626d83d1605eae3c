"""The bootstrapper against the questions corpus (tests/questions/corpus.json), which the manager
and the UI's form read too: each case's manifest loads here as it does there (or fails, saying the
same thing), every question is seen here as the manager's answers schema shows it (asked or not,
its type, whether it must be answered, its default, choices, secret, help, placeholder, condition
and validator), and the answers the case gives are accepted or refused here as the form does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hyperagent_bootstrapper import render as rendering
from hyperagent_bootstrapper.template import MISSING, Question, Template, TemplateError, load

#: The repository (not imported from conftest: the whole suite is collected at once, and
#: tests/e2e has a conftest module too).
REPO = Path(__file__).resolve().parents[3]
CORPUS = json.loads((REPO / "tests" / "questions" / "corpus.json").read_text(encoding="utf-8"))
CASES = CORPUS["cases"]
#: copier's question types as the answers schema names them (yaml and json: any value).
JSON_TYPES = {"str": "string", "path": "string", "int": "integer", "float": "number"}
JSON_TYPES |= {"bool": "boolean", "json": None, "yaml": None}


def template_of(tmp: Path, case: dict[str, Any]) -> Path:
    """The case's template folder, named as the case (the schema's title is `<name> answers`)."""
    root = tmp / case["name"]
    root.mkdir()
    (root / "copier.yml").write_text(case["manifest"], encoding="utf-8")
    if "hyperagent" in case:
        (root / "hyperagent.yml").write_text(case["hyperagent"], encoding="utf-8")
    return root


def names_of(template: Template) -> dict[str, str]:
    return dict(template.postcheck.names) if template.postcheck else {}


def resolved(root: Path, given: dict[str, Any]) -> rendering.Answers:
    """The answers the bootstrapper renders with, as its task works them out."""
    template = load(root)
    return rendering.resolve(template, given, names=names_of(template))


def choice_of(value: Any) -> Any:
    """A choice's value; copier's extended choice `{value, validator}` gives its `value`."""
    return value["value"] if isinstance(value, dict) else value


def seen_here(q: Question, rule: str | None) -> dict[str, Any]:
    """What the bootstrapper makes of one question, in the answers schema's words."""
    json_type = "array" if q.multiselect else JSON_TYPES[q.type]
    view: dict[str, Any] = {
        "type": json_type,
        "required": q.default is MISSING and not isinstance(q.when, str),
        "when": q.when if isinstance(q.when, str) else None,
        "secret": q.secret,
        "description": q.help or None,
        "placeholder": q.placeholder or None,
        "validator": q.validator or None,
        "choices": None if q.choices is None else [choice_of(v) for _, v in q.choices],
        "choices_template": q.choices_template or None,
        "name_rule": rule if json_type == "string" else None,
    }
    templated = isinstance(q.default, str) and ("{{" in q.default or "{%" in q.default)
    view["default"] = MISSING if q.default is MISSING or templated else q.default
    view["default_template"] = q.default if templated else None
    return view


def seen_there(prop: dict[str, Any], required: bool) -> dict[str, Any]:
    """The same, read from a property of the manager's answers schema."""
    listed = prop.get("items", prop)
    choices = listed.get("enum")
    if choices is None and "oneOf" in listed:
        choices = [c["const"] for c in listed["oneOf"]]
    examples = prop.get("examples")
    return {
        "type": prop.get("type"),
        "required": required,
        "when": prop.get("x-when"),
        "secret": prop.get("writeOnly") is True,
        "description": prop.get("description") or None,
        "placeholder": None if examples is None else str(examples[0]),
        "validator": prop.get("x-validator"),
        "choices": choices,
        "choices_template": prop.get("x-choices-template"),
        "name_rule": prop.get("x-name-rule"),
        "default": prop.get("default", MISSING),
        "default_template": prop.get("x-default-template"),
    }


def test_the_corpus_covers_the_class_of_question_rules() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names are template folder names: unique"
    assert len(CASES) >= 40
    for case in CASES:
        assert ("schema" in case) != ("error" in case), case["name"]
        for a in case.get("answers", []):
            assert a["ok"] or "field" in a, f"{case['name']}: a refusal names its question"


@pytest.mark.parametrize("case", [c for c in CASES if "error" in c], ids=lambda c: c["name"])
def test_a_broken_manifest_is_refused_saying_why(tmp_path: Path, case: dict[str, Any]) -> None:
    root = template_of(tmp_path, case)
    with pytest.raises(TemplateError) as err:
        # What the manager checks when it reads a template (Jinja syntax included), the
        # bootstrapper finds at the latest when it works out the answers.
        resolved(root, {})
    assert case["error"] in str(err.value)


@pytest.mark.parametrize("case", [c for c in CASES if "schema" in c], ids=lambda c: c["name"])
def test_each_question_is_seen_as_the_answers_schema_shows_it(
    tmp_path: Path, case: dict[str, Any]
) -> None:
    template = load(template_of(tmp_path, case))
    schema = case["schema"]
    asked = [name for name, q in template.questions.items() if q.when is not False]
    assert asked == schema["x-order"]
    assert schema["title"] == f"{case['name']} answers"
    rules = names_of(template)
    for name in asked:
        here = seen_here(template.questions[name], rules.get(name))
        there = seen_there(schema["properties"][name], name in schema["required"])
        assert here == there, name


@pytest.mark.parametrize(
    ("case", "answers"),
    [(c, a) for c in CASES if "schema" in c for a in c["answers"]],
    ids=lambda v: json.dumps(v.get("given"), sort_keys=True) if "given" in v else v["name"],
)
def test_the_answers_are_taken_or_refused_as_the_case_says(
    tmp_path: Path, case: dict[str, Any], answers: dict[str, Any]
) -> None:
    root = template_of(tmp_path, case)
    if answers["ok"]:
        resolved(root, answers["given"])
        return
    with pytest.raises(rendering.AnswersError) as err:
        resolved(root, answers["given"])
    said = dict(err.value.problems)
    assert answers["field"] in said, f"refused for other questions: {err.value}"
    assert answers.get("message", "") in said[answers["field"]]


def test_a_questions_unknown_key_is_ignored_as_copier_does_and_said(tmp_path: Path) -> None:
    (tmp_path / "copier.yml").write_text("name:\n  type: str\n  tpye: int\n  default: x\n")
    t = load(tmp_path)
    assert t.questions["name"].type == "str"
    [warning] = t.warnings
    assert warning.endswith(
        "question 'name': `tpye` ignored (copier ignores it too): did you mean `type`?"
    )
