#!/usr/bin/env python3
"""The real router's predictions for the labelled prompt set, for scripts/router_eval.py.

    PATH=$PWD/.venv/bin:$PATH scripts/router_predict.py [--prompts FILE] > router.jsonl

Starts the real manager (HYPERAGENT_BIN, else the debug build) with every bundled agent, waits
until each has registered its task types, then sends each prompt to its `Route` method over the
real socket. `ms` is the router's own time as the manager measured it (the `micros` it returns),
so the figure is the router's, not the round trip's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import Manager  # noqa: E402

from hyperagent.v1 import client_pb2  # noqa: E402


def flatten(payload: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in payload.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def result(r: client_pb2.RouteResponse) -> dict[str, Any]:
    if r.refusal:
        return {"refuse": True}
    if r.question:
        return {"clarify": list(r.choices)}
    steps = []
    for s in r.steps:
        slots = flatten(json.loads(s.payload_json or "{}"))
        if s.workspace:
            slots["workspace"] = s.workspace
        steps.append(
            {"step": s.number, "task_type": s.task_type, "slots": slots, "after": list(s.after)}
        )
    return {"route": steps}


#: The wire's FolderUse values, as the router's catalogue spells them.
FOLDER_USES = {1: "existing", 2: "creates"}
#: The simulated person's projects (see the file).
WORKSPACE = ROOT / "tests" / "router" / "workspace.txt"


def make_workspace(root: Path) -> Path:
    """The workspace root with the set's projects in it."""
    for line in WORKSPACE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            (root / line.strip()).mkdir(parents=True, exist_ok=True)
    return root


def dump_catalog(m: Manager, path: Path, folders: Path) -> None:
    types = m.client.ListTaskTypes(client_pb2.ListTaskTypesRequest(), timeout=30).task_types
    templates = m.client.ListTemplates(client_pb2.ListTemplatesRequest(), timeout=30).templates
    path.write_text(
        json.dumps(
            {
                "intents": [
                    {
                        "task_type": t.task_type.name,
                        "description": t.task_type.description,
                        "schema": json.loads(t.task_type.payload_schema_json or "null"),
                        "examples": list(t.task_type.examples),
                        "folder": FOLDER_USES.get(t.task_type.folder, "any"),
                    }
                    for t in types
                ],
                "folders": sorted(p.name for p in folders.iterdir() if p.is_dir()),
                "templates": [
                    [t.name, json.loads(t.answers_schema_json)]
                    for t in templates
                    if t.answers_schema_json
                ],
            },
            indent=1,
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=Path, default=ROOT / "tests" / "router" / "prompts.jsonl")
    parser.add_argument(
        "--router",
        default="{}",
        help="the [router] settings to run with, as JSON (e.g. '{\"min_score\": 0.3}')",
    )
    parser.add_argument(
        "--dump-catalog",
        type=Path,
        help="also write the live catalogue (task types and template answers schemas) as JSON",
    )
    args = parser.parse_args()
    names = [
        tomllib.loads(p.read_text())["name"] for p in sorted((ROOT / "agents").glob("*/agent.toml"))
    ]
    with tempfile.TemporaryDirectory(prefix="hyperagent-router-") as work:
        folders = make_workspace(Path(work) / "src")
        m = Manager(
            root=Path(work),
            agents_dir=ROOT / "agents",
            extra={
                "paths": {"workspace_root": str(folders)},
                "templates": {"dirs": [str(ROOT / "templates")]},
                "router": json.loads(args.router),
            },
        ).start()
        try:
            for name in names:
                m.wait_agent(name, online=True)
            if args.dump_catalog:
                dump_catalog(m, args.dump_catalog, folders)
            for line in args.prompts.read_text().splitlines():
                prompt = json.loads(line)
                r = m.client.Route(client_pb2.RouteRequest(text=prompt["prompt"]), timeout=30)
                out = {"id": prompt["id"], "result": result(r), "ms": r.micros / 1000}
                print(json.dumps(out, ensure_ascii=False))
        finally:
            m.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
