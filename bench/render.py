"""Render time of the FastAPI template: HyperAgent's renderer beside copier and cookiecutter.

All three render the same project (the FastAPI template, default answers) into a fresh folder,
in one process, after one warm-up run each (imports done, templates compiled where the tool
caches them); then the same through each tool's command line, a new process per run (cold).
cookiecutter gets an equivalent template made here from ours: the same files and Jinja source,
its variables under ``cookiecutter.``. Usage (from the repository root, after scripts/setup.sh):

    .venv/bin/python bench/render.py            # prints a Markdown table
    BENCH_RUNS=50 .venv/bin/python bench/render.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import copier
from cookiecutter.main import cookiecutter

from hyperagent_bootstrapper import render as rendering
from hyperagent_bootstrapper.template import load

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
ANSWERS = {"project_name": "shop"}


def cookiecutter_twin(src: Path, dest: Path) -> Path:
    """Our template as a cookiecutter template rendering the same files for ``ANSWERS``."""
    template = load(src)
    answers = rendering.resolve(template, ANSWERS)
    rendered = rendering.render(template, answers, "shop")
    names = list(answers.values)
    wrap_open = "{% with " + ", ".join(f"{n}=cookiecutter.{n}" for n in names) + " -%}\n"
    root = dest / "{{cookiecutter.project_name}}"
    (dest / "cookiecutter.json").parent.mkdir(parents=True, exist_ok=True)
    (dest / "cookiecutter.json").write_text(json.dumps(answers.values))
    # Each rendered file comes from one source file; keep the source (Jinja) where there was one.
    sources = {}
    for entry in template.content_root.rglob("*"):
        if entry.is_file():
            rel = entry.relative_to(template.content_root)
            parts = [
                rendering.render_string(
                    template,
                    p,
                    {**answers.values, "_copier_conf": {"answers_file": ".copier-answers.yml"}},
                    "bench",
                )
                for p in rel.parts
            ]
            if all(parts):
                out = "/".join(parts)
                if out.endswith(template.suffix):
                    out = out[: -len(template.suffix)]
                sources[out] = entry
    for f in rendered.files:
        target = root / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        src_file = sources.get(f.path)
        templated = src_file is not None and src_file.name.endswith(template.suffix)
        if templated and f.path != template.answers_file:  # copier's own file: as rendered
            target.write_text(wrap_open + src_file.read_text() + "{% endwith %}")
        else:
            target.write_bytes(f.content)
    return dest


def timed(fn: Callable[[Path], None], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            fn(Path(tmp))
            out.append(time.perf_counter() - start)
    return out


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="hyperagent-bench-render-"))
    try:
        src = work / "fastapi"
        shutil.copytree(ROOT / "templates" / "fastapi", src)  # outside git, for copier
        twin = cookiecutter_twin(src, work / "cookiecutter-fastapi")

        def ours(dest: Path) -> None:
            template = load(src)
            answers = rendering.resolve(template, ANSWERS, dst_name="shop")
            project = dest / "shop"
            project.mkdir()
            rendering.render(template, answers, "shop").write(project)

        def with_copier(dest: Path) -> None:
            copier.run_copy(str(src), dest / "shop", data=ANSWERS, defaults=True, quiet=True)

        def with_cookiecutter(dest: Path) -> None:
            cookiecutter(str(twin), no_input=True, output_dir=str(dest))

        def cli(argv: list[str]) -> Callable[[Path], None]:
            def run(dest: Path) -> None:
                subprocess.run(
                    [a.replace("DEST", str(dest)) for a in argv],
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )

            return run

        bindir = Path(sys.executable).parent
        rows = []
        for name, fn in [
            ("HyperAgent", ours),
            ("copier", with_copier),
            ("cookiecutter", with_cookiecutter),
        ]:
            fn(Path(tempfile.mkdtemp(dir=work)))  # warm-up: imports, compiled templates
            rows.append((f"{name}, in process (warm)", timed(fn, RUNS)))
        cold = [
            (
                "HyperAgent, new process",
                [
                    sys.executable,
                    "-m",
                    "hyperagent_bootstrapper.cli",
                    str(src),
                    "DEST/shop",
                    "project_name=shop",
                ],
            ),
            (
                "copier copy, new process",
                [
                    str(bindir / "copier"),
                    "copy",
                    "--defaults",
                    "--quiet",
                    "--data",
                    "project_name=shop",
                    str(src),
                    "DEST/shop",
                ],
            ),
            (
                "cookiecutter, new process",
                [str(bindir / "cookiecutter"), "--no-input", "--output-dir", "DEST", str(twin)],
            ),
        ]
        for name, argv in cold:
            rows.append((name, timed(cli(argv), COLD_RUNS)))
        warm = {name: statistics.median(t) for name, t in rows}
        print(
            f"FastAPI template, default answers; medians of {RUNS} warm / {COLD_RUNS} cold runs\n"
        )
        print("| how | median | min | ratio to HyperAgent (same mode) |")
        print("|---|---|---|---|")
        base_warm = warm["HyperAgent, in process (warm)"]
        base_cold = warm["HyperAgent, new process"]
        for name, t in rows:
            base = base_warm if "warm" in name else base_cold
            median = statistics.median(t)
            print(
                f"| {name} | {median * 1000:.1f} ms | {min(t) * 1000:.1f} ms"
                f" | {median / base:.1f}x |"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
