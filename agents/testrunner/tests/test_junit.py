"""JUnit XML as pytest really writes it (the dev venv's pytest, run on a small project here),
read back into test ids, outcomes, file:line and trimmed tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hyperagent_testrunner import junit

TESTS = """\
import pytest


def check(x):
    assert x == 3, "not three"


def test_passes():
    assert True


def test_fails_in_a_helper():
    check(2)


class TestGroup:
    @pytest.mark.parametrize("n", [1, 2])
    def test_param(self, n):
        assert n == 1


@pytest.fixture
def broken():
    raise RuntimeError("setup broke")


def test_setup_error(broken):
    pass


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass
"""


def run_pytest(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mod.py").write_text(TESTS)
    report = tmp_path / "report.xml"
    subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short"),
            *(f"--junitxml={report}", "-o", "junit_family=xunit1", "tests"),
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    return report


def test_every_test_is_read_with_its_pytest_id_outcome_and_place(tmp_path: Path) -> None:
    cases = {c.id: c for c in junit.read(run_pytest(tmp_path), project=str(tmp_path))}
    assert {i: c.outcome for i, c in cases.items()} == {
        "tests/test_mod.py::test_passes": "passed",
        "tests/test_mod.py::test_fails_in_a_helper": "failed",
        "tests/test_mod.py::TestGroup::test_param[1]": "passed",
        "tests/test_mod.py::TestGroup::test_param[2]": "failed",
        "tests/test_mod.py::test_setup_error": "error",
        "tests/test_mod.py::test_skipped": "skipped",
    }
    helper = cases["tests/test_mod.py::test_fails_in_a_helper"]
    assert (helper.file, helper.line) == ("tests/test_mod.py", 5)  # the assert in check()
    assert "not three" in helper.message
    assert "tests/test_mod.py:13: in test_fails_in_a_helper" in helper.traceback
    assert cases["tests/test_mod.py::test_setup_error"].message.startswith(
        'failed on setup with "RuntimeError: setup broke"'
    )
    assert cases["tests/test_mod.py::test_skipped"].message == "not today"
    assert cases["tests/test_mod.py::test_passes"].line == 8  # where it is defined


def test_a_missing_report_says_where_it_was_expected(tmp_path: Path) -> None:
    with pytest.raises(junit.JUnitError, match="pytest wrote no JUnit XML at"):
        junit.read(tmp_path / "none.xml")


def test_node_ids_come_back_from_classname_and_file() -> None:
    assert junit.node_id("tests.test_a", "test_x", "tests/test_a.py") == "tests/test_a.py::test_x"
    assert (
        junit.node_id("tests.test_a.TestA.TestB", "test_y[1-2]", "tests/test_a.py")
        == "tests/test_a.py::TestA::TestB::test_y[1-2]"
    )
    assert junit.node_id("", "tests.test_broken", "tests/test_broken.py") == "tests/test_broken.py"


TRACE = """\
tests/test_a.py:10: in test_a
    client.get("/")
/venv/lib/python3.11/site-packages/starlette/testclient.py:400: in get
    return super().get(url)
/venv/lib/python3.11/site-packages/httpx/_client.py:1000: in get
    return self.request("GET", url)
app/main.py:5: in index
    raise ValueError("boom")
E   ValueError: boom"""


def test_library_frames_between_the_project_frames_are_folded() -> None:
    out = junit.trim(TRACE, 4000, "/project")
    assert out.splitlines() == [
        "tests/test_a.py:10: in test_a",
        '    client.get("/")',
        "... 2 library frames hidden",
        "app/main.py:5: in index",
        '    raise ValueError("boom")',
        "E   ValueError: boom",
    ]


def test_a_long_traceback_keeps_its_end_within_the_limit() -> None:
    long = "\n".join(f"tests/test_a.py:{i}: in f{i}\n    f{i + 1}()" for i in range(500))
    out = junit.trim(long + "\nE   RecursionError", 1000, "")
    assert len(out) <= 1000 + len("... (99999 characters cut)\n")
    assert out.startswith("... (")
    assert "characters cut" in out.splitlines()[0]
    assert out.endswith("E   RecursionError")
