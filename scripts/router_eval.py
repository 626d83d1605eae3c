#!/usr/bin/env python3
"""Score intent-router predictions against the labelled prompt set; print a Markdown report.

    scripts/router_eval.py [--prompts tests/router/prompts.jsonl] [--check [NAME]]
                           NAME=PREDICTIONS.jsonl [NAME=PREDICTIONS.jsonl ...]

A predictions file has one line per prompt: ``{"id": "p0001", "result": {...}, "ms": 12.5}`` where
``result`` has the shape of the prompt set's ``expect`` (``route`` / ``clarify`` / ``refuse``).
Several systems (a baseline and the router) can be scored in one run, side by side. The metrics,
the matching rules and the goals are described in tests/router/README.md; ``--check`` exits 1 when
a system misses a goal on the tune split, the holdout split or the whole set.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import posixpath
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROMPTS = ROOT / "tests" / "router" / "prompts.jsonl"
SPLITS = ("tune", "holdout", "all")

#: The goals ``--check`` enforces: (metric, lowest value that passes).
GOALS: tuple[tuple[str, float], ...] = (
    ("type_accuracy", 0.95),
    ("slot_accuracy", 0.90),
    ("refusal_rate", 1.0),
    ("clarify_rate", 1.0),
)

#: Slots whose values are folder paths (compared after path normalisation).
PATH_SLOTS = frozenset({"workspace", "node_ids"})
#: Free-text slots compared by their content words (see :func:`text_matches`).
TEXT_SLOTS = frozenset({"query"})
#: Free-text slots that carry the request's own words for a worker that reads prose (a coding
#: worker's instruction): every content word of the expected value must be there; more words
#: (the person's context) are no fault.
PROSE_SLOTS = frozenset({"instruction"})
#: Words that carry no content in a free-text slot.
STOPWORDS = frozenset(
    re.split(
        r"\s+",
        "a an and are be by do does for from how i in is it its me my of on or please that the"
        " there these this those to was what where which who with",
    )
)
#: A free-text value may carry this many content words more than the expected one.
TEXT_EXTRA_WORDS = 3
#: Most steps a route may have for the step-matching search (it tries every pairing).
MAX_STEPS = 7
#: A value taken from an earlier step's result: ``$1.path``.
REFERENCE = re.compile(r"^\$(\d+)\.([A-Za-z_][A-Za-z0-9_]*)$")
#: Fields of an earlier step's result that name its folder (resolved to that step's workspace).
FOLDER_FIELDS = frozenset({"path", "workspace"})


# ----- shapes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a route: its number, task type, flattened slots and the steps it waits for."""

    number: int
    task_type: str
    slots: Mapping[str, Any]
    after: frozenset[int]


@dataclass(frozen=True)
class Result:
    """What a router answered (or what the prompt set expects)."""

    kind: str  # route | clarify | refuse | invalid | missing
    steps: tuple[Step, ...] = ()
    choices: frozenset[str] = frozenset()

    def first_label(self) -> str:
        if self.kind == "route":
            return min(self.steps, key=lambda s: s.number).task_type if self.steps else "(empty)"
        return f"({self.kind})"


def flatten(slots: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted keys: ``{"answers": {"database": "x"}}`` ->
    ``{"answers.database": "x"}``; lists and scalars stay values."""
    flat: dict[str, Any] = {}
    for key, value in slots.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _parse_step(number: int, raw: Any) -> Step | None:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("task_type"), str):
        return None
    slots, after = raw.get("slots", {}), raw.get("after", [])
    if not isinstance(slots, Mapping) or not isinstance(after, list):
        return None
    return Step(
        int(raw.get("step", number)),
        raw["task_type"],
        flatten(slots),
        frozenset(int(a) for a in after),
    )


def parse_result(raw: Any) -> Result:
    """A ``result`` or ``expect`` object as a :class:`Result` (``invalid`` when malformed)."""
    if not isinstance(raw, Mapping):
        return Result("invalid")
    if raw.get("refuse") is True:
        return Result("refuse")
    if "clarify" in raw:
        choices = raw["clarify"]
        valid = isinstance(choices, list) and all(isinstance(c, str) for c in choices)
        return Result("clarify", choices=frozenset(choices)) if valid else Result("invalid")
    route = raw.get("route")
    steps = [_parse_step(i, s) for i, s in enumerate(route, 1)] if isinstance(route, list) else None
    if steps is None or any(s is None for s in steps):
        return Result("invalid")
    return Result("route", steps=tuple(s for s in steps if s is not None))


# ----- value normalisation ------------------------------------------------------------------


@dataclass(frozen=True)
class Normaliser:
    """How values are made comparable. ``home`` (e.g. /home/ana) turns a predicted absolute path
    under it back into ``~/...``; ``workspace_root`` turns a path under the root into the bare
    project name the person said."""

    home: str = ""
    workspace_root: str = ""

    def scalar(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else repr(value)
        text = " ".join(str(value).split()).casefold()
        return text.strip("'\"` ").strip()

    def path(self, value: Any) -> str:
        text = str(value).strip().strip("'\"` ")
        root = self.workspace_root.rstrip("/")
        if root and text.startswith(root + "/"):
            text = text[len(root) + 1 :]
        home = self.home.rstrip("/")
        if home and (text == home or text.startswith(home + "/")):
            text = "~" + text[len(home) :]
        return (posixpath.normpath(text) if text else text).casefold()

    def words(self, value: Any) -> list[str]:
        found = re.findall(r"[a-z0-9]+", str(value).casefold())
        return [_stem(w) for w in found if w not in STOPWORDS]


def _stem(word: str) -> str:
    """A plural's singular, crudely ("settings" -> "setting"): enough for short queries."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def text_matches(expected: Any, predicted: Any, norm: Normaliser, *, extra: bool = True) -> bool:
    """A free-text slot matches when every content word of the expected value is in the
    predicted one, and (``extra``) the predicted one has at most :data:`TEXT_EXTRA_WORDS` more."""
    want, got = set(norm.words(expected)), set(norm.words(predicted))
    return want <= got and (not extra or len(got) <= len(want) + TEXT_EXTRA_WORDS)


# ----- matching a route ---------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMatch:
    """How a predicted route compares with the expected one under the best pairing of steps."""

    types: bool
    dependencies: bool
    slots: bool


def _resolve(value: Any, steps: Mapping[int, Step], renumber: Mapping[int, int]) -> Any:
    """``$N.path`` becomes step N's workspace when that step names one, else a reference to the
    expected step it pairs with (``renumber``)."""
    if not isinstance(value, str):
        return value
    m = REFERENCE.match(value.strip())
    if m is None:
        return value
    number, field_name = int(m.group(1)), m.group(2)
    step = steps.get(number)
    if step is not None and field_name in FOLDER_FIELDS and "workspace" in step.slots:
        literal = step.slots["workspace"]
        if not (isinstance(literal, str) and REFERENCE.match(literal)):
            return literal
    target = renumber.get(number, -number)
    field_name = "path" if field_name in FOLDER_FIELDS else field_name
    return f"$step{target}.{field_name}"


def values_equal(key: str, expected: Any, predicted: Any, norm: Normaliser) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    if isinstance(expected, list) or isinstance(predicted, list):
        if not (isinstance(expected, list) and isinstance(predicted, list)):
            return False
        one = norm.path if leaf in PATH_SLOTS else norm.scalar
        return sorted(map(one, expected)) == sorted(map(one, predicted))
    if isinstance(expected, str) and expected.startswith("$step"):
        return isinstance(predicted, str) and predicted == expected
    if leaf in TEXT_SLOTS or leaf in PROSE_SLOTS:
        return text_matches(expected, predicted, norm, extra=leaf in TEXT_SLOTS)
    if leaf in PATH_SLOTS or (leaf == "template" and str(expected).startswith(("/", "~", "."))):
        return norm.path(expected) == norm.path(predicted)
    return norm.scalar(expected) == norm.scalar(predicted)


def match_route(
    expected: Sequence[Step], predicted: Sequence[Step], norm: Normaliser
) -> RouteMatch:
    """Pair each predicted step with an expected step of the same task type (every pairing is
    tried) and keep the pairing that matches the most: dependencies, then slots."""
    if len(expected) != len(predicted) or len(expected) > MAX_STEPS:
        return RouteMatch(False, False, False)
    if Counter(s.task_type for s in expected) != Counter(s.task_type for s in predicted):
        return RouteMatch(False, False, False)
    by_number_e = {s.number: s for s in expected}
    by_number_p = {s.number: s for s in predicted}
    identity = {e.number: e.number for e in expected}
    best = RouteMatch(True, False, False)
    for order in itertools.permutations(expected):
        pairs = list(zip(predicted, order, strict=True))
        if any(p.task_type != e.task_type for p, e in pairs):
            continue
        renumber = {p.number: e.number for p, e in pairs}
        deps = all(frozenset(renumber.get(a, -a) for a in p.after) == e.after for p, e in pairs)
        slots = all(
            key in p.slots
            and values_equal(
                key,
                _resolve(value, by_number_e, identity),
                _resolve(p.slots[key], by_number_p, renumber),
                norm,
            )
            for p, e in pairs
            for key, value in e.slots.items()
        )
        candidate = RouteMatch(True, deps, slots)
        if (candidate.slots, candidate.dependencies) > (best.slots, best.dependencies):
            best = candidate
        if best.slots and best.dependencies:
            break
    return best


# ----- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One prompt scored for one system."""

    id: str
    split: str
    category: str
    expected: Result
    predicted: Result
    types: bool
    slots: bool
    dependencies: bool
    ms: float | None

    @property
    def correct(self) -> bool:
        """What the router must do for this prompt: the right route with its slots, a question,
        or a refusal."""
        if self.expected.kind == "route":
            return self.types and self.slots
        return self.predicted.kind == self.expected.kind


def score(
    prompts: Sequence[Mapping[str, Any]],
    predictions: Mapping[str, Mapping[str, Any]],
    norm: Normaliser,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for prompt in prompts:
        expected = parse_result(prompt["expect"])
        line = predictions.get(prompt["id"])
        predicted = Result("missing") if line is None else parse_result(line.get("result"))
        ms_raw = None if line is None else line.get("ms")
        ms = float(ms_raw) if isinstance(ms_raw, int | float) else None
        if expected.kind == "route" and predicted.kind == "route":
            m = match_route(expected.steps, predicted.steps, norm)
        else:
            m = RouteMatch(False, False, False)
        outcomes.append(
            Outcome(
                prompt["id"],
                prompt["split"],
                prompt["category"],
                expected,
                predicted,
                m.types,
                m.slots,
                m.dependencies,
                ms,
            )
        )
    return outcomes


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Metrics:
    """The figures of one system on one split. A rate is None when it has no prompts."""

    prompts: int = 0
    missing: int = 0
    correct: float | None = None
    type_accuracy: float | None = None
    slot_accuracy: float | None = None
    dependency_accuracy: float | None = None
    refusal_rate: float | None = None
    false_refusals: int = 0
    clarify_rate: float | None = None
    clarify_choices: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)


def _rate(hits: Iterable[bool]) -> tuple[float | None, int, int]:
    seen = list(hits)
    return (sum(seen) / len(seen) if seen else None), sum(seen), len(seen)


def summarise(outcomes: Sequence[Outcome]) -> Metrics:
    routes = [o for o in outcomes if o.expected.kind == "route"]
    composites = [o for o in routes if len(o.expected.steps) > 1]
    refusals = [o for o in outcomes if o.expected.kind == "refuse"]
    questions = [o for o in outcomes if o.expected.kind == "clarify"]
    m = Metrics(prompts=len(outcomes))
    m.missing = sum(o.predicted.kind == "missing" for o in outcomes)
    figures = {
        "correct": _rate(o.correct for o in outcomes),
        "type_accuracy": _rate(o.types for o in routes),
        "slot_accuracy": _rate(o.types and o.slots for o in routes),
        "dependency_accuracy": _rate(o.types and o.dependencies for o in composites),
        "refusal_rate": _rate(o.predicted.kind == "refuse" for o in refusals),
        "clarify_rate": _rate(o.predicted.kind == "clarify" for o in questions),
        "clarify_choices": _rate(
            o.predicted.kind == "clarify" and o.expected.choices <= o.predicted.choices
            for o in questions
        ),
    }
    for name, (value, hits, total) in figures.items():
        setattr(m, name, value)
        m.counts[name] = (hits, total)
    m.false_refusals = sum(
        o.predicted.kind == "refuse" for o in outcomes if o.expected.kind != "refuse"
    )
    times = [o.ms for o in outcomes if o.ms is not None]
    m.p50_ms, m.p95_ms = percentile(times, 50), percentile(times, 95)
    return m


def by_split(outcomes: Sequence[Outcome]) -> dict[str, list[Outcome]]:
    return {
        "tune": [o for o in outcomes if o.split == "tune"],
        "holdout": [o for o in outcomes if o.split == "holdout"],
        "all": list(outcomes),
    }


def failed_goals(name: str, outcomes: Sequence[Outcome]) -> list[str]:
    """Each goal a system misses, on each split, as a sentence."""
    missed: list[str] = []
    for split, subset in by_split(outcomes).items():
        m = summarise(subset)
        for metric, goal in GOALS:
            value = getattr(m, metric)
            if value is not None and value < goal:
                missed.append(
                    f"{name} {split}: {metric} {value:.1%} is below the goal of {goal:.0%}"
                )
    return missed


# ----- the report ---------------------------------------------------------------------------


def _pct(value: float | None, counts: tuple[int, int] | None = None) -> str:
    if value is None:
        return "–"
    shown = f"{value:.1%}"
    return f"{shown} ({counts[0]}/{counts[1]})" if counts else shown


def _goal(goal: float) -> str:
    return "all" if goal >= 1.0 else f"≥ {goal:.0%}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def summary_table(results: Mapping[str, Sequence[Outcome]]) -> list[str]:
    goals = dict(GOALS)
    rows = [
        ("correct (route+slots, question or refusal)", "correct"),
        ("task-type accuracy", "type_accuracy"),
        ("exact-slot accuracy", "slot_accuracy"),
        ("dependencies of composites", "dependency_accuracy"),
        ("refusals (out-of-scope, adversarial)", "refusal_rate"),
        ("clarified (ambiguous)", "clarify_rate"),
        ("clarified offering the expected choices", "clarify_choices"),
    ]
    metrics = {
        (name, split): summarise(subset)
        for name, outcomes in results.items()
        for split, subset in by_split(outcomes).items()
    }
    head = ["metric", "goal"] + [f"{n} {s}" for n in results for s in SPLITS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, metric in rows:
        goal = _goal(goals[metric]) if metric in goals else ""
        cells = [
            _pct(getattr(metrics[n, s], metric), metrics[n, s].counts.get(metric))
            for n in results
            for s in SPLITS
        ]
        lines.append("| " + " | ".join([label, goal, *cells]) + " |")
    for label, attr in (("wrongly refused", "false_refusals"), ("no prediction", "missing")):
        cells = [str(getattr(metrics[n, s], attr)) for n in results for s in SPLITS]
        lines.append("| " + " | ".join([label, "", *cells]) + " |")
    for label, attr in (("latency p50 (ms)", "p50_ms"), ("latency p95 (ms)", "p95_ms")):
        cells = [_ms(getattr(metrics[n, s], attr)) for n in results for s in SPLITS]
        lines.append("| " + " | ".join([label, "", *cells]) + " |")
    return lines


def category_table(outcomes: Sequence[Outcome]) -> list[str]:
    categories = sorted({o.category for o in outcomes})
    lines = ["| category | tune | holdout | all |", "|---|---|---|---|"]
    for category in categories:
        cells = []
        for subset in by_split([o for o in outcomes if o.category == category]).values():
            value, hits, total = _rate(o.correct for o in subset)
            cells.append(_pct(value, (hits, total)))
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    return lines


def confusion(outcomes: Sequence[Outcome]) -> list[str]:
    """Rows: the expected first task type (or question / refusal); columns: the predicted one."""
    pairs = Counter((o.expected.first_label(), o.predicted.first_label()) for o in outcomes)
    rows = sorted({e for e, _ in pairs})
    columns = sorted({p for _, p in pairs})
    lines = [
        "| expected \\ predicted | " + " | ".join(columns) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for row in rows:
        cells = [
            (f"**{pairs[row, c]}**" if row == c else str(pairs[row, c])) if pairs[row, c] else "·"
            for c in columns
        ]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return lines


def _describe(result: Result) -> str:
    if result.kind == "route":
        return " ; ".join(
            f"{s.number}:{s.task_type}"
            + (f"<{','.join(map(str, sorted(s.after)))}" if s.after else "")
            + (" " + json.dumps(dict(s.slots), ensure_ascii=False) if s.slots else "")
            for s in result.steps
        )
    if result.kind == "clarify":
        return "clarify " + ",".join(sorted(result.choices))
    return result.kind


def failures(
    outcomes: Sequence[Outcome], prompts: Mapping[str, str], limit: int, holdout: bool
) -> list[str]:
    shown = [o for o in outcomes if not o.correct and (holdout or o.split == "tune")]
    lines = ["| id | prompt | expected | predicted |", "|---|---|---|---|"]
    for o in shown[:limit]:
        cells = [o.id, prompts[o.id], _describe(o.expected), _describe(o.predicted)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if len(shown) > limit:
        lines.append(f"\n({len(shown) - limit} more not shown; --failures N shows more)")
    return lines


def report(
    prompts: Sequence[Mapping[str, Any]],
    results: Mapping[str, Sequence[Outcome]],
    *,
    failure_limit: int = 40,
    holdout_failures: bool = False,
) -> str:
    splits = Counter(p["split"] for p in prompts)
    out = [
        "# Intent router evaluation",
        "",
        f"{len(prompts)} prompts: {splits['tune']} tune, {splits['holdout']} holdout."
        " Rates are over the prompts they apply to (routes, composites, out-of-scope and"
        " adversarial, ambiguous); see tests/router/README.md.",
        "",
        "## Summary",
        "",
        *summary_table(results),
    ]
    text = {str(p["id"]): str(p["prompt"]) for p in prompts}
    for name, outcomes in results.items():
        out += ["", f"## {name}", "", "### Correct by category", "", *category_table(outcomes)]
        for split, subset in by_split(outcomes).items():
            out += ["", f"### Confusion, first task type ({split})", "", *confusion(subset)]
        which = "tune and holdout" if holdout_failures else "tune only; never tune on holdout"
        out += ["", f"### Failures ({which})", ""]
        out += failures(outcomes, text, failure_limit, holdout_failures)
    return "\n".join(out) + "\n"


# ----- command line -------------------------------------------------------------------------


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise SystemExit(f"{path}:{n}: not JSON: {err}") from err
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "predictions", nargs="+", metavar="NAME=FILE", help="predictions JSONL, named"
    )
    parser.add_argument("--prompts", type=Path, default=DEFAULT_PROMPTS)
    parser.add_argument(
        "--check",
        nargs="?",
        const="*",
        metavar="NAME",
        help="exit 1 when a system (NAME, or every system) misses a goal",
    )
    parser.add_argument("--home", default="", help="a home folder to write as ~ (e.g. /home/ana)")
    parser.add_argument(
        "--workspace-root", default="", help="the workspace root; paths under it become names"
    )
    parser.add_argument("--failures", type=int, default=40, help="most failures listed")
    parser.add_argument(
        "--show-holdout-failures",
        action="store_true",
        help="list holdout failures too (for reports only: never tune on them)",
    )
    args = parser.parse_args(argv)
    prompts = load_jsonl(args.prompts)
    norm = Normaliser(home=args.home, workspace_root=args.workspace_root)
    results: dict[str, list[Outcome]] = {}
    for spec in args.predictions:
        name, _, file = spec.rpartition("=")
        path = Path(file)
        lines = {str(row.get("id")): row for row in load_jsonl(path)}
        results[name or path.stem] = score(prompts, lines, norm)
    sys.stdout.write(
        report(
            prompts,
            results,
            failure_limit=args.failures,
            holdout_failures=args.show_holdout_failures,
        )
    )
    if args.check is None:
        return 0
    checked = results if args.check == "*" else {args.check: results.get(args.check, [])}
    if args.check != "*" and args.check not in results:
        print(f"--check {args.check}: no predictions by that name", file=sys.stderr)
        return 2
    missed = [line for name, outcomes in checked.items() for line in failed_goals(name, outcomes)]
    for line in missed:
        print(line, file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
