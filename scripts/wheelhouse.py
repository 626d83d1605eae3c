"""Fill a wheelhouse with every wheel any variant of the shipped templates installs.

The bootstrapper's offline mode (HYPERAGENT_BOOTSTRAP_WHEELHOUSE) installs from such a folder
alone; the tests and benchmarks use it so they do not depend on the network. Usage:
``python scripts/wheelhouse.py DIR`` (skips the download when the templates did not change).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from hyperagent_bootstrapper import render as rendering
from hyperagent_bootstrapper.template import load

ROOT = Path(__file__).resolve().parent.parent


def requirements() -> list[str]:
    """What the rendered pyproject.toml of every variant asks for (build backend included)."""
    wanted: set[str] = set()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    for manifest in sorted(ROOT.glob("templates/*/copier.y*ml")):
        template = load(manifest.parent)
        fixed = {"project_name": "wheelhouse"}
        if "python_version" in template.questions:
            fixed["python_version"] = python
        for given in rendering.variants(template, fixed):
            answers = rendering.resolve(template, given)
            rendered = rendering.render(template, answers, "wheelhouse")
            for f in rendered.files:
                if f.path == "pyproject.toml":
                    data = tomllib.loads(f.content.decode())
                    build = data.get("build-system", {}).get("requires", [])
                    wanted.update(build)
                    if any(r.startswith("hatchling") for r in build):
                        wanted.add("editables")  # what hatchling asks for an editable install
                    project = data.get("project", {})
                    wanted.update(project.get("dependencies", []))
                    for extra in project.get("optional-dependencies", {}).values():
                        wanted.update(extra)
    return sorted(wanted)


def main() -> int:
    dest = Path(sys.argv[1])
    reqs = requirements()
    if not reqs:
        return 0
    stamp = dest / ".requirements"
    digest = hashlib.sha256("\n".join(reqs).encode()).hexdigest()
    if stamp.is_file() and stamp.read_text() == digest:
        return 0
    dest.mkdir(parents=True, exist_ok=True)
    print(f"==> downloading {len(reqs)} requirements into the wheelhouse {dest}", file=sys.stderr)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("\n".join(reqs) + "\n")
        f.flush()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--only-binary=:all:",
                "--dest",
                str(dest),
                "-r",
                f.name,
            ],
            check=True,
        )
    stamp.write_text(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
