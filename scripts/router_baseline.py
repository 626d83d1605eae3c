#!/usr/bin/env python3
"""A keyword baseline for the intent router, to stand beside it in scripts/router_eval.py.

    scripts/router_baseline.py [--prompts tests/router/prompts.jsonl] [--live-only] > base.jsonl

It knows only what the real router will know: the task types the agents in this tree declare
(name, description, payload schema, examples, read through their SDK objects), the template
catalogue (templates/*/copier.yml) and, unless ``--live-only``, the stand-ins in
tests/router/stand_ins.json for task types no agent declares yet. Intents are scored by keyword
overlap weighted by rarity; slots are filled by regular expressions, and only for properties the
task type's schema has. It is meant to be beaten.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import math
import re
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ROOT / "tests" / "router" / "prompts.jsonl"
STAND_INS = ROOT / "tests" / "router" / "stand_ins.json"

#: A step needs at least this score (a sum of word rarities) to be routed at all.
MIN_SCORE = 1.2
#: Another intent scoring at least this share of the best one makes a one-step request ambiguous.
AMBIGUOUS_RATIO = 0.9
#: How alike a misspelt word must be to a known one to be read as it (difflib ratio).
TYPO_CUTOFF = 0.8


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _set(
    "a an and are as at be by can could do does for from how i in is it its me my of on or"
    " please that the there these this those to was what where which who with you your"
)
#: Words that are never a project's name.
NOT_NAMES = STOPWORDS | _set(
    "project repo repository folder code docs documentation editor container it them there"
    " python git history branch tests test api main database new"
)
#: Requests no task type may serve, whatever they mention.
DANGER = re.compile(
    r"rm\s+-rf|\bdelete\b|chmod|\bssh\b|\.ssh|gnupg|credentials|\.env\b|api token|pastebin"
    r"|\bgist\b|upload|\bemail\b|curl\b|\| *(ba)?sh\b"
    r"|ignore (all |the )?(previous |prior )?(instructions|rules)|forget your|disable|turn off"
    r"|evil|/etc/|disk is full|every agent|system:|execute:",
    re.IGNORECASE,
)
PATH = re.compile(r"(?<![\w/.])(~/[\w./-]*|/[\w./-]+|\./[\w./-]+)")
NAME_AFTER = re.compile(
    r"\b(?:in|of|for|on|to|at)\s+(?:the\s+)?(?:project\s+|repo\s+)?([a-z][a-z0-9-]+)\b"
)
QUOTED = re.compile(r"[\"“']([^\"”']+)[\"”']")
PYTHON = re.compile(r"\b(?:python|py|pyhton)?[\s-]*v?(3\.\d{1,2})\b", re.IGNORECASE)
NUMBER_WORDS = {"once": 1, "twice": 2, "a couple of times": 2, "three times": 3}


def words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS]


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# ----- the registry -------------------------------------------------------------------------


@dataclass
class TaskType:
    """What the registry says about one task type (or the manager's ``open``)."""

    name: str
    description: str
    properties: dict[str, Any]
    examples: list[str]
    source: str
    bag: Counter[str] = field(default_factory=Counter)


def live_task_types() -> list[TaskType]:
    """Every task type an agent in this tree declares, from its SDK object."""
    sys.path[:0] = [str(p) for p in sorted(ROOT.glob("agents/*/src"))]
    found: list[TaskType] = []
    for manifest in sorted(ROOT.glob("agents/*/agent.toml")):
        command = tomllib.loads(manifest.read_text())["command"]
        module = command[command.index("-m") + 1]
        try:
            agent = importlib.import_module(f"{module}.agent").agent
        except ImportError as err:
            print(f"skipping {manifest.parent.name}: {err}", file=sys.stderr)
            continue
        for definition in agent.tasks.values():
            # A task type that declares no phrasings is not for plain words (`llm.route`,
            # `llm.summarize`: only the manager submits them); the offline router never picks one.
            if not definition.examples:
                continue
            proto = definition.to_proto()
            schema = json.loads(proto.payload_schema_json)
            found.append(
                TaskType(
                    proto.name,
                    proto.description,
                    schema.get("properties", {}),
                    list(proto.examples),
                    f"agent {manifest.parent.name}",
                )
            )
    return found


def stand_ins(path: Path) -> list[TaskType]:
    data = json.loads(path.read_text())
    return [
        TaskType(
            t["name"],
            t["description"],
            t["schema"].get("properties", {}),
            t["examples"],
            f"stand-in ({t['kind']})",
        )
        for t in data["task_types"]
    ]


@dataclass
class Catalogue:
    """The templates and the choices of their questions (templates/*/copier.yml)."""

    templates: list[str]
    databases: dict[str, str]  # a word for it -> the answer's value


def catalogue() -> Catalogue:
    try:
        import yaml  # noqa: PLC0415 - optional: without it the choices are not known
    except ImportError:
        yaml = None
    names: list[str] = []
    databases: dict[str, str] = {}
    for file in sorted(ROOT.glob("templates/*/copier.yml")):
        names.append(file.parent.name)
        if yaml is None:
            continue
        choices = (yaml.safe_load(file.read_text()).get("database") or {}).get("choices", {})
        for label, value in choices.items() if isinstance(choices, dict) else []:
            databases[value.lower()] = value
            databases[label.lower()] = value
    return Catalogue(names, databases)


# ----- intents ------------------------------------------------------------------------------


class Scorer:
    """Keyword overlap between a request and each task type's words, weighted by rarity."""

    def __init__(self, types: Sequence[TaskType]) -> None:
        self.types = list(types)
        for t in self.types:
            text = " ".join(
                [t.name.replace(".", " ").replace("_", " "), t.description, *t.examples]
            )
            t.bag = Counter(stem(w) for w in words(text))
        df = Counter(w for t in self.types for w in set(t.bag))
        n = len(self.types)
        self.idf = {w: math.log(1 + n / c) for w, c in df.items()}
        self.vocabulary = sorted({w for t in self.types for w in words(" ".join(t.examples))})
        self.first_words = {words(e)[0] for t in self.types for e in t.examples if words(e)}

    def known(self, word: str) -> str:
        """The word, or the known word it is a misspelling of."""
        if stem(word) in self.idf or len(word) < 4:
            return word
        close = difflib.get_close_matches(word, self.vocabulary, n=1, cutoff=TYPO_CUTOFF)
        return close[0] if close else word

    def scores(self, text: str) -> list[tuple[float, TaskType]]:
        stems = {stem(self.known(w)) for w in words(text)}
        ranked = [(sum(self.idf[w] for w in stems if w in t.bag), t) for t in self.types]
        return sorted(ranked, key=lambda pair: -pair[0])


# ----- slots --------------------------------------------------------------------------------


def _int(pattern: str, text: str) -> int | None:
    m = re.search(pattern, text, re.IGNORECASE)
    found = [g for g in m.groups() if g] if m else []
    return int(found[0]) if found else None


def workspace(text: str, skip: Iterable[str] = ()) -> str | None:
    for m in PATH.finditer(text):
        if m.group(1) not in skip and not m.group(1).startswith("/srv/templates"):
            return m.group(1).rstrip(".,?")
    for m in NAME_AFTER.finditer(text.lower()):
        if m.group(1) not in NOT_NAMES:
            return m.group(1)
    m = re.match(r"\s*\S+\s+([a-z][a-z0-9-]+)\s*$", text.lower())
    return m.group(1) if m and m.group(1) not in NOT_NAMES else None


def bootstrap_slots(text: str, cat: Catalogue) -> dict[str, Any]:  # noqa: PLR0912
    low = text.lower()
    slots: dict[str, Any] = {}
    m = re.search(r"template at (\S+)", text)
    template = m.group(1).rstrip(",.") if m else None
    for name in cat.templates:
        if re.search(rf"\b{name}\b", low.replace("fast api", "fastapi")):
            template = name
    if template:
        slots["template"] = template
    m = re.search(r"\b(?:called|named|name is|calld|caled|call)\s+[\"']?([a-z][a-z0-9-]*)", low)
    if m is None and template:
        m = re.search(
            rf"\b{re.escape(template)}\s+(?:app|project|service)?:?\s*([a-z][a-z0-9-]*)", low
        )
    if m and m.group(1) not in NOT_NAMES | {"with", "without", "app", "project", "service"}:
        slots["answers.project_name"] = m.group(1)
    if re.search(r"\b(no|without a?) ?(database|databse|db)\b", low):
        slots["answers.database"] = "none"
    else:
        for word, value in cat.databases.items():
            if value != "none" and re.search(rf"\b{re.escape(word)}", low):
                slots["answers.database"] = value
    if re.search(r"\b(no|without) dock", low):
        slots["answers.docker"] = False
    elif "dock" in low:
        slots["answers.docker"] = True
    m = PYTHON.search(text)
    if m:
        slots["answers.python_version"] = m.group(1)
    for pattern, key, value in (
        (r"skip the (post-)?check|no checks|don't run the checks", "checks", False),
        (r"only show|would write|dry run", "dry_run", True),
        (r"don't make a git commit|no git", "git", False),
        (r"overwrit", "overwrite", True),
    ):
        if re.search(pattern, low):
            slots[key] = value
    path = workspace(text, skip=[template or ""])
    if path and path.startswith(("~", "/", ".")):
        slots["workspace"] = path
    return slots


def generic_slots(text: str, props: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0915
    low = text.lower()
    slots: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if key.split(".", maxsplit=1)[0] in props and value is not None:
            slots[key] = value

    m = PYTHON.search(text)
    put("python", m.group(1) if m else None)
    m = re.search(r"(?:matching|-k|contain)\s+[\"']?([\w-]+)", low)
    put("k", m.group(1) if m else None)
    m = re.search(r"(?:marked|marker|-m)\s+[\"']?([\w ]+?)[\"']?(?:\s+in\b|\s+not\b|[,.]|$)", low)
    if m:
        negate = re.search(r"skip|except|\bnot\b", low) and not m.group(1).startswith("not")
        put("markers", f"not {m.group(1)}" if negate else m.group(1))
    put("node_ids", re.findall(r"\b(tests/[\w/.-]+\.py(?:::[\w:]+)?)", text) or None)
    if re.search(r"first (failure|error)|fail[ -]?fast|-x\b|stop at", low):
        put("fail_fast", True)
    m = re.search(
        r"(?:rerun|retry|run again)\D*?(\d+|once|twice|three times|a couple of times)", low
    )
    if m:
        put("rerun_failures", NUMBER_WORDS.get(m.group(1)) or int(m.group(1)))
    if re.search(r"timeout|per test|each (test|one)|single test|max", low):
        put("timeout", _int(r"(\d+)[- ]?(?:seconds?|secs?|s)\b", low))
    m = re.search(
        r"(?:against|aginst|since|vs\.?|compared to|from the branch)\s+(?:the\s+)?"
        r"(?:branch\s+|tag\s+|commit\s+)?([\w][\w./-]*)",
        low,
    )
    put("base", m.group(1).rstrip(".,") if m else None)
    if re.search(r"\bfix|correct", low):
        put("apply_fixes", True)
    put("thresholds.max_function_lines", _int(r"(\d+)\s+lines", low))
    put("thresholds.max_complexity", _int(r"complexity(?: of)?\s+(\d+)", low))
    put("thresholds.max_nesting", _int(r"(\d+)\s+levels", low))
    passes = [
        name
        for name, pattern in (
            ("dependencies", r"depend|vulnerab|cve|packages|librar"),
            ("secrets", r"secret|passwords|keys"),
            ("code", r"insecure|code pass"),
        )
        if re.search(pattern, low)
    ]
    put("passes", passes or None)
    if re.search(r"not the history|history of git no|without (the )?history", low):
        put("include_history", False)
    elif re.search(r"history|old commits", low):
        put("include_history", True)
    if re.search(r"offline|ofline|without (using )?(the )?(network|internet)|no wifi", low):
        put("offline", True)
    put("limit", _int(r"(?:top|give me)\s+(\d+)|(?:the\s+)?(\d+)\s+(?:best|results|hits)", low))
    quoted = QUOTED.findall(text)
    if "query" in props:
        put("query", quoted[0] if quoted else re.sub(r"\b(in|of)\s+\S+\s*\??$", "", text))
    put("texts", quoted or None)
    if "message" in props:
        m = re.search(r"(?:echo|eccho|say|repeat after me|message)\s*:?\s*(.+)$", text, re.I)
        put("message", quoted[0] if quoted else (m.group(1).strip() if m else None))
    if "seconds" in props:
        n = _int(r"(\d+)", low)
        put("seconds", n * 60 if n and re.search(r"\d+\s*min", low) else n)
    put("steps", _int(r"in (\d+) steps", low))
    put("lines", _int(r"(\d+)(?:\s+lines)?", low) if "lines" in props else None)
    put("size", _int(r"(\d+)\s*bytes", low))
    put("services", [s for s in ("postgres", "redis") if s in low] or None)
    if re.search(r"overwrit|replac", low):
        put("overwrite", True)
    return slots


# ----- routing ------------------------------------------------------------------------------

SEQUENCE = re.compile(r"^(then|after that|afterwards|and then|and if|if)\b", re.I)


@dataclass
class Router:
    scorer: Scorer
    catalogue: Catalogue

    def clauses(self, prompt: str) -> list[str]:
        """The request cut where a new verb starts ("..., then run ...", "... and review ...")."""
        verbs = "|".join(sorted(map(re.escape, self.scorer.first_words), key=len, reverse=True))
        cut = re.compile(
            rf"(?:[,;]\s*|\s+)(?=(?:(?:and\s+)?then\s+|and\s+|after that\s+)(?:{verbs})\b)"
        )
        return [c.strip(" ,;") for c in cut.split(prompt) if c.strip(" ,;")]

    def route(self, prompt: str) -> dict[str, Any]:
        if DANGER.search(prompt):
            return {"refuse": True}
        steps: list[dict[str, Any]] = []
        for clause in self.clauses(prompt):
            ranked = self.scorer.scores(clause)
            best, chosen = ranked[0]
            if best < MIN_SCORE or (steps and steps[-1]["task_type"] == chosen.name):
                if steps:
                    steps[-1]["text"] += " " + clause
                continue
            close = [t.name for s, t in ranked if s >= AMBIGUOUS_RATIO * best]
            steps.append({"task_type": chosen.name, "type": chosen, "text": clause, "close": close})
        if not steps:
            return {"refuse": True}
        if len(steps) == 1 and len(steps[0]["close"]) > 1:
            return {"clarify": steps[0]["close"]}
        return {"route": [self.step(i, s, steps) for i, s in enumerate(steps, 1)]}

    def step(
        self, number: int, step: dict[str, Any], steps: list[dict[str, Any]]
    ) -> dict[str, Any]:
        t: TaskType = step["type"]
        text: str = step["text"]
        if t.name == "bootstrap.project":
            slots = bootstrap_slots(text, self.catalogue)
        else:
            slots = generic_slots(text, t.properties)
            where = workspace(text)
            if where:
                slots["workspace"] = where
        after: list[int] = []
        if number > 1:
            if SEQUENCE.match(text) or re.search(r"\bthen\b", text[:12]):
                after = [number - 1]
            elif steps[0]["task_type"] == "bootstrap.project":
                after = [1]
            if "workspace" not in slots and re.search(r"\b(it|its|them|there)\b", text):
                slots["workspace"] = "$1.path"
        return {"step": number, "task_type": t.name, "slots": slots, "after": after}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=Path, default=PROMPTS)
    parser.add_argument("--stand-ins", type=Path, default=STAND_INS)
    parser.add_argument("--live-only", action="store_true", help="no stand-ins: live agents only")
    args = parser.parse_args(argv)
    types = live_task_types()
    live = {t.name for t in types}
    if not args.live_only:
        types += [t for t in stand_ins(args.stand_ins) if t.name not in live]
    for t in types:
        print(f"{t.name}: {t.source}", file=sys.stderr)
    router = Router(Scorer(types), catalogue())
    clock: Callable[[], float] = time.perf_counter
    for line in args.prompts.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        prompt = json.loads(line)
        started = clock()
        result = router.route(prompt["prompt"])
        ms = (clock() - started) * 1000
        print(json.dumps({"id": prompt["id"], "result": result, "ms": round(ms, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
