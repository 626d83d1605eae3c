"""Which lines a branch changed, from ``git diff --unified=0``, and keeping only the findings on
them.

What counts as changed (against a base ref): everything between the merge base of the base and
``HEAD`` and the working tree, so the branch's commits and the changes not committed yet, plus
files git does not track yet (not ignored), every line of them. A finding is kept when any line it
covers (``line`` to ``end_line``) changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .findings import Finding

#: ``@@ -a[,b] +c[,d] @@``: the new side starts at c and spans d lines (1 when d is missing).
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")

#: Changed lines by file (relative to the repository); ``None`` means every line (a new file).
Changed = dict[str, set[int] | None]

_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(path: str) -> str:
    """A path as git prints it: quoted C-style (octal bytes of UTF-8) when it has odd characters."""
    if not (len(path) >= 2 and path[0] == '"' and path[-1] == '"'):
        return path
    out = bytearray()
    body = path[1:-1]
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567":
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, ord(nxt)))
            i += 2
            continue
        out.extend(c.encode())
        i += 1
    return out.decode(errors="surrogateescape")


def parse_diff(text: str) -> Changed:
    """The lines each file has on the new side of a ``--unified=0`` diff (deleted files: none)."""
    changed: Changed = {}
    current: set[int] | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            if target == "/dev/null":
                current = None
                continue
            name = unquote(target)
            name = name[2:] if name.startswith("b/") else name
            current = set()
            changed[name] = current
            continue
        match = _HUNK.match(line)
        if match and current is not None:
            start = int(match.group(1))
            count = 1 if match.group(2) is None else int(match.group(2))
            current.update(range(start, start + count))
    return changed


def with_untracked(changed: Changed, untracked: Iterable[str]) -> Changed:
    """Files git does not track yet are changed on every line."""
    out = dict(changed)
    for path in untracked:
        if path:
            out[path] = None
    return out


def on_changed_lines(findings: Iterable[Finding], changed: Changed) -> list[Finding]:
    """The findings that cover at least one changed line."""
    kept = []
    for f in findings:
        if f.file not in changed:
            continue
        lines = changed[f.file]
        if lines is None or any(n in lines for n in range(f.line, f.last_line + 1)):
            kept.append(f)
    return kept
