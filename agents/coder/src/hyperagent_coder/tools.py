"""The tools the model chooses from, each confined to the worktree.

Every path the model gives is relative to the worktree's top and is resolved there
(:meth:`Worktree.resolve`): an absolute path, ``..``, a symbolic link (anywhere on the way) that
leads outside the worktree, and the worktree's own ``.git`` are refused, each with a message that
goes back to the model as the observation. The kernel holds the task to its workspace and the
repository's git folder whatever this layer does; this layer keeps the model's *tools* to the
worktree inside that, so the main checkout and the git folder are only ever changed by
:mod:`.gitwork`'s own commands.

``run`` starts a command in the worktree (its own session, no standard input), waits at most the
time limit, then kills its process group; its output (stdout and stderr together) is kept to a
bounded head and tail. A non-zero exit is an observation like any other, not an error. A command
is a process, which no check in Python can hold, so the kernel does: it runs narrowed
(:func:`hyperagent_sdk.narrow.narrowed`, a Landlock layer on the task's own confinement) to
writing beneath the worktree and a private temporary folder of its own (``TMPDIR``, removed
after it), nothing else: not the repository's git folder (hooks, config, refs, the worktree's
record and index), not the rest of the task's folder. It reads what the task may. On a kernel
without Landlock ``run`` is refused rather than run unnarrowed.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from hyperagent_sdk.narrow import TEMP_VARS, NarrowingUnavailable, narrowed


@dataclass(frozen=True)
class Observation:
    """What a tool call gave back; ``ok`` is False when it was refused or failed. The model reads
    ``text`` either way."""

    ok: bool
    text: str


class Refused(Exception):  # noqa: N818 - the name says what happened to the call
    """A tool call that is not allowed or cannot be done; the message goes back to the model."""


@dataclass(frozen=True)
class Limits:
    """The bounds of the tools (the agent's settings)."""

    run_timeout_secs: float = 120.0
    max_run_output_bytes: int = 64 * 1024
    max_file_bytes: int = 1024 * 1024
    max_entries: int = 500


#: Environment variables that would point a command's git somewhere else than the worktree.
_GIT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR")

#: Bytes looked at to tell a binary file (one holding a NUL byte) from text.
_SNIFF = 8192
#: The longest line of a search match shown.
_MATCH_LINE = 200


def _binary(data: bytes) -> bool:
    return b"\0" in data[:_SNIFF]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class Worktree:
    """The tools over one worktree, rooted at ``root``.

    ``on_run_start(kill)`` is told how to kill a running command's process group (the task's
    cancellation calls it) and returns how to stop being told.
    """

    def __init__(
        self,
        root: Path,
        limits: Limits,
        *,
        on_run_start: Callable[[Callable[[], None]], Callable[[], None]] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.real_root = Path(os.path.realpath(self.root))
        self.limits = limits
        self._on_run_start = on_run_start
        base = dict(os.environ if env is None else env)
        self._env = {k: v for k, v in base.items() if k not in _GIT_VARS}

    # -- paths ----------------------------------------------------------------------------------

    def resolve(self, path: str, *, top: bool = False) -> Path:
        """``path`` (relative to the worktree's top) as a real path inside the worktree, or
        :class:`Refused` saying why not. ``top``: ``""`` and ``"."`` name the top itself."""
        if not isinstance(path, str) or "\0" in path:
            raise Refused("a path is text without NUL characters")
        if path in ("", "."):
            if top:
                return self.real_root
            raise Refused("the path is empty; give a file's path relative to the worktree's top")
        p = PurePosixPath(path)
        if p.is_absolute():
            raise Refused(
                f"{path!r} is an absolute path; give a path relative to the worktree's top"
                " (e.g. src/app.py): nothing outside the worktree may be read or changed"
            )
        if ".." in p.parts:
            raise Refused(f"{path!r} holds `..`; paths stay inside the worktree")
        if p.parts[0] == ".git":
            raise Refused(f"{path!r} is in the worktree's .git, which only git itself changes")
        real = Path(os.path.realpath(self.real_root / p))
        if real != self.real_root and self.real_root not in real.parents:
            raise Refused(
                f"{path!r} leads outside the worktree (a symbolic link on the way points to"
                f" {real}); nothing outside the worktree may be read or changed"
            )
        inside = real.relative_to(self.real_root)
        if inside.parts and inside.parts[0] == ".git":
            raise Refused(f"{path!r} leads into the worktree's .git, which only git itself changes")
        return real

    def _shown(self, real: Path) -> str:
        return str(real.relative_to(self.real_root)) if real != self.real_root else "."

    # -- the tools ------------------------------------------------------------------------------

    def call(self, action: Mapping[str, Any]) -> Observation:
        """Runs one tool call (``{"tool": name, ...its arguments}``); refusals and failures are
        observations too, never exceptions."""
        tool = action.get("tool")
        try:
            match tool:
                case "read_file":
                    text = self.read_file(action["path"])
                case "list_files":
                    text = self.list_files(action["path"])
                case "search":
                    text = self.search(action["pattern"])
                case "write_file":
                    text = self.write_file(action["path"], action["content"])
                case "replace":
                    text = self.replace(action["path"], action["old"], action["new"])
                case "run":
                    text = self.run(action["argv"])
                case _:
                    raise Refused(f"there is no tool {tool!r}")
        except Refused as err:
            return Observation(False, f"refused: {err}")
        except KeyError as err:
            return Observation(False, f"refused: {tool} needs `{err.args[0]}`")
        except OSError as err:
            return Observation(False, f"failed: {err.strerror or err}")
        return Observation(True, text)

    def read_file(self, path: str) -> str:
        real = self.resolve(path)
        if real.is_dir():
            raise Refused(f"{path!r} is a folder; list_files lists it")
        if not real.exists():
            raise Refused(f"there is no file {path!r}")
        size = real.stat().st_size
        with real.open("rb") as f:
            data = f.read(self.limits.max_file_bytes)
        if _binary(data):
            return f"{path} is a binary file of {size} bytes; not shown"
        text = data.decode("utf-8", "replace")
        if size > len(data):
            text += f"\n[cut: the first {len(data)} of {size} bytes]"
        return text

    def _walk(self, top: Path) -> Iterator[tuple[Path, bool]]:
        """Every folder (True) and file (False) beneath ``top``, sorted, not following links,
        without the worktree's ``.git``."""
        for folder, dirs, files in os.walk(top):
            here = Path(folder)
            dirs[:] = sorted(d for d in dirs if not (here == self.real_root and d == ".git"))
            kept = [f for f in files if not (here == self.real_root and f == ".git")]
            named = sorted([*((d, True) for d in dirs), *((f, False) for f in kept)])
            for name, is_dir in named:
                yield here / name, is_dir

    def list_files(self, path: str) -> str:
        real = self.resolve(path, top=True)
        if not real.is_dir():
            raise Refused(f"{path!r} is not a folder" if real.exists() else f"no folder {path!r}")
        entries: list[str] = []
        more = 0
        for p, is_dir in self._walk(real):
            if len(entries) < self.limits.max_entries:
                shown = str(p.relative_to(self.real_root))
                entries.append(shown + ("/" if is_dir else ""))
            else:
                more += 1
        if not entries:
            return f"{self._shown(real)} is empty"
        if more:
            entries.append(f"[and {more} more]")
        return "\n".join(entries)

    def search(self, pattern: str) -> str:
        try:
            regex = re.compile(pattern)
        except re.error as err:
            raise Refused(f"the pattern {pattern!r} is not a regular expression: {err}") from None
        matches: list[str] = []
        more = 0
        for p, is_dir in self._walk(self.real_root):
            if is_dir or p.is_symlink() or not p.is_file():
                continue
            with p.open("rb") as f:
                data = f.read(self.limits.max_file_bytes)
            if _binary(data):
                continue
            shown = p.relative_to(self.real_root)
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                if regex.search(line):
                    if len(matches) < self.limits.max_entries:
                        matches.append(f"{shown}:{number}: {line[:_MATCH_LINE]}")
                    else:
                        more += 1
        if not matches:
            return f"no line matches {pattern!r}"
        if more:
            matches.append(f"[and {more} more]")
        return "\n".join(matches)

    def _write(self, real: Path, data: bytes) -> None:
        if len(data) > self.limits.max_file_bytes:
            raise Refused(
                f"{len(data)} bytes is more than a file may have here"
                f" ({self.limits.max_file_bytes})"
            )
        real.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a link put in the file's place since it was resolved is not followed.
        fd = os.open(real, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)

    def write_file(self, path: str, content: str) -> str:
        real = self.resolve(path)
        if real.is_dir():
            raise Refused(f"{path!r} is a folder")
        before = real.stat().st_size if real.exists() else None
        data = content.encode()
        self._write(real, data)
        shown = self._shown(real)
        if before is None:
            return f"wrote {shown}: a new file of {_plural(len(data), 'byte')}"
        return f"wrote {shown}: {_plural(len(data), 'byte')} in place of {before}"

    def replace(self, path: str, old: str, new: str) -> str:
        real = self.resolve(path)
        if not real.is_file():
            raise Refused(f"there is no file {path!r}")
        if not old:
            raise Refused("`old` is empty; give the exact text to replace")
        text = real.read_bytes().decode("utf-8", "strict")
        count = text.count(old)
        if count == 0:
            raise Refused(f"`old` is not in {path} (it must match exactly, white space included)")
        if count > 1:
            raise Refused(
                f"`old` is in {path} {count} times; give more of the text around it so that it is"
                " there once"
            )
        at = text.index(old)
        line = text.count("\n", 0, at) + 1
        self._write(real, text.replace(old, new, 1).encode())
        return f"replaced 1 occurrence in {self._shown(real)} at line {line}"

    def run(self, argv: Sequence[str]) -> str:
        if not argv or not all(isinstance(a, str) and a and "\0" not in a for a in argv):
            raise Refused("argv is a command and its arguments: one or more non-empty strings")
        self._runnable(argv[0])
        tmp = Path(tempfile.mkdtemp(prefix="coder-run-"))
        try:
            wrapped = narrowed(argv, write=[self.real_root, tmp])
        except NarrowingUnavailable as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise Refused(
                f"commands cannot run here: {err.strerror}; a command runs only when the kernel"
                " can hold it to the worktree. Change files with the other tools"
            ) from None
        try:
            ran = run_bounded(
                wrapped,
                cwd=self.real_root,
                env={**self._env, **dict.fromkeys(TEMP_VARS, str(tmp))},
                timeout=self.limits.run_timeout_secs,
                max_output=self.limits.max_run_output_bytes,
                on_start=self._on_run_start,
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return ran.observation(self.limits.run_timeout_secs)

    def _runnable(self, command: str) -> None:
        """:class:`Refused` when ``command`` names no program (looked up as ``execvp`` will:
        on ``PATH``, or relative to the worktree when it holds a ``/``)."""
        if "/" in command:
            found = os.access(self.real_root / command, os.X_OK)
        else:
            found = shutil.which(command, path=self._env.get("PATH", os.defpath)) is not None
        if not found:
            raise Refused(f"there is no command {command!r}")


@dataclass(frozen=True)
class Ran:
    """How a command ended: its exit code (None: killed at the time limit), its output (head and
    tail, decoded), and how many bytes of it were left out."""

    exit_code: int | None
    output: str
    cut: int
    seconds: float

    def observation(self, timeout: float) -> str:
        if self.exit_code is None:
            head = f"timed out after {timeout:g} s; its processes were killed"
        else:
            head = f"exit code {self.exit_code} after {self.seconds:.1f} s"
        out = self.output if self.output else "(no output)"
        return f"{head}\n{out}"


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run_bounded(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    max_output: int,
    on_start: Callable[[Callable[[], None]], Callable[[], None]] | None = None,
) -> Ran:
    """Runs ``argv`` in a session of its own in ``cwd``, stdout and stderr together; at most
    ``timeout`` seconds, then its process group is killed; keeps the first and last
    ``max_output / 2`` bytes of its output. Processes it leaves behind in its group are killed
    when it exits."""
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise Refused(f"there is no command {argv[0]!r}") from None
    except PermissionError:
        raise Refused(f"{argv[0]!r} may not be run (permission denied)") from None
    remove = on_start(lambda: _killpg(proc.pid)) if on_start is not None else (lambda: None)
    half = max(1, max_output // 2)
    head = bytearray()
    tail: collections.deque[bytes] = collections.deque()
    tail_size = 0
    total = 0

    def read() -> None:
        nonlocal tail_size, total
        if proc.stdout is None:
            return
        fd = proc.stdout.fileno()
        while chunk := os.read(fd, 65536):
            total += len(chunk)
            room = half - len(head)
            if room > 0:
                head.extend(chunk[:room])
                chunk = chunk[room:]
            if chunk:
                tail.append(chunk)
                tail_size += len(chunk)
                while tail and tail_size - len(tail[0]) >= half:
                    tail_size -= len(tail.popleft())

    reader = threading.Thread(target=read, name="coder-run-output", daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
        exit_code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        exit_code = None
    finally:
        _killpg(proc.pid)
        proc.wait()
        remove()
    reader.join(5)
    rest = b"".join(tail)[-half:] if tail else b""
    cut = total - len(head) - len(rest)
    text = head.decode("utf-8", "replace")
    if cut > 0:
        text += f"\n[… {cut} bytes of output cut …]\n"
    text += rest.decode("utf-8", "replace")
    return Ran(exit_code, text, max(cut, 0), time.monotonic() - started)
