"""Start a child process narrower than this one: writes only beneath given folders (Landlock).

The manager confines an agent's task process to its workspace and its grants. A task that runs
commands it does not trust (a model's, a project's scripts) can hold them to less: Landlock can
always stack a narrower layer on a confined process, without privileges, and never a wider one.

.. code-block:: python

    from hyperagent_sdk.narrow import narrowed

    argv = narrowed(["python3", "-m", "pytest", "-q"], write=[worktree, private_tmp])
    subprocess.run(argv, cwd=worktree)

:func:`narrowed` returns the command wrapped: ``python -I -S <this file> --write DIR ... --
argv``. That small program (standard library only) applies the ruleset to itself and
``execve``\\s the command, which keeps it (and so does everything it starts). A wrapper rather
than a ``preexec_fn`` because an agent has threads (gRPC, the log shipper): between ``fork`` and
``exec`` in a threaded process only async-signal-safe calls are sound, and building a ruleset
through :mod:`ctypes` allocates. ``-I`` (isolated: no ``PYTHON*`` variables, neither the current
folder nor the script's on ``sys.path``) and ``-S`` (no ``site``): nothing the command's folder or
environment holds runs before the ruleset is in force.

What the child may do:

- **write** (make, remove, rename, link, truncate, change files and folders) only beneath the
  ``write`` folders (or files), and write to ``/dev/null``, ``/dev/zero``, ``/dev/full``;
- **read and execute**: what this process may (``read=None``, the default), or, given ``read``,
  only beneath those folders (plus the ``write`` ones);
- with Landlock ABI 6 or later, **signal** and reach **abstract Unix sockets** of its own
  processes only (not this one's). At every ABI a narrower domain cannot ``ptrace`` (nor read the
  memory or environment of) this process, which is outside it.

Per Landlock ABI: 1 cannot allow renaming or linking a file into another folder at all (so even
inside ``write`` it fails); 2 adds that (``REFER``); below 3 truncating a file (``truncate(2)``,
``O_TRUNC``) is not held; below 5 nor are ``ioctl``\\s on devices; below 6 signals are not scoped.
:func:`abi` says what this kernel has. Paths that do not exist are skipped (nothing is allowed
there).

When the kernel has no Landlock, :func:`narrowed` raises :class:`NarrowingUnavailable` (and the
wrapper exits 125 without running the command) unless ``allow_unconfined=True``: then the command
runs as this process would have run it, and the wrapper says so on stderr.

The wrapper's exit codes, as ``env(1)``'s: the command's own; 125 when narrowing failed; 126 when
the command cannot be executed; 127 when there is no such command.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat
import sys
from collections.abc import Iterable, Sequence
from typing import NoReturn

# -- Landlock's kernel interface (include/uapi/linux/landlock.h) ----------------------------------

#: The syscall numbers: the same on every architecture whose table was unified (all but alpha).
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
_ARCHES = ("x86_64", "amd64", "aarch64", "arm64", "riscv64", "ppc64le", "s390x", "loongarch64")

CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

#: Reading and executing.
READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
#: Every right that changes the filesystem (whichever the kernel knows of: see :func:`fs_rights`).
WRITE = (
    FS_WRITE_FILE
    | FS_REMOVE_DIR
    | FS_REMOVE_FILE
    | FS_MAKE_CHAR
    | FS_MAKE_DIR
    | FS_MAKE_REG
    | FS_MAKE_SOCK
    | FS_MAKE_FIFO
    | FS_MAKE_BLOCK
    | FS_MAKE_SYM
    | FS_REFER
    | FS_TRUNCATE
    | FS_IOCTL_DEV
)
#: The rights a rule on a file (not a folder) may carry.
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV

#: Devices a narrowed child may always write (``> /dev/null`` opens with O_TRUNC).
DEVICES = ("/dev/null", "/dev/zero", "/dev/full")

#: Where programs put temporary files and caches: a narrowed command's environment points each at
#: a private folder of its own (among its ``write`` ones), or its writes there would fail.
TEMP_VARS = ("TMPDIR", "TMP", "TEMP", "XDG_CACHE_HOME")

#: The wrapper's own exit codes (as ``env(1)``'s).
EXIT_NARROWING_FAILED = 125
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127


class NarrowingUnavailable(OSError):  # noqa: N818 - the name says what is the matter
    """The kernel cannot narrow a child (no Landlock, or an architecture this module does not
    know); the message says why."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    return libc


def _fail(what: str) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{what}: {os.strerror(code)}")


_abi: int | None = None


def abi() -> int:
    """The Landlock ABI version this kernel offers (1 or more), or 0 when it has none (or this
    module does not know the architecture's syscall numbers)."""
    global _abi  # noqa: PLW0603 - probed once per process: the kernel does not change under it
    if _abi is None:
        _abi = 0
        if sys.platform == "linux" and platform.machine().lower() in _ARCHES:
            version = _libc().syscall(SYS_CREATE_RULESET, None, 0, CREATE_RULESET_VERSION)
            _abi = max(int(version), 0)
    return _abi


def unavailable_reason() -> str:
    """Why :func:`abi` is 0, in words."""
    if sys.platform != "linux":
        return f"Landlock is Linux's; this is {sys.platform}"
    if platform.machine().lower() not in _ARCHES:
        return f"Landlock's syscall numbers are not known here for {platform.machine()}"
    return "this kernel has no Landlock (too old, or not enabled at boot: see lsm= in its cmdline)"


def fs_rights(version: int) -> int:
    """Every filesystem right Landlock ABI ``version`` knows of."""
    rights = READ | WRITE
    if version < 2:
        rights &= ~FS_REFER
    if version < 3:
        rights &= ~FS_TRUNCATE
    if version < 5:
        rights &= ~FS_IOCTL_DEV
    return rights


def restrict_self(
    write: Iterable[str | os.PathLike[str]],
    read: Iterable[str | os.PathLike[str]] | None = None,
    *,
    devices: Iterable[str] = DEVICES,
) -> int:
    """Narrows the **calling thread** (and what it later starts) as the module's docstring says;
    returns the ABI it used. Raises :class:`NarrowingUnavailable` when the kernel has no Landlock,
    :class:`OSError` when a step fails.

    Only the calling thread is narrowed: call it in a single-threaded process about to exec (the
    wrapper does), not in an agent. Prefer :func:`narrowed`."""
    version = abi()
    if version == 0:
        raise NarrowingUnavailable(errno.ENOSYS, unavailable_reason())
    everything = fs_rights(version)
    handled = everything if read is not None else everything & WRITE
    libc = _libc()
    scoped = (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if version >= 6 else 0
    attr = _RulesetAttr(handled, 0, scoped)
    # The struct as long as this ABI knows it (the scope field came with ABI 6).
    size = ctypes.sizeof(attr) if version >= 6 else 8
    ruleset = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise _fail("creating a Landlock ruleset")
    try:
        rules = [(p, everything) for p in write]
        rules += [(p, READ) for p in read or ()]
        rules += [(p, FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE | FS_IOCTL_DEV) for p in devices]
        for path, access in rules:
            _add_rule(libc, int(ruleset), os.fspath(path), access & handled)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _fail("setting no_new_privs")
        if libc.syscall(SYS_RESTRICT_SELF, int(ruleset), 0) != 0:
            raise _fail("applying the Landlock ruleset")
    finally:
        os.close(ruleset)
    return version


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # nothing to allow where nothing is
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= FILE_RIGHTS
        if access == 0:
            return
        rule = _PathBeneathAttr(access, fd)
        if libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise _fail(f"allowing {path}")
    finally:
        os.close(fd)


def narrowed(
    argv: Sequence[str],
    *,
    write: Iterable[str | os.PathLike[str]],
    read: Iterable[str | os.PathLike[str]] | None = None,
    allow_unconfined: bool = False,
    python: str | None = None,
) -> list[str]:
    """``argv`` wrapped so that it runs narrowed: writes only beneath ``write`` (absolute paths),
    reads beneath ``read`` too when given (else wherever this process may read).

    Raises :class:`NarrowingUnavailable` here, before anything starts, when the kernel has no
    Landlock, unless ``allow_unconfined``. ``python``: the interpreter that runs the wrapper
    (default: this one)."""
    if not argv:
        raise ValueError("argv is empty: give a command")
    if abi() == 0 and not allow_unconfined:
        raise NarrowingUnavailable(
            errno.ENOSYS, f"cannot narrow {argv[0]!r}: {unavailable_reason()}"
        )
    options: list[str] = []
    for flag, paths in (("--write", write), ("--read", read or ())):
        for p in paths:
            path = os.fspath(p)
            if not os.path.isabs(path):
                raise ValueError(f"{path!r} is not an absolute path")
            options += [flag, path]
    if read is not None:
        options.append("--restrict-reads")
    if allow_unconfined:
        options.append("--allow-unconfined")
    return [python or sys.executable, "-I", "-S", os.path.abspath(__file__), *options, "--", *argv]


def _usage(said: str) -> NoReturn:
    print(
        f"narrow: {said}\nusage: narrow [--write PATH]... [--read PATH]... [--restrict-reads]"
        " [--allow-unconfined] -- COMMAND [ARG]...",
        file=sys.stderr,
    )
    sys.exit(EXIT_NARROWING_FAILED)


def main(args: Sequence[str] | None = None) -> NoReturn:
    """The wrapper: applies the ruleset its options describe, then execs the command."""
    args = list(sys.argv[1:] if args is None else args)
    write: list[str] = []
    read: list[str] = []
    restrict_reads = allow_unconfined = False
    while args and args[0] != "--":
        flag = args.pop(0)
        if flag in ("--write", "--read"):
            if not args:
                _usage(f"{flag} needs a path")
            (write if flag == "--write" else read).append(args.pop(0))
        elif flag == "--restrict-reads":
            restrict_reads = True
        elif flag == "--allow-unconfined":
            allow_unconfined = True
        else:
            _usage(f"unknown option {flag!r}")
    command = args[1:]
    if not command:
        _usage("no command after --")
    try:
        restrict_self(write, read if restrict_reads else None)
    except NarrowingUnavailable as err:
        if not allow_unconfined:
            print(f"narrow: not running {command[0]!r}: {err.strerror}", file=sys.stderr)
            sys.exit(EXIT_NARROWING_FAILED)
        print(f"narrow: running {command[0]!r} NOT narrowed: {err.strerror}", file=sys.stderr)
    except OSError as err:
        print(f"narrow: not running {command[0]!r}: {err.strerror or err}", file=sys.stderr)
        sys.exit(EXIT_NARROWING_FAILED)
    try:
        os.execvp(command[0], command)  # noqa: S606 - the command as given, no shell: the point
    except FileNotFoundError:
        print(f"narrow: there is no command {command[0]!r}", file=sys.stderr)
        sys.exit(EXIT_NOT_FOUND)
    except OSError as err:
        print(f"narrow: cannot run {command[0]!r}: {err.strerror or err}", file=sys.stderr)
        sys.exit(EXIT_CANNOT_EXECUTE)


if __name__ == "__main__":
    main()
