"""pytest's JUnit XML (``-o junit_family=xunit1``, which keeps each test's file and line) read
into test outcomes, and tracebacks trimmed to the frames that matter.

JUnit XML is the result's source of truth: it is written by pytest itself, once, at the end of a
run; the plugin's events are only for progress.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

#: A frame's first line in pytest's ``--tb=short`` output: "tests/test_x.py:12: in test_y".
_FRAME = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+): in \S")
#: The line pytest ends a traceback with: "tests/test_x.py:12: AssertionError".
_CRASH = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+): \w")


@dataclass
class Case:
    """One test's outcome as pytest recorded it."""

    id: str
    outcome: str  # passed | failed | error | skipped
    file: str
    line: int  # 1-based; where it failed when it did, else where it is defined
    message: str = ""
    traceback: str = ""
    seconds: float = 0.0


class JUnitError(Exception):
    """The XML is missing or cannot be read."""


def node_id(classname: str, name: str, file: str) -> str:
    """pytest's node id back from a testcase's ``classname``, ``name`` and ``file``.

    pytest writes the node id's path as a dotted module (``tests.test_x``) and any classes after
    it (``tests.test_x.TestA``); ``file`` tells where the module part ends.
    """
    if not file:
        return f"{classname}::{name}" if classname else name
    module = re.sub(r"\.py$", "", file).replace("/", ".")
    if classname == module:
        return f"{file}::{name}"
    if classname.startswith(module + "."):
        classes = classname[len(module) + 1 :].split(".")
        return "::".join([file, *classes, name])
    if not classname:  # a collection error: the name is the module
        return file
    return f"{file}::{name}"


def _location(text: str, fallback_file: str, fallback_line: int) -> tuple[str, int]:
    """Where it failed: the last ``file:line`` of the traceback (the crash), else the test's."""
    found: tuple[str, int] | None = None
    for line in text.splitlines():
        m = _FRAME.match(line) or _CRASH.match(line)
        if m:
            found = (m["file"], int(m["line"]))
    return found or (fallback_file, fallback_line)


def trim(text: str, limit: int, project: str = "") -> str:
    """A traceback cut to what helps: the frames in the project (library frames in between are
    replaced by one line saying how many), and at most ``limit`` characters, keeping its end,
    where the failure is."""
    lines = text.rstrip("\n").splitlines()
    frames: list[list[str]] = [[]]
    for line in lines:
        if _FRAME.match(line) and frames[-1]:
            frames.append([])
        frames[-1].append(line)
    kept: list[str] = []
    hidden = 0
    for i, frame in enumerate(frames):
        first = frame[0] if frame else ""
        is_library = bool(_FRAME.match(first)) and _is_library(first, project)
        if is_library and i != len(frames) - 1:
            hidden += 1
            continue
        if hidden:
            kept.append(f"... {hidden} library frame{'s' if hidden > 1 else ''} hidden")
            hidden = 0
        kept.extend(frame)
    out = "\n".join(kept)
    if len(out) > limit:
        cut = out[len(out) - limit :]
        cut = cut[cut.find("\n") + 1 :] if "\n" in cut else cut
        out = f"... ({len(out) - len(cut)} characters cut)\n{cut}"
    return out


def _is_library(frame_line: str, project: str) -> bool:
    path = frame_line.split(":", 1)[0]
    if "site-packages/" in path or "/lib/python" in path:
        return True
    return path.startswith("/") and not (project and path.startswith(project.rstrip("/") + "/"))


def read(path: Path, *, limit: int = 4000, project: str = "") -> list[Case]:
    """Every testcase of a JUnit XML file, in file order."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - written by the project's pytest just now
    except FileNotFoundError as err:
        raise JUnitError(f"pytest wrote no JUnit XML at {path}") from err
    except ET.ParseError as err:
        raise JUnitError(f"pytest's JUnit XML at {path} cannot be read: {err}") from err
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    for tc in root.iter("testcase"):
        file = tc.get("file", "")
        defined = int(tc.get("line", "-1")) + 1  # pytest writes 0-based lines
        case = Case(
            id=node_id(tc.get("classname", ""), tc.get("name", ""), file),
            outcome="passed",
            file=file,
            line=max(defined, 0),
            seconds=float(tc.get("time", "0") or 0),
        )
        for child in tc:
            if child.tag in {"failure", "error"}:
                case.outcome = "failed" if child.tag == "failure" else "error"
                text = child.text or ""
                case.message = child.get("message", "") or _last_line(text)
                case.file, case.line = _location(text, case.file, case.line)
                case.traceback = trim(text, limit, project)
                break  # a failed call and a failed teardown: the first says more
            if child.tag == "skipped" and case.outcome == "passed":
                case.outcome = "skipped"
                case.message = child.get("message", "")
        earlier = seen.get(case.id)
        if earlier is None:
            seen[case.id] = case
            cases.append(case)
        elif earlier.outcome in {"passed", "skipped"} and case.outcome in {"failed", "error"}:
            # pytest writes a second testcase when teardown fails after the call: worst one wins
            earlier.outcome, earlier.message = "error", case.message
            earlier.file, earlier.line, earlier.traceback = case.file, case.line, case.traceback
    return cases


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""
