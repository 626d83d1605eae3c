"""narrowed(): a child that may write only beneath the folders it is given, held by the kernel
(Landlock) whatever it tries; the parent stays as it was."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from hyperagent_sdk import narrow
from hyperagent_sdk.narrow import NarrowingUnavailable, narrowed

landlock = pytest.mark.skipif(
    narrow.abi() == 0, reason=f"needs Landlock: {narrow.unavailable_reason()}"
)


def run_python(
    code: str, *, write: list[Path], read: list[Path] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``code`` in a narrowed Python; it prints what happened."""
    argv = narrowed([sys.executable, "-c", textwrap.dedent(code)], write=write, read=read)
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=30)


#: Prints "ok" when ``fn()`` worked, else the error's class and errno name.
TRY = """
import errno, os, sys
def attempt(name, fn):
    try:
        fn()
        print(name, "ok")
    except OSError as err:
        print(name, type(err).__name__, errno.errorcode.get(err.errno, err.errno))
"""


def write(path: str) -> str:
    return f"lambda: open({path!r}, 'w').write('x')"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("# a project\n")
    git(path, "add", ".")
    git(path, "-c", "user.name=S", "-c", "user.email=s@example.org", "commit", "-qm", "first")
    return path


@landlock
def test_writes_only_beneath_the_write_folders(tmp_path: Path) -> None:
    inside = tmp_path / "inside"
    outside = tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    done = run_python(
        TRY
        + f"""
attempt("inside", {write(str(inside / "f"))})
attempt("deeper", lambda: os.makedirs({str(inside / "a" / "b")!r}))
attempt("outside", {write(str(outside / "f"))})
attempt("mkdir-outside", lambda: os.mkdir({str(outside / "d")!r}))
attempt("devnull", {write("/dev/null")})
attempt("read-outside", lambda: open({str(tmp_path / "note")!r}).read())
""",
        write=[inside],
    )
    (tmp_path / "note").write_text("")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:5] == [
        "inside ok",
        "deeper ok",
        "outside PermissionError EACCES",
        "mkdir-outside PermissionError EACCES",
        "devnull ok",
    ]
    assert (inside / "f").read_text() == "x"
    assert list(outside.iterdir()) == []
    # The parent is not narrowed.
    (outside / "parent").write_text("still mine")


@landlock
def test_a_repositorys_git_folder_is_read_but_never_written(repo: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    hook = repo / ".git" / "hooks" / "pre-commit"
    done = run_python(
        TRY
        + f"""
import subprocess
attempt("hook", {write(str(hook))})
attempt("config", lambda: open({str(repo / ".git" / "config")!r}, "a").write("[core]\\n"))
attempt("ref", {write(str(repo / ".git" / "refs" / "heads" / "evil"))})
attempt("worktree-file", {write(str(repo / "README.md"))})
log = subprocess.run(["git", "-C", {str(repo)!r}, "log", "--format=%s"], capture_output=True,
                     text=True)
print("log", log.returncode, log.stdout.strip())
""",
        write=[work],
    )
    assert done.stdout.splitlines() == [
        "hook PermissionError EACCES",
        "config PermissionError EACCES",
        "ref PermissionError EACCES",
        "worktree-file PermissionError EACCES",
        "log 0 first",
    ], done.stderr
    assert not hook.exists()
    assert not (repo / ".git" / "refs" / "heads" / "evil").exists()
    assert "[core]\n[core]\n" not in (repo / ".git" / "config").read_text()


@landlock
def test_files_cannot_be_moved_or_linked_across_the_wall(tmp_path: Path) -> None:
    inside = tmp_path / "inside"
    outside = tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    (inside / "mine").write_text("mine")
    (outside / "theirs").write_text("theirs")
    done = run_python(
        TRY
        + f"""
attempt("rename-out", lambda: os.rename({str(inside / "mine")!r}, {str(outside / "mine")!r}))
attempt("link-out", lambda: os.link({str(inside / "mine")!r}, {str(outside / "l")!r}))
attempt("link-in", lambda: os.link({str(outside / "theirs")!r}, {str(inside / "l")!r}))
attempt("rename-in", lambda: os.rename({str(outside / "theirs")!r}, {str(inside / "t")!r}))
attempt("symlink", lambda: os.symlink({str(outside / "theirs")!r}, {str(inside / "s")!r}))
attempt("through-symlink", {write(str(inside / "s"))})
attempt("rename-inside", lambda: os.rename({str(inside / "mine")!r}, {str(inside / "m2")!r}))
""",
        write=[inside],
    )
    lines = done.stdout.splitlines()
    assert all(" ok" not in line for line in lines[:4]), lines
    assert lines[4:] == ["symlink ok", "through-symlink PermissionError EACCES", "rename-inside ok"]
    assert sorted(p.name for p in outside.iterdir()) == ["theirs"]
    assert (outside / "theirs").read_text() == "theirs"


@landlock
def test_the_child_cannot_reach_into_its_parent(tmp_path: Path) -> None:
    """A narrower domain cannot ptrace the process that started it, so it can neither open its
    memory (where a task's token is) nor signal it (ABI 6)."""
    done = run_python(
        TRY
        + """
import signal
parent = os.getppid()
attempt("mem", lambda: open(f"/proc/{parent}/mem", "rb"))
attempt("signal", lambda: os.kill(parent, 0))
""",
        write=[tmp_path],
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "mem PermissionError EACCES", done.stderr
    if narrow.abi() >= 6:
        assert lines[1] == "signal PermissionError EPERM"


@landlock
def test_reads_can_be_restricted_too(tmp_path: Path) -> None:
    inside = tmp_path / "inside"
    inside.mkdir()
    (tmp_path / "secret").write_text("s")
    system = [Path(p) for p in ("/usr", "/lib", "/lib64", "/bin", "/etc")]
    venv = Path(sys.prefix)
    done = run_python(
        TRY
        + f"""
attempt("secret", lambda: open({str(tmp_path / "secret")!r}).read())
attempt("etc", lambda: open("/etc/passwd").read())
""",
        write=[inside],
        read=[*system, venv, Path(sys.base_prefix)],
    )
    assert done.stdout.splitlines() == ["secret PermissionError EACCES", "etc ok"], done.stderr


@landlock
def test_a_parent_full_of_threads_starts_narrowed_children(tmp_path: Path) -> None:
    """The ruleset is applied by the wrapper after exec, never between fork and exec of this
    (threaded) process."""
    stop = threading.Event()
    lock = threading.Lock()

    def busy() -> None:
        while not stop.is_set():
            with lock:
                _ = [bytearray(64) for _ in range(100)]

    spinners = [threading.Thread(target=busy, daemon=True) for _ in range(4)]
    results: list[int] = []

    def start(i: int) -> None:
        argv = narrowed(["sh", "-c", f"echo {i} > {tmp_path}/{i}"], write=[tmp_path])
        results.append(subprocess.run(argv, check=False, timeout=30).returncode)

    for t in spinners:
        t.start()
    starters = [threading.Thread(target=start, args=(i,)) for i in range(8)]
    for t in starters:
        t.start()
    for t in starters:
        t.join(60)
    stop.set()
    assert results == [0] * 8
    assert sorted(p.name for p in tmp_path.iterdir()) == [str(i) for i in range(8)]


@landlock
def test_the_wrapper_exits_as_env_does(tmp_path: Path) -> None:
    missing = subprocess.run(
        narrowed(["no-such-command-here"], write=[tmp_path]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == narrow.EXIT_NOT_FOUND
    assert "there is no command 'no-such-command-here'" in missing.stderr
    code = subprocess.run(narrowed(["sh", "-c", "exit 7"], write=[tmp_path]), check=False)
    assert code.returncode == 7
    bad = subprocess.run(
        [*narrowed(["true"], write=[tmp_path])[:4], "--bogus", "--", "true"], check=False
    )
    assert bad.returncode == narrow.EXIT_NARROWING_FAILED


def test_the_wrapper_runs_hermetically(tmp_path: Path) -> None:
    """``-I -S``: a module the command's folder holds is never imported by the wrapper."""
    argv = narrowed(["true"], write=[tmp_path], allow_unconfined=True)
    assert argv[:3] == [sys.executable, "-I", "-S"]
    assert argv[3] == narrow.__file__
    (tmp_path / "ctypes.py").write_text("raise SystemExit('the folder was imported')\n")
    if narrow.abi():
        assert subprocess.run(argv, cwd=tmp_path, check=False).returncode == 0


def test_without_landlock_it_refuses_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(narrow, "_abi", 0)
    with pytest.raises(NarrowingUnavailable, match="cannot narrow 'make'"):
        narrowed(["make"], write=[tmp_path])
    argv = narrowed(["make"], write=[tmp_path], allow_unconfined=True)
    assert "--allow-unconfined" in argv
    with pytest.raises(SystemExit) as ended:
        narrow.main(["--write", str(tmp_path), "--", "make"])
    assert ended.value.code == narrow.EXIT_NARROWING_FAILED
    assert "not running 'make'" in capsys.readouterr().err
    ran: list[list[str]] = []
    monkeypatch.setattr(narrow.os, "execvp", lambda _f, a: ran.append(a) or sys.exit(0))
    with pytest.raises(SystemExit):
        narrow.main(["--write", str(tmp_path), "--allow-unconfined", "--", "make", "all"])
    assert ran == [["make", "all"]]
    assert "NOT narrowed" in capsys.readouterr().err


def test_paths_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="not an absolute path"):
        narrowed(["true"], write=["relative"], allow_unconfined=True)
