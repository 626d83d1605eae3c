"""A template's Jinja extensions run in a renderer process of their own, narrowed.

An extension is the template's own Python code, loaded into the renderer once the person allowed
it. In the agent's task process it could write whatever that process may: the agent's state
folder among it (uv's package cache, the template cache), which outlives the task, so one
template could plant code or packages the next project uses. So a template marked ``confined``
(the agent marks every template whose extensions it was allowed to load) is rendered by a child
process started narrowed (:func:`hyperagent_sdk.narrow.narrowed`) to writing a private folder of
its own and nothing else; its reads, network and limits are the task's. Everything that renders
with the template's environment (its answers' defaults and validators, its files, its tasks' and
migrations' commands) goes there; this process only gets the results back.

The child's answers are read as data it may have forged: pickle frames unpickled with only the
few classes a result is made of (:class:`_Results`), so no answer can run code here. A call that
fails in the child comes back as its :class:`TemplateError` or :class:`AnswersError`; anything
else it raises (the template's code failing) as a :class:`TemplateError` that says so.

The child lives while this process does (a task process serves one task), at most
:data:`KEEP` of them at once, each for one template's code.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import datetime
import io
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path, PosixPath, PurePosixPath
from typing import IO, Any

from hyperagent_sdk.narrow import TEMP_VARS, narrowed

from . import render, vcs
from .template import Missing, TemplateError

#: Renderer processes kept at once (a bootstrap uses one; an update the old and new versions').
KEEP = 2
_HEADER = struct.Struct("!I")
#: The most bytes one answer may have (a rendered project, in memory).
MAX_FRAME = 1 << 30


#: The globals a renderer's answer may name: builtins, paths, dates, and the bootstrapper's own
#: result and error types (the pickle of anything else is refused).
_ANSWER_TYPES: dict[tuple[str, str], Any] = {
    ("pathlib", "PosixPath"): PosixPath,
    ("pathlib", "PurePosixPath"): PurePosixPath,
    ("pathlib", "Path"): Path,
    ("datetime", "datetime"): datetime.datetime,
    ("datetime", "date"): datetime.date,
    ("datetime", "time"): datetime.time,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    **{
        (cls.__module__, cls.__qualname__): cls
        for cls in (
            render.Answers,
            render.AnswersError,
            render.PlannedTask,
            render.Rendered,
            render.RenderedFile,
            vcs.Origin,
            Missing,
            TemplateError,
        )
    },
}


class _Results(pickle.Unpickler):
    """Unpickles only what a renderer's answer is made of (:data:`_ANSWER_TYPES`). Any other
    global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ANSWER_TYPES[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"the template's renderer sent {module}.{name}, which no answer holds"
            ) from None


def _write(out: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()


def _read_frame(src: IO[bytes]) -> bytes | None:
    header = src.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise TemplateError("_jinja_extensions", f"the template's renderer sent {size} bytes")
    data = src.read(size)
    return data if len(data) == size else None


class _Child:
    """One renderer process and its pipes."""

    def __init__(self) -> None:
        self.private = Path(tempfile.mkdtemp(prefix="template-renderer-"))
        argv = [sys.executable, "-I", "-B", "-m", "hyperagent_bootstrapper.confined"]
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            narrowed(argv, write=[self.private], allow_unconfined=True),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # This process's folder: a template's relative paths mean the same there.
            cwd=os.getcwd(),
            env={**os.environ, **dict.fromkeys(TEMP_VARS, str(self.private))},
        )

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("the renderer process was started without its pipes")
        with self.lock:
            with contextlib.suppress(OSError):  # it exited: said below
                _write(stdin, (name, args, kwargs))
            data = _read_frame(stdout)
        if data is None:
            code = self.proc.poll()
            raise TemplateError(
                "_jinja_extensions",
                f"the template's renderer stopped (exit {code}) while rendering: its code ended"
                " the process or was killed",
            )
        try:
            ok, value = _Results(io.BytesIO(data)).load()
        except (pickle.UnpicklingError, ValueError, TypeError, EOFError) as err:
            raise TemplateError(
                "_jinja_extensions", f"the template's renderer sent no answer it may: {err}"
            ) from err
        if ok:
            return value
        if isinstance(value, Exception):
            raise value
        raise TemplateError("_jinja_extensions", "the template's renderer sent a malformed error")

    def close(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.private, ignore_errors=True)


_children: collections.OrderedDict[tuple[str, str], _Child] = collections.OrderedDict()
_children_lock = threading.Lock()


def call(name: str, template: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``render.<name>(template, *args, **kwargs)`` in the template's renderer process."""
    key = (str(template.root), template.code_digest())
    with _children_lock:
        child = _children.pop(key, None)
        if child is None or child.proc.poll() is not None:
            child = _Child()
        _children[key] = child
        while len(_children) > KEEP:
            _children.popitem(last=False)[1].close()
    return child.call(name, (template, *args), kwargs)


@atexit.register
def close_all() -> None:
    """Stops every renderer process (at exit, or when a test wants none left)."""
    with _children_lock:
        while _children:
            _children.popitem()[1].close()


def _serve() -> int:
    """The child: answers calls until its input ends. The template's code may print: what it
    writes to stdout goes to stderr, the answers to a descriptor of their own."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    render.IN_RENDERER = True
    requests = sys.stdin.buffer
    while True:
        data = _read_frame(requests)
        if data is None:
            return 0
        # From the process that started this one, which trusts it less than itself.
        name, args, kwargs = pickle.loads(data)  # noqa: S301
        try:
            result: tuple[bool, Any] = (True, getattr(render, name)(*args, **kwargs))
        except (TemplateError, render.AnswersError) as err:
            result = (False, err)
        except Exception as err:  # the template's own code failed
            result = (
                False,
                TemplateError(
                    "_jinja_extensions",
                    f"the template's code failed: {type(err).__name__}: {err}",
                ),
            )
        try:
            _write(answers, result)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            _write(answers, (False, TemplateError("_jinja_extensions", f"unsendable: {err}")))


if __name__ == "__main__":
    sys.exit(_serve())
