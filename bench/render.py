"""Render time of the FastAPI template: HyperAgent's renderer beside copier and cookiecutter.

All three render the same project (the FastAPI template, default answers) into a fresh folder,
in one process, after one warm-up run each (imports done, templates compiled where the tool
caches them); then the same through each tool's command line, a new process per run (cold).
cookiecutter gets an equivalent template made here from ours: the same files and Jinja source,
its variables under ``cookiecutter.``. Usage (from the repository root, after scripts/setup.sh):

    .venv/bin/python bench/render.py            # prints a Markdown table
    BENCH_RUNS=50 .venv/bin/python bench/render.py

Then the update time: a project made from the template at v1 (a git repository tagged v1, then
v2 with a file changed, one added and one removed), with a change of the person's, updated to v2
by ``project.update``'s code (update.prepare + apply) and by ``copier update``, in process and
through each command line; each run on a fresh copy of the project (the copy is not timed).
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
from hyperagent_bootstrapper import update
from hyperagent_bootstrapper.template import load

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
UPDATE_RUNS = int(os.environ.get("BENCH_UPDATE_RUNS", "10"))
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
}
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
        print(
            f"FastAPI template, default answers; medians of {RUNS} warm / {COLD_RUNS} cold runs\n"
        )
        print_rows(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def git(cwd: Path, *argv: str) -> None:
    subprocess.run(
        ["git", *argv], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def versions(src: Path, dest: Path) -> Path:
    """The template as a git repository: v1 as it is, v2 with a file changed, one added and one
    removed."""
    shutil.copytree(src, dest)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "v1")
    git(dest, "tag", "v1.0.0")
    readme = next(p for p in sorted(dest.rglob("README*")) if p.is_file())
    readme.write_text(readme.read_text() + "\nA line of v2.\n")
    (readme.parent / "CHANGES.md").write_text("# Changes\n")
    gone = next(p for p in sorted(dest.rglob("*.py*")) if p.is_file() and "test" in p.name)
    gone.unlink()
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "v2")
    git(dest, "tag", "v2.0.0")
    return dest


def update_rows(work: Path) -> list[tuple[str, list[float]]]:
    os.environ.update(GIT_ENV)
    src = versions(ROOT / "templates" / "fastapi", work / "fastapi-git")
    made = work / "made" / "shop"
    copier.run_copy(str(src), made, data=ANSWERS, defaults=True, quiet=True, vcs_ref="v1.0.0")
    git(made, "init", "-q", "-b", "main")
    git(made, "add", "-A")
    git(made, "commit", "-q", "-m", "made")
    readme = next(p for p in sorted(made.glob("README*")) if p.is_file())
    readme.write_text("My notes.\n\n" + readme.read_text())
    git(made, "commit", "-q", "-am", "mine")

    def timed_on_copy(fn: Callable[[Path], None], runs: int) -> list[float]:
        out = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(dir=work) as tmp:
                project = Path(tmp) / "shop"
                shutil.copytree(made, project, symlinks=True)
                start = time.perf_counter()
                fn(project)
                out.append(time.perf_counter() - start)
        return out

    def ours(project: Path) -> None:
        with tempfile.TemporaryDirectory(dir=work) as scratch:
            plan = update.prepare(
                project, update.Request(), Path(scratch), update.default_fetch(project)
            )
            update.apply_plain(plan)

    def with_copier(project: Path) -> None:
        copier.run_update(str(project), defaults=True, overwrite=True, quiet=True)

    def cli(argv: list[str]) -> Callable[[Path], None]:
        def run(project: Path) -> None:
            subprocess.run(
                [a.replace("PROJECT", str(project)) for a in argv],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        return run

    rows = []
    for name, fn in [("HyperAgent", ours), ("copier", with_copier)]:
        timed_on_copy(fn, 1)  # warm-up
        rows.append((f"{name}, in process (warm)", timed_on_copy(fn, UPDATE_RUNS)))
    bindir = Path(sys.executable).parent
    for name, argv in [
        (
            "HyperAgent, new process",
            [sys.executable, "-m", "hyperagent_bootstrapper.cli", "update", "PROJECT"],
        ),
        (
            "copier update, new process",
            [str(bindir / "copier"), "update", "--defaults", "--quiet", "PROJECT"],
        ),
    ]:
        rows.append((name, timed_on_copy(cli(argv), COLD_RUNS)))
    return rows


def print_rows(rows: list[tuple[str, list[float]]]) -> None:
    medians = {name: statistics.median(t) for name, t in rows}
    print("| how | median | min | ratio to HyperAgent (same mode) |")
    print("|---|---|---|---|")
    base_warm = medians["HyperAgent, in process (warm)"]
    base_cold = medians["HyperAgent, new process"]
    for name, t in rows:
        base = base_warm if "warm" in name else base_cold
        median = statistics.median(t)
        print(
            f"| {name} | {median * 1000:.1f} ms | {min(t) * 1000:.1f} ms | {median / base:.1f}x |"
        )


def main_update() -> int:
    work = Path(tempfile.mkdtemp(prefix="hyperagent-bench-update-"))
    try:
        rows = update_rows(work)
        print(
            f"\nFastAPI project updated v1.0.0 -> v2.0.0 (a change of the person's kept); medians"
            f" of {UPDATE_RUNS} warm / {COLD_RUNS} cold runs\n"
        )
        print_rows(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main() or main_update())
