#!/usr/bin/env python3
"""Fills tests/questions/corpus.json with what the manager says of each case's manifest.

    scripts/questions_corpus.py [--bin target/debug/hyperagent] [--check]

The corpus is the contract for how a copier manifest's questions become the answers' JSON Schema
and which answers they take (see ARCHITECTURE.md, "Template questions"). A case is written with
its `manifest` (and `hyperagent` file) and its `answers`; this script puts each case in a template
folder named after it, starts `hyperagent serve --no-agents --templates-dir` on them, lists the
templates, and records each one's answers `schema` or, for a broken one, its `error`. An `error`
already in the case is kept while the manager's message contains it (it is the part every checker
must say); otherwise the manager's whole message replaces it, to be cut down to that part by hand.
The diff of the file then shows any rule that changed. `--check` writes nothing and fails when
the file is not what the manager says.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "questions" / "corpus.json"
#: How long the manager may take to start and to answer.
TIMEOUT_S = 60.0
#: A case's keys, in the order the file keeps them.
KEYS = ("name", "note", "manifest", "hyperagent", "schema", "error", "answers")


def manager_says(binary: Path, cases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each case's template as `hyperagent templates --json` lists it, by case name."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        templates = root / "templates"
        for case in cases:
            folder = templates / case["name"]
            folder.mkdir(parents=True)
            (folder / "copier.yml").write_text(case["manifest"], encoding="utf-8")
            if "hyperagent" in case:
                (folder / "hyperagent.yml").write_text(case["hyperagent"], encoding="utf-8")
        config = root / "config.toml"
        config.write_text(
            f'[paths]\ndata_dir = "{root / "data"}"\nruntime_dir = "{root / "run"}"\n',
            encoding="utf-8",
        )
        env = {**os.environ, "HYPERAGENT_LOG": "warn"}
        env.pop("HYPERAGENT_SOCKET", None)
        base = [str(binary), "--config", str(config)]
        serve = [*base, "serve", "--no-agents", "--templates-dir", str(templates)]
        with (root / "manager.log").open("w") as log:
            proc = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        try:
            ready = json.loads((proc.stdout.readline() if proc.stdout else "") or "{}")
            if ready.get("ready") is not True:
                log_text = (root / "manager.log").read_text()
                raise SystemExit(f"the manager did not start:\n{log_text}")
            listed = subprocess.run(
                [*base, "--json", "templates"],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                env=env,
                check=True,
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=TIMEOUT_S)
    return {t["name"]: t for t in json.loads(listed.stdout)}


def refreshed(case: dict[str, Any], listed: dict[str, Any] | None) -> dict[str, Any]:
    """The case with the manager's `schema` or `error` (see the module doc)."""
    if listed is None:
        raise SystemExit(f"the manager does not list case {case['name']!r}: is it a folder name?")
    out = {k: v for k, v in case.items() if k not in ("schema", "error")}
    if listed["status"] == "ok":
        out["schema"] = listed["answers_schema"]
    else:
        said = listed["error"]
        kept = case.get("error")
        out["error"] = kept if isinstance(kept, str) and kept and kept in said else said
    return {k: out[k] for k in KEYS if k in out} | {k: v for k, v in out.items() if k not in KEYS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_bin = os.environ.get("HYPERAGENT_BIN", str(ROOT / "target" / "debug" / "hyperagent"))
    parser.add_argument("--bin", type=Path, default=Path(default_bin))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--check", action="store_true", help="write nothing; fail when stale")
    args = parser.parse_args()
    corpus = json.loads(args.corpus.read_text(encoding="utf-8"))
    cases = corpus["cases"]
    names = [c["name"] for c in cases]
    doubles = sorted({n for n in names if names.count(n) > 1})
    if doubles:
        raise SystemExit(f"case names must be unique: {', '.join(doubles)}")
    listed = manager_says(args.bin, cases)
    new_cases = [refreshed(c, listed.get(c["name"])) for c in cases]
    changed = [n["name"] for old, n in zip(cases, new_cases, strict=True) if old != n]
    for name in changed:
        print(f"changed: {name}", file=sys.stderr)
    if args.check:
        return 1 if changed else 0
    args.corpus.write_text(dumped({**corpus, "cases": new_cases}), encoding="utf-8")
    return 0


def dumped(corpus: dict[str, Any]) -> str:
    """The corpus as JSON, indented, with each `answers` entry on one line (easier to read)."""
    held: list[str] = []

    def hold(answers: dict[str, Any]) -> str:
        held.append(json.dumps(answers, ensure_ascii=False))
        return f"\0{len(held) - 1}\0"

    cases = [
        {**c, "answers": [hold(a) for a in c["answers"]]} if "answers" in c else c
        for c in corpus["cases"]
    ]
    text = json.dumps({**corpus, "cases": cases}, indent=2, ensure_ascii=False)
    for n, answers in enumerate(held):
        text = text.replace(json.dumps(f"\0{n}\0"), answers, 1)
    return text + "\n"


if __name__ == "__main__":
    sys.exit(main())
