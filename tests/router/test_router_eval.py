"""The router's scorer (scripts/router_eval.py) and the labelled prompt set it reads."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "tests" / "router" / "prompts.jsonl"
FRESH = ROOT / "tests" / "router" / "fresh.jsonl"
STAND_INS = ROOT / "tests" / "router" / "stand_ins.json"
CATEGORIES = {
    "plain",
    "typo",
    "terse",
    "chatty",
    "non-native",
    "composite",
    "ambiguous",
    "out-of-scope",
    "adversarial",
}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ev = _load("router_eval")
norm = ev.Normaliser()


def route(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"route": [{"step": i, "after": [], **s} for i, s in enumerate(steps, 1)]}


def steps_of(result: dict[str, Any]) -> tuple[Any, ...]:
    return ev.parse_result(result).steps


def match(expected: dict[str, Any], predicted: dict[str, Any]) -> Any:
    return ev.match_route(steps_of(expected), steps_of(predicted), norm)


# ----- normalisation ------------------------------------------------------------------------


def test_nested_slots_are_flattened_to_dotted_keys() -> None:
    assert ev.flatten({"answers": {"database": "postgres"}, "python": "3.11"}) == {
        "answers.database": "postgres",
        "python": "3.11",
    }


@pytest.mark.parametrize(
    ("expected", "predicted"),
    [("~/src/api", "~/src/api/"), ("shop", "./shop"), ("~/src/API", "~/src/api")],
)
def test_paths_compare_after_normalisation(expected: str, predicted: str) -> None:
    assert ev.values_equal("workspace", expected, predicted, norm)


def test_home_and_workspace_root_turn_absolute_paths_back_into_what_was_said() -> None:
    n = ev.Normaliser(home="/home/ana", workspace_root="/home/ana/projects")
    assert ev.values_equal("workspace", "~/src/api", "/home/ana/src/api", n)
    assert ev.values_equal("workspace", "shop", "/home/ana/projects/shop", n)
    assert not ev.values_equal("workspace", "shop", "/srv/shop", n)


@pytest.mark.parametrize(
    ("key", "expected", "predicted", "equal"),
    [
        ("answers.database", "postgres", "Postgres", True),
        ("python", "3.11", "3.11", True),
        ("python", "3.11", "3.1", False),
        ("seconds", 10, 10.0, True),
        ("limit", 3, "3", True),
        ("fail_fast", True, True, True),
        ("fail_fast", True, False, False),
        ("passes", ["secrets", "code"], ["code", "secrets"], True),
        ("passes", ["secrets"], "secrets", False),
        ("message", "build finished", '"Build finished"', True),
    ],
)
def test_scalars_and_lists(key: str, expected: Any, predicted: Any, equal: bool) -> None:
    assert ev.values_equal(key, expected, predicted, norm) is equal


@pytest.mark.parametrize(
    ("predicted", "equal"),
    [
        ("database URL", True),
        ("where is the database url configured", True),
        ("database", False),
        ("the database url and the cache and the queue and the mail settings", False),
    ],
)
def test_free_text_matches_by_content_words(predicted: str, equal: bool) -> None:
    assert ev.values_equal("query", "database URL", predicted, norm) is equal


# ----- matching routes ----------------------------------------------------------------------


def test_independent_steps_may_come_in_any_order() -> None:
    expected = route(
        {"task_type": "tests.run", "slots": {"workspace": "shop"}},
        {"task_type": "code.review", "slots": {"workspace": "shop"}},
    )
    predicted = route(
        {"task_type": "code.review", "slots": {"workspace": "shop"}},
        {"task_type": "tests.run", "slots": {"workspace": "shop", "python": "3.12"}},
    )
    assert match(expected, predicted) == ev.RouteMatch(True, True, True)


def test_a_missing_dependency_keeps_the_types_but_not_the_dependencies() -> None:
    expected = route(
        {"task_type": "bootstrap.project", "slots": {"template": "fastapi"}},
        {"task_type": "tests.run", "slots": {"workspace": "$1.path"}, "after": [1]},
    )
    predicted = route(
        {"task_type": "bootstrap.project", "slots": {"template": "FastAPI"}},
        {"task_type": "tests.run", "slots": {"workspace": "$1.path"}},
    )
    assert match(expected, predicted) == ev.RouteMatch(True, False, True)


def test_a_reference_equals_the_workspace_of_the_step_it_names() -> None:
    expected = route(
        {"task_type": "bootstrap.project", "slots": {"workspace": "~/src/inv"}},
        {"task_type": "open", "slots": {"workspace": "$1.path"}, "after": [1]},
    )
    predicted = route(
        {"task_type": "bootstrap.project", "slots": {"workspace": "~/src/inv"}},
        {"task_type": "open", "slots": {"workspace": "~/src/inv"}, "after": [1]},
    )
    assert match(expected, predicted).slots


def test_references_are_renumbered_with_the_steps() -> None:
    expected = route(
        {"task_type": "bootstrap.project", "slots": {}},
        {"task_type": "tests.run", "slots": {"workspace": "$1.path"}, "after": [1]},
    )
    predicted = {
        "route": [
            {"step": 2, "task_type": "bootstrap.project", "slots": {}, "after": []},
            {"step": 1, "task_type": "tests.run", "slots": {"workspace": "$2.path"}, "after": [2]},
        ]
    }
    assert match(expected, predicted) == ev.RouteMatch(True, True, True)
    wrong = route(
        {"task_type": "bootstrap.project", "slots": {}},
        {"task_type": "tests.run", "slots": {"workspace": "$2.path"}, "after": [1]},
    )
    assert not match(expected, wrong).slots


def test_a_missing_expected_slot_fails_and_a_different_step_count_fails_the_types() -> None:
    expected = route({"task_type": "tests.run", "slots": {"python": "3.11"}})
    assert match(expected, route({"task_type": "tests.run", "slots": {}})) == ev.RouteMatch(
        True, True, False
    )
    two = route({"task_type": "tests.run", "slots": {}}, {"task_type": "tests.run", "slots": {}})
    assert not match(expected, two).types


# ----- counting -----------------------------------------------------------------------------

TINY = [
    {
        "id": "a",
        "prompt": "a?",
        "split": "tune",
        "category": "plain",
        "expect": route({"task_type": "tests.run", "slots": {"python": "3.11"}}),
    },
    {
        "id": "b",
        "prompt": "b?",
        "split": "tune",
        "category": "plain",
        "expect": route({"task_type": "code.review", "slots": {"base": "main"}}),
    },
    {
        "id": "c",
        "prompt": "c?",
        "split": "holdout",
        "category": "ambiguous",
        "expect": {"clarify": ["tests.run", "code.review"]},
    },
    {
        "id": "d",
        "prompt": "d?",
        "split": "holdout",
        "category": "adversarial",
        "expect": {"refuse": True},
    },
    {
        "id": "e",
        "prompt": "e?",
        "split": "tune",
        "category": "terse",
        "expect": route({"task_type": "open", "slots": {}}),
    },
]
TINY_PREDICTIONS = {
    "a": {"result": route({"task_type": "tests.run", "slots": {"python": "3.11"}}), "ms": 10},
    "b": {"result": route({"task_type": "code.review", "slots": {"base": "dev"}}), "ms": 20},
    "c": {"result": route({"task_type": "tests.run", "slots": {}}), "ms": 30},
    "d": {"result": {"refuse": True}, "ms": 40},
}


def test_counting_on_a_tiny_set() -> None:
    outcomes = ev.score(TINY, TINY_PREDICTIONS, norm)
    m = ev.summarise(outcomes)
    assert m.prompts == 5
    assert m.missing == 1  # "e" has no prediction: it counts as wrong, not as absent
    assert m.counts["type_accuracy"] == (2, 3)
    assert m.counts["slot_accuracy"] == (1, 3)
    assert m.counts["refusal_rate"] == (1, 1)
    assert m.counts["clarify_rate"] == (0, 1)  # "c" was routed instead of asked
    assert m.counts["clarify_choices"] == (0, 1)
    assert m.counts["correct"] == (2, 5)
    assert m.dependency_accuracy is None  # no composites: no figure, not 0% or 100%
    assert (m.p50_ms, m.p95_ms) == (20.0, 40.0)
    holdout = ev.summarise(ev.by_split(outcomes)["holdout"])
    assert holdout.type_accuracy is None
    assert holdout.refusal_rate == 1.0


def test_a_refused_route_is_a_wrong_route_and_a_false_refusal() -> None:
    outcomes = ev.score(TINY[:1], {"a": {"result": {"refuse": True}}}, norm)
    m = ev.summarise(outcomes)
    assert m.type_accuracy == 0.0
    assert m.false_refusals == 1


def test_the_confusion_matrix_counts_the_first_task_type() -> None:
    outcomes = ev.score(TINY, TINY_PREDICTIONS, norm)
    table = "\n".join(ev.confusion(outcomes))
    assert "| (clarify) | · | · | · | 1 |" in table  # asked for, routed to tests.run
    assert "| tests.run | · | · | · | **1** |" in table
    assert "| open | 1 | · | · | · |" in table  # expected open, predicted (missing)


def test_percentile_is_nearest_rank() -> None:
    assert ev.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert ev.percentile(list(map(float, range(1, 101))), 95) == 95.0
    assert ev.percentile([], 50) is None


def test_check_fails_when_a_goal_is_missed(tmp_path: Path, capsys: Any) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(p) + "\n" for p in TINY))
    good = tmp_path / "good.jsonl"
    good.write_text(
        "".join(json.dumps({"id": p["id"], "result": p["expect"]}) + "\n" for p in TINY)
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps({"id": k, **v}) + "\n" for k, v in TINY_PREDICTIONS.items()))
    args = ["--prompts", str(prompts), f"router={good}", f"baseline={bad}"]
    assert ev.main([*args, "--check", "router"]) == 0
    assert ev.main([*args, "--check"]) == 1
    assert "baseline tune: type_accuracy" in capsys.readouterr().err
    assert ev.main([*args, "--check", "nobody"]) == 2


def test_the_report_lists_tune_failures_only_unless_asked() -> None:
    outcomes = {"x": ev.score(TINY, TINY_PREDICTIONS, norm)}
    assert "| c |" not in ev.report(TINY, outcomes)
    assert "| c |" in ev.report(TINY, outcomes, holdout_failures=True)


# ----- the prompt set -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def prompts() -> list[dict[str, Any]]:
    return ev.load_jsonl(PROMPTS)


def _schema_keys() -> dict[str, set[str]]:
    """Payload properties per task type: live agents first, stand-ins for the rest."""
    keys = {
        t["name"]: set(t["schema"].get("properties", {}))
        for t in json.loads(STAND_INS.read_text())["task_types"]
    }
    baseline = _load("router_baseline")
    for t in baseline.live_task_types():
        keys[t.name] = set(t.properties)
    return keys


def _well_formed(prompts: list[dict[str, Any]], prefix: str) -> None:
    assert [p["id"] for p in prompts] == [f"{prefix}{i:04d}" for i in range(1, len(prompts) + 1)]
    assert len({p["prompt"].casefold() for p in prompts}) == len(prompts)
    for p in prompts:
        assert set(p) == {"id", "prompt", "split", "category", "expect"}, p["id"]
        assert p["category"] in CATEGORIES, p["id"]
        kind = ev.parse_result(p["expect"]).kind
        assert kind != "invalid", p["id"]
        assert (kind == "refuse") == (p["category"] in {"out-of-scope", "adversarial"}), p["id"]
        assert (kind == "clarify") == (p["category"] == "ambiguous"), p["id"]
        if kind == "route":
            composite = len(p["expect"]["route"]) > 1
            assert composite == (p["category"] == "composite"), p["id"]


def test_the_set_is_large_and_well_formed(prompts: list[dict[str, Any]]) -> None:
    assert len(prompts) >= 330
    _well_formed(prompts, "p")
    seed = [p for p in prompts if p["prompt"] == "Run a unit test suite on python-3.11"]
    assert [s["expect"] for s in seed] == [
        route({"task_type": "tests.run", "slots": {"python": "3.11"}})
    ]


def test_the_split_follows_the_rule(prompts: list[dict[str, Any]]) -> None:
    """Per (category, expected first task type or question/refusal), in id order, the 2nd, 6th,
    10th, ... prompt is holdout."""
    seen: Counter[tuple[str, str]] = Counter()
    for p in prompts:
        group = (p["category"], ev.parse_result(p["expect"]).first_label())
        seen[group] += 1
        want = "holdout" if seen[group] % 4 == 2 else "tune"
        assert p["split"] == want, p["id"]
    share = sum(p["split"] == "holdout" for p in prompts) / len(prompts)
    assert 0.2 <= share <= 0.3


def _real_steps(prompts: list[dict[str, Any]], keys: dict[str, set[str]]) -> None:
    for p in prompts:
        for step in steps_of(p["expect"]):
            assert step.task_type in keys, (p["id"], step.task_type)
            assert all(a < step.number for a in step.after), p["id"]
            for key, value in step.slots.items():
                top = key.split(".")[0]
                allowed = top in keys[step.task_type] or key == "workspace"
                assert allowed, (p["id"], step.task_type, key)
                if isinstance(value, str) and value.startswith("$"):
                    assert ev.REFERENCE.match(value), (p["id"], value)
                    assert int(value[1:].split(".")[0]) < step.number, p["id"]


def test_slots_and_steps_are_ones_the_task_types_have(prompts: list[dict[str, Any]]) -> None:
    keys = _schema_keys()
    _real_steps(prompts, keys)
    covered = {s.task_type for p in prompts for s in steps_of(p["expect"])}
    assert covered == set(keys)


def test_the_fresh_set_is_well_formed_and_asks_for_real_slots() -> None:
    """The set written apart from the router (see README: "The fresh set")."""
    fresh = ev.load_jsonl(FRESH)
    assert len(fresh) >= 150
    assert {p["split"] for p in fresh} == {"fresh"}
    _well_formed(fresh, "f")
    _real_steps(fresh, _schema_keys())
