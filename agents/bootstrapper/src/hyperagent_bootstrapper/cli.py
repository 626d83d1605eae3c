"""``python -m hyperagent_bootstrapper.cli TEMPLATE DEST [name=value ...]``: render a template
into a new folder, without the manager (for template authors checking their work).

Values are YAML (``docker=true``, ``port=8080``). Writes nothing unless every answer is valid and
every file renders. Exit codes: 0 done, 2 bad answers or a broken template.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from . import render as rendering
from .template import TemplateError, load


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] in {"-h", "--help"}:
        print(__doc__, file=sys.stderr)
        return 2
    src, dest = Path(argv[0]), Path(argv[1])
    given: dict[str, Any] = {}
    for item in argv[2:]:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"answer {item!r} must look like name=value", file=sys.stderr)
            return 2
        given[key] = yaml.safe_load(value) if value else ""
    try:
        template = load(src)
        answers = rendering.resolve(template, given, dst_name=dest.name)
        rendered = rendering.render(template, answers, dest.name)
    except (TemplateError, rendering.AnswersError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    dest.mkdir(parents=True, exist_ok=False)
    rendered.write(dest)
    print(f"{len(rendered.files)} files in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
