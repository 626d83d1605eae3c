#!/usr/bin/env python3
"""How far the embeddings agent's model would help the intent router: each labelled prompt's
similarity to every intent's phrasings (its description and examples), what the best match alone
gets right, and what a floor or a closeness rule under the word router would gain and lose.

    scripts/router_embeddings.py CATALOG.json ROUTER.jsonl [--prompts tests/router/prompts.jsonl]

CATALOG.json from ``router_predict.py --dump-catalog``, ROUTER.jsonl its predictions. Report only;
figures in BENCHMARKS.md ("The intent router, fourth slice").
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path

import numpy as np
from hyperagent_embeddings import model

ROOT = Path(__file__).resolve().parent.parent
#: The model's own task types are never an answer (the manager leaves them out).
MODEL_TASK_TYPES = ("llm.route", "llm.summarize")


def kind(result: dict) -> str:
    return next(k for k in ("route", "refuse", "clarify") if k in result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("catalog", type=Path)
    parser.add_argument("router", type=Path)
    parser.add_argument("--prompts", type=Path, default=ROOT / "tests" / "router" / "prompts.jsonl")
    args = parser.parse_args()
    intents = [
        i for i in json.loads(args.catalog.read_text())["intents"]
        if i["task_type"] not in MODEL_TASK_TYPES
    ]  # fmt: skip
    phrasings, owner = [], []
    for k, intent in enumerate(intents):
        for text in [intent["description"], *intent.get("examples", [])]:
            phrasings.append(text)
            owner.append(k)
    owners = np.array(owner)
    vectors = model.embed(phrasings)
    rows = [json.loads(line) for line in args.prompts.read_text().splitlines() if line.strip()]
    started = time.perf_counter()
    queries = model.embed([r["prompt"] for r in rows])
    per_prompt = (time.perf_counter() - started) / len(rows) * 1000
    print(f"model {model.name()}: {per_prompt:.1f} ms a prompt (in a batch of {len(rows)})")
    words = {
        json.loads(line)["id"]: json.loads(line)["result"]
        for line in args.router.read_text().splitlines()
    }
    stats = []
    for row, sims in zip(rows, queries @ vectors.T, strict=True):
        per = np.array([sims[owners == k].max() for k in range(len(intents))])
        order = np.argsort(-per)
        top, margin = per[order[0]], per[order[0]] - per[order[1]]
        stats.append((row, top, margin, intents[order[0]]["task_type"]))
    groups = collections.defaultdict(list)
    for row, top, _, best in stats:
        expect = row["expect"]
        single = "route" in expect and len(expect["route"]) == 1
        right = single and best == expect["route"][0]["task_type"]
        groups["routable, one step" if single else kind(expect)].append((top, right))
    for name, items in groups.items():
        tops = np.array([t for t, _ in items])
        line = f"{name}: {len(items)} prompts, best similarity p10/p50/p90 " + "/".join(
            f"{x:.2f}" for x in np.percentile(tops, [10, 50, 90])
        )
        if name == "routable, one step":
            line += f", best match right {np.mean([r for _, r in items]):.1%}"
        print(line)
    for floor, close in [(0.30, 0.0), (0.30, 0.02), (0.30, 0.04), (0.35, 0.0)]:
        gained, lost = collections.Counter(), collections.Counter()
        for row, top, margin, _ in stats:
            expected, said = kind(row["expect"]), kind(words[row["id"]])
            now = said
            if said == "route" and top < floor:
                now = "refuse"
            elif said == "route" and len(words[row["id"]]["route"]) == 1 and margin < close:
                now = "clarify"
            if now != said:
                (gained if now == expected else lost)[expected] += 1
        print(f"floor {floor:.2f}, close {close:.2f}: right {dict(gained)}, wrong {dict(lost)}")


if __name__ == "__main__":
    main()
